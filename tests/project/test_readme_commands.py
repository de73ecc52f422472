"""The README's first command runs laoke on a clean clone, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from laoke.natsserver import free_ports

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None, "README starts with a sh block of commands"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_starts_with_the_run_and_test_commands() -> None:
    assert readme_commands()[:2] == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.fault
@pytest.mark.timeout(600)  # the first `make run` of a clone installs its venv
def test_make_run_on_a_clean_clone_serves_the_api_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    http_port, nats_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAOKE_", "VIRTUAL_ENV"))}
    env |= {
        "LAOKE_HTTP_PORT": str(http_port),
        "LAOKE_NATS_PORT": str(nats_port),
        "LAOKE_DATA_DIR": str(tmp_path / "var"),
        "LAOKE_AUTH": "off",
    }
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 400  # first run installs the venv
        while True:
            assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            try:
                health = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "laoke did not start"
            time.sleep(0.5)
        assert "intake" in health.json()["services"]
        output = (tmp_path / "run.log").read_text()
        assert f"HTTP API at http://127.0.0.1:{http_port}" in output
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0 or "laoke: stopped" in (tmp_path / "run.log").read_text()
        assert "laoke: stopped" in (tmp_path / "run.log").read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
