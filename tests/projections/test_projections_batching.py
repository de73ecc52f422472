"""Where a pulled batch begins and ends changes nothing in the read models: the same stream
applied in one transaction and one message per transaction gives equal tables (what
`laoke verify` checks after crashes, where live batches are cut anywhere and a rebuild
reads thousands at a time).

Found by the fault suite (a kill seed): a merge handed the survivor the merged customer's
vehicle dictionaries themselves, so within one transaction a delivery filed under the
survivor also changed the merged profile's copy, and a later split gave the restored
customer a vehicle that a live run, cut between the two, never had.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from events.factories import sample_inbound, sample_recorded
from laoke.settings import LaokeSettings
from services.projections import application
from services.projections.application import Message, Projections
from services.projections.compare import compare_stores, describe
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore

DEALERSHIP = "dlr-sh-001"
SURVIVOR, RESTORED, REFEREE = "c-batch-0001", "c-batch-0002", "c-batch-0003"
VIN, SECOND_VIN = "LSGKB54E7LS765432", "LSGKB54E7LS765433"
RESTORED_PHONE = "13800138002"
MERGE_ID = "8d3c1a52-3f7e-4d8f-9b1c-2f6a0e5d4c31"


def _inbound(event_type: str, customer_id: str, n: int, **fields: Any) -> dict[str, Any]:
    cause = f"00000000-0000-4000-8000-{n:012d}"
    fields.setdefault("occurred_at", f"2026-03-0{1 + n // 10}T0{n % 10}:00:00+08:00")
    return sample_inbound(
        event_type,
        event_id=cause,
        dealership_id=DEALERSHIP,
        customer_id=customer_id,
        correlation_id=cause,
        causation_id=cause,
        **fields,
    )


def _stream() -> list[dict[str, Any]]:
    """Two people merged by mistake; the restored one's car delivered while merged (filed
    under the survivor), serviced; a second car bought by the restored one while merged;
    then the merge split, the delivery and the second purchase re-attributed."""
    delivered = _inbound("VehicleDelivered", SURVIVOR, 5, vin=VIN)
    second = _inbound("VehiclePurchased", SURVIVOR, 16, vin=SECOND_VIN,
                      customer={"phone": RESTORED_PHONE, "external_id": "dms-77"},
                      occurred_at="2026-03-01T06:30:00+08:00")  # fmt: skip
    return [
        _inbound("CustomerRegistered", SURVIVOR, 1, customer={"phone": "13800138001"}),
        _inbound("CustomerRegistered", RESTORED, 2, customer={"phone": RESTORED_PHONE}),
        _inbound("VehiclePurchased", RESTORED, 3, vin=VIN),
        *_referred("rf-before", RESTORED, 21, "2026-03-01T03:00:00+08:00"),
        sample_recorded(
            "CustomersMerged",
            event_id=MERGE_ID,
            dealership_id=DEALERSHIP,
            customer_id=SURVIVOR,
            survivor_id=SURVIVOR,
            merged_ids=[RESTORED],
            occurred_at="2026-03-01T04:00:00+08:00",
        ),
        delivered,
        _inbound("ServiceCompleted", SURVIVOR, 6, vin=VIN),
        second,
        *_referred("rf-merged", SURVIVOR, 23, "2026-03-01T06:40:00+08:00"),
        *_planned(second["event_id"]),
        sample_recorded(
            "CustomersUnmerged",
            dealership_id=DEALERSHIP,
            customer_id=SURVIVOR,
            merge_event_id=MERGE_ID,
            survivor_id=SURVIVOR,
            restored_id=RESTORED,
            reattributed_event_ids=[delivered["event_id"], second["event_id"]],
            occurred_at="2026-03-01T07:00:00+08:00",
        ),
        _inbound("VehicleDelivered", RESTORED, 8, vin=VIN, delivered_at="2026-03-02T10:00:00Z"),
    ]


def _referred(referral_id: str, credited: str, n: int, at: str) -> list[dict[str, Any]]:
    """A referee's claim naming the restored customer's phone as its referrer, and its
    reward, crediting `credited` (the survivor while merged)."""
    referrer = {
        "name": "李娜",
        "phone": RESTORED_PHONE,
        "vehicle_model": "CT5",
        "vehicle_colour": "black",
    }
    claim = _inbound("ReferralClaimed", REFEREE, n, referral_id=referral_id,
                     customer={"phone": f"1370013700{n}"}, referrer=referrer,
                     vin=f"LSGKB54E7LS7654{n}", occurred_at=at)  # fmt: skip
    reward = sample_recorded("RewardGranted", event_id=f"00000000-0000-4000-8000-{n + 1:012d}",
                             dealership_id=DEALERSHIP, customer_id=REFEREE,
                             referral_id=referral_id, referrer_customer_id=credited,
                             occurred_at=at)  # fmt: skip
    return [claim, reward]


def _planned(cause: str) -> list[dict[str, Any]]:
    """Outreach's follow-ups under the survivor while merged: a purchase call planned on the
    restored customer's purchase (`cause`), its retry, a reminder for that car, and a
    greeting the calendar planned (its slot last scheduled by that purchase)."""
    due = [
        ("fu-call", "purchase_call_7d", {"vin": SECOND_VIN}, cause),
        ("fu-retry", "retry", {"retry_of": "fu-call", "attempt": "2"}, MERGE_ID),
        ("fu-reminder", "service_reminder", {"vin": SECOND_VIN}, MERGE_ID),
        ("fu-greeting", "birthday_greeting", {"relation": "self"}, cause),
    ]
    return [
        sample_recorded(
            "FollowUpDue",
            event_id=f"00000000-0000-4000-8000-0000000003{n:02d}",
            dealership_id=DEALERSHIP,
            customer_id=SURVIVOR,
            follow_up_id=follow_up,
            reason=reason,
            detail=detail,
            correlation_id=correlation,
            causation_id=correlation,
            occurred_at="2026-03-01T06:50:00+08:00",
        )
        for n, (follow_up, reason, detail, correlation) in enumerate(due)
    ]


def _projected(tmp_path: Path, name: str, batch: int) -> ReadStore:
    settings = ProjectionSettings()
    store = ReadStore(LaokeSettings(data_dir=tmp_path / name), classes=settings.classes)
    projections = Projections(store, settings)
    messages = [Message(n, json.dumps(e).encode()) for n, e in enumerate(_stream(), start=1)]
    for start in range(0, len(messages), batch):
        assert projections.apply_batch(messages[start : start + batch]) == []
    return store


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 5])
def test_a_stream_gives_the_same_tables_whatever_its_batches(tmp_path: Path, batch: int) -> None:
    whole = _projected(tmp_path, "whole", batch=len(_stream()))
    cut = _projected(tmp_path, f"by-{batch}", batch=batch)
    differing = compare_stores(cut, whole)
    assert not differing, describe(differing)


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_a_batch_read_in_chunks_gives_the_same_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """A rebuild's batch of 20,000 is read and prefetched 2,000 at a time in one
    transaction: the later chunks' rows come from the transaction's cache or the store."""
    whole = _projected(tmp_path, "whole", batch=len(_stream()))
    monkeypatch.setattr(application, "CHUNK", chunk)
    chunked = _projected(tmp_path, f"chunks-of-{chunk}", batch=len(_stream()))
    differing = compare_stores(chunked, whole)
    assert not differing, describe(differing)


def test_a_split_gives_the_restored_customer_its_car_as_last_recorded(tmp_path: Path) -> None:
    """The restored customer's car comes back with what was recorded about it while merged
    (the service filed under the survivor), and the survivor's profile no longer holds it."""
    store = _projected(tmp_path, "by-1", batch=1)
    docs = {
        customer_id: json.loads(doc)
        for customer_id, doc in store.query("SELECT customer_id, doc FROM customers")
    }
    car = docs[RESTORED]["vehicles"][VIN]
    assert car["mileage_km"] == sample_inbound("ServiceCompleted")["mileage_km"]
    assert car["delivered_at"] is not None
    assert VIN not in docs[SURVIVOR]["vehicles"]


def test_a_split_gives_the_restored_customer_what_its_events_brought_while_merged(
    tmp_path: Path,
) -> None:
    """The car the restored customer bought while merged (filed under the survivor), and
    the external id that came with it, are the restored customer's after the split: its
    profile's vehicle, the car's owner, and the lookups by VIN and by id."""
    store = _projected(tmp_path, "by-1", batch=1)
    docs = {
        customer_id: json.loads(doc)
        for customer_id, doc in store.query("SELECT customer_id, doc FROM customers")
    }
    assert SECOND_VIN in docs[RESTORED]["vehicles"]
    assert SECOND_VIN not in docs[SURVIVOR]["vehicles"]
    assert "dms-77" in docs[RESTORED]["external_ids"]
    assert "dms-77" not in docs[SURVIVOR]["external_ids"]
    ((owner, car),) = store.query("SELECT owner_id, doc FROM vehicles WHERE vin = ?", (SECOND_VIN,))
    assert owner == RESTORED
    assert [o["customer_id"] for o in json.loads(car)["owners"]] == [RESTORED]
    named = store.query("SELECT kind, customer_id FROM identities WHERE value IN (?, ?)",
                        (SECOND_VIN, "dms-77"))  # fmt: skip
    assert sorted(named) == [("external_id", RESTORED), ("vin", RESTORED)]


def test_a_split_credits_the_restored_customer_with_the_rewards_of_its_referrals(
    tmp_path: Path,
) -> None:
    """Two rewards for referrals naming the restored customer's phone: one granted before
    the merge (crediting it), one while merged (crediting the survivor). After the split
    both count for the restored customer, none for the survivor."""
    store = _projected(tmp_path, "by-1", batch=1)
    rewarded = {
        customer_id: json.loads(doc)["stats"]["referrals_rewarded"]
        for customer_id, doc in store.query("SELECT customer_id, doc FROM customers")
    }
    assert (rewarded[RESTORED], rewarded[SURVIVOR]) == (2, 0)


def test_a_split_gives_the_restored_customer_the_follow_ups_its_events_planned(
    tmp_path: Path,
) -> None:
    """The call planned on the restored customer's purchase while merged, its retry, and
    the reminder for that car are the restored customer's after the split; a greeting the
    calendar planned stays with the survivor (laoke/merges.py `follows_restored`)."""
    store = _projected(tmp_path, "by-1", batch=1)
    whose = dict(store.query("SELECT follow_up_id, customer_id FROM followups"))
    assert whose == {
        "fu-call": RESTORED,
        "fu-retry": RESTORED,
        "fu-reminder": RESTORED,
        "fu-greeting": SURVIVOR,
    }
