"""The follow-ups read model (planned, skipped, done, expired) and the survey answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events import (
    ContactRequested,
    FollowUpAnswered,
    FollowUpCompleted,
    FollowUpDue,
    FollowUpExpired,
    FollowUpSkipped,
    SurveyAnswered,
    SurveyAnswerRejected,
    backdated,
)
from laoke.merges import follow_up_origin
from services.projections.readmodels.context import Context
from services.projections.tables import COMPLAINTS, FOLLOWUPS, Row, ts

# Follow-up reasons by department (for grouping metrics); anything else is customer care.
SALES_REASONS = {"purchase_call_7d", "purchase_call_3m", "small_purchase_call", "survey_ssi"}
SERVICE_REASONS = {
    "service_reminder",
    "inspection_reminder",
    "insurance_reminder",
    "survey_csi",
    "scope_change_contact",
}


def _followup_department(reason: str | None) -> str:
    if reason in SALES_REASONS:
        return "sales"
    if reason in SERVICE_REASONS:
        return "service"
    return "customer_care"


def vin_of(
    doc: dict[str, Any],
    complaint_vin: Callable[[str], str | None],
    retried_vin: Callable[[str], str | None],
) -> str | None:
    """The vehicle a follow-up is about: the VIN its detail names (purchase calls, surveys,
    reminders), else its complaint's VIN, else that of the follow-up it retries."""
    detail = doc.get("detail") or {}
    if detail.get("vin"):
        return str(detail["vin"])
    if doc.get("complaint_id") and (found := complaint_vin(doc["complaint_id"])):
        return found
    if detail.get("retry_of"):
        return retried_vin(detail["retry_of"])
    return None


def _set_vin(ctx: Context, row: Row) -> None:
    """`vin_of` on the rows as they are at this point of the stream (a retried follow-up's
    row already holds its VIN), kept once known."""
    d = row["dealership_id"]

    def complaint_vin(complaint_id: str) -> str | None:
        complaint = ctx.tx.get(COMPLAINTS, d, complaint_id)
        return complaint["doc"].get("vin") if complaint is not None else None

    def retried_vin(follow_up_id: str) -> str | None:
        retried = ctx.tx.get(FOLLOWUPS, d, follow_up_id)
        return retried["doc"].get("vin") if retried is not None else None

    doc = row["doc"]
    doc["vin"] = doc.get("vin") or vin_of(doc, complaint_vin, retried_vin)


def _followup(
    ctx: Context,
    event: FollowUpDue | FollowUpSkipped | FollowUpCompleted | FollowUpExpired | FollowUpAnswered,
    customer: Row,
) -> Row:
    row = ctx.tx.get(FOLLOWUPS, event.dealership_id, event.follow_up_id)
    if row is None:
        row = {
            "dealership_id": event.dealership_id,
            "follow_up_id": event.follow_up_id,
            "customer_id": customer["customer_id"],
            "status": "open",
            "due_at": None,
            "done_at": None,
            "reason": None,
            "advisor_id": customer["advisor_id"],
            "department": "customer_care",
            "channel": None,
            "doc": {
                "origin_event_id": str(event.event_id),  # whose it is after a split (splits.py)
                "origin": (  # the event it was planned because of (laoke/merges.py)
                    follow_up_origin(event)
                    if isinstance(event, FollowUpDue | FollowUpSkipped)
                    else None
                ),
                "planned_at": None,
                "outcome": None,
                "rules_applied": [],
                "detail": {},
                "vin": None,
            },
        }
    ctx.tx.put(FOLLOWUPS, row)
    return row


def on_contact_requested(ctx: Context, event: ContactRequested, customer: Row) -> None:
    """Timeline only: the work list shows the contact once outreach's contact rules planned
    it (`FollowUpDue`) or refused it (`FollowUpSkipped`), under the same follow-up id."""
    del ctx, event, customer


def on_followup_due(ctx: Context, event: FollowUpDue, customer: Row) -> None:
    row = _followup(ctx, event, customer)
    row.update(
        due_at=ts(event.due_at),
        reason=event.reason,
        department=_followup_department(event.reason),
        channel=event.channel,
    )
    if event.complaint_id:
        complaint = ctx.tx.get(COMPLAINTS, event.dealership_id, event.complaint_id)
        if complaint is not None:
            row["department"] = complaint["department"]
            row["advisor_id"] = complaint["advisor_id"] or row["advisor_id"]
    row["doc"].update(
        planned_at=ts(event.occurred_at),
        channel=event.channel,
        detail=dict(event.detail),
        rules_applied=list(event.rules_applied),
        priority=event.priority,
        survey_id=event.survey_id,
        complaint_id=event.complaint_id,
        referral_id=event.referral_id,
        party=event.party,
        source=event.source,
    )
    if event.expires_at is not None:  # (no key otherwise: as in stores from before expiries)
        row["doc"]["expires_at"] = ts(event.expires_at)
    _set_vin(ctx, row)


def on_followup_skipped(ctx: Context, event: FollowUpSkipped, customer: Row) -> None:
    row = _followup(ctx, event, customer)
    if row["status"] == "done":
        return
    row.update(status="skipped", reason=row["reason"] or event.reason)
    row["due_at"] = row["due_at"] or ts(event.occurred_at)
    row["doc"].update(skip_reason=event.skip_reason, skipped_at=ts(event.occurred_at))
    row["doc"]["detail"].update(event.detail)
    _set_vin(ctx, row)


def on_followup_expired(ctx: Context, event: FollowUpExpired, customer: Row) -> None:
    """Outlived its useful life while open: off the work list, counted as not done. A call
    reported made after all (a `FollowUpCompleted` later on the stream) is done."""
    row = _followup(ctx, event, customer)
    if row["status"] != "open":
        return
    row.update(status="expired")
    row["due_at"] = row["due_at"] or ts(event.due_at)
    row["doc"].update(expired_at=ts(event.occurred_at), expires_at=ts(event.expires_at))


def on_followup_completed(ctx: Context, event: FollowUpCompleted, customer: Row) -> None:
    row = _followup(ctx, event, customer)
    row.update(status="done", done_at=ts(event.occurred_at))
    row["due_at"] = row["due_at"] or ts(event.occurred_at)
    row["doc"].update(outcome=event.outcome, satisfaction=event.satisfaction, note=event.note)
    complaint_id = row["doc"].get("complaint_id")
    if complaint_id and backdated(event):  # a complaint's step 6, reported late
        complaint = ctx.tx.get(COMPLAINTS, event.dealership_id, complaint_id)
        if complaint is not None:
            complaint["doc"].setdefault("backdated", {})["6"] = ts(event.received_at)
            ctx.tx.put(COMPLAINTS, complaint)
    if event.satisfaction is not None and event.satisfaction <= ctx.settings.low_score_max:
        ctx.signal(event, customer, "low_callback_score", row["advisor_id"], row["department"])


def on_followup_answered(ctx: Context, event: FollowUpAnswered, customer: Row) -> None:
    """Answered through another door (outreach.md "Answered elsewhere"): done, `reached`,
    and counted as done like a call reported made."""
    row = _followup(ctx, event, customer)
    row.update(status="done", done_at=ts(event.occurred_at))
    row["due_at"] = row["due_at"] or ts(event.occurred_at)
    row["doc"].update(outcome="reached", answered_by=event.answer)


def on_survey(ctx: Context, event: SurveyAnswered, customer: Row) -> None:
    advisor, department = ctx.ref(event.dealership_id, event.about)
    if event.survey_kind == "CSI":
        department = "service"
    elif event.survey_kind == "SSI":
        department = "sales"
    department = department or "general"
    advisor = advisor or customer["advisor_id"]
    ctx.tx.defer(
        "INSERT INTO surveys (event_id, dealership_id, customer_id, survey_id, kind, score,"
        " answered_at, advisor_id, department) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (event_id) DO NOTHING",
        (
            ctx.event_id,
            event.dealership_id,
            customer["customer_id"],
            event.survey_id,
            event.survey_kind,
            event.score,
            ts(event.occurred_at),
            advisor,
            department,
        ),
    )
    if event.score <= ctx.settings.low_score_max:
        ctx.signal(event, customer, f"low_{event.survey_kind.lower()}", advisor, department)


def on_survey_rejected(ctx: Context, event: SurveyAnswerRejected, customer: Row) -> None:
    """Not a true answer (not invited, answered twice, someone else): out of the metrics."""
    ctx.tx.execute("UPDATE surveys SET rejected = 1 WHERE event_id = ?", (str(event.causation_id),))
    ctx.tx.execute("DELETE FROM signals WHERE event_id = ?", (str(event.causation_id),))
