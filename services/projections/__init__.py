"""Read models of RETENTION and the read API (docs/contract.md §4 "HTTP API")."""
