"""The README's per-dealership example works (tests/project/test_settings_documented.py
checks that the README names every setting)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from services.complaints.settings import ComplaintSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_readmes_per_dealership_example_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    example = re.search(r"`LAOKE_COMPLAINTS_DEALERSHIPS='(.+?)'`", README)
    assert example is not None, "README shows a per-dealership override"
    monkeypatch.setenv("LAOKE_COMPLAINTS_DEALERSHIPS", example.group(1))
    settings = ComplaintSettings()
    assert settings.policy("bj-cadillac").sla_for("medium") == timedelta(hours=24)
    assert settings.policy("bj-cadillac").sla_for("high") == timedelta(hours=24)  # the default
    assert settings.policy("bj-cadillac").opening_hours.sun is None
    assert settings.policy("bj-cadillac").opening_hours.sat is not None
    assert settings.policy("other-4s").sla_for("medium") == timedelta(hours=48)  # the default
