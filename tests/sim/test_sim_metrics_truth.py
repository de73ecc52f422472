"""A simulated year for one dealership, published through a real nats-server with intake,
complaints, outreach, referrals and projections running in-process: the satisfaction
metrics agree with the simulator's configured repurchase rates (within 3 points) and with
counts taken straight from the generated events (`Truth`, the events themselves).

Clocks: intake runs on a ManualClock at the simulation's `now` (just after the window: it
accepts the past events). Projections reads the figures a year and a day later: repurchase
counts a complaint once its 12-month observation window has ended (docs/projections.md),
and every window here opens before `now`; "SLA settled" is judged as of then too.
Complaints, outreach and referrals only read the clock to fire deadlines (escalations,
reminders, greetings) and to schedule them; every decision these metrics count is taken by
event time (SLA by filing and acceptance times, survey invitations, referral checks). Their
clock is parked four years before the window so that no deadline fires: a live run would
add escalations and greetings that none of these metrics count, and firing a year of them
at once would take most of the test's time.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from waiting import wait_for

from events import (
    ApologyIssued,
    ComplaintFiled,
    FollowUpAnswered,
    FollowUpCompleted,
    FollowUpDue,
    FollowUpSkipped,
    RemedyAccepted,
    ServiceCompleted,
    SurveyAnswered,
    SurveyAnswerRejected,
    VehicleDelivered,
    follow_up_id,
    parse_inbound,
    parse_recorded,
    survey_id,
)
from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.sim import SimConfig, SimRates, Simulation, publish, simulate
from laoke.streams import DEALER_IN, RETENTION, RETENTION_DLQ
from services.complaints.service import ComplaintsService
from services.complaints.settings import ComplaintSettings
from services.intake.service import IntakeService
from services.outreach.service import OutreachService
from services.projections.api import build_app
from services.projections.application import CONSUMER
from services.projections.service import ProjectionsService
from services.referrals.service import ReferralsService

NOW = datetime(2026, 11, 24, tzinfo=UTC)  # the window: 2025-11-01 .. 2026-11-01
DEALERSHIP = "sim-01"
# More complaints and silent customers than by default, so that each outcome group has
# enough members (the quota's rounding is within 0.5/n: n >= 17 for +-3 points) at a size
# that runs in seconds. The repurchase rates themselves are the defaults (docs/domain.md, seed 004).
RATES = SimRates(
    complaint=0.5,
    complaint_outcomes={"quick": 0.4, "slow": 0.3, "unresolved": 0.3},
    silent_dissatisfied=0.25,
)
CONFIG = SimConfig(customers=300, months=12, seed=11, rates=RATES, dealership_ids=[DEALERSHIP])
POINTS = 0.03
# The simulator's outcome groups are "accepted within 48 h of filing" or later (laoke.sim):
# its dealership counts every hour and has one SLA for every severity.
SIMULATED_DEALERSHIP = ComplaintSettings(clock="calendar", sla="PT48H")


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1], 4)


async def _recorded(js: JetStreamContext, subject: str) -> list[Any]:
    """Every recorded event on RETENTION under `subject`, read by an ordered consumer."""
    info = await js.stream_info(RETENTION, subjects_filter=subject)
    expected = sum((info.state.subjects or {}).values())
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    try:
        return [parse_recorded((await sub.next_msg(timeout=10)).data) for _ in range(expected)]
    finally:
        await sub.unsubscribe()


@pytest.fixture
async def year(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[dict[str, Any]]:
    """Simulate, publish, wait until projections has applied everything, then yield."""
    clock = ManualClock(NOW)
    simulation = simulate(CONFIG, now=NOW)
    parked = ManualClock(simulation.start - timedelta(days=4 * 365))
    intake = IntakeService(settings, clock)
    services = [
        ComplaintsService(settings, parked, SIMULATED_DEALERSHIP),
        OutreachService(settings, parked),
        ReferralsService(settings, parked),
    ]
    projections = ProjectionsService(settings, ManualClock(NOW + timedelta(days=366)))
    for service in (intake, *services, projections):
        await service.start()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_app(projections)), base_url="http://test"
    )
    try:
        await publish(js, simulation.events, window=2000)
        calm: list[int] = []
        status: list[Any] = []

        async def settled() -> bool:
            """All consumers caught up, projections at the stream's end, and no new
            decision (outboxes relay after the commit) over ten polls in a row."""
            last = (await js.stream_info(RETENTION)).state.last_seq
            position = projections.store.position(CONSUMER)
            busy = position != last
            state = [last, position]
            for stream in (DEALER_IN, RETENTION):
                for info in await js.consumers_info(stream):
                    state.append((info.name, info.num_pending, info.num_ack_pending))
                    busy = busy or bool(info.num_pending or info.num_ack_pending)
            status[:] = state
            if busy or (calm and calm[-1] != last):
                calm.clear()
                return False
            calm.append(last)
            return len(calm) >= 10

        try:
            await wait_for(settled, timeout=120)
        except AssertionError as e:
            raise AssertionError(f"{e}: {status}") from None
        assert (await js.stream_info(RETENTION_DLQ)).state.messages == 0
        response = await http.get(
            "/v1/metrics/satisfaction",
            params={
                "dealership_id": DEALERSHIP,
                "from": simulation.start.isoformat(),
                "to": simulation.end.isoformat(),
            },
        )
        assert response.status_code == 200, response.text
        merges = await http.get(
            "/v1/identity/merges", params={"dealership_id": DEALERSHIP, "limit": 5000}
        )
        sold = [json.loads(e.data)["vin"] for e in simulation.events if b'"used-cars"' in e.data]
        owners = [len((await http.get(f"/v1/vehicles/{vin}")).json()["owners"]) for vin in sold]
        yield {
            "merges": merges.json()["items"],
            "owners": owners,
            "simulation": simulation,
            "metrics": response.json()["groups"][0],
            "recorded": await _recorded(js, f"retention.{DEALERSHIP}.>"),
        }
    finally:
        await http.aclose()
        for service in (projections, *reversed(services), intake):
            await service.stop()


def _inbound(simulation: Simulation) -> list[Any]:
    return [
        parse_inbound(e.data, subject=f"dealer.in.{e.dealership_id}.{e.event_type}")
        for e in simulation.events
    ]


@pytest.mark.fault
@pytest.mark.timeout(300)
async def test_a_simulated_year_gives_the_metrics_the_events_say(
    year: dict[str, Any],
) -> None:
    simulation: Simulation = year["simulation"]
    metrics: dict[str, Any] = year["metrics"]
    truth = simulation.truth
    events = _inbound(simulation)

    # Repurchase by complaint outcome: the configured rates, and exactly the truth's groups.
    repurchase = metrics["repurchase"]
    for name, group, configured in (
        ("resolved_quickly", "quick", RATES.repurchase_quick),
        ("resolved_slowly", "slow", RATES.repurchase_slow),
        ("unresolved", "unresolved", RATES.repurchase_unresolved),
        ("dissatisfied_never_complained", "silent", RATES.repurchase_silent),
    ):
        figure = repurchase[name]
        assert figure["denominator"] >= 17, (name, figure)
        assert abs(figure["rate"] - configured) <= POINTS, (name, figure, configured)
        expected = truth.groups[group]
        assert (figure["denominator"], figure["numerator"]) == (
            expected.customers,
            expected.repurchasers,
        ), name

    # Complaints: by category, within the SLA, time to apology and to resolution.
    complaints = metrics["complaints"]
    assert complaints["by_category"] == dict(sorted(truth.complaints_by_category.items()))
    assert complaints["total"] == sum(truth.complaints_by_category.values())
    assert metrics["resolved_within_sla"]["numerator"] == truth.complaints_resolved_within_sla
    assert metrics["resolved_within_sla"]["denominator"] == complaints["total"]
    filed = {e.complaint_id: e.occurred_at for e in events if isinstance(e, ComplaintFiled)}
    apologies: dict[str, float] = {}
    resolutions: dict[str, float] = {}
    for e in events:
        if isinstance(e, ApologyIssued):
            hours = (e.occurred_at - filed[e.complaint_id]).total_seconds() / 3600
            apologies.setdefault(e.complaint_id, hours)
        elif isinstance(e, RemedyAccepted):
            hours = (e.occurred_at - filed[e.complaint_id]).total_seconds() / 3600
            resolutions.setdefault(e.complaint_id, hours)
    apology_hours = list(apologies.values())
    assert metrics["hours_to_apology"] == {
        "count": len(apology_hours),
        "p50": _percentile(apology_hours, 50),
        "p90": _percentile(apology_hours, 90),
    }
    hours = list(resolutions.values())
    assert metrics["hours_to_resolution"] == {
        "count": len(hours),
        "p50": _percentile(hours, 50),
        "p90": _percentile(hours, 90),
    }

    # Surveys: the generated answers, less any outreach refused (ideally none now that the
    # simulator answers outreach's own survey ids).
    recorded = year["recorded"]
    refused = [e for e in recorded if isinstance(e, SurveyAnswerRejected)]
    answers = [e for e in events if isinstance(e, SurveyAnswered)]
    assert refused == [], [(r.survey_id, r.why) for r in refused][:5]
    for kind, key in (("CSI", "csi"), ("SSI", "ssi")):
        scores = [a.score for a in answers if a.survey_kind == kind]
        assert metrics[key]["count"] == truth.surveys[kind].answers == len(scores)
        assert metrics[key]["mean"] == round(sum(scores) / len(scores), 3)
    nps = metrics["nps"]
    nps_truth = truth.surveys["NPS"]
    assert nps["count"] == nps_truth.answers > 0
    assert nps["promoters"] == nps_truth.promoters
    assert nps["detractors"] == nps_truth.low
    assert nps["score"] == round(nps_truth.nps or 0.0, 2)

    # Identity: merges as the lists show them (the wrong ones split), cars sold on.
    merges = year["merges"]
    assert len(merges) == truth.expected_merges + truth.wrong_merges
    assert len([m for m in merges if m["split"]]) == truth.wrong_merges > 0
    assert year["owners"] == [2] * truth.used_car_sales and truth.used_car_sales > 0

    # Referrals: the real ones convert, every fake is refused.
    claimed = sum(truth.referrals.values())
    assert metrics["referral_conversion"] == {
        "numerator": truth.referrals.get("real", 0),
        "denominator": claimed,
        "rate": round(truth.referrals.get("real", 0) / claimed, 4),
    }

    # Follow-ups: the generated call-backs are the completed ones, plus the contacts answered
    # through another door (survey invitations, referral call-backs: FollowUpAnswered); what
    # was due comes from the decisions on RETENTION (FollowUpDue, less skipped).
    due: dict[str, datetime] = {}
    skipped: set[str] = set()
    called: set[str] = set()
    answered: set[str] = set()
    for event in recorded:
        if isinstance(event, FollowUpDue):
            due.setdefault(event.follow_up_id, event.due_at)
        elif isinstance(event, FollowUpSkipped):
            skipped.add(event.follow_up_id)
        elif isinstance(event, FollowUpCompleted):
            called.add(event.follow_up_id)
        elif isinstance(event, FollowUpAnswered):
            answered.add(event.follow_up_id)
    done = called | answered
    in_period = {
        fid
        for fid, at in due.items()
        if simulation.start <= at < simulation.end and (fid in done or fid not in skipped)
    }
    completion = metrics["follow_up_completion"]
    assert truth.complaint_callbacks == len(called & in_period)
    assert len(answered & in_period) > 0
    assert completion["numerator"] == len(done & in_period)
    assert completion["denominator"] == len(in_period | done)


def test_sim_answers_carry_outreach_survey_ids() -> None:
    """Every simulated answer names `sv-<kind>-<hex>` derived from a ServiceCompleted
    (CSI, NPS) or VehicleDelivered (SSI, NPS) of the same person, via events.ids."""
    simulation = simulate(SimConfig(customers=200, seed=3), now=NOW)
    causes: dict[str, str] = {}
    for raw in simulation.events:
        if raw.event_type not in ("ServiceCompleted", "VehicleDelivered"):
            continue
        event = parse_inbound(raw.data, subject=f"dealer.in.{raw.dealership_id}.{raw.event_type}")
        assert isinstance(event, ServiceCompleted | VehicleDelivered)
        name, kind = (
            ("survey_csi", "CSI") if isinstance(event, ServiceCompleted) else ("survey_ssi", "SSI")
        )
        contact = follow_up_id(event.event_id, name)
        causes[survey_id(contact, kind)] = raw.person
        causes[survey_id(contact, "NPS")] = raw.person
    answers = [e for e in simulation.events if e.event_type == "SurveyAnswered"]
    assert answers
    kinds = set()
    for raw in answers:
        event = parse_inbound(raw.data, subject=f"dealer.in.{raw.dealership_id}.SurveyAnswered")
        assert isinstance(event, SurveyAnswered)
        assert causes.get(event.survey_id) == raw.person, event.survey_id
        kinds.add(event.survey_kind)
    assert kinds == {"CSI", "SSI", "NPS"}
