"""Processes for the fault suite: nats-server(s) and one `laoke serve NAME` per service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from laoke.eventstore import ServiceApplication
from laoke.natsserver import NatsServer, free_ports
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams

REPO = Path(__file__).resolve().parents[2]
# Consumers of RETENTION first (as laoke.registry orders them), intake last.
SERVICES = ("projections", "complaints", "outreach", "referrals", "workshop", "intake")
RELAYING = frozenset(SERVICES) - {"projections"}  # those that publish through an outbox


@dataclass
class ServiceProcess:
    """`python -m laoke serve NAME --no-http` with its own log; kill() is SIGKILL."""

    name: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        log = open(self.log_path, "ab")  # the child keeps its own copy
        log.write(f"--- start {self.starts + 1}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "laoke", "serve", self.name, "--no-http"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@dataclass
class Topology:
    """NATS (one server or a cluster on 127.0.0.1) plus every service in its own process."""

    root: Path
    size: int = 1
    services: tuple[str, ...] = SERVICES
    servers: list[NatsServer] = field(default_factory=list)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    supervised: int = 0
    postgres_dsn: str | None = field(default=None, init=False)  # see __post_init__
    stores: dict[str, ServiceApplication] = field(default_factory=dict)  # read by `unrelayed`

    def __post_init__(self) -> None:
        cluster_ports = free_ports(self.size)
        for n in range(self.size):
            server = NatsServer(
                self.root / f"nats-{n}",
                name=f"n{n}",
                sync_interval="always",  # see docs/reliability.md: no OS-level loss in the check
            )
            if self.size > 1:
                server.cluster_name = "laoke-fault"
                server.cluster_port = cluster_ports[n]
                server.routes = [p for i, p in enumerate(cluster_ports) if i != n]
            self.servers.append(server)
        env = dict(os.environ) | {
            "LAOKE_NATS_URL": self.urls,
            "LAOKE_DATA_DIR": str(self.root / "data"),
            "LAOKE_STREAM_REPLICAS": str(self.size),
            "PYTHONUNBUFFERED": "1",
        }
        admin_dsn = os.environ.get("LAOKE_TEST_POSTGRES_DSN")
        if admin_dsn:
            # A fresh database per topology: the clean run and each faulty run start empty,
            # as they do on SQLite with their own data dir.
            self.postgres_dsn = create_database(admin_dsn)
            env |= {"LAOKE_STORE": "postgres", "LAOKE_POSTGRES_DSN": self.postgres_dsn}
        for name in self.services:
            self.processes[name] = ServiceProcess(name, env, self.root / f"{name}.log")

    @property
    def urls(self) -> str:
        return ",".join(s.url for s in self.servers)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def settings(self) -> LaokeSettings:
        """The settings the services run with (their stores, NATS)."""
        store = {"store": "postgres", "postgres_dsn": self.postgres_dsn}
        return LaokeSettings(
            data_dir=self.data_dir,
            nats_url=self.urls,
            stream_replicas=self.size,
            **(store if self.postgres_dsn is not None else {}),
        )

    def unrelayed(self) -> list[str]:
        """The services whose outbox holds decisions not yet on RETENTION: a relay retrying
        (NATS restarting) leaves RETENTION quiet and every consumer idle, yet it is not done."""
        waiting = []
        for name in sorted(RELAYING.intersection(self.services)):
            if name not in self.stores:
                self.stores[name] = ServiceApplication(self.settings(), name)
            if self.stores[name].unrelayed():
                waiting.append(name)
        return waiting

    async def start_nats(self) -> None:
        for server in self.servers:
            server.start()
        for server in self.servers:
            await server.wait_ready()

    async def connect(self) -> tuple[NatsClient, JetStreamContext]:
        nc = await nats.connect(
            servers=[s.url for s in self.servers],
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.2,
        )
        return nc, nc.jetstream(timeout=5.0)

    async def ensure_streams(self, js: JetStreamContext, timeout: float = 30.0) -> None:
        """Create the streams, retrying while a cluster is still electing its leaders."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                await ensure_streams(js, self.size)
                return
            except Exception:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.25)

    def start_services(self) -> None:
        for process in self.processes.values():
            process.start()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        for store in self.stores.values():
            store.close()
        for server in self.servers:
            server.stop()
        if self.postgres_dsn is not None:
            drop_database(self.postgres_dsn)

    def supervise(self) -> None:
        """Restart a service that exited by itself, as compose's `restart: unless-stopped`
        does (a service exits when NATS cannot answer at start, e.g. during an election)."""
        for name in self.dead():
            self.processes[name].start()
            self.supervised += 1

    def dead(self) -> list[str]:
        return [name for name, p in self.processes.items() if not p.alive]


def create_database(admin_dsn: str) -> str:
    """A new, empty database on the server of `admin_dsn`; its DSN."""
    import psycopg

    name = f"laoke_fault_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlparse(admin_dsn)._replace(path=f"/{name}").geturl()


def drop_database(dsn: str) -> None:
    """Drop the database of `dsn` (FORCE: a SIGKILLed process may leave a session behind)."""
    import psycopg

    admin_dsn = os.environ["LAOKE_TEST_POSTGRES_DSN"]
    name = urlparse(dsn).path.lstrip("/")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
