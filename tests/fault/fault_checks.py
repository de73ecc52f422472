"""What a run must show: nothing lost, nothing doubled, the same decisions as a clean run,
projections equal to a rebuild, and exactly the bad inputs in the DLQ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fault_inputs import INPUT_HEADER, Input
from fault_processes import Topology
from fault_run import Outcome, dlq_inputs


@dataclass(frozen=True)
class Figures:
    sent: int
    good: int
    resent: int
    bad: int
    kills: int
    recovered: int
    supervisor_restarts: int
    recorded: int
    decisions: int
    lost: int
    doubled: int
    seconds: float

    def line(self) -> str:
        return (
            f"sent={self.sent} (good {self.good}, exact resends {self.resent}, bad {self.bad}) "
            f"kills={self.kills} recovered={self.recovered} "
            f"(exited at start and restarted: {self.supervisor_restarts}) recorded={self.recorded} "
            f"decisions={self.decisions} lost={self.lost} doubled={self.doubled} "
            f"in {self.seconds:.0f} s"
        )


CONTACT_DECISIONS = ("FollowUpDue", "FollowUpSkipped")
ORDER_DEPENDENT = ("SurveyAnswerRejected", "FollowUpAnswered")


def decision_keys(outcome: Outcome, before: datetime) -> set[tuple[str, str]]:
    """What a run decided, to compare with a clean run: (event_type, event_id) of every
    decision dated before `before`, i.e. taken because of an input (a deadline fired by the
    wall clock would be dated after it; none should fire: see fault_inputs).

    One exception, by design: outreach's contact cap (4 contacts in 30 days) counts the
    contacts other services decided (workshop, complaints) as they arrive on RETENTION, and
    their interleaving with intake's records differs from run to run even without faults.
    So whether a contact is due or skipped is not compared, only that outreach decided on
    that contact (its follow_up_id): ("contact", follow_up_id). A skipped contact sends no
    survey, so a later answer to it is rejected: SurveyAnswerRejected follows the same
    interleaving and is left out of the comparison (it is still checked for doubles). So is
    FollowUpAnswered: an answer makes a contact only if it was due; `answered_keys` compares
    it on the contacts due in both runs."""
    keys: set[tuple[str, str]] = set()
    for r in outcome.decisions():
        if datetime.fromisoformat(r.occurred_at) >= before or r.event_type in ORDER_DEPENDENT:
            continue
        if r.event_type in CONTACT_DECISIONS and r.body.get("source") == "outreach":
            keys.add(("contact", str(r.body["follow_up_id"])))
        else:
            keys.add((r.event_type, r.event_id))
    return keys


def answered_keys(outcome: Outcome, before: datetime, due: set[str]) -> set[tuple[str, str]]:
    """The FollowUpAnswered decisions (by event id) on the contacts `due`."""
    return {
        ("FollowUpAnswered", r.event_id)
        for r in outcome.decisions()
        if r.event_type == "FollowUpAnswered"
        and datetime.fromisoformat(r.occurred_at) < before
        and r.body["follow_up_id"] in due
    }


def stories(outcome: Outcome, clean: Outcome, differing: set[tuple[str, str]]) -> str:
    """For a failure message: each differing answer's customer, as each run recorded it."""
    by_id = {r.event_id: r for r in [*outcome.retention, *clean.retention]}
    customers = {str(by_id[event_id].body.get("customer_id")) for _, event_id in differing}
    lines = []
    for name, run in (("this run", outcome), ("clean run", clean)):
        lines.append(f"{name}:")
        lines += [
            f"  {r.seq} {r.event_type} at {r.occurred_at} follow_up={r.body.get('follow_up_id')}"
            f" why={r.body.get('skip_reason') or r.body.get('outcome')}"
            f" cause={r.body.get('causation_id')}"
            for r in run.retention
            if str(r.body.get("customer_id")) in customers
        ]
    return "\n".join(lines[:200])


def due_contacts(outcome: Outcome) -> set[str]:
    return {
        str(r.body["follow_up_id"]) for r in outcome.decisions() if r.event_type == "FollowUpDue"
    }


def check_outcome(
    outcome: Outcome, inputs: Sequence[Input], clean: Outcome | None, t0: datetime
) -> Figures:
    counts = outcome.counts_by_id()
    doubled = {event_id: n for event_id, n in counts.items() if n > 1}
    assert not doubled, f"recorded more than once: {list(doubled.items())[:10]}"

    good = {i.event_id for i in inputs if i.kind == "good" and i.event_id is not None}
    accepted = {r.event_id for r in outcome.inbound()}
    lost = good - accepted
    where = sorted(i.index for i in inputs if i.event_id in lost and i.kind == "good")
    assert not lost, (
        f"{len(lost)} accepted inputs missing from RETENTION: inputs {where[:3]}..{where[-3:]}, "
        f"kills {outcome.kills}"
    )
    assert accepted <= good, f"on RETENTION but never sent: {sorted(accepted - good)[:10]}"

    bad = {i.index: i.why for i in inputs if i.kind == "bad"}
    letters = dlq_inputs(outcome.dead_letters)
    unexpected = [h for h in outcome.dead_letters if INPUT_HEADER not in h]
    assert not unexpected, f"dead letters that are no bad input: {unexpected[:5]}"
    assert set(letters) == set(bad), (
        f"DLQ is not the bad inputs: missing {sorted(set(bad) - set(letters))[:10]}, "
        f"extra {sorted(set(letters) - set(bad))[:10]}"
    )
    assert all(n == 1 for n in letters.values()), f"dead-lettered twice: {letters.most_common(5)}"

    if clean is not None:
        mine, theirs = decision_keys(outcome, t0), decision_keys(clean, t0)
        assert mine == theirs, (
            f"decisions differ from the clean run: only here {sorted(mine - theirs)[:10]}, "
            f"only in the clean run {sorted(theirs - mine)[:10]}"
        )
        due = due_contacts(outcome) & due_contacts(clean)
        mine, theirs = answered_keys(outcome, t0, due), answered_keys(clean, t0, due)
        assert mine == theirs, (
            f"answers differ from the clean run: only here {sorted(mine - theirs)[:10]}, "
            f"only in the clean run {sorted(theirs - mine)[:10]}\n"
            + stories(outcome, clean, mine ^ theirs)
        )
    return Figures(
        sent=len(inputs),
        good=len(good),
        resent=sum(1 for i in inputs if i.kind == "resend"),
        bad=len(bad),
        kills=len(outcome.kills),
        recovered=outcome.recovered,
        supervisor_restarts=outcome.supervisor_restarts,
        recorded=len(outcome.retention),
        decisions=len(outcome.decisions()),
        lost=len(lost),
        doubled=len(doubled),
        seconds=outcome.seconds,
    )


def projections_available() -> bool:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "services" / "projections"
    return (root / "service.py").exists() and (root / "api.py").exists()


async def check_projections(topology: Topology) -> str:
    """Stop the projections process and run `laoke verify`: the read models equal a rebuild
    from RETENTION, and every decision's cause is on RETENTION."""
    import io

    from services.projections.verify import verify_async

    topology.processes["projections"].stop()
    report = io.StringIO()
    found = await verify_async(topology.settings(), wait=30.0, out=report)
    assert found == 0, f"laoke verify after the run:\n{report.getvalue()}"
    return report.getvalue()
