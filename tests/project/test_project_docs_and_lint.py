"""The checked-in API descriptions match the code, and the code passes its linters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from laoke.apidocs import build_documents, render

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def documents() -> tuple[dict[str, object], dict[str, object]]:
    return build_documents()


@pytest.mark.parametrize("name, index", [("openapi.json", 0), ("asyncapi.json", 1)])
def test_checked_in_api_descriptions_are_current(
    documents: tuple[dict[str, object], dict[str, object]], name: str, index: int
) -> None:
    checked_in = (ROOT / "docs" / name).read_text()
    assert checked_in == render(documents[index]), f"docs/{name} is stale: run `make docs`"


def test_openapi_describes_every_contract_endpoint(
    documents: tuple[dict[str, object], dict[str, object]],
) -> None:
    paths = documents[0]["paths"]
    assert isinstance(paths, dict)
    for path in [
        "/v1/events",
        "/v1/customers/{customer_id}",
        "/v1/customers",
        "/v1/customers/{customer_id}/timeline",
        "/v1/complaints/{complaint_id}",
        "/v1/followups",
        "/v1/referrals/{referral_id}",
        "/v1/metrics/satisfaction",
        "/v1/audit",
    ]:
        assert path in paths, path


def test_asyncapi_describes_the_inbound_and_recorded_channels(
    documents: tuple[dict[str, object], dict[str, object]],
) -> None:
    text = json.dumps(documents[1])
    for subject in [
        "dealer.in.{dealership_id}.ComplaintFiled",
        "retention.{dealership_id}.{customer_id}.FollowUpDue",
        "dlq.{service}.{reason}",
    ]:
        assert subject in text, subject


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["lint-imports"],
    ],
)
def test_linters_pass(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
