"""`laoke dlq` as ops use it: what it refuses to do, what it shows, whom it connects as."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deadletters_support import A, Rig, event, raw

from laoke.cli import as_ops
from laoke.dlqcli import dlq_command
from laoke.natsauth import ADMIN, Credentials
from laoke.settings import LaokeSettings


def test_ops_connect_to_the_embedded_server_as_its_admin(tmp_path: Path) -> None:
    settings = LaokeSettings(data_dir=tmp_path, nats_url=None, nats_user=None)
    assert as_ops(settings).nats_user is None, "no server ran here: no passwords to use"
    passwords = Credentials.load_or_create(tmp_path / "nats-credentials.json", [], []).passwords
    ops = as_ops(settings)
    assert (ops.nats_user, ops.nats_password) == (ADMIN, passwords[ADMIN])
    elsewhere = settings.model_copy(update={"nats_url": "nats://elsewhere:4222"})
    assert as_ops(elsewhere).nats_user is None, "an external server: LAOKE_NATS_USER says"


@pytest.mark.parametrize(
    "argv",
    [
        ["redrive"],  # neither letters nor filters: never everything by accident
        ["redrive", "1", "--dealership", A],
        ["redrive", "1", "2", "--body", "fixed.json"],
        ["list", "--from", "2026-01-01T00:00:00"],  # a time without its offset
    ],
)
def test_what_it_refuses_to_do(settings: LaokeSettings, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        dlq_command(settings, argv)
    assert refused.value.code == 2


async def test_show_and_list_as_json(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    bad = event(visit_kind="karaoke")
    await rig.publish(bad)
    (letter,) = await rig.letters(1)
    assert await rig.dlq("show", str(letter["seq"])) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["body"] == raw(bad).decode() and shown["reason"] == "bad_enum"
    assert await rig.dlq("list", "--json", "--reason", "bad_enum") == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["seq"] == letter["seq"]
    assert await rig.dlq("show", "999") == 1


async def test_only_refused_inbound_events_go_back_to_dealer_in(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service's letter is a recorded event, not something to send again; a body that is
    not an event and came with no subject has nowhere to go until it is corrected."""
    headers = {"Laoke-Service": "complaints", "Laoke-Reason": "handler_error", "Laoke-Error": "x"}
    await rig.js.publish("dlq.complaints.handler_error", b"{}", headers=headers)
    await rig.post(b"not json", rig.keys.create([A, "dealer-c"], write=True)[1])
    assert await rig.dlq("redrive", "1", "2") == 1
    told = capsys.readouterr().err
    assert "letter 1: skipped: not a refused inbound event" in told
    assert "letter 2: skipped: no dealership or event type" in told
