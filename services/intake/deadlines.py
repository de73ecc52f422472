"""Intake's deadlines: one per customer, the retention limit's (retention.py), set from the
customer's facts and fired by the ticker (laoke/deadlines.py).

- `note`: an event recorded for a customer record counts in its facts; when they changed,
  its customer's deadline is set again from the facts of every record merged into them
  (`reschedule`): cancelled by a purchase; a later touchpoint moves the customer's due
  time, and the deadline follows it when it comes (`fire` looks again then).
- A merge cancels the merged customers' deadlines and sets the survivor's; a split sets
  both customers' again; an erasure cancels the erased customer's (resolution.py).
- `fire`: the deadline came. The rule decides from the facts as they are then, by the
  dealership's limit then: erase, or due later (the limit was lengthened), or keep (a
  buyer). An erasure is the one `PersonalDataErasureRequested` records (identities.py
  `erase_customers`), recorded as `CustomerErased` {`requested_by`: `retention-rule`,
  `request_ref`: the limit, e.g. `retention:P3Y`}, caused by the customer's latest
  touchpoint and dated when the rule made it due: the keyring, the read models, outreach
  and the dead letters do with it what they do with any erasure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from uuid import UUID

from events import CustomerErased, Event
from laoke.deadlines import Deadline, deadline_id
from laoke.decisions import Cause, decision
from laoke.work import UnitOfWork
from services.intake.aggregates import CustomerIdentity, customer_aggregate_id
from services.intake.identities import Identities, erase_customers, merged_under
from services.intake.retention import (
    REQUESTED_BY,
    Erase,
    Facts,
    Reschedule,
    deadline_kind,
    decide,
    due_at,
    folded,
    noted,
)

SERVICE = "intake"
KEY_PREFIX = "retention|"
AT_ONCE = datetime.min.replace(tzinfo=UTC)


def retention_key(dealership_id: str, customer_id: str) -> str:
    return f"{KEY_PREFIX}{dealership_id}|{customer_id}"


@lru_cache(maxsize=200_000)  # asked at every change of a customer's facts
def retention_deadline_id(dealership_id: str, customer_id: str) -> UUID:
    return deadline_id(retention_key(dealership_id, customer_id))


def facts_of(ids: Identities, customer_id: str) -> Facts:
    """The canonical customer's facts: theirs and those of every record merged into them."""
    return folded(ids.identity(c).facts for c in merged_under(ids, customer_id))


def note(
    ids: Identities,
    record: Event,
    home: str,
    customer_id: str,
    years: int,
    regrouped: bool = False,
) -> None:
    """Count `record` in the facts of the record `home` (the customer whose keys named it,
    under the canonical `customer_id`); set the customer's deadline again if they moved,
    or if the records under the customer changed (`regrouped`: a merge, a split)."""
    identity = ids.identity(home)
    after = noted(identity.facts, record)
    if after is not None:
        identity.note(
            bought=after.bought,
            touched_at=after.touched_at,
            anchor=after.anchor,
            heard_at=after.heard_at,
        )
        ids.work.add(identity)
    if after is not None or regrouped:
        reschedule(ids, customer_id, years)


def schedule_new(ids: Identities, customer_id: str, years: int) -> None:
    """A customer first seen in this unit: their deadline (none has been set for them)."""
    due = due_at(ids.identity(customer_id).facts, years)
    if due is not None:
        key = retention_key(ids.dealership_id, customer_id)
        ids.work.add(Deadline(key=key, kind=deadline_kind(years), ref=customer_id, due_at=due))


def reschedule(ids: Identities, customer_id: str, years: int) -> None:
    """Set the canonical customer's deadline from their facts: none (cancelled) for a
    buyer; else pending, and never after the rule's due time. A later touchpoint leaves a
    pending deadline where it is: when it comes, `fire` finds the customer not yet due and
    sets it to their due time then (one write per limit's length, not one per touchpoint)."""
    due = due_at(facts_of(ids, customer_id), years)
    deadline = ids.work.get(retention_deadline_id(ids.dealership_id, customer_id), Deadline)
    kind = deadline_kind(years)
    if due is None:
        cancel(ids, customer_id)
    elif deadline is None:
        key = retention_key(ids.dealership_id, customer_id)
        ids.work.add(Deadline(key=key, kind=kind, ref=customer_id, due_at=due))
    elif not deadline.pending or due < deadline.due_at or deadline.kind != kind:
        deadline.reschedule(due_at=due, kind=kind)


def cancel(ids: Identities, customer_id: str) -> None:
    deadline = ids.work.get(retention_deadline_id(ids.dealership_id, customer_id), Deadline)
    if deadline is not None and deadline.pending:
        deadline.cancel()


def fire(
    work: UnitOfWork, deadline: Deadline, years_of: Callable[[str], int], now: datetime
) -> None:
    """The ticker fired the customer's deadline (`now`: the clock then); decide again, by
    the dealership's limit (`years_of`) now."""
    customer_id = deadline.ref
    identity = work.get(customer_aggregate_id(customer_id), CustomerIdentity)
    if identity is None or identity.erased or identity.merged_into is not None:
        return  # erased or merged since: their deadline no longer counts
    ids = Identities(work, identity.dealership_id)
    years = years_of(identity.dealership_id)
    verdict = decide(facts_of(ids, customer_id), years, now)
    if isinstance(verdict, Reschedule):
        deadline.reschedule(due_at=verdict.due_at, kind=deadline_kind(years))
    elif isinstance(verdict, Erase):
        erased_ids = erase_customers(ids, customer_id)
        anchor = UUID(verdict.anchor)  # an inbound event: its own correlation id
        cause = Cause(anchor, anchor, identity.dealership_id, customer_id)
        erased = decision(
            CustomerErased,
            cause,
            source=SERVICE,
            occurred_at=verdict.at,
            name="retention",
            erased_ids=erased_ids,
            requested_by=REQUESTED_BY,
            request_ref=deadline_kind(years),
        )
        work.decide(erased)


def fire_from(deadline: Deadline, years_of: Callable[[str], int]) -> datetime:
    """When the deadline fires in this run: at its `due_at`, or at once when it was set
    under another limit than its dealership's now (the rule then looks again)."""
    dealership_id = deadline.key.removeprefix(KEY_PREFIX).split("|", 1)[0]
    same = deadline_kind(years_of(dealership_id)) == deadline.kind
    return deadline.due_at if same else AT_ONCE
