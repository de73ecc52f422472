"""Intake: validates inbound events, resolves identity, records each once on RETENTION."""
