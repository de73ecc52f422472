"""Undoing a wrong merge (`CustomerSplitRequested`) on a real nats-server: each key back to
its person, later events re-attributed by their keys, refusals dead-lettered."""

from __future__ import annotations

from typing import Any

from intake_support import inbound, publish, read_stream, stream_count, wait_count
from nats.js import JetStreamContext
from waiting import wait_for

from events import CustomersMerged, CustomersUnmerged, Event, parse_recorded
from services.intake.service import IntakeService

A_PHONE, B_PHONE, C_PHONE = "13800138000", "13900139000", "13700137000"


def _visit(phone: str, at: str = "2025-05-01T10:00:00+08:00", **more: Any) -> dict[str, Any]:
    return inbound("CustomerVisited", customer={"phone": phone}, occurred_at=at, **more)


def _tie(*phones: str) -> dict[str, Any]:
    """One registration naming several phones: the person evidence that merges."""
    first, *rest = phones
    return inbound("CustomerRegistered", customer={"phone": first}, phones=list(rest))


def _split(merge: CustomersMerged, **more: Any) -> dict[str, Any]:
    return inbound(
        "CustomerSplitRequested",
        merge_event_id=str(merge.event_id),
        requested_by="ops-007",
        reason="two people, one shared phone",
        **more,
    )


async def _recorded(js: JetStreamContext) -> list[Event]:
    if not await stream_count(js, "RETENTION"):
        return []
    return [parse_recorded(m.data) for m in await read_stream(js, "RETENTION")]


async def _has(js: JetStreamContext, event: dict[str, Any]) -> bool:
    return any(str(e.event_id) == event["event_id"] for e in await _recorded(js))


async def _send(js: JetStreamContext, *events: dict[str, Any]) -> list[Event]:
    """Publish in order; once a marker sent last is recorded, everything before it was
    handled (intake takes one dealership's messages in order): the stream then."""
    marker = _visit("13600136000")
    for event in (*events, marker):
        await publish(js, event)

    async def seen() -> bool:
        return await _has(js, marker)

    await wait_for(seen, 20.0, "the marker on RETENTION")
    return await _recorded(js)


def _by_id(recorded: list[Event]) -> dict[str, str | None]:
    return {str(e.event_id): e.customer_id for e in recorded}


async def test_a_split_gives_each_person_their_keys_and_their_events_back(
    intake: IntakeService, js: JetStreamContext
) -> None:
    a, b = _visit(A_PHONE, "2024-01-01T10:00:00+08:00"), _visit(B_PHONE)
    recorded = await _send(js, a, b, tie := _tie(A_PHONE, B_PHONE))
    ids = _by_id(recorded)
    merge = next(e for e in recorded if isinstance(e, CustomersMerged))
    assert ids[tie["event_id"]] == ids[a["event_id"]]
    during = _visit(B_PHONE, "2025-06-01T10:00:00+08:00")  # B's, recorded under A
    complaint = inbound("ComplaintFiled", customer={"phone": B_PHONE}, complaint_id="CMP-B-1")
    ours = _visit(A_PHONE, "2025-06-02T10:00:00+08:00")
    recorded = await _send(js, during, complaint, ours, split := _split(merge))
    ids = _by_id(recorded)
    a_id, b_id = ids[a["event_id"]], ids[b["event_id"]]
    assert ids[during["event_id"]] == ids[complaint["event_id"]] == a_id, "merged then"

    unmerged = [e for e in recorded if isinstance(e, CustomersUnmerged)]
    assert len(unmerged) == 1
    (undo,) = unmerged
    assert (undo.merge_event_id, undo.survivor_id, undo.restored_id) == (
        merge.event_id,
        a_id,
        b_id,
    )
    assert undo.requested_by == "ops-007" and undo.causation_id == undo.correlation_id
    assert str(undo.causation_id) == split["event_id"]
    assert {str(e) for e in undo.reattributed_event_ids} == {
        during["event_id"],
        complaint["event_id"],
    }, "B's events while merged go back to B; A's own stay A's; the tie stays"

    later_b, later_a = _visit(B_PHONE), _visit(A_PHONE)
    ids = _by_id(await _send(js, later_b, later_a))
    assert (ids[later_b["event_id"]], ids[later_a["event_id"]]) == (b_id, a_id)


async def test_a_split_of_an_unknown_or_already_split_merge_is_dead_lettered(
    intake: IntakeService, js: JetStreamContext
) -> None:
    recorded = await _send(js, _visit(A_PHONE, "2024-01-01T10:00:00+08:00"), _visit(B_PHONE))
    recorded = await _send(js, _tie(A_PHONE, B_PHONE))
    merge = next(e for e in recorded if isinstance(e, CustomersMerged))
    first, again = _split(merge), _split(merge)
    unknown = inbound(
        "CustomerSplitRequested",
        merge_event_id="6f1c1f5e-7b0e-4a57-9d0f-0c9a2f3b7e11",
        requested_by="ops-007",
        reason="no such merge",
    )
    recorded = await _send(js, first, again, unknown)
    assert len([e for e in recorded if isinstance(e, CustomersUnmerged)]) == 1
    assert not await _has(js, again) and not await _has(js, unknown)
    # The marker is recorded after both refusals; their dead letters go out after it (an
    # intake batch stages its letters after its events): wait for them too.
    await wait_count(js, "RETENTION_DLQ", 2)
    letters = await read_stream(js, "RETENTION_DLQ")
    assert sorted(m.subject for m in letters) == [
        "dlq.intake.already_split",
        "dlq.intake.unknown_merge",
    ]


async def test_a_split_inside_a_chain_of_three_undoes_exactly_the_one_named(
    intake: IntakeService, js: JetStreamContext
) -> None:
    a = _visit(A_PHONE, "2024-01-01T10:00:00+08:00")
    b = _visit(B_PHONE, "2024-06-01T10:00:00+08:00")
    c = _visit(C_PHONE, "2025-01-01T10:00:00+08:00")
    recorded = await _send(js, a, b, c, _tie(B_PHONE, C_PHONE))  # C into B
    c_into_b = next(e for e in recorded if isinstance(e, CustomersMerged))
    recorded = await _send(js, _tie(A_PHONE, B_PHONE))  # B (with C) into A
    b_into_a = [e for e in recorded if isinstance(e, CustomersMerged)][-1]
    ids = _by_id(recorded)
    a_id, b_id, c_id = ids[a["event_id"]], ids[b["event_id"]], ids[c["event_id"]]
    assert (c_into_b.survivor_id, b_into_a.survivor_id) == (b_id, a_id)

    recorded = await _send(js, _split(b_into_a))
    after = [_visit(p) for p in (A_PHONE, B_PHONE, C_PHONE)]
    ids = _by_id(await _send(js, *after))
    assert [ids[e["event_id"]] for e in after] == [a_id, b_id, b_id], "C stays merged into B"

    await _send(js, _split(c_into_b))
    again = [_visit(p) for p in (A_PHONE, B_PHONE, C_PHONE)]
    ids = _by_id(await _send(js, *again))
    assert [ids[e["event_id"]] for e in again] == [a_id, b_id, c_id]


async def test_a_car_a_restored_customer_brought_while_merged_is_theirs_after_the_split(
    intake: IntakeService, js: JetStreamContext
) -> None:
    """Intake gives a key an absorbed event brings to the restored customer from the start
    (`_note_absorbed`: the deepest customer holding the event's person keys): a car bought
    new, and one bought from a third customer, are B's after the split; a car A had before
    the merge stays A's even when B's event names it."""
    new_car, used_car, a_car = "LSGKB54E7LS000001", "LSGKB54E7LS000002", "LSGKB54E7LS000003"
    a = inbound("VehiclePurchased", customer={"phone": A_PHONE}, vin=a_car,
                occurred_at="2024-01-01T10:00:00+08:00")  # fmt: skip
    x = inbound("VehiclePurchased", customer={"phone": C_PHONE}, vin=used_car,
                occurred_at="2024-02-01T10:00:00+08:00")  # fmt: skip
    recorded = await _send(js, a, _visit(B_PHONE), x, _tie(A_PHONE, B_PHONE))
    merge = next(e for e in recorded if isinstance(e, CustomersMerged))
    at = "2025-06-01T10:00:00+08:00"
    bought = [
        inbound("VehiclePurchased", customer={"phone": B_PHONE}, vin=vin, occurred_at=at)
        for vin in (new_car, used_car, a_car)
    ]
    recorded = await _send(js, *bought, _split(merge))
    (undo,) = [e for e in recorded if isinstance(e, CustomersUnmerged)]
    ids = _by_id(recorded)
    a_id, x_id = ids[a["event_id"]], ids[x["event_id"]]
    b_id = undo.restored_id
    later = [_service(vin) for vin in (new_car, used_car, a_car)]
    ids = _by_id(await _send(js, *later))
    assert [ids[e["event_id"]] for e in later] == [b_id, b_id, a_id]
    assert x_id not in (a_id, b_id)


def _service(vin: str) -> dict[str, Any]:
    """A service record naming only the car."""
    return inbound("ServiceCompleted", customer={"vin": vin}, vin=vin,
                   occurred_at="2025-09-01T10:00:00+08:00")  # fmt: skip
