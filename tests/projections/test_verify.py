"""`laoke verify`: the live read models equal a rebuild from RETENTION, and every decision's
cause is on RETENTION; a planted difference, an orphan decision or a live store that is
not level with the history make it say so and exit non-zero."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import pytest
from projections_helpers import DEALERSHIP, Rig

from events import FollowUpDue, SurveyAnswerRejected, retention_subject, to_json
from laoke import cli
from laoke.decisions import Cause, decision
from services.projections.application import CONSUMER
from services.projections.rebuild import FRESH
from services.projections.verify import verify_async

EVENTS = 4  # what `history` records on RETENTION: three inbound facts and one decision


async def caused_by(rig: Rig, event: dict[str, Any], customer_id: str) -> SurveyAnswerRejected:
    """A decision on RETENTION whose cause is the recorded inbound `event`."""
    cause = Cause(uuid.UUID(event["event_id"]), None, DEALERSHIP, customer_id)
    made = decision(
        SurveyAnswerRejected,
        cause,
        source="tests",
        occurred_at=rig.clock.now(),
        survey_id="sv-0001",
        why="unknown_survey",
    )
    subject = retention_subject(DEALERSHIP, customer_id, made.event_type)
    await rig.js.publish(subject, to_json(made), headers={"Nats-Msg-Id": str(made.event_id)})
    await rig.projected(str(made.event_id))
    return made


async def history(rig: Rig) -> tuple[dict[str, Any], str]:
    """Inbound facts and a decision caused by one of them; returns the first fact and its
    customer."""
    registered = await rig.send("CustomerRegistered", occurred_at=rig.at(-300))
    customer_id = await rig.customer_id(registered)
    await rig.send("VehiclePurchased", occurred_at=rig.at(-290))
    answered = await rig.send("SurveyAnswered", occurred_at=rig.at(-99), survey_kind="NPS", score=9)
    await caused_by(rig, answered, customer_id)
    await rig.settled()
    assert (await rig.js.stream_info("RETENTION")).state.last_seq == EVENTS
    return registered, customer_id


async def verify(rig: Rig, wait: float = 10.0) -> tuple[int, str]:
    out = io.StringIO()
    code = await verify_async(rig.settings, wait=wait, out=out)
    return code, out.getvalue()


async def test_a_consistent_system_verifies_and_the_scratch_store_goes(rig: Rig) -> None:
    await history(rig)
    code, text = await verify(rig)
    assert code == 0, text
    assert text == f"verify: {EVENTS} events, read models equal, every decision's cause found\n"
    if rig.settings.store == "sqlite":
        assert not rig.settings.sqlite_path(FRESH).exists()


async def test_laoke_verify_on_the_command_line(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await history(rig)
    settings = rig.settings
    assert settings.nats_url is not None
    for name, value in {
        "LAOKE_DATA_DIR": str(settings.data_dir),
        "LAOKE_NATS_URL": settings.nats_url,
        "LAOKE_STORE": settings.store,
        "LAOKE_POSTGRES_DSN": settings.postgres_dsn,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:  # `main` runs its own event loop: a thread
        await asyncio.to_thread(cli.main, ["verify", "--quiet", "--wait", "10"])
    assert exited.value.code == 0
    assert "read models equal, every decision's cause found" in capsys.readouterr().out


async def test_a_difference_planted_in_the_live_store_is_reported(rig: Rig) -> None:
    registered, customer_id = await history(rig)
    with rig.projections.store.transaction() as tx:
        tx.execute(
            "UPDATE customers SET advisor_id = 'planted' WHERE customer_id = ?", (customer_id,)
        )
        tx.execute("DELETE FROM timeline WHERE event_id = ?", (registered["event_id"],))

    code, text = await verify(rig)

    print(text)  # what ops would see (pytest -s)
    assert code == 1, text
    assert f"  only in live: customer_id={customer_id!r}: " in text
    assert f"  only in rebuilt: customer_id={customer_id!r}: " in text
    assert "'planted'" in text
    assert (
        f"table timeline (rows: live {EVENTS - 1}, rebuilt {EVENTS}):"
        " 0 only in live, 1 only in rebuilt" in text
    )
    assert "  only in rebuilt: seq=1: " in text and registered["event_id"] in text
    assert f"verify: {EVENTS} events; read models differ (customers, timeline)\n" in text
    assert "kept in" in text


async def test_a_decision_whose_cause_is_not_on_retention_is_reported(rig: Rig) -> None:
    _, customer_id = await history(rig)
    orphan = await rig.decide(  # the rig's decisions name a random cause
        FollowUpDue,
        customer_id,
        follow_up_id="fu-1",
        reason="complaint_callback",
        due_at=rig.clock.now(),
        channel="phone",
    )
    await rig.settled()

    code, text = await verify(rig)

    assert code == 1, text
    assert "decisions whose cause is not on RETENTION (1):\n" in text
    line = f"seq {EVENTS + 1} FollowUpDue event_id={orphan.event_id}"
    assert f"  {line} causation_id={orphan.causation_id}\n" in text
    assert f"verify: {EVENTS + 1} events; decisions without their cause on RETENTION: 1\n" in text


@pytest.mark.parametrize("shift", [-1, 3], ids=["behind", "ahead"])
async def test_a_live_store_not_level_with_the_history_is_not_compared(
    rig: Rig, shift: int
) -> None:
    await history(rig)
    with rig.projections.store.transaction() as tx:  # as if it were still consuming, or
        tx.set_position(CONSUMER, EVENTS + shift)  # had applied events the rebuild did not read

    code, text = await verify(rig, wait=0.2)

    assert code == 1, text
    assert (
        f"live store at {EVENTS + shift}, history at {EVENTS}: not comparable, re-run when quiet"
        in text
    )
