"""The repository stands alone: it cites its own docs (docs/contract.md, docs/domain.md),
never documents outside it, its Markdown links lead to files that exist, and the event
tables of docs/contract.md name every event type with the fields its model has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from events import EVENT_TYPES, Event

ROOT = Path(__file__).resolve().parents[2]

# Spelled in pieces so that this file does not cite them itself.
OUTSIDE_DOCS = ("CONTRACT", "DOMAIN", "ARCHITECTURE")
OUTSIDE = re.compile(r"\b(?:" + "|".join(OUTSIDE_DOCS) + r")\.md\b|\.\./" + "shared")
# The two pages that restate those documents may say where they came from.
MAY_NAME_THE_ORIGIN = {"docs/contract.md", "docs/domain.md"}

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
ROW = re.compile(r"^\| \[`(\w+)`\]\(schemas/\1\.json\) \|.*\| ([^|]*) \|$", re.M)


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def test_no_tracked_file_cites_documents_outside_the_repository() -> None:
    citing = []
    for path in tracked_files():
        name = path.relative_to(ROOT).as_posix()
        if name in MAY_NAME_THE_ORIGIN:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                citing.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not citing, "cite docs/contract.md or docs/domain.md instead:\n" + "\n".join(citing)


def markdown_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(text: str) -> list[str]:
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    targets = []
    for target in LINK.findall(prose):
        if target.startswith("#") or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # an anchor on the page, or http:, https:, mailto:
        targets.append(target.split("#", 1)[0].split("?", 1)[0])
    return targets


@pytest.mark.parametrize("page", markdown_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_that_exists(page: Path) -> None:
    broken = [
        target
        for target in relative_links(page.read_text(encoding="utf-8"))
        if not (page.parent / target).exists()
    ]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_the_link_check_sees_links() -> None:
    text = "[a](docs/x.md) [b](https://example.com) [c](#here) `[d](e.md)` ![f](g.png)"
    assert relative_links(text) == ["docs/x.md", "g.png"]


def payload_fields(model: type[Event]) -> list[str]:
    envelope = set(Event.model_fields)
    return [
        f"`{name}`" + ("" if info.is_required() else "?")
        for name, info in model.model_fields.items()
        if name not in envelope
    ]


def test_the_contract_page_lists_every_event_type_with_its_models_fields() -> None:
    text = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    rows = {name: fields for name, fields in ROW.findall(text)}
    assert set(rows) == set(EVENT_TYPES), (
        f"docs/contract.md lacks {sorted(set(EVENT_TYPES) - set(rows))}, "
        f"names unknown {sorted(set(rows) - set(EVENT_TYPES))}"
    )
    for name, fields in rows.items():
        # The page writes `birthday?`; the models say `birthday` is optional.
        listed = [re.sub(r"`(\w+)\?`", r"`\1`?", f.strip()) for f in fields.split(",")]
        assert listed == payload_fields(EVENT_TYPES[name]), name
