"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright) against
laoke running as `python -m laoke run` with the demo dealership published into it: each
panel must show the numbers the read API answers (read here with httpx and the same key).

Skips, saying why, when Chromium or Playwright is missing. Screenshots go to test-output/.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from laoke.auth import KeyStore
from laoke.settings import LaokeSettings

CHROMIUM = os.environ.get("LAOKE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DEALERSHIP = "demo-4s"
SLA_HOURS = 24  # set for the demo dealership in complaints' settings only (the default is 48)
DEMO_CUSTOMERS = 30  # the demo dealership, smaller than `--demo`'s 200 so the test stays fast
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium): browser test skipped",
    ),
    pytest.mark.skipif(
        sync_playwright is None,
        reason="playwright not installed (pip install -e '.[dev]'): browser test skipped",
    ),
    pytest.mark.timeout(240),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
        except (httpx.HTTPError, OSError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@dataclass
class Laoke:
    url: str
    key: str
    log: Path
    http: httpx.Client

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        is_json = response.headers["content-type"].startswith("application/json")
        return response.json() if is_json else response.text


def handled_counts(url: str) -> tuple[float, tuple[float, ...]]:
    """(events intake accepted, RETENTION messages each consumer handled) from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    accepted = 0.0
    handled: list[float] = []
    for line in text.splitlines():
        if line.startswith("laoke_events_accepted_total"):
            accepted += float(line.rsplit(" ", 1)[1])
        elif line.startswith("laoke_messages_handled_total{"):
            handled.append(float(line.rsplit(" ", 1)[1]))
    return accepted, tuple(handled)


async def publish_demo(nats_url: str) -> int:
    import nats

    from laoke.sim import load_demo

    nc = await nats.connect(nats_url)
    try:
        return await load_demo(nc.jetstream(), customers=DEMO_CUSTOMERS)
    finally:
        await nc.close()


@dataclass
class Store:
    kind: Literal["sqlite", "postgres"] = "sqlite"
    postgres_dsn: str = "postgresql://unused"

    def env(self) -> dict[str, str]:
        return {"LAOKE_STORE": self.kind, "LAOKE_POSTGRES_DSN": self.postgres_dsn}


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    """The store settings of this run (tests/conftest.py's `settings`, but for the whole
    module): SQLite, or a fresh PostgreSQL database with LAOKE_TEST_POSTGRES_DSN set."""
    admin_dsn = os.environ.get("LAOKE_TEST_POSTGRES_DSN")
    if not admin_dsn:
        yield Store()
        return
    from urllib.parse import urlparse

    import psycopg

    name = f"laoke_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Store("postgres", urlparse(admin_dsn)._replace(path=f"/{name}").geturl())
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def laoke_demo(tmp_path_factory: pytest.TempPathFactory, store: Store) -> Iterator[Laoke]:
    data = tmp_path_factory.mktemp("laoke")
    http_port, nats_port = free_port(), free_port()
    env = {
        **os.environ,
        **store.env(),
        "LAOKE_DATA_DIR": str(data),
        "LAOKE_HTTP_PORT": str(http_port),
        "LAOKE_NATS_PORT": str(nats_port),
        "LAOKE_AUTH": "on",  # the page must send the key it is given
        "LAOKE_NATS_AUTH": "off",  # so this test can publish the demo dealership itself
        "LAOKE_COMPLAINTS_DEALERSHIPS": json.dumps({DEALERSHIP: {"sla": f"PT{SLA_HOURS}H"}}),
    }
    settings = LaokeSettings(data_dir=data, store=store.kind, postgres_dsn=store.postgres_dsn)
    key = KeyStore(settings).create([DEALERSHIP], read=True)[1]
    log = data / "laoke.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "laoke", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/healthz", timeout=2).status_code == 200, 60, "laoke")
        published = asyncio.run(publish_demo(f"nats://127.0.0.1:{nats_port}"))
        # Quiet: intake accepted every event, each consumer handled the same number of
        # RETENTION messages, and nothing moved for a while (decisions follow events).
        last: list[tuple[float, tuple[float, ...]]] = []
        since = [time.monotonic()]

        def quiet() -> bool:
            now = handled_counts(url)
            if not last or now != last[-1]:
                last.append(now)
                since[0] = time.monotonic()
                return False
            accepted, handled = now
            settled = accepted >= published and len(set(handled)) == 1 and handled[0] > 0
            return settled and time.monotonic() - since[0] > 2.0

        wait_for(quiet, 150, f"laoke to handle the demo dealership (see {log})")
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            yield Laoke(url, key, log, http)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# ---------- what the page should show, read from the API here ----------

OFFSET = "+08:00"  # the page's days are China Standard Time (period.js)


def day_start(day: date) -> str:
    return f"{day.isoformat()}T00:00:00{OFFSET}"


def month_slices(start: date, end: date) -> list[tuple[str, str, str]]:
    """(YYYY-MM, from, to) per calendar month of [start, end] (end inclusive)."""
    stop = end + timedelta(days=1)
    slices = []
    cursor = start
    while cursor < stop:
        first_of_next = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        upper = min(first_of_next, stop)
        slices.append((cursor.strftime("%Y-%m"), day_start(cursor), day_start(upper)))
        cursor = upper
    return slices


def audit_events(laoke: Laoke, start: str, end: str) -> list[dict[str, Any]]:
    import json

    text = laoke.get("/v1/audit", dealership_id=DEALERSHIP, **{"from": start, "to": end})
    lines = [json.loads(line) for line in text.splitlines() if line]
    return [line["event"] for line in lines if "event" in line]


def value(page: Page, testid: str) -> float | None:
    raw = page.get_by_test_id(testid).first.get_attribute("data-value")
    assert raw is not None, testid
    return None if raw == "null" else float(raw)


def assert_value(page: Page, testid: str, expected: float | None) -> None:
    shown = value(page, testid)
    if expected is None:
        assert shown is None, testid
    else:
        assert shown == pytest.approx(expected, abs=1e-6), testid


def hours(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


# ---------- the test ----------


def test_dashboard_shows_the_numbers_the_read_api_answers(laoke_demo: Laoke) -> None:
    assert sync_playwright is not None
    laoke = laoke_demo
    today = (datetime.now(UTC) + timedelta(hours=8)).date()
    start = date(today.year - 1, today.month, 1)
    whole_from, whole_to = day_start(start), day_start(today + timedelta(days=1))
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, throw-away profile (--user-data-dir).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            sent: list[dict[str, str]] = []
            page.on(
                "request",
                lambda r: sent.append(r.headers) if "/v1/" in r.url else None,
            )

            # Without a key the API answers 401 and the page says a key is needed.
            page.goto(laoke.url + "/")
            page.wait_for_selector("[data-testid=status].error")
            assert "API key" in page.get_by_test_id("status").inner_text()
            assert sent and all("authorization" not in h for h in sent)
            assert page.get_by_test_id("dealership").input_value() == DEALERSHIP

            errors.clear()  # the browser logs the 401s above as errors
            page.get_by_test_id("apikey").fill(laoke.key)
            page.get_by_test_id("from").fill(start.isoformat())
            page.get_by_test_id("to").fill(today.isoformat())
            sent.clear()
            page.get_by_test_id("show").click()
            page.wait_for_selector("[data-testid=status].ok", timeout=60_000)
            assert all(
                h.get("authorization") == f"Bearer {laoke.key}" and h.get("x-api-key") == laoke.key
                for h in sent
            )

            # Satisfaction, complaints, SLA times, referrals, follow-up completion: one
            # metrics answer for the whole period…
            whole = laoke.get(
                "/v1/metrics/satisfaction",
                dealership_id=DEALERSHIP,
                **{"from": whole_from, "to": whole_to},
            )["groups"][0]
            assert_value(page, "sat-csi", whole["csi"]["mean"])
            assert_value(page, "sat-ssi", whole["ssi"]["mean"])
            assert_value(page, "sat-nps", whole["nps"]["score"])
            assert_value(page, "cmp-total", whole["complaints"]["total"])
            assert whole["complaints"]["total"] > 0, "the demo dealership has complaints"
            for category, count in whole["complaints"]["by_category"].items():
                assert_value(page, f"cmp-cat-{category}", count)
            assert_value(page, "cmp-silent", whole["silent_dissatisfied_estimate"])
            for name in ("apology", "resolution"):
                for p in ("p50", "p90"):
                    assert_value(page, f"sla-{name}-{p}", whole[f"hours_to_{name}"][p])
            assert_value(page, "sla-within", whole["resolved_within_sla"]["rate"])
            assert_value(page, "ref-rate", whole["referral_conversion"]["rate"])
            for outcome, rate in whole["repurchase"].items():
                assert_value(page, f"rep-{outcome}", rate["rate"])
            assert_value(page, "fu-completion", whole["follow_up_completion"]["rate"])

            # …and one per month, over time.
            slices = month_slices(start, today)
            assert page.locator("[data-testid^=sat-row-]").count() == len(slices)
            for month, m_from, m_to in slices:
                group = laoke.get(
                    "/v1/metrics/satisfaction",
                    dealership_id=DEALERSHIP,
                    **{"from": m_from, "to": m_to},
                )["groups"][0]
                row = page.get_by_test_id(f"sat-row-{month}")
                for testid, expected in (
                    ("csi", group["csi"]["mean"]),
                    ("ssi", group["ssi"]["mean"]),
                    ("nps", group["nps"]["score"]),
                ):
                    raw = row.get_by_test_id(testid).get_attribute("data-value")
                    shown = None if raw == "null" else float(raw or "nan")
                    assert shown == (None if expected is None else pytest.approx(expected)), (
                        month,
                        testid,
                    )

            # The work list: due now (overdue included) and upcoming, rows naming the customer.
            for status in ("due", "upcoming"):
                page.get_by_test_id(f"fu-tab-{status}").click()
                got = laoke.get(
                    "/v1/followups", dealership_id=DEALERSHIP, status=status, limit=5000
                )
                assert_value(page, f"fu-{status}-count", got["count"])
                rows = page.locator(f"[data-testid=fu-table-{status}] [data-testid=fu-row]")
                assert rows.count() == min(got["count"], 100)
                late = sum(i["status"] == "overdue" for i in got["items"])
                assert status == "upcoming" or value(page, "fu-overdue-count") == late
                if got["items"]:
                    first = got["items"][0]
                    assert rows.first.get_attribute("data-id") == first["follow_up_id"]
                    contact = rows.first.get_by_test_id("fu-contact").inner_text()
                    assert (first["customer"]["phone"] or "") in contact

            # The funnel and the SLA targets: every complaint filed in the period.
            events = audit_events(laoke, whole_from, whole_to)
            filed = list(
                dict.fromkeys(
                    e["complaint_id"] for e in events if e["event_type"] == "ComplaintFiled"
                )
            )
            complaints = [
                laoke.get(f"/v1/complaints/{cid}", dealership_id=DEALERSHIP) for cid in filed
            ]
            assert complaints, "the demo dealership files complaints in the period"
            for step in range(1, 7):
                reached = sum(c["step"] >= step for c in complaints)
                stalled = sum(c["step"] == step and c["closed_at"] is None for c in complaints)
                assert_value(page, f"funnel-reached-{step}", reached)
                assert_value(page, f"funnel-stalled-{step}", stalled)
            sample = complaints[0]
            sla = hours(sample["filed_at"], sample["sla_due_at"])
            assert sla == SLA_HOURS, "the read API shows the SLA complaints' settings set"
            assert_value(
                page, "sla-apology-target", hours(sample["filed_at"], sample["apology_due_at"])
            )
            assert_value(
                page, "sla-resolution-target", hours(sample["filed_at"], sample["sla_due_at"])
            )

            # Customers by class with value and cost: every customer the period's events name.
            seen = list(dict.fromkeys(e["customer_id"] for e in events if e.get("customer_id")))
            totals: dict[str, list[float]] = {}
            counted: set[str] = set()
            for customer_id in seen:
                customer = laoke.get(f"/v1/customers/{customer_id}")
                if customer["customer_id"] in counted:
                    continue
                counted.add(customer["customer_id"])
                sums = totals.setdefault(customer["customer_class"], [0, 0.0, 0.0])
                sums[0] += 1
                sums[1] += customer["stats"]["spend_cny"]
                sums[2] += customer["stats"]["remedies_paid_cny"]
            assert counted
            for name in ("gold", "meteor", "small_star", "burden"):
                count, spend, cost = totals.get(name, [0, 0.0, 0.0])
                assert_value(page, f"cls-{name}-customers", count)
                assert value(page, f"cls-{name}-value") == pytest.approx(spend, abs=0.01)
                assert value(page, f"cls-{name}-cost") == pytest.approx(cost, abs=0.01)

            page.get_by_test_id("fu-tab-due").click()
            page.screenshot(path=str(OUTPUT / "dashboard-en.png"), full_page=True)

            # 中文: every label from the strings table, the same numbers.
            before = value(page, "cmp-total")
            page.get_by_test_id("lang-toggle").click()
            assert page.locator("#sat-h").inner_text() == "满意度趋势"
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            assert page.get_by_test_id("status").inner_text().startswith("已更新")
            assert value(page, "cmp-total") == before
            page.screenshot(path=str(OUTPUT / "dashboard-zh.png"), full_page=True)

            # The language and the dealership are remembered.
            page.reload()
            page.wait_for_selector("[data-testid=status]:not(:empty)")
            assert page.locator("#sat-h").inner_text() == "满意度趋势"
            assert page.get_by_test_id("dealership").input_value() == DEALERSHIP
            assert not errors, errors
        finally:
            browser.close()
