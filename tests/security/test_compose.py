"""compose.yaml and its NATS config: secrets required, nothing public, health-gated start."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from laoke.dealerships import compose_auth_config, compose_dealers
from laoke.natsserver import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
SECRETS = [
    "LAOKE_POSTGRES_PASSWORD",
    "LAOKE_NATS_ADMIN_PASSWORD",
    *(
        f"LAOKE_NATS_{name}_PASSWORD"
        for name in (
            "INTAKE",
            "COMPLAINTS",
            "OUTREACH",
            "REFERRALS",
            "WORKSHOP",
            "PROJECTIONS",
        )
    ),
    "LAOKE_GRAFANA_ADMIN_PASSWORD",
]
MONITORING = {"prometheus", "grafana"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def laoke_services() -> dict[str, Any]:
    """compose's containers of laoke itself (the image built from docker/Dockerfile)."""
    return {n: s for n, s in compose()["services"].items() if s.get("image") == "laoke:local"}


def test_the_nats_users_of_compose_are_those_of_laoke_natsauth() -> None:
    folder = ROOT / "docker" / "nats"
    assert (folder / "auth.conf").read_text() == compose_auth_config(compose_dealers(folder))


def test_the_cluster_config_is_valid_for_nats_server() -> None:
    env = os.environ | dict.fromkeys(SECRETS, "x") | {"NATS_NAME": "nats-1"}
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", "cluster.conf"],
        cwd=ROOT / "docker" / "nats",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_publishes_only_on_loopback_and_waits_for_healthy_dependencies() -> None:
    services = compose()["services"]
    assert {"nats-1", "nats-2", "nats-3", "postgres"} <= set(services)
    text = (ROOT / "compose.yaml").read_text()
    for secret in SECRETS:
        assert f"${{{secret}:?" in text, secret
    for name, service in services.items():
        assert "healthcheck" in service, name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
        if name.startswith(("nats", "postgres")) or name in MONITORING:
            continue
        depends = service["depends_on"]
        assert set(depends) == {"nats-1", "nats-2", "nats-3", "postgres"}, name
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name
        assert service["environment"]["LAOKE_NATS_USER"] == f"laoke-{service_of(name)}"


def service_of(compose_name: str) -> str:
    """`intake-1` → `intake`: replicas are named after their service."""
    return re.sub(r"-\d+$", "", compose_name)


def test_each_partition_of_each_service_runs_in_exactly_one_replica() -> None:
    laoke = laoke_services()
    partitions: dict[str, list[int]] = {}
    for name, service in laoke.items():
        env = service["environment"]
        count = int(env["LAOKE_PARTITIONS"])
        owned = env.get("LAOKE_PARTITIONS_OWNED")
        partitions.setdefault(service_of(name), []).extend(
            [int(p) for p in owned.split(",")] if owned else range(count)
        )
    for service, owned in partitions.items():
        assert sorted(owned) == list(range(count)), service
    replicated = {service_of(n) for n in laoke if service_of(n) != n}
    assert {"intake", "projections"} <= replicated


def test_prometheus_scrapes_every_laoke_container_and_grafana_shows_its_board() -> None:
    services = compose()["services"]
    assert MONITORING <= set(services)
    config = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert sorted(targets) == sorted(f"{name}:8080" for name in laoke_services())
    grafana = services["grafana"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith(".")}
    provider = yaml.safe_load(
        (ROOT / "docker/grafana/provisioning/dashboards/laoke.yml").read_text()
    )
    boards = provider["providers"][0]["options"]["path"]
    assert (ROOT / mounted[boards] / "laoke.json").exists()
    datasource = yaml.safe_load(
        (ROOT / "docker/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    board = json.loads((ROOT / "docker/grafana/dashboards/laoke.json").read_text())
    assert {p["datasource"]["uid"] for p in board["panels"]} == {datasource["uid"]}
