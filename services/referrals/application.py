"""Referrals' use case: each event from RETENTION → changed aggregates and decisions.

Loads what an event concerns, asks the pure rules (`rules`), which record the outcome on
the aggregates and return the decisions. Impossible or out-of-order input (a callback for an
unknown referral, a callback before the checks) is answered with a `ReferralRejected`
refusal, never an exception.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from events import (
    CustomerRegistered,
    CustomersMerged,
    CustomersUnmerged,
    Event,
    FollowUpDue,
    FollowUpSkipped,
    ReferralCallbackAnswered,
    ReferralClaimed,
    VehicleDelivered,
    VehicleOwnershipChanged,
    VehiclePurchased,
    normalise_phone,
)
from events.recorded import ReferralRejection
from laoke.eventstore import ServiceApplication
from laoke.merges import survivor
from laoke.work import UnitOfWork
from services.referrals import identity, rules
from services.referrals.aggregates import (
    KnownCustomer,
    PhoneIndex,
    Referral,
    known_customer_id,
    phone_index_id,
    referral_aggregate_id,
)
from services.referrals.settings import Policy, ReferralSettings

log = logging.getLogger(__name__)
# What `handle` acts on; the consumer passes over every other type unread (`handles`).
HANDLED = (
    CustomerRegistered,
    VehiclePurchased,
    VehicleDelivered,
    CustomersMerged,
    CustomersUnmerged,
    VehicleOwnershipChanged,
    ReferralClaimed,
    ReferralCallbackAnswered,
    FollowUpDue,
    FollowUpSkipped,
)


class Referrals:
    def __init__(self, app: ServiceApplication, settings: ReferralSettings) -> None:
        self.app = app
        self.settings = settings

    # -- the handler ----------------------------------------------------------------------
    def handle(self, work: UnitOfWork, event: Event) -> None:
        if not isinstance(event, HANDLED) or event.customer_id is None:
            return
        if event.source == rules.SERVICE:
            return  # our own decisions come back on RETENTION
        if isinstance(event, CustomerRegistered):
            self._registered(work, event)
        elif isinstance(event, VehiclePurchased):
            self._purchased(work, event)
        elif isinstance(event, VehicleDelivered):
            self._delivered(work, event)
        elif isinstance(event, CustomersMerged):
            identity.merged(work, event, self._customer)
        elif isinstance(event, CustomersUnmerged):
            identity.split(work, event, self._customer)
        elif isinstance(event, VehicleOwnershipChanged):
            identity.ownership_changed(work, event, self._customer)
        elif isinstance(event, ReferralClaimed):
            self._claimed(work, event)
        elif isinstance(event, ReferralCallbackAnswered):
            self._callback(work, event)
        elif isinstance(event, FollowUpDue | FollowUpSkipped) and event.referral_id:
            self._gated(work, event, event.referral_id)

    def loads(self, event: Event) -> list[UUID]:
        """What `handle` may find new for the event, looked up a run at a time by the
        consumer: the customer, and the index entries of the phones it carries."""
        if not isinstance(event, HANDLED) or event.customer_id is None:
            return []
        if event.source == rules.SERVICE:
            return []
        policy = self.settings.policy(event.dealership_id)
        raws = list(event.phones) if isinstance(event, CustomerRegistered) else []
        if event.customer is not None and event.customer.phone is not None:
            raws.append(event.customer.phone)
        phones = {phone for raw in raws if (phone := self._phone(policy, raw)) is not None}
        return [
            known_customer_id(event.dealership_id, event.customer_id),
            *(phone_index_id(event.dealership_id, phone) for phone in phones),
        ]

    # -- the customer view ----------------------------------------------------------------
    def _customer(self, work: UnitOfWork, dealership_id: str, customer_id: str) -> KnownCustomer:
        """The canonical (surviving) customer, created on first sight."""

        def merged_into(candidate: str) -> str | None:
            found = work.get(known_customer_id(dealership_id, candidate), KnownCustomer)
            return found.merged_into if found is not None else None

        canonical = survivor(customer_id, merged_into)
        found = work.get(known_customer_id(dealership_id, canonical), KnownCustomer)
        if found is None:
            found = KnownCustomer(dealership_id=dealership_id, customer_id=canonical)
            work.add(found)
        return found

    def _phone(self, policy: Policy, raw: str) -> str | None:
        try:
            return normalise_phone(raw, policy.phone_region)
        except ValueError:
            return None

    def _index_phones(self, work: UnitOfWork, event: Event, raws: list[str]) -> KnownCustomer:
        assert event.customer_id is not None
        customer = self._customer(work, event.dealership_id, event.customer_id)
        policy = self.settings.policy(event.dealership_id)
        if event.customer is not None and event.customer.phone is not None:
            raws = [event.customer.phone, *raws]
        for raw in raws:
            phone = self._phone(policy, raw)
            if phone is None:
                continue
            index = work.get(phone_index_id(event.dealership_id, phone), PhoneIndex)
            if index is None:
                work.add(
                    PhoneIndex(
                        dealership_id=event.dealership_id,
                        phone=phone,
                        customer_id=customer.customer_id,
                    )
                )
            elif index.customer_id != customer.customer_id:
                index.reassign(customer_id=customer.customer_id)
            if phone not in customer.phones:
                customer.add_phone(phone=phone)
        return customer

    def _referrer_by_phone(
        self, work: UnitOfWork, dealership_id: str, policy: Policy, raw: str
    ) -> KnownCustomer | None:
        phone = self._phone(policy, raw)
        if phone is None:
            return None
        index = work.get(phone_index_id(dealership_id, phone), PhoneIndex)
        if index is None:
            return None
        return self._customer(work, dealership_id, index.customer_id)

    def _registered(self, work: UnitOfWork, event: CustomerRegistered) -> None:
        self._index_phones(work, event, list(event.phones))

    def _purchased(self, work: UnitOfWork, event: VehiclePurchased) -> None:
        customer = self._index_phones(work, event, [])
        if not customer.sold_on(event.vin):  # a late event of a car sold since: not theirs
            customer.purchase(vin=event.vin, model=event.model, colour=event.colour)

    # -- rule 1: the claim ----------------------------------------------------------------
    def _claimed(self, work: UnitOfWork, event: ReferralClaimed) -> None:
        assert event.customer_id is not None
        dealership = event.dealership_id
        if work.get(referral_aggregate_id(dealership, event.referral_id), Referral) is not None:
            log.info("referral %s claimed again; the first claim stands", event.referral_id)
            return
        policy = self.settings.policy(dealership)
        referee = self._customer(work, dealership, event.customer_id)
        referral = Referral(
            dealership_id=dealership,
            referral_id=event.referral_id,
            referee_id=referee.customer_id,
            referrer=event.referrer.model_dump(),
            vin=event.vin,
            claimed_at=event.occurred_at,
            claim_event_id=event.event_id,
            received_at=event.received_at,
        )
        work.add(referral)
        self._resolve_referrer(work, referral, policy)
        at = event.occurred_at
        rewarded = referral.check(
            rules.check_referee_not_rewarded(referee.rewarded_referral, referral.referral_id), at
        )
        if not rewarded.passed:
            self._reject(work, referral, rewarded, event, at)
            return
        before = rules.check_received_before_delivery(referee.vehicle_list(), event.vin, at)
        if not before.passed:
            referral.check(before, at)
            self._reject(work, referral, before, event, at)
            return
        referee.open_claim(referral_id=referral.referral_id)

    def _resolve_referrer(self, work: UnitOfWork, referral: Referral, policy: Policy) -> None:
        if referral.referrer_id is not None:
            return
        found = self._referrer_by_phone(
            work, referral.dealership_id, policy, referral.referrer["phone"]
        )
        if found is not None and found.customer_id != referral.referee_id:
            referral.resolve_referrer(customer_id=found.customer_id)
            found.count_made()

    # -- rule 2: at delivery --------------------------------------------------------------
    def _delivered(self, work: UnitOfWork, event: VehicleDelivered) -> None:
        referee = self._index_phones(work, event, [])
        if not referee.sold_on(event.vin):
            referee.deliver(vin=event.vin, delivered_at=event.delivered_at)
        policy = self.settings.policy(event.dealership_id)
        for referral_id in list(referee.open_claims):
            referral = work.get(referral_aggregate_id(event.dealership_id, referral_id), Referral)
            if referral is None or referral.status != "claimed":
                referee.close_claim(referral_id=referral_id)
                continue
            if rules.delivery_concerns(referral.vin, event.vin):
                self._at_delivery(work, referral, referee, event.delivered_at, event, policy)

    def _at_delivery(
        self,
        work: UnitOfWork,
        referral: Referral,
        referee: KnownCustomer,
        delivered_at: Any,
        cause: Event,
        policy: Policy,
    ) -> None:
        referee.close_claim(referral_id=referral.referral_id)
        at = delivered_at
        before = referral.check(
            rules.check_registered_before_delivery(
                referral.claimed_at, referee.vehicle_list(), referral.vin
            ),
            at,
        )
        if not before.passed:
            self._reject(work, referral, before, cause, at)
            return
        self._resolve_referrer(work, referral, policy)
        referrer = (
            self._customer(work, referral.dealership_id, referral.referrer_id)
            if referral.referrer_id is not None
            else self._referrer_by_phone(
                work, referral.dealership_id, policy, referral.referrer["phone"]
            )
        )
        known = referral.check(
            rules.check_referrer_known(
                referrer.as_referrer() if referrer else None,
                referee.customer_id,
                referral.referrer["phone"],
            ),
            at,
        )
        if not known.passed or referrer is None:
            self._reject(work, referral, known, cause, at)
            return
        vehicle = referral.check(
            rules.check_referrer_vehicle(
                referrer.as_referrer(),
                referral.referrer["vehicle_model"],
                referral.referrer["vehicle_colour"],
                policy.referrer_vehicle_must_be_delivered,
            ),
            at,
        )
        if not vehicle.passed:
            self._reject(work, referral, vehicle, cause, at)
            return
        # rule 3: the callback
        callback = rules.schedule_callback(referral, referee, referrer, delivered_at, cause, policy)
        work.decide(callback)

    # -- the callback: what the contact gate made of it, and its answers -----------------
    def _gated(
        self, work: UnitOfWork, event: FollowUpDue | FollowUpSkipped, referral_id: str
    ) -> None:
        """What outreach's contact rules made of our callback: its planned time, or why it
        will not be made."""
        referral = work.get(referral_aggregate_id(event.dealership_id, referral_id), Referral)
        callback = referral.callback if referral is not None else None
        if referral is None or callback is None or callback["follow_up_id"] != event.follow_up_id:
            return
        if isinstance(event, FollowUpDue):
            referral.callback_planned(due_at=event.due_at, channel=event.channel)
        else:
            referral.callback_skipped(
                skip_reason=event.skip_reason, why=event.detail.get("why", event.skip_reason)
            )

    def _callback(self, work: UnitOfWork, event: ReferralCallbackAnswered) -> None:
        assert event.customer_id is not None
        at = event.occurred_at
        referral = work.get(referral_aggregate_id(event.dealership_id, event.referral_id), Referral)
        if referral is None:
            self._refuse(work, event, "unknown_referral", "no claim with this referral id")
            return
        if referral.status != "awaiting_callback":
            self._refuse(work, event, "callback_out_of_order", f"referral is {referral.status}")
            return
        answers = [q.correct for q in event.questions]
        referral.answer_callback(asked=len(answers), wrong=answers.count(False), at=at)
        referee = self._customer(work, event.dealership_id, referral.referee_id)
        assert referral.referrer_id is not None  # set before the callback was scheduled
        referrer = self._customer(work, event.dealership_id, referral.referrer_id)
        callback = referral.check(rules.check_callback(answers), at)
        if not callback.passed:
            referrer.count_faked()
            self._reject(work, referral, callback, event, at)
            return
        # rule 4: one reward per referee
        once = referral.check(
            rules.check_referee_not_rewarded(referee.rewarded_referral, referral.referral_id), at
        )
        if not once.passed:
            self._reject(work, referral, once, event, at)
            return
        policy = self.settings.policy(event.dealership_id)
        work.decide(*rules.reward(referral, referee, referrer, event, at, policy))

    # -- verdicts -------------------------------------------------------------------------
    def _reject(
        self, work: UnitOfWork, referral: Referral, check: rules.Check, cause: Event, at: Any
    ) -> None:
        referee = self._customer(work, referral.dealership_id, referral.referee_id)
        work.decide(rules.reject(referral, referee, check, cause, at))

    def _refuse(
        self, work: UnitOfWork, event: ReferralCallbackAnswered, reason: ReferralRejection, why: str
    ) -> None:
        """A callback message that cannot apply: refused, the referral (if any) unchanged."""
        work.decide(rules.refuse(event, reason, why))

    # -- queries --------------------------------------------------------------------------
    def referral(self, dealership_id: str, referral_id: str) -> dict[str, Any] | None:
        found = self.app.get_or_none(referral_aggregate_id(dealership_id, referral_id))
        return found.view() if isinstance(found, Referral) else None

    def referrer_record(self, dealership_id: str, customer_id: str) -> dict[str, Any] | None:
        def load(candidate: str) -> KnownCustomer | None:
            found = self.app.get_or_none(known_customer_id(dealership_id, candidate))
            return found if isinstance(found, KnownCustomer) else None

        def merged_into(candidate: str) -> str | None:
            found = load(candidate)
            return found.merged_into if found is not None else None

        found = load(survivor(customer_id, merged_into))
        return found.record() if found is not None else None
