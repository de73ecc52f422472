"""Read models of RETENTION and the read API (CONTRACT.md §3)."""
