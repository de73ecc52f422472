"""Deterministic ids that are part of the contract: a sender can compute them.

A decision's event id is `uuid5(<causing event id>, "<EventType>:<name>")`, so a retried
or replayed decision gets the same id. Outreach's contacts follow from it:

- `follow_up_id(cause, name)` = `fu-<hex of uuid5(cause, "FollowUpDue:<name>")>`, the id of
  the contact `name` caused by the event `cause` (the `FollowUpDue`'s own event id in hex);
- `survey_id(follow_up_id, kind)` = `sv-<kind lower>-<the same hex>`.

Surveys are the contacts `survey_csi` (caused by a `ServiceCompleted`) and `survey_ssi`
(caused by a `VehicleDelivered`); an NPS question riding on either has kind `NPS`. So a
survey tool that sends `SurveyAnswered` can compute the `survey_id` from the event that
caused the survey, e.g. `survey_id(follow_up_id(service_completed_id, "survey_csi"), "CSI")`,
or read it from the `FollowUpDue` (`survey_id`, `detail.nps_survey_id`).
"""

from __future__ import annotations

from uuid import UUID, uuid5

FOLLOW_UP_DUE = "FollowUpDue"
SURVEY_CONTACTS = {"CSI": "survey_csi", "SSI": "survey_ssi"}


def decision_uuid(cause_event_id: UUID, name: str) -> UUID:
    """The event id of the decision `name` ("<EventType>:<name>") caused by an event."""
    return uuid5(cause_event_id, name)


def follow_up_id(cause_event_id: UUID, name: str) -> str:
    """The follow-up id of the contact `name` (e.g. `survey_csi`) caused by an event."""
    return f"fu-{decision_uuid(cause_event_id, f'{FOLLOW_UP_DUE}:{name}').hex}"


def survey_id(follow_up_id: str, kind: str) -> str:
    """The survey id of kind `kind` (CSI, SSI, NPS) sent with the follow-up `follow_up_id`."""
    return f"sv-{kind.lower()}-{follow_up_id.removeprefix('fu-')}"
