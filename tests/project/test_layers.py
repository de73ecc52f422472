"""Every module of laoke is named in a layer of the import-linter contracts (pyproject.toml):
the runtime (which may import no service and no app module) or the app on top. A module
named in neither would escape the layering unchecked."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def contract(name: str) -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for found in config["tool"]["importlinter"]["contracts"]:
        if found["name"] == name:
            return dict(found)
    raise AssertionError(f"no import-linter contract {name!r}")


def test_every_laoke_module_is_runtime_or_app() -> None:
    layered = contract("The runtime depends on no service and no app module")
    runtime = set(layered["source_modules"])
    app = {m for m in layered["forbidden_modules"] if m.startswith("laoke.")}
    modules = {
        f"laoke.{p.stem}" for p in (ROOT / "laoke").glob("*.py") if not p.stem.startswith("__")
    } | {f"laoke.{p.name}" for p in (ROOT / "laoke").iterdir() if (p / "__init__.py").exists()}
    assert modules - runtime - app == set(), "name new modules in pyproject.toml's layers"
    assert runtime & app == set()
    assert app == set(contract("Services do not depend on the app")["forbidden_modules"])
