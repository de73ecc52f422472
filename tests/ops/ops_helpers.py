"""What the ops tests share: settings for `laoke run` with its embedded NATS."""

from __future__ import annotations

from pathlib import Path

from laoke.natsserver import free_ports
from laoke.settings import LaokeSettings


def embedded_settings(tmp_path: Path) -> LaokeSettings:
    nats_port, http_port = free_ports(2)
    return LaokeSettings(
        data_dir=tmp_path / "data",
        nats_port=nats_port,
        http_port=http_port,
        auth="off",
        nats_dealerships=["demo-4s"],
    )
