"""compose.yaml's topology as processes on 127.0.0.1: a 3-server NATS cluster with users,
every replica compose.yaml lists in its own `laoke serve` process (the same partitions),
under its service's NATS user, API keys on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
import yaml
from waiting import wait_for

from events.factories import sample_inbound
from laoke.auth import KeyStore
from laoke.natsauth import ADMIN, Credentials, authorization_config, service_user
from laoke.natsserver import NatsServer, free_ports
from laoke.partitions import partition_of
from laoke.registry import SERVICES
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams

DEALER = "demo-4s"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Replica:
    name: str  # as in compose.yaml, e.g. intake-1
    service: str
    env: dict[str, str]


def compose_replicas() -> list[Replica]:
    """Every laoke container of compose.yaml: its service and partition settings."""
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    replicas = []
    for name, spec in services.items():
        command = spec.get("command", [])
        if command[:1] != ["serve"]:
            continue
        env = {k: str(v) for k, v in spec["environment"].items() if k.startswith("LAOKE_PART")}
        replicas.append(Replica(name, command[1], env))
    return replicas


def other_partition_dealer(partitions: int) -> str:
    """A dealership whose partition is not demo-4s's."""
    home = partition_of(DEALER, partitions)
    return next(name for n in range(100) if partition_of(name := f"store-{n}", partitions) != home)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[NatsServer], Credentials]]:
    creds = Credentials.load_or_create(
        tmp_path / "nats-credentials.json", [s.name for s in SERVICES], [DEALER]
    )
    auth = authorization_config(creds.passwords)
    routes = free_ports(3)
    servers = [
        NatsServer(
            tmp_path / f"nats-{i}",
            name=f"nats-{i}",
            cluster_name="laoke",
            cluster_port=routes[i],
            routes=[p for p in routes if p != routes[i]],
            extra_config=auth,
        )
        for i in range(3)
    ]
    for server in servers:
        server.start()
    yield servers, creds
    for server in servers:
        server.stop()


async def test_the_compose_topology_runs_as_processes(
    tmp_path: Path,
    cluster: tuple[list[NatsServer], Credentials],
    settings: LaokeSettings,
) -> None:
    servers, creds = cluster
    for server in servers:
        await server.wait_ready()
    urls = ",".join(s.url for s in servers)
    admin = await nats.connect(urls.split(","), user=ADMIN, password=creds.password(ADMIN))

    async def streams_created() -> bool:
        """Created once up front (as an ops step would): six services creating R3 streams at
        the same moment can outlast a JetStream API timeout. Tried until the cluster can place
        them: a leader is elected before every peer is known ("no suitable peers")."""
        try:
            await ensure_streams(admin.jetstream(), replicas=3)
            return True
        except Exception:
            return False

    await wait_for(streams_created, 60, what="the R3 streams placed on the cluster", step=0.25)
    data = tmp_path / "data"
    shared = settings.model_copy(update={"data_dir": data, "auth": "on"})
    replicas = compose_replicas()
    partitions = int(replicas[0].env["LAOKE_PARTITIONS"])
    dealers = [DEALER, other_partition_dealer(partitions)]
    _, key = KeyStore(shared).create(dealers, write=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("LAOKE_")} | {
        "LAOKE_DATA_DIR": str(data),
        "LAOKE_NATS_URL": urls,
        "LAOKE_STREAM_REPLICAS": "3",
        "LAOKE_STORE": settings.store,
        "LAOKE_POSTGRES_DSN": settings.postgres_dsn,
        "LAOKE_AUTH": "on",
        "LAOKE_MASTER_KEY": settings.master_key or "",  # one for all services, as compose sets it
    }
    ports = dict(zip((r.name for r in replicas), free_ports(len(replicas)), strict=True))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for replica in replicas:
            user = service_user(replica.service)
            env = (
                base
                | replica.env
                | {
                    "LAOKE_NATS_USER": user,
                    "LAOKE_NATS_PASSWORD": creds.password(user),
                    "LAOKE_HTTP_PORT": str(ports[replica.name]),
                }
            )
            log = (tmp_path / f"{replica.name}.log").open("wb")
            processes.append(
                subprocess.Popen(  # noqa: ASYNC220 (starts it; never waits on it here)
                    [sys.executable, "-m", "laoke", "serve", replica.service],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        async with httpx.AsyncClient(timeout=5) as http:

            async def healthy() -> bool:
                for process, replica in zip(processes, replicas, strict=True):
                    log = (tmp_path / f"{replica.name}.log").read_text(errors="replace")
                    assert process.poll() is None, f"{replica.name} exited:\n{log[-3000:]}"
                    try:
                        url = f"http://127.0.0.1:{ports[replica.name]}/healthz"
                        if (await http.get(url)).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
                return True

            await wait_for(healthy, 90, what="every replica healthy")
            headers = {"Authorization": f"Bearer {key}"}
            # One event per partition, both posted to intake-0: the one of the other
            # partition is forwarded to intake-1 and recorded there.
            phones = ["13800138001", "13800138002"]
            filed = [
                sample_inbound("ComplaintFiled", dealership_id=d, customer={"phone": p})
                for d, p in zip(dealers, phones, strict=True)
            ]
            posted = await http.post(
                f"http://127.0.0.1:{ports['intake-0']}/v1/events", json=filed, headers=headers
            )
            assert posted.status_code == 200, posted.text
            statuses = sorted(r["status"] for r in posted.json()["results"])
            assert statuses == ["accepted", "queued"], posted.text
            for reader in ("projections-0", "projections-1"):
                base_url = f"http://127.0.0.1:{ports[reader]}"
                first = f"{base_url}/v1/customers?phone={phones[0]}"
                assert (await http.get(first)).status_code == 401
                for phone in phones:

                    async def projected(
                        url: str = f"{base_url}/v1/customers?phone={phone}",
                    ) -> bool:
                        return (await http.get(url, headers=headers)).status_code == 200

                    await wait_for(projected, 60, what=f"customer {phone} on {reader}")
            info = await admin.jetstream().stream_info("RETENTION")
            assert info.config.num_replicas == 3
            assert info.cluster is not None and len(info.cluster.replicas or []) == 2
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        await admin.close()
