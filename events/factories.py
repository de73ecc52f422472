"""Valid sample events for tests: `sample_inbound("VehiclePurchased", vin="...")`.

Samples are deterministic. Top-level keyword overrides replace a field (a nested object
such as `customer` is replaced whole); an override of None removes the field. The
`event_id` is derived from the type and the overrides, so the same call twice is the same
event (a resend); pass different overrides, or `event_id=...`, for distinct events.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from events.registry import INBOUND_TYPES, RECORDED_ONLY_TYPES

SAMPLE_DEALERSHIP = "demo-4s"
SAMPLE_PHONE = "13800138000"
SAMPLE_VIN = "LSGKB54E7LS123456"
SAMPLE_OCCURRED_AT = "2025-03-01T10:00:00+08:00"
SAMPLE_CUSTOMER_ID = "c-demo-0001"
_NAMESPACE = uuid.UUID("6d1f0c2e-6b5e-4c53-9f0a-0c6f5a1a7e11")

_PAYLOADS: dict[str, dict[str, Any]] = {
    "CustomerRegistered": {
        "name": "张伟",
        "phones": [SAMPLE_PHONE],
        "birthday": "1985-06-15",
        "family": [{"relation": "spouse", "name": "李娜", "birthday": "1987-09-20"}],
        "advisor_id": "adv-001",
        "consent": {"marketing": True, "channels": ["phone", "wechat"]},
    },
    "CustomerVisited": {"visit_kind": "showroom", "advisor_id": "adv-001"},
    "VehiclePurchased": {
        "vin": SAMPLE_VIN,
        "model": "CT5",
        "colour": "black",
        "price_cny": 289900,
        "advisor_id": "adv-001",
    },
    "VehicleDelivered": {"vin": SAMPLE_VIN, "delivered_at": "2025-03-01T15:00:00+08:00"},
    "ServiceCompleted": {
        "repair_order_id": "RO-2025-0001",
        "vin": SAMPLE_VIN,
        "mileage_km": 5200,
        "amount_cny": 860.5,
        "service_kind": "maintenance",
        "advisor_id": "adv-002",
    },
    "ComplaintFiled": {
        "complaint_id": "CP-0001",
        "channel": "phone",
        "category": "broken_promise",
        "description": "The car was promised for 17:00 and was not ready until 19:30.",
        "severity": "medium",
        "vin": SAMPLE_VIN,
        "repair_order_id": "RO-2025-0001",
    },
    "ApologyIssued": {
        "complaint_id": "CP-0001",
        "issued_by": "adv-002",
        "channel": "phone",
        "message": "We are sorry we let you down; thank you for telling us.",
    },
    "ComplaintInvestigated": {
        "complaint_id": "CP-0001",
        "answers": {
            "what": "Late delivery after maintenance",
            "how": "Parts arrived late; nobody called",
            "product": "CT5 maintenance",
            "why": "Missed a meeting",
            "advisor": "adv-002",
            "wanted_resolution": "A call when it happens, and a discount",
        },
    },
    "RemedyProposed": {
        "complaint_id": "CP-0001",
        "remedy": "apology",
        "amount_cny": 500,
        "proposed_by": "adv-002",
        "role": "advisor",
    },
    "RemedyAccepted": {"complaint_id": "CP-0001"},
    "RemedyRejected": {"complaint_id": "CP-0001", "note": "Wants more"},
    "FollowUpCompleted": {
        "follow_up_id": "fu-0001",
        "outcome": "reached",
        "satisfaction": 9,
    },
    "SurveyAnswered": {
        "survey_id": "sv-0001",
        "survey_kind": "CSI",
        "score": 9,
        "about": "RO-2025-0001",
    },
    "ReferralClaimed": {
        "referral_id": "rf-0001",
        "referrer": {
            "name": "王强",
            "phone": "13900139000",
            "vehicle_model": "Jetta",
            "vehicle_colour": "black",
        },
        "vin": SAMPLE_VIN,
    },
    "ReferralCallbackAnswered": {
        "referral_id": "rf-0001",
        "questions": [{"correct": True}, {"correct": True}, {"correct": True}],
    },
    "ContactPreferenceChanged": {"opt_out": True, "channels": ["sms"]},
    "CustomerSplitRequested": {
        "merge_event_id": "6f1c1f5e-7b0e-4a57-9d0f-0c9a2f3b7e11",
        "requested_by": "ops-001",
        "reason": "two people sharing one phone",
    },
    "PersonalDataErasureRequested": {"requested_by": "dpo-01", "request_ref": "DSR-2025-0001"},
    "ServiceCheckedIn": {
        "repair_order_id": "RO-2025-0001",
        "vin": SAMPLE_VIN,
        "arrival_kind": "appointment",
        "promised_at": "2025-03-01T17:00:00+08:00",
        "advisor_id": "adv-002",
    },
    "RepairScopeChanged": {
        "repair_order_id": "RO-2025-0001",
        "added_items": ["front brake pads"],
        "extra_amount_cny": 1200,
    },
    "ScopeChangeApproved": {"repair_order_id": "RO-2025-0001"},
    "ScopeChangeDeclined": {"repair_order_id": "RO-2025-0001", "note": "Next visit"},
    "SmallPurchaseMade": {"order_id": "PO-0001", "amount_cny": 399, "items": ["floor mats"]},
}

_RECORDED_PAYLOADS: dict[str, dict[str, Any]] = {
    "ContactRequested": {
        "follow_up_id": "complaint-callback-0001",
        "reason": "complaint_callback",
        "not_before": "2025-03-04T10:00:00+08:00",
        "channels": ["phone"],
        "complaint_id": "CP-0001",
    },
    "FollowUpDue": {
        "follow_up_id": "fu-0001",
        "reason": "purchase_call_7d",
        "due_at": "2025-03-08T10:00:00+08:00",
        "channel": "phone",
    },
    "FollowUpSkipped": {
        "follow_up_id": "fu-0001",
        "reason": "purchase_call_7d",
        "skip_reason": "opted_out",
    },
    "FollowUpExpired": {
        "follow_up_id": "fu-0001",
        "reason": "purchase_call_7d",
        "due_at": "2025-03-08T10:00:00+08:00",
        "expires_at": "2025-03-23T00:00:00+08:00",
    },
    "FollowUpAnswered": {
        "follow_up_id": "fu-0001",
        "reason": "survey_csi",
        "answer": "SurveyAnswered",
    },
    "PhoneFlagged": {"phone": "+8613800138000", "why": "wrong_number"},
    "ComplaintEscalated": {
        "complaint_id": "CP-0001",
        "escalated_to": "manager",
        "why": "sla_breached",
        "level": 1,
    },
    "ComplaintClockSet": {
        "complaint_id": "CP-0001",
        "apology_due_at": "2025-03-01T11:00:00+08:00",
        "sla_due_at": "2025-03-05T10:00:00+08:00",
        "clock": "business",
        "general_manager_due_at": "2025-03-09T10:00:00+08:00",
        "apology_within_hours": 1.0,
        "sla_hours": 48.0,
    },
    "ApologyOverdue": {"complaint_id": "CP-0001", "due_at": "2025-03-01T11:00:00+08:00"},
    "RemedyRefused": {
        "complaint_id": "CP-0001",
        "remedy": "refund",
        "amount_cny": 5000,
        "role": "advisor",
        "limit_cny": 2000,
        "why": "above_authority",
    },
    "ComplaintResolved": {
        "complaint_id": "CP-0001",
        "resolved_at": "2025-03-02T10:00:00+08:00",
        "hours_to_resolution": 24.0,
        "within_sla": True,
        "business_hours_to_resolution": 12.0,
    },
    "ComplaintClosed": {"complaint_id": "CP-0001", "satisfaction": 8, "follow_up_id": "fu-0002"},
    "ComplaintReopened": {
        "complaint_id": "CP-0001",
        "follow_up_id": "fu-0002",
        "outcome": "reached",
        "satisfaction": 4,
    },
    "ComplaintStepRejected": {
        "complaint_id": "CP-0001",
        "attempted": "RemedyAccepted",
        "why": "no_remedy_proposed",
    },
    "ComplaintRiskFlagged": {"why": "rework", "repair_order_id": "RO-2025-0001"},
    "SurveyAnswerRejected": {"survey_id": "sv-0001", "why": "already_answered"},
    "ReferralVerified": {"referral_id": "rf-0001", "referrer_customer_id": "c-demo-0002"},
    "ReferralRejected": {"referral_id": "rf-0001", "reason": "callback_failed"},
    "RewardGranted": {
        "referral_id": "rf-0001",
        "referrer_customer_id": "c-demo-0002",
        "kind": "service_voucher",
        "amount_cny": 1000,
    },
    "CustomersMerged": {
        "survivor_id": SAMPLE_CUSTOMER_ID,
        "merged_ids": ["c-demo-0003"],
        "because": "phone +8613800138000",
        "evidence": [
            {"key_kind": "phone", "key": "phone:+8613800138000", "customer_id": "c-demo-0003"}
        ],
    },
    "CustomersUnmerged": {
        "merge_event_id": "6f1c1f5e-7b0e-4a57-9d0f-0c9a2f3b7e11",
        "survivor_id": SAMPLE_CUSTOMER_ID,
        "restored_id": "c-demo-0003",
        "requested_by": "ops-001",
        "reason": "two people sharing one phone",
    },
    "VehicleOwnershipChanged": {
        "vin": "LSGKB54E7LS123457",
        "previous_owner_id": "c-demo-0003",
        "owner_id": SAMPLE_CUSTOMER_ID,
        "changed_at": "2025-03-01T10:00:00+08:00",
    },
    "ScopeChangeBreached": {"repair_order_id": "RO-2025-0001", "advisor_id": "adv-002"},
    "CustomerErased": {
        "erased_ids": [SAMPLE_CUSTOMER_ID, "c-demo-0003"],
        "requested_by": "dpo-01",
        "request_ref": "DSR-2025-0001",
    },
}


def _event_id(event_type: str, overrides: dict[str, Any]) -> str:
    key = json.dumps([event_type, overrides], sort_keys=True, default=str, ensure_ascii=False)
    return str(uuid.uuid5(_NAMESPACE, key))


def _apply(sample: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if value is None:
            sample.pop(key, None)
        else:
            sample[key] = value
    return sample


def sample_inbound(event_type: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid JSON-able inbound event of `event_type`, with `overrides` applied."""
    if event_type not in INBOUND_TYPES:
        raise KeyError(f"{event_type!r} is not an inbound event type")
    sample: dict[str, Any] = {
        "event_id": _event_id(event_type, overrides),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": SAMPLE_OCCURRED_AT,
        "dealership_id": SAMPLE_DEALERSHIP,
        "source": "dms",
        "customer": {"phone": SAMPLE_PHONE},
        **json.loads(json.dumps(_PAYLOADS[event_type])),
    }
    return _apply(sample, overrides)


def sample_inbound_bytes(event_type: str, /, **overrides: Any) -> bytes:
    """`sample_inbound` as the JSON bytes a sender would publish."""
    return json.dumps(sample_inbound(event_type, **overrides), ensure_ascii=False).encode()


def sample_recorded(event_type: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid JSON-able recorded-only event (as a service would record it)."""
    if event_type not in RECORDED_ONLY_TYPES:
        raise KeyError(f"{event_type!r} is not a recorded-only event type")
    cause = str(uuid.uuid5(_NAMESPACE, "cause"))
    sample: dict[str, Any] = {
        "event_id": _event_id(event_type, overrides),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": SAMPLE_OCCURRED_AT,
        "dealership_id": SAMPLE_DEALERSHIP,
        "source": "retention",
        "customer_id": SAMPLE_CUSTOMER_ID,
        "correlation_id": cause,
        "causation_id": cause,
        **json.loads(json.dumps(_RECORDED_PAYLOADS[event_type])),
    }
    return _apply(sample, overrides)
