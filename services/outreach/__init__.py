"""Outreach: follow-up planning, contact rules, greetings, surveys, re-engagement."""
