"""The runs: everything (a)-(g); intake's scaling over partitions ((a), (b) only); the read
path alone ((a)-(c) with intake and projections only); the read API alone ((e)-(g))."""

from __future__ import annotations

import argparse
import functools
import gc
import os
import time
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext

from laoke.bench.load import (
    DEALERSHIP,
    Item,
    customer_id,
    inbound,
    light_customers,
    spread_dealerships,
)
from laoke.bench.measures import (
    CoreMeter,
    CpuMeter,
    all_caught_up,
    api_latency,
    backlogs,
    caught_up,
    csv_download,
    has_consumer,
    messages,
    next_cursor,
    paced_lag,
    pipelined_publish,
    raw_ordered_read_rate,
    raw_publish_rate,
    recorded_rate,
    rss_mb,
    wait_until,
)
from laoke.bench.processes import SERVICES, Rig, rig
from laoke.bench.report import Results, percentile
from laoke.bench.stores import READ_STORE, database_bytes, sizes
from laoke.natsserver import free_port
from laoke.partitions import Partition
from laoke.sim.config import SimConfig
from laoke.sim.generator import simulate

CLASSES = ("gold", "meteor", "small_star", "burden")


async def run(args: argparse.Namespace) -> Results:
    results = Results()
    http_port = free_port()
    async with rig(results, store=args.store, keep=args.keep) as r:
        server, js, processes, tmp = r.server, r.js, r.processes, r.tmp
        print(f"nats-server {server.url}, data in {tmp}", flush=True)
        simulated, burst, paced = await raw_and_intake(r, results, args)

        processes.start("projections", http_port=http_port)
        for name in SERVICES[2:]:
            processes.start(name)
        started = time.perf_counter()
        await wait_until(lambda: caught_up(js, "projections"), 900)
        backlog = await messages(js, "RETENTION")
        catch_up = backlog / (time.perf_counter() - started)
        results.add(
            f"    projections catch-up of {backlog:,} recorded events",
            f"{catch_up:,.0f} events/s",
            catch_up=catch_up,
        )
        # (c) is the steady state: it starts once every service has worked through (b)'s
        # burst, so its cores go to the 2,000 events/s and not to what was left of (b).
        await wait_until(lambda: all_caught_up(js, SERVICES[1:]), 1800)
        settled = time.perf_counter() - started
        results.add("    every service caught up with (b)", f"{settled:,.0f} s", settled=settled)
        await projection_lag(r, results, paced[: args.paced_seconds * 2000])

        light = light_customers(args.customers, datetime.now(UTC))
        meter = CoreMeter(all_pids(r))
        await pipelined_publish(js, light)
        published = time.perf_counter()
        del light
        # Three events a customer at 500/s at the least (a 1M run: 100 minutes).
        await wait_until(lambda: caught_up(js, "projections"), max(1800, args.customers * 3 / 500))
        await keeping_up(js, results, published)
        cores, in_all = meter.line()
        results.add(
            f"    cores used from the publish to here ({os.cpu_count()})", cores, light_cores=in_all
        )
        # Stop the others (still catching up, if they fell behind), so that (e) measures
        # the API and not a box busy with their work; their RSS is their peak until then.
        peaks: dict[str, float] = {}
        for name in SERVICES[2:]:
            peaks[name] = processes.peak_rss_mb(name)
            processes.stop(name)
        # Their last decisions are still being projected when they keep up: (e) starts
        # once projections has applied them, so a request's CPU is the request's.
        await wait_until(lambda: caught_up(js, "projections"), 300)
        base_url = f"http://127.0.0.1:{http_port}"
        await read_api(results, base_url, args, processes.pid("projections"))

        rows, seconds, before, peak = await csv_download(
            base_url, f"/v1/customers?dealership_id={DEALERSHIP}", processes.pid("projections")
        )
        results.add(
            f"(e) CSV of {rows:,} customers",
            f"{seconds:.1f} s, projections RSS {before:,.0f} MB before, {peak:,.0f} MB at most",
            csv_seconds=seconds,
            csv_rss_growth=peak - before,
        )

        for name in SERVICES:
            rss = peaks.get(name) or processes.peak_rss_mb(name)
            results.add(f"(f) peak RSS {name}", f"{rss:,.0f} MB", **{f"rss_{name}": rss})
        nats_rss(results, r)
        # Before the rebuild below, which writes a second read store beside the live one.
        await store_size(results, r)

        processes.stop_all()
        if args.rebuild:
            await rebuild_reference(r, results, [simulated, burst, paced])
    return results


async def rebuild_reference(r: Rig, results: Results, held: list[list[Any]]) -> None:
    """(d): the read store rebuilt from RETENTION, next to nats-py's ordered read of it.
    Both run in this process, which holds the simulated events (`held`): they go first,
    and the collector is kept from walking what is left (it would slow both, the rebuild
    more)."""
    for items in held:
        items.clear()
    gc.collect()
    gc.freeze()
    total, raw_read = await raw_ordered_read_rate(r.js)
    from services.projections.rebuild import rebuild_async

    settings = r.store.settings(r.server.url)
    started = time.perf_counter()
    await rebuild_async(settings, swap=False, progress=None)
    rebuild_rate = total / (time.perf_counter() - started)
    results.add(
        f"(d) rebuild from RETENTION ({total:,} events)",
        f"{rebuild_rate:,.0f} events/s = {rebuild_rate / raw_read:.0%} of raw read",
        rebuild=rebuild_rate,
    )
    results.add(
        "    raw ordered-consumer read (nats-py)", f"{raw_read:,.0f} msg/s", raw_read=raw_read
    )


async def projection_lag(r: Rig, results: Results, events: list[Item]) -> None:
    """(c): `events` published at 2,000/s; the projection lag, and where the cores went."""
    meter = CoreMeter(all_pids(r))
    samples, achieved = await paced_lag(r.js, events, 2000.0)
    cores, in_all = meter.line()
    await wait_until(lambda: caught_up(r.js, "projections"), 300)
    if samples:
        results.add(
            f"(c) projection lag at {achieved:,.0f} events/s ({len(samples)} samples)",
            f"p50 {percentile(samples, 0.5):.2f} s, p99 {percentile(samples, 0.99):.2f} s, "
            f"max {max(samples):.2f} s",
            lag_p50=percentile(samples, 0.5),
            lag_p99=percentile(samples, 0.99),
        )
        # A lag is a wait for a core: where the machine's cores went.
        results.add(f"    cores used meanwhile ({os.cpu_count()})", cores, paced_cores=in_all)


async def read_api(results: Results, base_url: str, args: argparse.Namespace, pid: int) -> None:
    """(e): each endpoint's latency, one request at a time, and its CPU in the server."""
    customer_ids = [customer_id(i) for i in range(500)]
    work_list = f"/v1/followups?dealership_id={DEALERSHIP}&status=due"
    # An agent's page: one advisor's items, 100 at a time, the second page.
    filtered = f"{work_list}&advisor_id=adv-003&limit=100"
    cursor = await next_cursor(base_url, filtered)
    pages = {"work list page 2": lambda i: f"{filtered}&cursor={cursor}"} if cursor else {}
    latency = await api_latency(
        base_url,
        {
            "profile": lambda i: f"/v1/customers/{customer_ids[i % 500]}",
            "timeline": lambda i: f"/v1/customers/{customer_ids[i % 500]}/timeline",
            "work list": lambda i: work_list,
            # What an agent's screen loads first (the dashboard's page: worklist.js, PAGE).
            "work list first 50": lambda i: f"{work_list}&limit=50",
            **pages,
            "metrics": lambda i: f"/v1/metrics/satisfaction?dealership_id={DEALERSHIP}",
            "metrics by advisor": lambda i: (
                f"/v1/metrics/satisfaction?dealership_id={DEALERSHIP}&group_by=advisor"
            ),
            "classes": lambda i: f"/v1/metrics/classes?dealership_id={DEALERSHIP}",
            "customers of a class": lambda i: (
                f"/v1/customers?dealership_id={DEALERSHIP}&class={CLASSES[i % 4]}&limit=100"
            ),
        },
        args.requests,
        pid,
    )
    for label, (p50, p99, cpu) in latency.items():
        key = label.replace(" ", "_")
        results.add(
            f"(e) read API {label} at {args.customers:,} customers",
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; CPU {cpu:.1f} ms a request",
            **{f"api_{key}_p99": p99, f"api_{key}_cpu": cpu},
        )


async def read_api_only(args: argparse.Namespace) -> Results:
    """(e) alone: projections (and its HTTP API) on `--customers` light customers, no other
    service, no other measure."""
    results = Results()
    http_port = free_port()
    async with rig(results, store=args.store) as r:
        r.processes.start("projections", http_port=http_port)
        await pipelined_publish(r.js, light_customers(args.customers, datetime.now(UTC)))
        await wait_until(lambda: caught_up(r.js, "projections"), 1800)
        await store_size(results, r)
        gc.collect()  # the published events are garbage now: not in the client's timings
        pid = r.processes.pid("projections")
        await read_api(results, f"http://127.0.0.1:{http_port}", args, pid)
        rss = r.processes.peak_rss_mb("projections")
        results.add("(f) peak RSS projections", f"{rss:,.0f} MB", rss_projections=rss)
        nats_rss(results, r)
    return results


async def store_size(results: Results, r: Rig) -> None:
    """(g): each service's store and the read store on disk, with the events on RETENTION
    now, and their total per million of those events."""
    found = sizes(r.store, SERVICES)
    events = await messages(r.js, "RETENTION")
    for name, size in sorted(found.items()):
        what = "the read store (projections)" if name == READ_STORE else name
        results.add(f"(g) on disk ({r.store.kind}): {what}", f"{size / 1e6:,.1f} MB")
    total = sum(found.values())
    per_million = total * 1e6 / events if events else float("nan")
    results.add(
        f"(g) on disk ({r.store.kind}) in all, {events:,} events on RETENTION",
        f"{total / 1e6:,.1f} MB = {per_million / 1e6:,.0f} MB per million events",
        store_bytes=found,
        store_bytes_total=total,
        store_database_bytes=database_bytes(r.store),
        retention_events=events,
        store_bytes_per_million_events=per_million,
    )


def nats_rss(results: Results, r: Rig) -> None:
    """(f) for nats-server, which the rig started too."""
    for pid in server_pids(r):
        rss = rss_mb(pid, "VmHWM")
        results.add("(f) peak RSS nats-server", f"{rss:,.0f} MB", rss_nats_server=rss)


async def keeping_up(js: JetStreamContext, results: Results, published: float) -> None:
    """The deciding services' backlog once projections caught up with the light customers
    and 30 s more at most (0: they keep up), and when each reached 0."""
    others = SERVICES[2:]
    offset = time.perf_counter() - published
    left, cleared = await backlogs(js, others, 30.0)
    done = [f"{n} {offset + cleared[n]:.0f} s" if n in cleared else f"{n} not yet" for n in others]
    results.add(
        "    others' backlog 30 s after projections caught up",
        ", ".join(f"{name} {left[name]:,}" for name in others),
        backlog=sum(left.values()),
    )
    results.add("    ... at 0 after the light customers' publish", ", ".join(done))


async def intake_scaling(args: argparse.Namespace) -> Results:
    """(a) and (b) only, with `--intake-partitions` intake processes, one partition each, on
    a load spread over two dealerships per partition (the same load whatever the count)."""
    results = Results()
    count = args.intake_partitions
    async with rig(results, {"LAOKE_PARTITIONS": str(count)}, args.store) as r:
        js, processes = r.js, r.processes
        raw = await raw_reference(r, results, args.raw)
        ids = spread_dealerships(max(count, 2))
        config = SimConfig(
            dealerships=len(ids),
            dealership_ids=ids,
            customers=args.sim_customers,
            months=12,
            seed=11,
        )
        burst = inbound(simulate(config, now=datetime.now(UTC)))[: args.events]
        for index in range(count):
            owned = {"LAOKE_PARTITIONS_OWNED": str(index)}
            processes.start("intake", label=f"intake-{index}", env=owned)
        durables = [Partition(index, count).durable("intake") for index in range(count)]
        for durable in durables:
            await wait_until(functools.partial(has_consumer, js, "DEALER_IN", durable), 60)
        labels = [f"intake-{index}" for index in range(count)]
        where = f"{count} process(es), {len(ids)} dealerships"
        await intake_reference(r, results, burst, raw, labels, where)
    return results


async def read_path(args: argparse.Namespace) -> Results:
    """(a)-(c) with intake and projections only: the lag when the deciding services run on
    cores of their own (docs/scale.md), where the full run shares two cores with them.
    Without them nothing they decide comes back on RETENTION for projections to apply."""
    results = Results()
    async with rig(results, store=args.store) as r:
        _, _, paced = await raw_and_intake(r, results, args)
        r.processes.start("projections")
        await wait_until(lambda: caught_up(r.js, "projections"), 900)
        await projection_lag(r, results, paced[: args.paced_seconds * 2000])
    return results


async def raw_and_intake(
    r: Rig, results: Results, args: argparse.Namespace
) -> tuple[list[Any], list[Item], list[Item]]:
    """(a), then (b): intake alone on the first `--events` of the simulator's inbound
    events. Returns the simulated events, (b)'s burst and the rest (for (c))."""
    raw = await raw_reference(r, results, args.raw)
    sim = simulate(
        SimConfig(dealerships=1, customers=args.sim_customers, months=12, seed=11),
        now=datetime.now(UTC),
    )
    arriving = inbound(sim)
    burst, paced = arriving[: args.events], arriving[args.events :]
    r.processes.start("intake")
    await wait_until(lambda: has_consumer(r.js, "DEALER_IN", "intake"), 60)
    await intake_reference(r, results, burst, raw, ["intake"], "end to end")
    return sim.events, burst, paced


async def raw_reference(r: Rig, results: Results, n: int) -> float:
    """(a), and its rate per CPU-second of the publisher (this process) and nats-server."""
    cpu = CpuMeter(server_pids(r))
    raw = await raw_publish_rate(r.js, n)
    per_cpu = n / cpu.used()
    results.add(
        "(a) raw JetStream publish_async (nats-py)",
        f"{raw:,.0f} msg/s; {per_cpu:,.0f} per CPU-second (publisher and nats-server)",
        raw=raw,
        raw_per_cpu_s=per_cpu,
    )
    return raw


async def intake_reference(
    r: Rig, results: Results, burst: list[Item], raw: float, labels: list[str], where: str
) -> None:
    """(b), and its rate per CPU-second of the publisher, nats-server and the intake
    processes `labels`: beside (a)'s, the share of the machine intake costs per event."""
    cpu = CpuMeter([*server_pids(r), *(r.processes.pid(label) for label in labels)])
    rate = await recorded_rate(r.js, burst)
    per_cpu = len(burst) / cpu.used()
    results.add(
        f"(b) intake {where} ({len(burst):,} events)",
        f"{rate:,.0f} events/s = {rate / raw:.0%} of (a); {per_cpu:,.0f} per CPU-second",
        intake=rate,
        intake_per_cpu_s=per_cpu,
    )


def all_pids(r: Rig) -> dict[str, int]:
    """The running services', nats-server's and the bench's own process ids, by name."""
    pids = {name: r.processes.pid(name) for name in r.processes.running}
    pids["bench"] = os.getpid()
    pids.update(("nats-server", pid) for pid in server_pids(r))
    return pids


def server_pids(r: Rig) -> list[int]:
    return [r.server.process.pid] if r.server.process is not None else []
