"""The rig: a fresh nats-server in a temp dir, a client, and each service as a process."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.js import JetStreamContext

from laoke.bench.report import Results
from laoke.bench.stores import Store, StoreKind, bench_store
from laoke.natsserver import NatsServer
from laoke.streams import ensure_streams

SERVICES = ("intake", "projections", "complaints", "outreach", "referrals", "workshop")


class Processes:
    def __init__(self, base_env: dict[str, str], log_dir: Path) -> None:
        self.base_env = base_env
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        http_port: int | None = None,
        *,
        label: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Start `laoke serve name`, known as `label` (default: name), with `env` added."""
        full_env = self.base_env | (env or {})
        if http_port:
            full_env["LAOKE_HTTP_PORT"] = str(http_port)
        command = [sys.executable, "-m", "laoke", "serve", name]
        if http_port is None:
            command.append("--no-http")
        label = label or name
        log = (self.log_dir / f"{label}.log").open("ab")
        self.running[label] = subprocess.Popen(command, env=full_env, stdout=log, stderr=log)

    def pid(self, name: str) -> int:
        return self.running[name].pid

    def peak_rss_mb(self, name: str) -> float:
        status = Path(f"/proc/{self.running[name].pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def service_env(nats_url: str, data_dir: Path) -> dict[str, str]:
    """A service's environment in a rig: this process's, less its LAOKE_* variables (the
    rig decides the configuration), with the rig's NATS server and data dir, no API keys."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LAOKE_")} | {
        "LAOKE_NATS_URL": nats_url,
        "LAOKE_DATA_DIR": str(data_dir),
        "LAOKE_AUTH": "off",
    }


@dataclass
class Rig:
    """A fresh nats-server in a temp dir, a client, the services' processes and their
    store."""

    tmp: Path
    server: NatsServer
    nc: nats.NATS
    js: JetStreamContext
    processes: Processes
    store: Store


@contextlib.asynccontextmanager
async def rig(
    results: Results,
    env: dict[str, str] | None = None,
    store: StoreKind = "sqlite",
    keep: bool = False,
) -> AsyncIterator[Rig]:
    """Start the rig on a fresh `store` (services get `env` too); stop it all at the end.
    Records the load average before and after, since the machine is shared. The services
    get no LAOKE_* variable of this process's: the rig decides their configuration."""
    tmp = Path(tempfile.mkdtemp(prefix="laoke-bench-"))
    with bench_store(store, tmp / "data") as kept:
        async with _started(results, tmp, kept, env or {}) as started:
            yield started
    # Gone once the run ended well (a 1M-customer run leaves ~7 GB) unless kept for a
    # replay (laoke/bench/replay.py); a failed run keeps its services' logs there.
    if keep:
        print(f"kept {tmp}: python -m laoke.bench.replay {tmp} --service NAME", flush=True)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.asynccontextmanager
async def _started(
    results: Results, tmp: Path, store: Store, env: dict[str, str]
) -> AsyncIterator[Rig]:
    server = NatsServer(tmp / "nats")
    server.start()
    await server.wait_ready()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1)
    js = nc.jetstream(publish_async_max_pending=8000)
    await ensure_streams(js)
    processes = Processes(service_env(server.url, store.data_dir) | store.env() | env, tmp)
    results.raw["load_before"] = os.getloadavg()
    results.raw["store"] = store.kind
    try:
        yield Rig(tmp, server, nc, js, processes, store)
    finally:
        processes.stop_all()
        await nc.close()
        server.stop()
        results.raw["load_after"] = os.getloadavg()
