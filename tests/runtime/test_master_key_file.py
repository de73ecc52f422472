"""The embedded run's master key file (`master.key` in the data dir): generated once, and
never seen half-written by a process starting at the same moment. Several `laoke serve`
processes on one data dir all start by reading it; one that read an empty file stopped with
"LAOKE_MASTER_KEY must be 32 random bytes" (the compose-topology test, once in CI)."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from laoke import keyring
from laoke.keyring import MASTER_KEY_FILE, master_key
from laoke.settings import LaokeSettings


def without_key(data_dir: Path) -> LaokeSettings:
    """The embedded run's settings: no LAOKE_MASTER_KEY, so the data dir's file is used."""
    return LaokeSettings(data_dir=data_dir, master_key=None)


def test_the_key_file_appears_only_with_its_key_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / MASTER_KEY_FILE
    seen: list[bool] = []
    token_bytes = keyring.secrets.token_bytes

    def drawn(n: int) -> bytes:
        seen.append(path.exists())  # the moment another process could read it
        return token_bytes(n)

    monkeypatch.setattr(keyring.secrets, "token_bytes", drawn)
    key = master_key(without_key(tmp_path))
    assert seen and not any(seen)
    assert base64.b64decode(path.read_text()) == key
    assert [p.name for p in tmp_path.iterdir()] == [MASTER_KEY_FILE]  # no draft left behind


def test_processes_starting_together_all_read_the_one_key(tmp_path: Path) -> None:
    starters = 8
    together = threading.Barrier(starters)
    keys: list[bytes] = []
    errors: list[BaseException] = []

    def start() -> None:
        together.wait()
        try:
            keys.append(master_key(without_key(tmp_path)))
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(keys) == starters and len(set(keys)) == 1
    assert base64.b64decode((tmp_path / MASTER_KEY_FILE).read_text()) == keys[0]
