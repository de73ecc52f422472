"""The dashboard's files as served: no browser needed."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from events.fields import Channel
from events.inbound import FollowUpOutcome
from events.recorded import FollowUpReason, SkipReason
from services.projections.dashboard import STATIC_DIR, build_dashboard_router
from services.projections.models import CustomerClassName
from services.projections.retention import Cause, Source


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.include_router(build_dashboard_router())
    return TestClient(app)


def language_keys(language: str) -> set[str]:
    """The keys of one language: the labels (strings.js) and the codes' words (codes.js)."""
    keys: set[str] = set()
    for name in ("strings.js", "codes.js"):
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        block = re.search(rf"\n  {language}: \{{(.*?)\n  \}}", text, re.S)
        assert block is not None, (name, language)
        keys |= set(re.findall(r'^\s+"([a-z0-9_.]+)":', block.group(1), re.M))
    return keys


def test_root_serves_the_page_with_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert 'type="module"' in response.text


def test_every_file_the_page_loads_is_served_with_its_type(client: TestClient) -> None:
    page = client.get("/").text
    loaded = re.findall(r'(?:src|href)="dashboard/static/([^"]+)"', page)
    assert {"app.js", "style.css", "vendor/chart.umd.min.js"} <= set(loaded)
    modules = {"api.js", "codes.js", "derive.js", "period.js", "strings.js", "ui.js"}
    modules |= {"retention.js", "worklist.js"}
    for name in [*loaded, *modules]:
        response = client.get(f"/dashboard/static/{name}")
        assert response.status_code == 200, name
        expected = "text/css" if name.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(expected), name


def test_imports_between_modules_name_files_that_exist() -> None:
    for module in STATIC_DIR.glob("*.js"):
        for target in re.findall(r'from "\./([^"]+)"', module.read_text(encoding="utf-8")):
            assert (STATIC_DIR / target).is_file(), f"{module.name} imports {target}"


@pytest.mark.parametrize(
    "path",
    ["../dashboard.py", "..%2Fdashboard.py", "../../../laoke/settings.py", "nope.js", "vendor"],
)
def test_nothing_outside_the_folder_or_missing_is_served(client: TestClient, path: str) -> None:
    assert client.get(f"/dashboard/static/{path}").status_code == 404


def test_chart_library_is_vendored_with_its_licence() -> None:
    assert "Chart.js v4" in (STATIC_DIR / "vendor" / "chart.umd.min.js").read_text()[:200]
    assert "MIT" in (STATIC_DIR / "vendor" / "chart.js.LICENSE.md").read_text()


def test_both_languages_have_every_label() -> None:
    zh, en = language_keys("zh"), language_keys("en")
    assert zh == en, {"only zh": zh - en, "only en": en - zh}
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="([^"]+)"', page))
    for module in STATIC_DIR.glob("*.js"):
        script = module.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\("([a-z0-9_.]+)"', script))
        used |= set(re.findall(r'"(fu\.[a-z_.]+)"', script))  # the work list's column heads
    assert used <= en, used - en


@pytest.mark.parametrize(
    ("prefix", "contract"),
    [
        ("reason", FollowUpReason),
        ("channel", Channel),
        ("outcome", FollowUpOutcome),
        ("skip", SkipReason),
        ("class", CustomerClassName),
    ],
)
def test_the_work_lists_codes_are_the_contracts(prefix: str, contract: object) -> None:
    """The filters offer every reason and channel of the contract and no other, and every
    outcome, skip reason and class the rows show has its words."""
    for language in ("zh", "en"):
        named = {
            key.split(".", 1)[1] for key in language_keys(language) if key.startswith(f"{prefix}.")
        }
        assert named == set(get_args(contract)), (language, prefix)


def test_the_retention_panels_name_every_source_and_cause_of_the_endpoint() -> None:
    """Each source and cause `/v1/metrics/retention` answers has its words in both languages,
    and each source the seed's source it is set beside (derive.js `SEED_SOURCES`)."""
    derive = (STATIC_DIR / "derive.js").read_text(encoding="utf-8")
    seeded = re.search(r"SEED_SOURCES = \{([^}]*)\}", derive)
    assert seeded is not None
    assert set(re.findall(r"(\w+): [0-9.]+", seeded.group(1))) == set(get_args(Source))
    for language in ("zh", "en"):
        keys = language_keys(language)
        for prefix, contract in (("src.", Source), ("acq.vs.", Source), ("cause.", Cause)):
            named = {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}
            assert named == set(get_args(contract)), (language, prefix)
