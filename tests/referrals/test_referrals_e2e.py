"""End to end on a real nats-server: intake and referrals in-process, inbound events
published on `dealer.in.<d>.<Type>`, decisions read back from RETENTION.

One real referral (verified and rewarded) and one test per way of being fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from referral_helpers import (
    REFEREE_PHONE,
    REFEREE_VIN,
    REFERRER_PHONE,
    REFERRER_VIN,
    D,
    callback,
    claim,
)
from waiting import wait_for

from events import (
    ContactRequested,
    CustomerRegistered,
    Event,
    ReferralRejected,
    ReferralVerified,
    RewardGranted,
    inbound_subject,
)
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.sealing import load_for, read_recorded
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.intake.service import IntakeService
from services.referrals.service import ReferralsService
from services.referrals.settings import ReferralSettings

E = TypeVar("E", bound=Event)
OTHER_REFERRER_PHONE = "13700137000"


class Dealership:
    """Publishes inbound events and reads what was recorded on RETENTION."""

    def __init__(self, js: JetStreamContext, referrals: ReferralsService) -> None:
        self.js = js
        self.referrals = referrals
        self.seen: list[Event] = []

    async def send(self, event_type: str, **overrides: Any) -> None:
        body = sample_inbound(event_type, **overrides)
        await self.js.publish(
            inbound_subject(D, event_type), json.dumps(body, ensure_ascii=False).encode()
        )

    async def recorded(self) -> list[Event]:
        info = await self.js.stream_info(RETENTION)
        for seq in range(len(self.seen) + 1, info.state.last_seq + 1):
            try:
                message = await self.js.get_msg(RETENTION, seq)
            except NotFoundError:  # pragma: no cover - RETENTION denies deletes
                continue
            assert message.data is not None
            keyring = self.referrals.keyring  # what the test reads, opened like the service
            await load_for(keyring, [message])
            self.seen.append(read_recorded(message.data, keyring))
        return self.seen

    async def wait(self, model: type[E], referral_id: str, count: int = 1) -> list[E]:
        async def probe() -> list[E]:
            found = [
                e
                for e in await self.recorded()
                if isinstance(e, model) and getattr(e, "referral_id", None) == referral_id
            ]
            return found if len(found) >= count else []

        result: list[E] = await wait_for(probe, what=f"{model.__name__} {referral_id}")
        return result

    async def customer_with_phone(self, phone: str) -> str:
        async def probe() -> str | None:
            for e in await self.recorded():
                if isinstance(e, CustomerRegistered) and phone in e.phones:
                    return e.customer_id
            return None

        customer_id: str = await wait_for(probe, what=f"customer {phone}")
        return customer_id

    # -- the story's steps ------------------------------------------------------------------
    async def referrer_with_car(
        self, phone: str = REFERRER_PHONE, vin: str = REFERRER_VIN, colour: str = "black"
    ) -> str:
        customer = {"phone": phone}
        await self.send("CustomerRegistered", customer=customer, phones=[phone], name="王强")
        await self.send(
            "VehiclePurchased", customer=customer, vin=vin, model="Jetta", colour=colour,
            occurred_at="2025-01-05T10:00:00+08:00",
        )  # fmt: skip
        await self.send(
            "VehicleDelivered", customer=customer, vin=vin,
            delivered_at="2025-01-06T10:00:00+08:00", occurred_at="2025-01-06T10:00:00+08:00",
        )  # fmt: skip
        return await self.customer_with_phone(phone)

    async def referee_registers_and_buys(self) -> str:
        customer = {"phone": REFEREE_PHONE}
        await self.send("CustomerRegistered", customer=customer, phones=[REFEREE_PHONE])
        await self.send(
            "VehiclePurchased", customer=customer, vin=REFEREE_VIN, model="CT5", colour="white",
            occurred_at="2026-01-02T10:00:00+08:00",
        )  # fmt: skip
        return await self.customer_with_phone(REFEREE_PHONE)

    async def referee_delivered(self, at: str = "2026-01-05T10:00:00+08:00") -> None:
        await self.send(
            "VehicleDelivered", customer={"phone": REFEREE_PHONE}, vin=REFEREE_VIN,
            delivered_at=at, occurred_at=at,
        )  # fmt: skip

    async def callback_answered(
        self, due: ContactRequested, wrong: int, referrer_phone: str
    ) -> None:
        assert due.referral_id is not None
        phone = referrer_phone if due.party == "referrer" else REFEREE_PHONE
        await self.send(
            "ReferralCallbackAnswered",
            **callback(due.referral_id, wrong, at="2026-01-07T10:00:00+08:00", phone=phone),
        )


@pytest.fixture
async def dealership(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> AsyncIterator[Dealership]:
    intake = IntakeService(settings, clock)
    referrals = ReferralsService(
        settings, clock, ReferralSettings(dealerships={D: {"reward_kind": "gift"}})
    )
    await intake.start()
    await referrals.start()
    try:
        yield Dealership(js, referrals)
    finally:
        await referrals.stop()
        await intake.stop()


async def test_real_referral_is_verified_and_the_referrer_rewarded(dealership: Dealership) -> None:
    referrer = await dealership.referrer_with_car()
    referee = await dealership.referee_registers_and_buys()
    await dealership.send("ReferralClaimed", **claim("rf-real", at="2026-01-03T10:00:00+08:00"))
    await dealership.referee_delivered()
    (due,) = await dealership.wait(ContactRequested, "rf-real")
    assert due.reason == "referral_callback"
    assert due.customer_id == {"referrer": referrer, "referee": referee}[due.party or ""]
    await dealership.callback_answered(due, wrong=1, referrer_phone=REFERRER_PHONE)
    (reward,) = await dealership.wait(RewardGranted, "rf-real")
    (verified,) = await dealership.wait(ReferralVerified, "rf-real")
    assert verified.customer_id == referee and verified.referrer_customer_id == referrer
    assert reward.customer_id == referrer
    assert (reward.kind, reward.amount_cny) == ("gift", 500)  # kind overridden, default amount
    assert reward.causation_id == verified.causation_id  # both caused by the callback answer
    record = dealership.referrals.referrer_record(D, referrer)
    assert record is not None
    assert (record["referrals_made"], record["referrals_verified"]) == (1, 1)
    assert not [e for e in await dealership.recorded() if isinstance(e, ReferralRejected)]


async def test_claim_registered_after_delivery_is_rejected(dealership: Dealership) -> None:
    await dealership.referrer_with_car()
    referee = await dealership.referee_registers_and_buys()
    await dealership.referee_delivered(at="2026-01-05T10:00:00+08:00")
    await dealership.send("ReferralClaimed", **claim("rf-late", at="2026-01-06T10:00:00+08:00"))
    (rejected,) = await dealership.wait(ReferralRejected, "rf-late")
    assert (rejected.reason, rejected.customer_id) == ("registered_after_delivery", referee)


async def test_unknown_referrer_is_rejected_at_delivery(dealership: Dealership) -> None:
    await dealership.referrer_with_car()
    await dealership.referee_registers_and_buys()
    await dealership.send(
        "ReferralClaimed",
        **claim("rf-ghost", at="2026-01-03T10:00:00+08:00", phone=OTHER_REFERRER_PHONE),
    )
    await dealership.referee_delivered()
    (rejected,) = await dealership.wait(ReferralRejected, "rf-ghost")
    assert rejected.reason == "referrer_unknown"


async def test_referrer_vehicle_mismatch_is_rejected_at_delivery(dealership: Dealership) -> None:
    referrer = await dealership.referrer_with_car(colour="black")
    await dealership.referee_registers_and_buys()
    await dealership.send(
        "ReferralClaimed", **claim("rf-white", at="2026-01-03T10:00:00+08:00", colour="white")
    )
    await dealership.referee_delivered()
    (rejected,) = await dealership.wait(ReferralRejected, "rf-white")
    assert rejected.reason == "referrer_vehicle_mismatch"
    record = dealership.referrals.referrer_record(D, referrer)
    assert record is not None and record["referrals_made"] == 1


async def test_failed_callback_is_rejected_and_recorded_against_the_referrer(
    dealership: Dealership,
) -> None:
    referrer = await dealership.referrer_with_car()
    await dealership.referee_registers_and_buys()
    await dealership.send("ReferralClaimed", **claim("rf-fake", at="2026-01-03T10:00:00+08:00"))
    await dealership.referee_delivered()
    (due,) = await dealership.wait(ContactRequested, "rf-fake")
    await dealership.callback_answered(due, wrong=2, referrer_phone=REFERRER_PHONE)
    (rejected,) = await dealership.wait(ReferralRejected, "rf-fake")
    assert rejected.reason == "callback_failed"
    record = dealership.referrals.referrer_record(D, referrer)
    assert record is not None
    assert (record["referrals_made"], record["referrals_verified"], record["referrals_faked"]) == (
        1,
        0,
        1,
    )
    assert not [e for e in await dealership.recorded() if isinstance(e, RewardGranted)]


async def test_second_reward_for_the_same_referee_is_rejected(dealership: Dealership) -> None:
    first = await dealership.referrer_with_car()
    second = await dealership.referrer_with_car(phone=OTHER_REFERRER_PHONE, vin="LFV2A21K5J3000002")
    await dealership.referee_registers_and_buys()
    await dealership.send("ReferralClaimed", **claim("rf-a", at="2026-01-03T10:00:00+08:00"))
    await dealership.send(
        "ReferralClaimed",
        **claim("rf-b", at="2026-01-04T10:00:00+08:00", phone=OTHER_REFERRER_PHONE),
    )
    await dealership.referee_delivered()
    (due_a,) = await dealership.wait(ContactRequested, "rf-a")
    (due_b,) = await dealership.wait(ContactRequested, "rf-b")
    await dealership.callback_answered(due_a, wrong=0, referrer_phone=REFERRER_PHONE)
    (reward,) = await dealership.wait(RewardGranted, "rf-a")
    assert reward.customer_id == first
    await dealership.callback_answered(due_b, wrong=0, referrer_phone=OTHER_REFERRER_PHONE)
    (rejected,) = await dealership.wait(ReferralRejected, "rf-b")
    assert rejected.reason == "already_rewarded"
    rewards = [e for e in await dealership.recorded() if isinstance(e, RewardGranted)]
    assert [r.referral_id for r in rewards] == ["rf-a"]
    record = dealership.referrals.referrer_record(D, second)
    assert record is not None and record["referrals_verified"] == 0
