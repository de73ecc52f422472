"""Outreach's use cases: load a customer's plan, apply an event or a deadline, decide.

Every decision is built with `laoke.decisions.decision` (deterministic id, causation and
correlation ids) and committed with the plan in one transaction, so it is recorded once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from events import (
    ComplaintClosed,
    ComplaintFiled,
    ComplaintReopened,
    ComplaintResolved,
    ContactPreferenceChanged,
    ContactRequested,
    CustomerErased,
    CustomerRegistered,
    CustomersMerged,
    CustomersUnmerged,
    CustomerVisited,
    Event,
    FollowUpCompleted,
    FollowUpDue,
    InboundEvent,
    PhoneFlagged,
    RewardGranted,
    ServiceCompleted,
    VehicleDelivered,
    VehicleOwnershipChanged,
    VehiclePurchased,
    is_touchpoint,
)
from laoke.clock import Clock
from laoke.deadlines import Deadline
from laoke.decisions import Cause, CauseLike, decision
from laoke.eventstore import ServiceApplication
from laoke.work import UnitOfWork
from services.outreach import answers, identity
from services.outreach.aggregates import ContactPlan, FollowUp, plan_id
from services.outreach.erasure import erase
from services.outreach.expiry import decide, expired, outlived
from services.outreach.planner import (
    EXPIRE,
    PlannedContact,
    moved_to_delivery,
    plan,
    plan_slot,
    schedule,
)
from services.outreach.recording import (
    SERVICE,
    end_skipped,
    record_due,
    record_skip,
    skipped_decision,
)
from services.outreach.rules import Admitted, Skipped, apply_contact_rules
from services.outreach.scheduling import PLAN, arm, reslot, retire
from services.outreach.settings import OutreachSettings, Policy
from services.outreach.slots import next_slot

log = logging.getLogger(__name__)
HANDLED = (
    InboundEvent,
    FollowUpDue,
    ContactRequested,
    CustomersMerged,
    CustomersUnmerged,
    VehicleOwnershipChanged,
    CustomerErased,
    ComplaintResolved,
    ComplaintClosed,
    ComplaintReopened,
    RewardGranted,
)
# Their plan event carries the touchpoint (`touched_at`): no `Touched` of its own.
TOUCHING = (CustomerRegistered, VehiclePurchased, VehicleDelivered, ServiceCompleted)


class Outreach:
    def __init__(self, app: ServiceApplication, settings: OutreachSettings, clock: Clock) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock

    # -- loading -------------------------------------------------------------------------
    def load(self, work: UnitOfWork, dealership_id: str, customer_id: str) -> ContactPlan:
        found = work.get(plan_id(dealership_id, customer_id), ContactPlan)
        if found is not None:
            return found
        created = ContactPlan(dealership_id=dealership_id, customer_id=customer_id)
        work.add(created)
        return created

    def loads(self, event: Event) -> list[UUID]:
        """The plan `handle` loads for the event (the consumer looks a run's up together)."""
        if event.customer_id is None or event.source == SERVICE or not isinstance(event, HANDLED):
            return []
        return [plan_id(event.dealership_id, event.customer_id)]

    # -- events --------------------------------------------------------------------------
    def handle(self, work: UnitOfWork, event: Event) -> None:
        if event.customer_id is None:
            return
        if event.source == SERVICE:
            return  # our own decisions, already in the plan
        if not isinstance(event, HANDLED):
            return
        policy = self.settings.policy(event.dealership_id)
        state = self.load(work, event.dealership_id, event.customer_id)
        if isinstance(event, CustomerErased):
            retire(state, work)
            erase(state, event, work)
            return arm(state, work)
        if state.merged_into is not None:  # named by a service that had not seen the merge
            state = identity.plan_now(work, event.dealership_id, event.customer_id) or state
        first_delivery = isinstance(event, VehicleDelivered) and (
            event.vin not in state.vehicles or state.vehicles[event.vin].delivered_at is None
        )
        self._learn(state, event, policy, work)
        candidates = plan(state, event, policy)
        if first_delivery:
            assert isinstance(event, VehicleDelivered)
            candidates += moved_to_delivery(state, event, policy)
        self._supersede(state, event, candidates, work)
        due, skipped = decide(candidates, state, policy, self.clock.now())
        self._record(state, event, due, skipped, work)
        self._reschedule(state, event, policy, work)

    def _learn(self, state: ContactPlan, event: Event, policy: Policy, work: UnitOfWork) -> None:
        """Update the plan with what `event` tells, and take the decisions that need no plan."""
        touched = event.occurred_at if is_touchpoint(event) else None
        if touched is not None and not isinstance(event, TOUCHING):
            state.touch(touched)
        if isinstance(event, CustomerVisited) and event.visit_kind == "phone_out":
            state.log_outbound_call(event.occurred_at)
        if isinstance(event, CustomerRegistered):
            state.register(
                name=event.name,
                phones=list(event.phones),
                birthday=event.birthday.isoformat() if event.birthday else None,
                family=[
                    {"relation": m.relation, "name": m.name, "birthday": m.birthday.isoformat()}
                    for m in event.family
                ],
                marketing=event.consent.marketing,
                channels=list(event.consent.channels),
                touched_at=touched,
            )
        elif isinstance(event, ContactPreferenceChanged):
            channels: list[str] = list(event.channels or [])
            purposes: list[str] = list(event.purposes or [])
            state.change_preference(
                event.opt_out, channels or None, purposes or None, str(event.event_id)
            )
            if event.opt_out:
                self._cancel_pending(state, event, work)
        elif isinstance(event, VehiclePurchased):
            state.vehicle_purchased(event.vin, event.occurred_at, str(event.event_id), touched)
        elif isinstance(event, VehicleDelivered):
            state.vehicle_delivered(event.vin, event.delivered_at, str(event.event_id), touched)
        elif isinstance(event, ServiceCompleted):
            state.serviced(
                event.vin, event.occurred_at, event.mileage_km, str(event.event_id), touched
            )
        elif isinstance(event, ComplaintFiled | ComplaintReopened):
            # reopened: dissatisfied at the call-back
            state.open_complaint(event.complaint_id, str(event.event_id))
        elif isinstance(event, ComplaintResolved | ComplaintClosed):
            if event.complaint_id in state.open_complaints:
                state.close_complaint(event.complaint_id)
        elif isinstance(event, FollowUpDue):
            self._honour(state, event)
        elif isinstance(event, FollowUpCompleted):
            self._completed(state, event, policy, work)
        elif isinstance(event, answers.ANSWERS):
            plan_answered = answers.answered(state, event, work)
            if plan_answered is not None and plan_answered is not state:
                self._reschedule(plan_answered, event, policy, work)  # its expiry slots go
        elif isinstance(event, CustomersMerged):
            self._merge(state, event, work)
        elif isinstance(event, CustomersUnmerged):
            self._split(state, event, policy, work)
        elif isinstance(event, VehicleOwnershipChanged):
            previous = identity.sold(event, work)
            if previous is not None:
                self._reschedule(previous, event, policy, work)  # its reminders stop

    def _honour(self, state: ContactPlan, event: FollowUpDue) -> None:
        """Another service's contact (e.g. a complaint call-back): it counts toward the cap
        and is tracked for its outcome, but it is that service's to record."""
        if event.follow_up_id in state.follow_ups:
            return
        state.plan_follow_up(
            FollowUp(
                event.follow_up_id, event.reason, event.due_at, event.channel, event.source
            ).to_dict()
        )

    def _completed(
        self, state: ContactPlan, event: FollowUpCompleted, policy: Policy, work: UnitOfWork
    ) -> None:
        tried = state.follow_ups.get(event.follow_up_id)
        if tried is None or tried.status != "due":
            return
        if event.outcome == "no_answer":
            # the retry (or retries_exhausted) is planned by `plan`; close after it read this
            return
        state.close_follow_up(event.follow_up_id, event.outcome)
        if event.outcome == "wrong_number":
            phone = (event.customer.phone if event.customer else None) or next(
                (p for p in state.phones if p not in state.flagged_phones), None
            )
            if phone is None:
                return
            state.flag_phone(phone)
            work.decide(
                decision(
                    PhoneFlagged,
                    event,
                    source=SERVICE,
                    occurred_at=event.occurred_at,
                    phone=phone,
                    why=f"wrong_number on follow-up {event.follow_up_id}",
                )
            )
            if not state.phone_reachable():
                self._cancel_pending(state, event, work)

    def _merge(self, state: ContactPlan, event: CustomersMerged, work: UnitOfWork) -> None:
        for merged in identity.merged_plans(state, event, work):
            state.absorb(identity.exported(merged))
            retire(merged, work)
            merged.merge_into(state.customer_id)
            arm(merged, work)

    def _split(
        self, state: ContactPlan, event: CustomersUnmerged, policy: Policy, work: UnitOfWork
    ) -> None:
        restored = identity.split(state, event, work)
        if restored is not None:
            self._reschedule(restored, event, policy, work)

    def _cancel_pending(self, state: ContactPlan, event: Event, work: UnitOfWork) -> None:
        """Contacts planned earlier for later that the rules now forbid are skipped, with why:
        outreach's own and those other services requested (the gate decided them)."""
        policy = self.settings.policy(state.dealership_id)
        for follow_up in list(state.follow_ups.values()):
            requested = follow_up.request_id is not None
            if (
                follow_up.status != "due"
                or (follow_up.source != SERVICE and not requested)
                or follow_up.due_at <= event.occurred_at
            ):
                continue
            root = state.follow_ups.get(follow_up.root_id)
            first_reason = root.reason if root is not None else follow_up.reason
            contact = PlannedContact(
                follow_up.follow_up_id,
                follow_up.reason,
                follow_up.due_at,
                (follow_up.channel,),
                {"first_reason": first_reason} if follow_up.reason == "retry" else {},
                attempt=1,
            )
            _, skipped = apply_contact_rules([contact], state, policy)
            for skip in skipped:
                if skip.skip_reason not in ("opted_out", "channel_opted_out", "wrong_number"):
                    continue
                end_skipped(state, follow_up, skip, event, f"cancel:{follow_up.follow_up_id}", work)

    def _supersede(
        self, state: ContactPlan, event: Event, candidates: list[PlannedContact], work: UnitOfWork
    ) -> None:
        """A purchase call planned again from the delivery replaces the one from the order."""
        for contact in candidates:
            old = state.follow_ups.get(contact.detail.get("replaces", ""))
            if old is None or old.status != "due":
                continue
            state.cancel_follow_up(old.follow_up_id, "superseded")
            why = f"counted from the delivery: {contact.due_at.isoformat()} instead"
            skip = Skipped(contact, "superseded", why)
            work.decide(
                skipped_decision(
                    event,
                    old.follow_up_id,
                    old.reason,
                    skip,
                    name=f"supersede:{old.follow_up_id}",
                    at=event.occurred_at,
                )
            )

    # -- recording -----------------------------------------------------------------------
    def _record(
        self,
        state: ContactPlan,
        cause: CauseLike,
        due: list[Admitted],
        skipped: list[Skipped],
        work: UnitOfWork,
        at: datetime | None = None,
    ) -> None:
        occurred = at or getattr(cause, "occurred_at", None) or self.clock.now()
        policy = self.settings.policy(state.dealership_id)
        for admitted in due:
            record_due(state, cause, admitted, work, occurred, policy)
            if admitted.contact.request is not None:
                answers.expect(state, admitted.contact.request, work)
        for skip in skipped:
            record_skip(cause, skip, work, occurred)
        if isinstance(cause, FollowUpCompleted) and cause.outcome == "no_answer":
            tried = state.follow_ups.get(cause.follow_up_id)
            if tried is not None and tried.status == "due":
                state.close_follow_up(cause.follow_up_id, "no_answer")

    # -- deadlines -----------------------------------------------------------------------
    def _reschedule(
        self, state: ContactPlan, cause: CauseLike, policy: Policy, work: UnitOfWork
    ) -> None:
        """Make the plan's slots (and its deadline) match `schedule`."""
        reslot(state, schedule(state, self.clock.now(), policy), cause, work)

    def on_deadline(self, work: UnitOfWork, deadline: Deadline) -> None:
        """Called by the ticker (which fired the deadline) once the clock passed `due_at`:
        the plan's earliest slot is due (or, for a slot's own deadline of an older version,
        that slot). Its contact is decided and dated at the slot's time (not when the
        ticker noticed it; only a contact whose useful life ended before then is skipped
        `expired`, e.g. a deadline that was already past when a history import scheduled
        it). An `expire:` slot ends its open contact, dated at the expiry. Then the
        deadline is due at the next slot."""
        state = work.get(UUID(deadline.ref), ContactPlan)
        if state is None:
            return
        if deadline.kind != PLAN:
            if state.deadlines.get(deadline.kind) == deadline.key:
                self._fire(state, deadline.kind, deadline.due_at, work)
        elif (found := next_slot(state.deadlines)) is not None and found[1] <= deadline.due_at:
            self._fire(state, found[0], found[1], work)
        arm(state, work)

    def _fire(self, state: ContactPlan, slot: str, now: datetime, work: UnitOfWork) -> None:
        """The contact `slot` calls for at its time `now`."""
        event_id, correlation_id = state.causes[slot]
        if slot.startswith(f"{EXPIRE}:"):
            self._expire(state, slot, UUID(correlation_id), now, work)
            return
        cause = Cause(UUID(event_id), UUID(correlation_id), state.dealership_id, state.customer_id)
        policy = self.settings.policy(state.dealership_id)
        candidates = plan_slot(state, slot, now, policy)
        due, skipped = decide(candidates, state, policy, self.clock.now())
        self._record(state, cause, due, skipped, work, at=now)
        state.slot_fired(slot, now)
        self._reschedule(state, cause, policy, work)

    def _expire(
        self, state: ContactPlan, slot: str, correlation_id: UUID, at: datetime, work: UnitOfWork
    ) -> None:
        """An open contact of ours reached its expiry (`at`): it ends, recorded."""
        follow_up = state.follow_ups.get(slot.removeprefix(f"{EXPIRE}:"))
        if follow_up is None or not outlived(follow_up, at):
            state.clear_slot(slot)
            return
        state.expire_follow_up(follow_up.follow_up_id, slot)
        work.decide(expired(state, follow_up, correlation_id, at, source=SERVICE))
