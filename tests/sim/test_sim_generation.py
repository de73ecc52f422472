"""The generator: reproducible, valid for intake, ordered, and as varied as promised."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from events import parse_inbound
from events.inbound import ALL_INBOUND, ComplaintCategory
from laoke.sim import SimConfig, SimRates, complaint_callback_id, simulate, window, write_ndjson
from laoke.sim.__main__ import main as sim_main
from services.complaints.ids import callback_follow_up_id, complaint_aggregate_id
from tests.sim.sim_helpers import NOW, small

SAME_SEED = {
    "one dealership": SimConfig(customers=150, seed=11),
    # every chapter made common: opt-outs, scope changes, fakes, complaints, churn, merges
    "several, every story common": SimConfig(
        dealerships=2,
        customers=120,
        months=18,
        seed=5,
        rates=SimRates(
            opt_out=0.3,
            scope_change=0.6,
            two_systems=0.5,
            fake_referral=0.6,
            complaint=0.5,
            churn=0.4,
            over_authority=0.4,
        ),
    ),
}


@pytest.mark.parametrize("config", SAME_SEED.values(), ids=SAME_SEED.keys())
def test_same_seed_gives_byte_identical_ndjson_and_truth(config: SimConfig) -> None:
    first, second = io.BytesIO(), io.BytesIO()
    one, two = simulate(config, now=NOW), simulate(config, now=NOW)
    write_ndjson(one.events, first)
    write_ndjson(two.events, second)
    assert first.getvalue() == second.getvalue()
    assert len(first.getvalue().splitlines()) > 1000
    assert one.truth.summary() == two.truth.summary()


def test_another_seed_gives_other_events() -> None:
    a = simulate(SimConfig(customers=50, seed=1), now=NOW).ndjson()
    b = simulate(SimConfig(customers=50, seed=2), now=NOW).ndjson()
    assert a != b


def test_every_event_passes_parse_inbound_on_its_subject() -> None:
    simulation = small()
    for event in simulation.events:
        subject = f"dealer.in.{event.dealership_id}.{event.event_type}"
        parsed = parse_inbound(event.data, subject, now=NOW)
        assert str(parsed.event_id) == event.event_id


def test_every_inbound_type_and_complaint_category_is_generated() -> None:
    truth = small().truth
    # (erasure requests are not simulated: the demo keeps its customers)
    generated = {model.type_name() for model in ALL_INBOUND} - {"PersonalDataErasureRequested"}
    assert set(truth.by_type) == generated
    assert set(truth.complaints_by_category) == set(ComplaintCategory.__args__)  # type: ignore[attr-defined]


def test_events_are_strictly_ordered_per_customer_and_in_the_past() -> None:
    simulation = small()
    last: dict[str, datetime] = {}
    previous = None
    for event in simulation.events:
        assert event.occurred_at < simulation.end <= NOW
        if previous is not None:
            assert event.occurred_at >= previous  # publish order is time order
        previous = event.occurred_at
        if event.person in last:
            assert event.occurred_at > last[event.person]
        last[event.person] = event.occurred_at


def test_event_ids_are_unique() -> None:
    ids = [e.event_id for e in small().events]
    assert len(ids) == len(set(ids))


def test_window_ends_before_now_and_defaults_to_2026() -> None:
    config = SimConfig(months=12)
    assert window(config)[0].isoformat() == "2026-01-01T00:00:00+08:00"
    start, end = window(config, now=NOW)
    assert end <= NOW and (end - start).days in (365, 366)
    with pytest.raises(ValueError, match="after now"):
        window(SimConfig(start=datetime(2026, 6, 1, tzinfo=UTC)), now=NOW)


def test_mileage_grows_at_each_service_of_a_vehicle() -> None:
    mileage: dict[str, list[int]] = defaultdict(list)
    for event in small().events:
        if event.event_type == "ServiceCompleted":
            data = json.loads(event.data)
            mileage[data["vin"]].append(data["mileage_km"])
    assert any(len(km) > 1 for km in mileage.values())
    for km in mileage.values():
        assert km == sorted(km) and len(set(km)) == len(km)


def test_complaint_callback_id_matches_the_complaints_service() -> None:
    expected = callback_follow_up_id(complaint_aggregate_id("sim-01", "CP-000042"))
    assert complaint_callback_id("sim-01", "CP-000042") == expected


def test_same_person_is_sent_by_two_systems_under_different_ids() -> None:
    by_person: dict[str, list[dict[str, object]]] = defaultdict(list)
    for event in small().events:
        by_person[event.person].append(json.loads(event.data)["customer"])
    merged = [
        hints
        for hints in by_person.values()
        if any(h.get("external_id", "").startswith("SR-") and "phone" not in h for h in hints)
    ]
    assert len(merged) == small().truth.expected_merges > 0
    for hints in merged:  # showroom id alone, then dms phone + DMS id, then both together
        assert any(str(h.get("external_id", "")).startswith("DMS-") for h in hints)
        assert any("phone" in h and str(h.get("external_id", "")).startswith("SR-") for h in hints)
    assert small().truth.vin_only_records > 0


def test_fake_referrals_of_each_kind_are_generated() -> None:
    referrals = small().truth.referrals
    assert referrals["real"] > 0
    for kind in ("registered_after_delivery", "vehicle_mismatch", "callback_failed"):
        assert referrals.get(kind, 0) > 0, kind


def test_truth_counts_agree_with_the_ndjson() -> None:
    simulation = small()
    counts: dict[str, int] = defaultdict(int)
    for line in simulation.ndjson().splitlines():
        counts[json.loads(line)["event_type"]] += 1
    assert counts == simulation.truth.by_type
    assert sum(counts.values()) == simulation.truth.events == len(simulation.events)


def test_cli_writes_ndjson_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, truth = tmp_path / "events.ndjson", tmp_path / "truth.json"
    args = ["--customers", "40", "--seed", "3", "--now", NOW.isoformat()]
    sim_main([*args, "--out", str(out), "--truth", str(truth)])
    lines = out.read_bytes().splitlines()
    summary = json.loads(truth.read_text())
    assert len(lines) == summary["events"] > 0
    assert "simulated 40 customers" in capsys.readouterr().out
