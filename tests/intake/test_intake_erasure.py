"""Erasure in a merge chain on a real nats-server: `CustomerErased` names every customer
merged into the erased one (and not one split off before), their phones name nobody
afterwards, and a split of a merge of theirs is refused with its reason."""

from __future__ import annotations

from typing import Any

from intake_support import inbound, publish, read_stream, stream_count, wait_count
from nats.js import JetStreamContext
from waiting import wait_for

from events import CustomerErased, CustomersMerged, Event, parse_recorded
from services.intake.service import IntakeService

A_PHONE, B_PHONE, C_PHONE = "13800138000", "13900139000", "13700137000"


def _visit(phone: str, at: str = "2025-05-01T10:00:00+08:00") -> dict[str, Any]:
    return inbound("CustomerVisited", customer={"phone": phone}, occurred_at=at)


def _tie(first: str, other: str) -> dict[str, Any]:
    return inbound("CustomerRegistered", customer={"phone": first}, phones=[other])


def _split(merge: CustomersMerged) -> dict[str, Any]:
    return inbound(
        "CustomerSplitRequested",
        merge_event_id=str(merge.event_id),
        requested_by="ops-007",
        reason="two people, one shared phone",
    )


def _erase(phone: str) -> dict[str, Any]:
    return inbound(
        "PersonalDataErasureRequested",
        customer={"phone": phone},
        requested_by="dpo-01",
        request_ref="DSR-2025-0001",
    )


async def _send(js: JetStreamContext, *events: dict[str, Any]) -> list[Event]:
    """Publish in order; once a marker sent last is recorded, all before it was handled."""
    marker = _visit("13600136000")
    for event in (*events, marker):
        await publish(js, event)

    async def seen() -> bool:
        return await stream_count(js, "RETENTION") > 0 and any(
            str(parse_recorded(m.data).event_id) == marker["event_id"]
            for m in await read_stream(js, "RETENTION")
        )

    await wait_for(seen, 20.0, "the marker on RETENTION")
    return [parse_recorded(m.data) for m in await read_stream(js, "RETENTION")]


async def _chain(js: JetStreamContext) -> tuple[list[Event], str, str, str]:
    """C merged into B, then B (with C) into A: the recorded events and A, B, C's ids."""
    a = _visit(A_PHONE, "2024-01-01T10:00:00+08:00")
    b = _visit(B_PHONE, "2024-06-01T10:00:00+08:00")
    c = _visit(C_PHONE, "2025-01-01T10:00:00+08:00")
    await _send(js, a, b, c, _tie(B_PHONE, C_PHONE))
    recorded = await _send(js, _tie(A_PHONE, B_PHONE))
    ids = {str(e.event_id): e.customer_id for e in recorded}
    a_id, b_id, c_id = (ids[e["event_id"]] for e in (a, b, c))
    assert a_id and b_id and c_id
    return recorded, a_id, b_id, c_id


async def test_erasing_a_chains_survivor_erases_every_merged_customer_and_refuses_a_split(
    intake: IntakeService, js: JetStreamContext
) -> None:
    recorded, a_id, b_id, c_id = await _chain(js)
    merges = [e for e in recorded if isinstance(e, CustomersMerged)]
    recorded = await _send(js, _erase(C_PHONE))  # a merged customer's phone names the chain
    (erased,) = [e for e in recorded if isinstance(e, CustomerErased)]
    assert sorted(erased.erased_ids) == sorted([a_id, b_id, c_id])
    assert erased.erased_ids[0] == a_id, "the customer the hints name (the survivor) first"

    split = _split(merges[-1])
    later = _visit(B_PHONE, "2025-07-01T10:00:00+08:00")
    recorded = await _send(js, split, later)
    assert not any(str(e.event_id) == split["event_id"] for e in recorded)
    # The refusal's dead letter goes out after the marker (an intake batch stages its
    # letters after its events): wait for it too.
    await wait_count(js, "RETENTION_DLQ", 1)
    (letter,) = await read_stream(js, "RETENTION_DLQ")
    assert letter.subject == "dlq.intake.customer_erased"
    assert "erased customer" in (letter.headers or {}).get("Laoke-Error", "")
    (again,) = [e for e in recorded if str(e.event_id) == later["event_id"]]
    assert again.customer_id not in {a_id, b_id, c_id}, "an erased phone names no one"


async def test_a_customer_split_off_before_the_erasure_is_not_erased(
    intake: IntakeService, js: JetStreamContext
) -> None:
    recorded, a_id, b_id, c_id = await _chain(js)
    c_into_b = next(e for e in recorded if isinstance(e, CustomersMerged))
    await _send(js, _split(c_into_b))
    recorded = await _send(js, _erase(A_PHONE))
    (erased,) = [e for e in recorded if isinstance(e, CustomerErased)]
    assert erased.erased_ids == [a_id, b_id]
    later = _visit(C_PHONE, "2025-07-01T10:00:00+08:00")
    ids = {str(e.event_id): e.customer_id for e in await _send(js, later)}
    assert ids[later["event_id"]] == c_id, "C's phone still names C"
