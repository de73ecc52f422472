"""Per-dealership policies (laoke/policy.py): the defaults with a dealership's overrides,
nested settings overridden key by key, built once per dealership since settings are frozen."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from laoke.policy import DealershipOverrides


class Hours(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    opens: int = 9
    closes: int = 18


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    cap: int = Field(4, ge=1)
    hours: Hours = Hours()


class Settings(Policy, DealershipOverrides[Policy], BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAOKE_TEST_POLICY_", frozen=True)


def test_a_dealership_gets_the_defaults_with_its_overrides_key_by_key() -> None:
    settings = Settings(dealerships={"bj-4s": {"cap": 2, "hours": {"closes": 20}}})
    assert settings.policy("bj-4s") == Policy(cap=2, hours=Hours(opens=9, closes=20))
    assert settings.policy("sh-4s") == Policy()


def test_each_dealerships_policy_is_built_once() -> None:
    settings = Settings(dealerships={"bj-4s": {"cap": 2}})
    assert settings.policy("bj-4s") is settings.policy("bj-4s")
    assert settings.policy("sh-4s") is settings.policy("sh-4s")


def test_a_bad_override_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="cap"):
        Settings(dealerships={"bj-4s": {"cap": 0}})


def test_settings_that_are_not_frozen_are_refused() -> None:
    class Loose(Policy, DealershipOverrides[Policy], BaseSettings):
        model_config = SettingsConfigDict(env_prefix="LAOKE_TEST_POLICY_", frozen=False)

    with pytest.raises(TypeError, match="frozen"):
        Loose()
