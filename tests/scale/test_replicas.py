"""Two replicas of intake and of projections split the work by partition (laoke/partitions.py)
and keep each customer's events in order; a partition moves to a new replica and goes on."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from itertools import count

import httpx
from fastapi import FastAPI
from nats.js import JetStreamContext
from waiting import wait_for

from events.factories import sample_inbound
from laoke.clock import SystemClock
from laoke.partitions import PartitionGroup, partition_of
from laoke.registry import entry
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.intake.application import Inbound
from services.intake.service import IntakeService
from services.projections.reader import read_stream
from services.projections.rebuild import rebuild_async
from services.projections.service import ProjectionsService
from services.projections.store import ReadStore
from services.workshop.api import build_router

PARTITIONS = 2


def dealerships(per_partition: int) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for n in count():
        name = f"store-{n}"
        found[partition_of(name, PARTITIONS)].append(name)
        if all(len(found[p]) >= per_partition for p in range(PARTITIONS)):
            return {p: found[p][:per_partition] for p in range(PARTITIONS)}
    raise AssertionError("unreachable")


class Replica:
    """What one replica runs: intake and projections for the partitions it owns."""

    def __init__(self, settings: LaokeSettings, partition: int) -> None:
        own = settings.model_copy(
            update={"partitions": PARTITIONS, "partitions_owned": [partition]}
        )
        self.intake = IntakeService(own, SystemClock())
        self.projections = ProjectionsService(own, SystemClock())

    async def start(self) -> None:
        await self.projections.start()
        await self.intake.start()

    async def stop(self) -> None:
        await self.intake.stop()
        await self.projections.stop()


def visit(dealership: str, phone: str) -> dict[str, object]:
    return sample_inbound(
        "CustomerVisited",
        event_id=str(uuid.uuid4()),
        dealership_id=dealership,
        customer={"phone": phone},
    )


async def publish(js: JetStreamContext, events: list[dict[str, object]]) -> None:
    for event in events:
        subject = f"dealer.in.{event['dealership_id']}.{event['event_type']}"
        await js.publish(subject, json.dumps(event).encode())


async def recorded(js: JetStreamContext) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    async for batch in read_stream(js):
        found.extend(json.loads(m.data) for m in batch)
    return found


async def test_two_replicas_split_the_partitions_and_keep_each_customers_order(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    stores = dealerships(per_partition=2)
    phones = {d: [f"1390000{i:04d}" for i in range(5)] for p in stores.values() for d in p}
    # Each customer's visits, interleaved with every other customer's: 4 x 5 x 6 events.
    sent = [
        visit(dealership, phone)
        for _ in range(6)
        for dealership, numbers in phones.items()
        for phone in numbers
    ]
    replicas = [Replica(settings, 0), Replica(settings, 1)]
    for replica in replicas:
        await replica.start()
    try:
        await publish(js, sent[: len(sent) // 2])
        # Replica 1 goes away mid-stream; a new one takes its partition over.
        await replicas[1].stop()
        await publish(js, sent[len(sent) // 2 :])
        replicas[1] = Replica(settings, 1)
        await replicas[1].start()
        # Over HTTP, replica 0 takes an event of replica 1's partition and forwards it.
        late = visit(stores[1][0], phones[stores[1][0]][0])
        inbound = Inbound(json.dumps(late).encode(), None, {"Laoke-Via": "http"}, "http:1")
        (verdict,) = await replicas[0].intake.submit([inbound])
        assert verdict.status == "queued"
        sent.append(late)

        async def all_recorded() -> list[dict[str, object]] | None:
            events = [e for e in await recorded(js) if e["event_type"] == "CustomerVisited"]
            return events if len(events) >= len(sent) else None

        events = await wait_for(all_recorded, 60, what="every visit on RETENTION")
        assert sorted(str(e["event_id"]) for e in events) == sorted(
            str(e["event_id"]) for e in sent
        ), "each event recorded exactly once"

        by_customer: dict[object, list[str]] = defaultdict(list)
        for event in events:
            by_customer[event["customer_id"]].append(str(event["event_id"]))
        sent_by_phone: dict[tuple[object, object], list[str]] = defaultdict(list)
        for event in sent:
            customer = event["customer"]
            assert isinstance(customer, dict)
            sent_by_phone[event["dealership_id"], customer["phone"]].append(str(event["event_id"]))
        assert sorted(by_customer.values()) == sorted(sent_by_phone.values()), (
            "each customer's events on RETENTION in the order they were sent"
        )

        # Each replica's intake recorded its own partition's dealerships, and only those.
        for index, replica in enumerate(replicas):
            (shard,) = replica.intake.shards.values()
            entries = shard.app.outbox_after(0, 100_000)
            assert entries, f"replica {index} recorded nothing"
            subjects = {message.subject for _, message in entries}
            assert {s.split(".")[1] for s in subjects} <= set(stores[index])

        # The read model (one store, shared): every customer's timeline in stream order.
        last = (await js.stream_info(RETENTION)).state.last_seq
        store = replicas[0].projections.store

        async def projected() -> bool:
            return all(store.position(f"projections-p{p}") >= last for p in range(PARTITIONS))

        await wait_for(projected, 60, what="both projections partitions at the stream's end")
        for customer, event_ids in by_customer.items():
            rows = store.query(
                "SELECT event_id FROM timeline WHERE customer_id = ? AND event_type = ?"
                " ORDER BY seq",
                (customer, "CustomerVisited"),
            )
            assert [r[0] for r in rows] == event_ids
    finally:
        for replica in replicas:
            await replica.stop()


async def test_a_replica_running_two_partitions_of_a_service_serves_each_from_its_own(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    stores = dealerships(per_partition=1)
    both = settings.model_copy(update={"partitions": PARTITIONS})
    workshop = entry("workshop").build(both, SystemClock())
    assert isinstance(workshop, PartitionGroup)
    assert [m.app.name for m in workshop.members] == ["workshop_p0", "workshop_p1"]
    # A replica of partition 0 alone (not started: partition 0 runs in `workshop` here).
    only_first = settings.model_copy(update={"partitions": PARTITIONS, "partitions_owned": [0]})
    lone = entry("workshop").build(only_first, SystemClock())
    intake = IntakeService(both, SystemClock())
    running = [workshop, intake]
    for service in running:
        await service.start()
    try:
        for partition, (dealership,) in stores.items():
            event = sample_inbound(
                "ServiceCheckedIn",
                dealership_id=dealership,
                repair_order_id=f"ro-{partition}",
                customer={"phone": f"1380013800{partition}"},
            )
            await publish(js, [event])
        app = FastAPI()
        app.include_router(build_router(workshop))
        lone_app = FastAPI()
        lone_app.include_router(build_router(lone))
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=lone_app), base_url="http://t"
            ) as lone_http,
        ):
            for partition, (dealership,) in stores.items():

                async def queued(dealership: str = dealership) -> list[str]:
                    query = {"dealership_id": dealership}
                    answer = await http.get("/v1/workshop/queue", params=query)
                    return [o["repair_order_id"] for o in answer.json()["orders"]]

                assert await wait_for(queued, 30, what=f"{dealership}'s queue") == [
                    f"ro-{partition}"
                ]
                member = workshop.for_dealership(dealership)
                assert member is workshop.members[partition]
            elsewhere = await lone_http.get(
                "/v1/workshop/queue", params={"dealership_id": stores[1][0]}
            )
            assert elsewhere.status_code == 404
            assert "another replica" in elsewhere.json()["detail"]
    finally:
        for service in reversed(running):
            await service.stop()
        lone.app.close()  # type: ignore[attr-defined]


async def test_after_a_rebuild_every_partition_goes_on_from_its_end(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    stores = dealerships(per_partition=1)
    replicas = [Replica(settings, 0), Replica(settings, 1)]
    for replica in replicas:
        await replica.start()
    try:
        await publish(js, [visit(d, "13900001111") for (d,) in stores.values()])

        async def both_recorded() -> int:
            info = await js.stream_info(RETENTION)
            return int(info.state.last_seq) if info.state.messages >= len(stores) else 0

        last = await wait_for(both_recorded, 30, what="both visits on RETENTION")
        store = replicas[0].projections.store

        async def projected() -> bool:
            return all(store.position(f"projections-p{p}") >= last for p in range(PARTITIONS))

        await wait_for(projected, 30, what="both partitions projected")
    finally:
        for replica in replicas:
            await replica.stop()
    two = settings.model_copy(update={"partitions": PARTITIONS})
    counts = await rebuild_async(two, progress=None)
    assert counts["events"] == last
    rebuilt = ReadStore(two)
    try:
        positions = [rebuilt.position(f"projections-p{p}") for p in range(PARTITIONS)]
        assert positions == [last] * PARTITIONS
    finally:
        rebuilt.close()
