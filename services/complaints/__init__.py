"""Complaints: the six steps, the apology deadline, authority limits, SLA escalation, call-back."""
