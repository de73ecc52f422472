"""Contact purposes (pure): every contact kind (a `FollowUpReason`) has one purpose
(docs/domain.md "Follow-ups and outreach"); the table `PURPOSE` below is the only place that
says which. What a preference change does to a customer's opt-outs per purpose and channel
is the contract's (events/preferences.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from events.preferences import OptOuts, opt_outs_after
from services.outreach.settings import Policy

PURPOSE: dict[str, str] = {
    "purchase_call_7d": "service",
    "purchase_call_3m": "service",
    "small_purchase_call": "service",
    "service_reminder": "service",
    "inspection_reminder": "service",
    "insurance_reminder": "service",  # a renewal due; Policy.insurance_purpose can say offer
    "survey_csi": "survey",
    "survey_ssi": "survey",
    "survey_nps": "survey",
    "birthday_greeting": "marketing",
    "holiday_greeting": "marketing",
    "reengagement": "marketing",
    "complaint_callback": "complaint",
    # The workshop's scope-change call is a complaint-class step: the customer is told
    # before work goes on, to prevent a complaint (docs/workshop.md).
    "scope_change_contact": "complaint",
    "referral_callback": "referral",
}

CAP_EXEMPT_PURPOSES = frozenset({"complaint"})
"""Complaint steps are exempt from the 30-day cap (and from nothing else)."""


def purpose_of(reason: str, detail: Mapping[str, str], policy: Policy) -> str:
    """The purpose of a contact; a retry has its first try's."""
    if reason == "retry":
        reason = detail.get("first_reason", "")
    if reason == "insurance_reminder":
        return policy.insurance_purpose
    return PURPOSE.get(reason, "service")


Blocked = OptOuts
"""purpose -> the channels the customer opted out of for it (events/preferences.py)."""


def from_legacy(opted_out_all: bool, opted_out_channels: Iterable[str]) -> Blocked:
    """Opt-outs as plans exported them before purposes (an all-channel opt-out and a channel
    list, both for every purpose but complaint steps)."""
    if opted_out_all:
        return opt_outs_after({}, True, None, None)
    channels = list(opted_out_channels)
    return opt_outs_after({}, True, channels, None) if channels else {}
