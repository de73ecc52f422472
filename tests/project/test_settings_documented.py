"""Every setting is documented and every documented setting exists: the settings classes
(laoke/settings.py, services/*/settings.py) and README's configuration tables name the same
environment variables, and the code reads each of them."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULES = [
    "laoke.settings",
    *sorted(f"services.{p.parent.name}.settings" for p in ROOT.glob("services/*/settings.py")),
]
SOURCES = [p for folder in ("laoke", "services") for p in (ROOT / folder).rglob("*.py")]


def settings_classes() -> list[type[BaseSettings]]:
    found: list[type[BaseSettings]] = []
    for name in SETTINGS_MODULES:
        module = importlib.import_module(name)
        found += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, BaseSettings) and cls is not BaseSettings
            if cls.__module__ == name
        ]
    return found


def variables(cls: type[BaseSettings]) -> dict[str, str]:
    """Environment variable -> field name."""
    prefix = cls.model_config.get("env_prefix", "")
    return {f"{prefix}{field}".upper(): field for field in cls.model_fields}


def documented() -> set[str]:
    """The variables the first cell of a row of README's configuration tables names."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `LAOKE_"):
            names |= set(re.findall(r"`(LAOKE_[A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_the_settings_classes_are_where_this_test_looks() -> None:
    defined = [
        p.relative_to(ROOT).as_posix()
        for p in SOURCES
        if re.search(r"^class \w+\(.*\bBaseSettings\b", p.read_text(), re.M)
    ]
    modules = {p.removesuffix(".py").replace("/", ".") for p in defined}
    assert modules <= set(SETTINGS_MODULES), modules - set(SETTINGS_MODULES)
    assert len(settings_classes()) == len(SETTINGS_MODULES)  # one class per module


def test_readme_documents_every_setting_and_nothing_else() -> None:
    in_code = {v for cls in settings_classes() for v in variables(cls)}
    in_readme = documented()
    assert in_readme, "README has no configuration table"
    assert not in_code - in_readme, f"settings README does not document: {in_code - in_readme}"
    assert not in_readme - in_code, (
        f"README documents settings nothing reads: {in_readme - in_code}"
    )


def test_the_code_reads_every_setting() -> None:
    """Each field is read as an attribute somewhere (`settings.data_dir`, `policy.sla`):
    a field defined and never read is a documented promise the code does not keep."""
    code = "\n".join(p.read_text() for p in SOURCES)
    unread = [
        variable
        for cls in settings_classes()
        for variable, field in variables(cls).items()
        if not re.search(rf"\.{field}\b", code)
    ]
    assert not unread, f"settings nothing reads: {unread}"
