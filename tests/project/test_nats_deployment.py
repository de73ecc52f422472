"""The NATS deployment compose.yaml ships is the one docs/reliability.md recommends."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from laoke.natsserver import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]


def documented_jetstream_block() -> str:
    """The `jetstream { ... }` block shown under "Recommended NATS settings"."""
    docs = (ROOT / "docs" / "reliability.md").read_text()
    section = docs.split("## Recommended NATS settings")[1]
    found = re.search(r"```\n(jetstream \{.*?\n\})\n```", section, re.S)
    assert found, "docs/reliability.md shows no shipped jetstream block"
    return found.group(1)


def version(text: str) -> tuple[int, int]:
    found = re.search(r"(\d+)\.(\d+)", text)
    assert found, f"no version in {text!r}"
    return int(found.group(1)), int(found.group(2))


def test_every_shipped_server_config_has_the_documented_jetstream_settings() -> None:
    block = documented_jetstream_block()
    assert "sync_interval: always" in block, "the docs recommend fsync on every write"
    configs = [p for p in (ROOT / "docker" / "nats").glob("*.conf") if "jetstream" in p.read_text()]
    assert configs, "no server config under docker/nats"
    for config in configs:
        assert block in config.read_text(), f"{config.name} differs from docs/reliability.md"


def test_compose_runs_the_embedded_server_line_or_newer() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    images = {s["image"] for s in compose["services"].values() if "nats" in s.get("image", "")}
    embedded = subprocess.run(
        [nats_server_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert images, "compose.yaml runs no nats image"
    for image in images:
        assert version(image.split(":")[1]) >= version(embedded), (image, embedded)
