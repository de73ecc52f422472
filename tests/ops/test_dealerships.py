"""`laoke dealerships`: a dealership's NATS user added while NATS runs publishes at once
(intake records its event); a removed one is refused at once, its open connection closed;
the list is one file, seeded by LAOKE_NATS_DEALERSHIPS without bringing removed ones back;
compose's folder is edited the same way and its servers reload on SIGHUP."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from ops_helpers import embedded_settings
from waiting import wait_for

from events.factories import sample_inbound
from laoke.cli import start_embedded_nats
from laoke.dealerships import credentials_path, embedded_credentials
from laoke.dealerships import main as dealerships
from laoke.natsauth import ADMIN, Credentials, dealer_user, inbox_prefix
from laoke.natsserver import NatsServer
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION

ROOT = Path(__file__).resolve().parents[2]
NEW = "bj-4s"


async def command(capsys: pytest.CaptureFixture[str], settings: LaokeSettings, *argv: str) -> str:
    """Run `laoke dealerships ...` as from the shell (its own event loop); its output."""
    code = await asyncio.to_thread(dealerships, settings, list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def shown_password(out: str) -> str:
    found = re.search(r"password \(shown once, keep it safe\): (\S+)", out)
    assert found, out
    return found.group(1)


async def connect(url: str, user: str, password: str, **options: object) -> NatsClient:
    return await nats.connect(
        url,
        user=user,
        password=password,
        inbox_prefix=inbox_prefix(user),
        allow_reconnect=False,
        max_reconnect_attempts=1,
        **options,  # type: ignore[arg-type]
    )


async def test_a_dealership_added_while_laoke_runs_publishes_at_once_and_a_removed_one_is_refused(
    laoke_running: LaokeSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = laoke_running
    url = f"nats://127.0.0.1:{settings.nats_port}"
    out = await command(capsys, settings, "add", NEW)
    assert f"NATS user {dealer_user(NEW)}" in out
    assert f"{dealer_user(NEW)} connects" in out  # the command checked the reload itself
    password = shown_password(out)

    closed = asyncio.Event()

    async def on_closed() -> None:
        closed.set()

    dealer = await connect(url, dealer_user(NEW), password, closed_cb=on_closed)
    visited = sample_inbound("CustomerVisited", dealership_id=NEW)
    ack = await dealer.jetstream().publish(
        f"dealer.in.{NEW}.CustomerVisited", json.dumps(visited).encode()
    )
    assert ack.stream == "DEALER_IN"
    admin_password = Credentials.load(credentials_path(settings)).password(ADMIN)
    admin = await connect(url, ADMIN, admin_password)
    try:
        js = admin.jetstream()

        async def recorded() -> bool:
            info = await js.stream_info(RETENTION, subjects_filter=f"retention.{NEW}.>")
            return bool(info.state.subjects)

        await wait_for(recorded, 30, "intake recording the new dealership's event")
        [subject] = (
            await js.stream_info(RETENTION, subjects_filter=f"retention.{NEW}.>")
        ).state.subjects or {}
        recorded_event = json.loads((await js.get_msg(RETENTION, subject=subject)).data)
        assert recorded_event["event_id"] == visited["event_id"]

        out = await command(capsys, settings, "remove", NEW)
        assert f"{dealer_user(NEW)} is refused" in out
        await asyncio.wait_for(closed.wait(), 10)  # the server closed its open connection
        with pytest.raises(Exception, match=r"(?i)authorization violation"):
            await connect(url, dealer_user(NEW), password)
        listed = await command(capsys, settings, "list")
        assert {"dealership": NEW, "user": dealer_user(NEW)} not in map(
            json.loads, listed.splitlines()
        )
    finally:
        await admin.close()
        if not dealer.is_closed:
            await dealer.close()


async def test_an_addition_while_nats_is_down_holds_from_its_next_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = embedded_settings(tmp_path)
    out = await command(capsys, settings, "add", NEW)
    assert "not running" in out
    server = await start_embedded_nats(settings)
    try:
        nc = await connect(server.url, dealer_user(NEW), shown_password(out))
        await nc.close()
    finally:
        server.stop()


def test_the_seed_adds_dealerships_but_never_brings_a_removed_one_back(tmp_path: Path) -> None:
    settings = embedded_settings(tmp_path).model_copy(
        update={"nats_dealerships": ["demo-4s", "sh-4s"]}
    )
    assert embedded_credentials(settings).dealerships() == ["demo-4s", "sh-4s"]
    assert dealerships(settings, ["remove", "sh-4s"]) == 0
    assert embedded_credentials(settings).dealerships() == ["demo-4s"]  # the next start
    assert dealerships(settings, ["add", "sh-4s"]) == 0  # added back by hand only
    assert embedded_credentials(settings).dealerships() == ["demo-4s", "sh-4s"]
    assert dealerships(settings, ["add", "sh-4s"]) == 2  # it has a user already
    with pytest.raises(SystemExit):
        dealerships(settings, ["add", "bad.id"])  # not a subject token


def test_an_external_nats_is_not_edited(tmp_path: Path) -> None:
    external = embedded_settings(tmp_path).model_copy(update={"nats_url": "nats://elsewhere:4222"})
    assert dealerships(external, ["add", NEW]) == 2
    assert not credentials_path(external).exists()


async def test_compose_folder_gains_and_loses_a_dealership_on_reload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "compose-nats"
    folder.mkdir()
    for name in ("auth.conf", "dealerships.json"):
        shutil.copy(ROOT / "docker" / "nats" / name, folder / name)
    for var in (
        "ADMIN",
        "INTAKE",
        "COMPLAINTS",
        "OUTREACH",
        "REFERRALS",
        "WORKSHOP",
        "PROJECTIONS",
    ):
        monkeypatch.setenv(f"LAOKE_NATS_{var}_PASSWORD", "compose-secret")
    server = NatsServer(folder, extra_config='include "auth.conf"')  # as cluster.conf does
    server.start()
    settings = embedded_settings(tmp_path)
    try:
        await server.wait_ready()
        out = await command(capsys, settings, "--compose", str(folder), "add", NEW)
        assert "docker compose kill -s SIGHUP" in out
        password = shown_password(out)
        stored = json.loads((folder / "dealerships.json").read_text())[NEW]
        assert stored.startswith("$2") and password not in (folder / "auth.conf").read_text()
        os.kill(server.process.pid, signal.SIGHUP)  # type: ignore[union-attr]

        async def accepted() -> bool:
            try:
                await (await connect(server.url, dealer_user(NEW), password)).close()
            except Exception:
                return False
            return True

        await wait_for(accepted, 10, "the reloaded server accepting the dealership")
        await command(capsys, settings, "--compose", str(folder), "remove", NEW)
        os.kill(server.process.pid, signal.SIGHUP)  # type: ignore[union-attr]
        await wait_for(lambda: _refused(server.url, password), 10, "the dealership refused")
        assert json.loads((folder / "dealerships.json").read_text()) == {}
    finally:
        server.stop()


async def _refused(url: str, password: str) -> bool:
    try:
        await (await connect(url, dealer_user(NEW), password)).close()
    except Exception as exc:
        return "authorization violation" in str(exc).lower()
    return False
