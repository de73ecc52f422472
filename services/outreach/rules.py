"""The contact rules, applied to every outbound contact laoke plans (pure): outreach's own
and those other services request (complaint call-backs, referral and scope-change calls).

In order: retries exhausted; opted out of the contact's purpose (every channel), or no
marketing consent for a marketing contact; a channel the customer accepts for that purpose
and that works; an open complaint pauses marketing; quiet hours move the contact to the
next allowed time (past its useful life: skipped `expired`); the cap (4 in any 30 days by
default; complaint steps and retries exempt): marketing over the cap is dropped, anything
else waits for room up to `cap_max_wait_days` and within its useful life, then is dropped.
Candidates are admitted highest priority first, so a lower-priority one yields its room.
docs/outreach.md has the table of kinds and rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.outreach.aggregates import ContactPlan
from services.outreach.calendar import out_of_quiet_hours
from services.outreach.planner import PlannedContact, revised
from services.outreach.purposes import CAP_EXEMPT_PURPOSES, purpose_of
from services.outreach.settings import Policy


@dataclass(frozen=True)
class Admitted:
    contact: PlannedContact
    due_at: datetime
    channel: str
    rules_applied: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    contact: PlannedContact
    skip_reason: str
    why: str


def choose_channel(
    contact: PlannedContact, state: ContactPlan, purpose: str
) -> tuple[str | None, str | None, str]:
    """(channel, None, '') or (None, skip_reason, why)."""
    allowed = [
        c
        for c in (state.channels if state.channels is not None else ["phone"])
        if not state.opted_out(purpose, c)
    ]
    wrong_phone = not state.phone_reachable()
    for channel in contact.channels:
        if channel not in allowed:
            continue
        if channel == "phone" and wrong_phone:
            continue
        return channel, None, ""
    if wrong_phone and "phone" in contact.channels and "phone" in allowed:
        return None, "wrong_number", "the phone number is flagged as wrong"
    why = f"no consented channel for {purpose} among {', '.join(contact.channels)}"
    return None, "channel_opted_out", why


def over_cap(at: datetime, counted: list[datetime], policy: Policy) -> bool:
    """True when one more contact at `at` makes some `cap_window_days` window hold more
    than `cap_contacts` (windows that contain `at`; each starts at a contact)."""
    window = timedelta(days=policy.cap_window_days)
    near = sorted(t for t in counted if at - window < t < at + window)
    starts = [t for t in near if t <= at] + [at]
    for start in starts:
        inside = sum(1 for t in near if start <= t < start + window) + 1
        if inside > policy.cap_contacts:
            return True
    return False


def apply_contact_rules(
    candidates: list[PlannedContact], state: ContactPlan, policy: Policy
) -> tuple[list[Admitted], list[Skipped]]:
    """Split candidates into the contacts to make (with time and channel) and the skipped."""
    due: list[Admitted] = []
    skipped: list[Skipped] = []
    counted = state.counted_contacts()
    for contact in sorted(candidates, key=lambda c: (-c.priority, c.due_at, c.name)):
        purpose = purpose_of(contact.reason, contact.detail, policy)
        marketing = purpose == "marketing"
        rules = [f"purpose:{purpose}", "opt_out"]
        if contact.attempt > policy.retry_max_tries:
            why = f"no answer after {policy.retry_max_tries} tries"
            skipped.append(Skipped(contact, "retries_exhausted", why))
            continue
        if state.opted_out_of(purpose):
            why = f"the customer opted out of {purpose} contacts"
            skipped.append(Skipped(contact, "opted_out", why))
            continue
        if marketing and state.marketing_consent is False:
            skipped.append(Skipped(contact, "opted_out", "no consent to marketing contact"))
            continue
        channel, skip_reason, why = choose_channel(contact, state, purpose)
        if channel is None:
            skipped.append(Skipped(contact, skip_reason or "channel_opted_out", why))
            continue
        rules.append("channel")
        if marketing:
            rules.append("complaint_pause")
            if state.open_complaints:
                open_ids = ", ".join(sorted(state.open_complaints))
                skipped.append(Skipped(contact, "open_complaint", f"open complaint {open_ids}"))
                continue
        at = _allowed_time(contact.due_at, policy)
        rules.append("quiet_hours" if at == contact.due_at else "quiet_hours:moved")
        if contact.expires_at is not None and at >= contact.expires_at:
            ends = contact.expires_at.isoformat()
            detail = {**contact.detail, "expires_at": ends}
            why = f"its useful life ends {ends}, before it may be made"
            skipped.append(Skipped(revised(contact, detail=detail), "expired", why))
            continue
        if purpose not in CAP_EXEMPT_PURPOSES and contact.reason != "retry":
            waited = _room(at, counted, policy, wait=not marketing, until=contact.expires_at)
            if waited is None:
                why = f"over {policy.cap_contacts} contacts in {policy.cap_window_days} days" + (
                    "" if marketing else f" for {policy.cap_max_wait_days} days more"
                )
                skipped.append(Skipped(contact, "contact_cap", why))
                continue
            rules.append("contact_cap" if waited == at else "contact_cap:waited")
            at = waited
            counted.append(at)
        due.append(Admitted(contact, at, channel, rules))
    return due, skipped


def _allowed_time(at: datetime, policy: Policy) -> datetime:
    return out_of_quiet_hours(at, policy.timezone, policy.quiet_start, policy.quiet_end)


def _room(
    at: datetime,
    counted: list[datetime],
    policy: Policy,
    *,
    wait: bool,
    until: datetime | None = None,
) -> datetime | None:
    """`at` if the cap has room; else (when it may wait) the first later day that has,
    before the contact's useful life ends (`until`)."""
    if not over_cap(at, counted, policy):
        return at
    if not wait:
        return None
    for days in range(1, policy.cap_max_wait_days + 1):
        later = _allowed_time(at + timedelta(days=days), policy)
        if until is not None and later >= until:
            return None
        if not over_cap(later, counted, policy):
            return later
    return None
