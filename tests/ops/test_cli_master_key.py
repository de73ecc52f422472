"""Every `laoke` command refuses a wrong or malformed `LAOKE_MASTER_KEY` the same way
(laoke/cli.py `main`): exit status 1 and one line naming the setting, never a traceback.
Run as an operator runs them: a process of their own, against a key store made with the
suite's master key."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys

import pytest
from nats.js import JetStreamContext

from laoke.keyring import Keyring
from laoke.natsserver import free_port
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION

WRONG = base64.b64encode(b"not the key the store was made!!").decode()  # 32 bytes
NOT_THE_ONE = "laoke: LAOKE_MASTER_KEY is not the master key this key store was created with"
MALFORMED = "laoke: LAOKE_MASTER_KEY must be 32 random bytes in base64"


async def laoke(settings: LaokeSettings, master_key: str, *argv: str) -> tuple[int, str]:
    """`laoke ARGV` in a process of its own; its exit status and what it printed."""
    env = {
        **os.environ,
        "LAOKE_NATS_URL": str(settings.nats_url),
        "LAOKE_DATA_DIR": str(settings.data_dir),
        "LAOKE_HTTP_PORT": str(free_port()),
        "LAOKE_AUTH": "off",
        "LAOKE_MASTER_KEY": master_key,
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "laoke.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def refused(printed: str, message: str) -> bool:
    """One line names the setting, the others (if any: `laoke: stopped`) are laoke's own."""
    lines = printed.splitlines()
    naming = [line for line in lines if "LAOKE_MASTER_KEY" in line]
    return (
        "Traceback" not in printed
        and len(naming) == 1
        and naming[0].startswith(message)
        and all(line.startswith("laoke: ") for line in lines)
    )


@pytest.mark.parametrize(
    "argv", [["run"], ["serve", "intake", "projections", "--no-http"], ["rebuild", "--quiet"]]
)
async def test_a_master_key_not_the_stores_is_one_line_and_exit_1(
    settings: LaokeSettings, js: JetStreamContext, argv: list[str]
) -> None:
    await Keyring.of(settings).start(js)  # the key store, made with the suite's key
    status, printed = await laoke(settings, WRONG, *argv)
    assert status == 1 and refused(printed, NOT_THE_ONE), printed
    assert (await js.stream_info(RETENTION)).state.last_seq == 0  # nothing was written


@pytest.mark.parametrize("argv", [["serve", "intake", "--no-http"], ["rebuild", "--quiet"]])
async def test_a_malformed_master_key_is_one_line_and_exit_1(
    settings: LaokeSettings, js: JetStreamContext, argv: list[str]
) -> None:
    status, printed = await laoke(settings, "too-short", *argv)
    assert status == 1 and refused(printed, MALFORMED), printed
