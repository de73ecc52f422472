"""A plan's slots and its one deadline, kept in step through the unit of work.

`reslot` records the slots `schedule` wants (new, moved, or no more wanted) in one
`SlotsScheduled`, then `arm` keeps the plan's `Deadline` due at its earliest slot: moved,
rescheduled once fired, cancelled when none is left; never recreated once stored (one made
in the unit of work at hand is made anew rather than moved: one event stored, not two). A
plan stored by a version that gave each slot a deadline of its own has those cancelled at
its first change (`retire`): its one deadline stands for them from then on, due at the
same times and firing them in the same order (slots.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from laoke.deadlines import Deadline, deadline_id
from laoke.decisions import CauseLike
from laoke.work import UnitOfWork, created_here
from services.outreach.aggregates import ContactPlan
from services.outreach.slots import next_slot, plan_deadline_key, slot_due

PLAN = "plan"  # the kind of a plan's one deadline (a slot's own deadline has the slot's)


def reslot(
    state: ContactPlan, wanted: dict[str, datetime], cause: CauseLike, work: UnitOfWork
) -> None:
    """Make the plan's slots `wanted` (slot -> due_at), as of `cause`, and its deadline
    their earliest."""
    earliest = next_slot(state.deadlines)
    retired = retire(state, work)
    cleared = [slot for slot in state.deadlines if slot not in wanted]
    due = _changed(state.deadlines, wanted)
    found = earliest
    if cleared or due:
        correlation = cause.correlation_id or cause.event_id
        state.trigger_event(
            ContactPlan.SlotsScheduled,
            due=due,
            cleared=cleared,
            cause_id=str(cause.event_id),
            correlation_id=str(correlation),
        )
        found = next_slot(state.deadlines)
    if retired or _when(found) != _when(earliest):
        _arm(state, work, found)


def _changed(deadlines: dict[str, str], wanted: dict[str, datetime]) -> dict[str, str]:
    """The slots `wanted` that are new or due at another time than their key says: slot ->
    due_at ISO (a plain loop: asked at most messages)."""
    due: dict[str, str] = {}
    for slot, due_at in wanted.items():
        at = due_at.isoformat()
        key = deadlines.get(slot)
        if key is None or slot_due(key) != at:
            due[slot] = at
    return due


def arm(state: ContactPlan, work: UnitOfWork) -> None:
    """The plan's one deadline due at its earliest slot (cancelled when none is left)."""
    retire(state, work)
    _arm(state, work, next_slot(state.deadlines))


def _arm(state: ContactPlan, work: UnitOfWork, found: tuple[str, datetime] | None) -> None:
    """The plan's one deadline due at `found`, its earliest slot now. A plan created in
    this unit of work has none stored: its id is not looked up."""
    key = plan_deadline_key(state.id)
    deadline = work.get(deadline_id(key), Deadline, stored=not created_here(state))
    if deadline is None:
        if found is not None:
            work.add(Deadline(key=key, kind=PLAN, ref=str(state.id), due_at=found[1]))
    elif found is None:
        if deadline.pending:
            deadline.cancel()
    elif not deadline.pending:  # fired (or cancelled: merged, erased) before
        deadline.reschedule(found[1], PLAN)
    elif deadline.due_at != found[1]:
        if created_here(deadline):  # none of it stored yet: made anew at its time, not moved
            work.add(Deadline(key=key, kind=PLAN, ref=str(state.id), due_at=found[1]))
        else:
            deadline.move(found[1])


def retire(state: ContactPlan, work: UnitOfWork) -> bool:
    """Cancel the deadlines of the slots that have one of their own (an older version's);
    from then on the plan's one deadline stands for them. True if there were any."""
    if not state.own_deadlines:
        return False
    keys = [state.deadlines.get(slot) for slot in sorted(state.own_deadlines)]
    cancel([key for key in keys if key is not None], work)
    state.retire_slot_deadlines()
    return True


def cancel(keys: Iterable[str], work: UnitOfWork) -> None:
    """Cancel the deadlines of `keys` still pending."""
    for key in keys:
        deadline = work.get(deadline_id(key), Deadline)
        if deadline is not None and deadline.pending:
            deadline.cancel()


def _when(found: tuple[str, datetime] | None) -> datetime | None:
    return found[1] if found is not None else None
