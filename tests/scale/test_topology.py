"""compose.yaml's topology as processes on 127.0.0.1: a 3-server NATS cluster with users,
every service in its own `laoke serve` process under its own NATS user, API keys on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import nats
import pytest
from waiting import wait_for

from events.factories import sample_inbound
from laoke.auth import KeyStore
from laoke.natsauth import ADMIN, Credentials, authorization_config, service_user
from laoke.natsserver import NatsServer, free_port
from laoke.registry import SERVICES
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams

DEALER = "demo-4s"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[NatsServer], Credentials]]:
    creds = Credentials.load_or_create(
        tmp_path / "nats-credentials.json", [s.name for s in SERVICES], [DEALER]
    )
    auth = authorization_config(creds.passwords)
    routes = [free_port() for _ in range(3)]
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

    async def cluster_ready() -> bool:
        try:
            await admin.jetstream().account_info()
            return True
        except Exception:
            return False

    await wait_for(cluster_ready, 60, what="JetStream cluster elected a leader")
    # Created once up front (as an ops step would): six services creating R3 streams at the
    # same moment can outlast a JetStream API timeout.
    await ensure_streams(admin.jetstream(), replicas=3)
    data = tmp_path / "data"
    shared = settings.model_copy(update={"data_dir": data, "auth": "on"})
    _, key = KeyStore(shared).create([DEALER], write=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("LAOKE_")} | {
        "LAOKE_DATA_DIR": str(data),
        "LAOKE_NATS_URL": urls,
        "LAOKE_STREAM_REPLICAS": "3",
        "LAOKE_STORE": settings.store,
        "LAOKE_POSTGRES_DSN": settings.postgres_dsn,
        "LAOKE_AUTH": "on",
    }
    ports = {s.name: free_port() for s in SERVICES}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for service in SERVICES:
            user = service_user(service.name)
            env = base | {
                "LAOKE_NATS_USER": user,
                "LAOKE_NATS_PASSWORD": creds.password(user),
                "LAOKE_HTTP_PORT": str(ports[service.name]),
            }
            log = (tmp_path / f"{service.name}.log").open("wb")
            processes.append(
                subprocess.Popen(  # noqa: ASYNC220 (starts it; never waits on it here)
                    [sys.executable, "-m", "laoke", "serve", service.name],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        async with httpx.AsyncClient(timeout=5) as http:

            async def healthy() -> bool:
                for process, service in zip(processes, SERVICES, strict=True):
                    log = (tmp_path / f"{service.name}.log").read_text(errors="replace")
                    assert process.poll() is None, f"{service.name} exited:\n{log[-3000:]}"
                    try:
                        url = f"http://127.0.0.1:{ports[service.name]}/healthz"
                        if (await http.get(url)).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
                return True

            await wait_for(healthy, 60, what="every service healthy")
            headers = {"Authorization": f"Bearer {key}"}
            filed = sample_inbound("ComplaintFiled", dealership_id=DEALER)
            posted = await http.post(
                f"http://127.0.0.1:{ports['intake']}/v1/events", json=filed, headers=headers
            )
            assert posted.status_code == 200, posted.text
            customer = posted.json()["results"][0]["customer_id"]
            read = f"http://127.0.0.1:{ports['projections']}/v1/customers/{customer}"
            assert (await http.get(read)).status_code == 401

            async def projected() -> bool:
                return (await http.get(read, headers=headers)).status_code == 200

            await wait_for(projected, 60, what="the customer on the read API")
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
