"""Dead letters end to end on a real nats-server: a refused event is listed for its
dealership (GET /v1/dead-letters, `laoke dlq list`), fixed, re-driven, recorded once; a second
re-drive is a duplicate; a re-drive refused again is a new letter counting its attempts."""

from __future__ import annotations

from pathlib import Path

import pytest
from deadletters_support import A, Rig, event, raw, redriven_as
from waiting import wait_for

from laoke.metrics import DUPLICATES


async def test_a_refused_event_is_fixed_redriven_and_recorded_once(
    rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = event(visit_kind="karaoke")
    await rig.publish(bad, **{"X-Trace": "t-1"})
    (letter,) = await rig.letters(1)
    assert (letter["reason"], letter["via"], letter["dealership_id"]) == ("bad_enum", "nats", A)
    assert "visit_kind" in letter["error"]
    assert letter["body"] == raw(bad).decode(), "the original body, as sent"
    assert letter["headers"]["X-Trace"] == "t-1"
    assert (letter["event_id"], letter["attempt"], letter["redrives"]) == (bad["event_id"], 1, [])

    assert await rig.dlq("list", "--dealership", A) == 0
    listed = capsys.readouterr().out
    assert str(letter["seq"]) in listed and "bad_enum" in listed

    fixed = tmp_path / "fixed.json"
    fixed.write_bytes(raw(bad | {"visit_kind": "showroom"}))
    assert await rig.dlq("redrive", str(letter["seq"]), "--body", str(fixed), "--by", "alice") == 0
    (position,) = redriven_as(capsys.readouterr().out)
    await rig.intake_reached(position)
    assert await rig.recorded(bad["event_id"]) == 1
    shown = await rig.letter(letter["seq"], lambda found: found["redrives"])
    (redrive,) = shown["redrives"]
    assert (redrive["by"], redrive["body"], redrive["attempt"]) == ("alice", "corrected", 2)
    assert (redrive["redriven_as"], redrive["failed_as"]) == (f"DEALER_IN:{position}", None)

    duplicates = DUPLICATES._value.get()
    assert await rig.dlq("redrive", str(letter["seq"]), "--body", str(fixed), "--by", "bob") == 0
    (again,) = redriven_as(capsys.readouterr().out)
    await rig.intake_reached(again)
    counted = await wait_for(lambda: DUPLICATES._value.get() > duplicates, what="a duplicate")
    assert counted and DUPLICATES._value.get() == duplicates + 1, "the second is a duplicate"
    assert await rig.recorded(bad["event_id"]) == 1, "not a second event"
    shown = await rig.letter(letter["seq"], lambda found: len(found["redrives"]) == 2)
    assert [r["by"] for r in shown["redrives"]] == ["alice", "bob"]
    assert len(await rig.letters(1)) == 1, "no new letter"


async def test_a_redrive_refused_again_is_a_new_letter_that_counts_its_attempts(
    rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = event(visit_kind="karaoke")
    await rig.publish(bad)
    (first,) = await rig.letters(1)
    still_bad = tmp_path / "still-bad.json"
    still_bad.write_bytes(raw(bad | {"visit_kind": "showroom", "customer": {}}))
    assert await rig.dlq("redrive", str(first["seq"]), "--body", str(still_bad)) == 0
    newest, _ = await rig.letters(2)
    assert (newest["reason"], newest["attempt"], newest["redrive_of"]) == (
        "no_identity",
        2,
        first["seq"],
    )
    assert newest["headers"]["Laoke-Attempt"] == "2", "the letter itself says so too"
    assert newest["headers"]["Laoke-Redrive-Of"] == str(first["seq"])
    shown = await rig.letter(first["seq"], lambda found: found["redrives"])
    assert shown["redrives"][0]["failed_as"] == newest["seq"]

    capsys.readouterr()
    good = tmp_path / "good.json"
    good.write_bytes(raw(bad | {"visit_kind": "showroom"}))
    assert await rig.dlq("redrive", str(newest["seq"]), "--body", str(good)) == 0
    (position,) = redriven_as(capsys.readouterr().out)
    await rig.intake_reached(position)
    assert await rig.recorded(bad["event_id"]) == 1
    shown = await rig.letter(newest["seq"], lambda found: found["redrives"])
    assert shown["redrives"][0]["attempt"] == 3
    assert len(await rig.letters(2)) == 2, "recorded: no third letter"


async def test_the_original_bytes_are_redriven_by_filter_once_the_fault_is_gone(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A request over the size limit refuses good events: re-driven as they were, all are
    recorded; a letter already re-driven is left out of the next filtered re-drive."""
    sent = [event() for _ in range(4)]
    answer = await rig.post(sent)
    assert answer.status_code == 413
    letters = await rig.letters(4, reason="too_many_events")
    assert {item["event_id"] for item in letters} == {e["event_id"] for e in sent}
    assert {item["via"] for item in letters} == {"http"}

    assert await rig.dlq("redrive", "--dealership", A, "--reason", "too_many_events") == 0
    positions = redriven_as(capsys.readouterr().out)
    assert len(positions) == 4
    await rig.intake_reached(max(positions))
    for e in sent:
        assert await rig.recorded(e["event_id"]) == 1

    for item in letters:
        await rig.letter(item["seq"], lambda found: found["redrives"])
    assert await rig.dlq("redrive", "--dealership", A, "--reason", "too_many_events") == 0
    assert redriven_as(capsys.readouterr().out) == [], "each was re-driven already"
