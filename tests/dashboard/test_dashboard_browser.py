"""The dashboard in a real browser (Debian's headless Chromium, driven by Playwright) against
laoke running as `python -m laoke run` with the demo dealership published into it: each
panel must show the numbers the read API answers (read here with httpx and the same key);
the work list shows, filters and pages the API's rows and saves them as CSV; and the page
makes the same requests however many complaints there are.

Skips, saying why, when Chromium or Playwright is missing. Screenshots go to test-output/.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from laoke.auth import KeyStore
from laoke.natsserver import free_ports
from laoke.settings import LaokeSettings

CHROMIUM = os.environ.get("LAOKE_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DEALERSHIP = "demo-4s"
SLA_HOURS = 24  # set for the demo dealership in complaints' settings only (the default is 48)
# (one duration: every severity's SLA)
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
    from playwright.sync_api import Browser, Page, Request, sync_playwright
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
    nats_url: str
    published: int  # inbound events sent so far

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


def wait_quiet(url: str, published: int, log: Path) -> None:
    """Until intake accepted every event published, each consumer handled the same number
    of RETENTION messages, and nothing moved for a while (decisions follow events)."""
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


async def publish_complaints(nats_url: str, n: int, first: int) -> int:
    """`n` more complaints at the demo dealership, each from a customer of its own."""
    import nats

    from events import inbound_subject
    from events.factories import sample_inbound

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        filed = datetime.now(UTC) - timedelta(hours=3)
        for k in range(first, first + n):
            event = sample_inbound(
                "ComplaintFiled",
                event_id=str(uuid.uuid4()),
                dealership_id=DEALERSHIP,
                complaint_id=f"CP-MORE-{k:04d}",
                customer={"phone": f"1390000{k:04d}"},
                vin=None,
                repair_order_id=None,
                occurred_at=(filed + timedelta(minutes=k)).isoformat(),
            )
            subject = inbound_subject(DEALERSHIP, "ComplaintFiled")
            await js.publish(subject, json.dumps(event, ensure_ascii=False).encode())
        return n
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
    http_port, nats_port = free_ports(2)
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
        wait_quiet(url, published, log)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            yield Laoke(url, key, log, http, f"nats://127.0.0.1:{nats_port}", published)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


# ---------- what the page should show, read from the API here ----------

OFFSET = "+08:00"  # the page's days are China Standard Time (period.js)
PAGE = 50  # worklist.js: rows per page
# Seed 003's shares beside the retention figures (derive.js): how customers are won, by the
# nearest source the events show, and the share of lost customers who were neglected.
SEED_SOURCES = {"referred": 0.30, "event": 0.30, "phoned_in": 0.20, "walk_in": 0.05, "other": 0.15}
SEED_NEGLECTED = 0.63
CAUSES = ("complained", "dissatisfied", "last_call", "neglected", "contacted")


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


def assert_retention(page: Page, answer: dict[str, Any]) -> None:
    """The retention panels show the answer's figures, each beside seed 003's."""
    (group,) = answer["groups"]
    acquisition, lost = group["acquisition"], group["lost"]
    assert_value(page, "acq-new", acquisition["new_customers"])
    assert_value(page, "acq-bought", acquisition["bought"])
    for source, seed in SEED_SOURCES.items():
        for name in ("customers", "share", "bought"):
            assert_value(page, f"acq-{source}-{name}", acquisition[source][name])
        assert_value(page, f"acq-seed-{source}", seed)
    assert_value(page, "lost-total", lost["customers"])
    for cause in CAUSES:
        assert_value(page, f"lost-{cause}-customers", lost[cause]["numerator"])
        assert_value(page, f"lost-{cause}", lost[cause]["rate"])
    assert_value(page, "lost-neglected-share", lost["neglected_share"]["rate"])
    assert_value(page, "lost-seed-neglected", SEED_NEGLECTED)
    assert f" {answer['lapse_days']} " in page.get_by_test_id("lost-table").inner_text()


def walk(laoke: Laoke, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page by page along its cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = laoke.get(path, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@dataclass
class Period:
    start: date
    today: date

    @property
    def whole(self) -> dict[str, str]:
        return {"from": day_start(self.start), "to": day_start(self.today + timedelta(days=1))}


@pytest.fixture(scope="module")
def period() -> Period:
    today = (datetime.now(UTC) + timedelta(hours=8)).date()
    return Period(date(today.year - 1, today.month, 1), today)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert sync_playwright is not None
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, throw-away profile (--user-data-dir).
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def show(page: Page, laoke: Laoke, period: Period) -> None:
    """Open the page, enter the key and the period, wait until every panel is read."""
    page.goto(laoke.url + "/")
    page.wait_for_selector("[data-testid=status]:not(:empty)")
    enter(page, laoke, period)


def enter(page: Page, laoke: Laoke, period: Period) -> None:
    page.get_by_test_id("apikey").fill(laoke.key)
    page.get_by_test_id("from").fill(period.start.isoformat())
    page.get_by_test_id("to").fill(period.today.isoformat())
    page.get_by_test_id("show").click()
    page.wait_for_selector("[data-testid=status].ok", timeout=60_000)
    listed(page)


def listed(page: Page) -> list[str]:
    """The work list's rows (follow-up ids) once it is read."""
    page.wait_for_selector("[data-testid=fu-note][aria-busy=false]", timeout=30_000)
    rows = page.locator("[data-testid=fu-row]")
    return [rows.nth(n).get_attribute("data-id") or "" for n in range(rows.count())]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["follow_up_id"] for item in items]


# ---------- the tests ----------


def test_dashboard_shows_the_numbers_the_read_api_answers(
    laoke_demo: Laoke, browser: Browser, period: Period
) -> None:
    laoke = laoke_demo
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if "/v1/" in r.url else None)

    # Without a key the API answers 401 and the page says a key is needed.
    page.goto(laoke.url + "/")
    page.wait_for_selector("[data-testid=status].error")
    assert "API key" in page.get_by_test_id("status").inner_text()
    assert sent and all("authorization" not in h for h in sent)
    assert page.get_by_test_id("dealership").input_value() == DEALERSHIP

    page.wait_for_selector("[data-testid=fu-note][aria-busy=false]")
    sent.clear()
    enter(page, laoke, period)
    assert all(
        h.get("authorization") == f"Bearer {laoke.key}" and h.get("x-api-key") == laoke.key
        for h in sent
    )

    # Satisfaction, complaints, SLA times, referrals, follow-up completion: one metrics
    # answer for the whole period…
    whole = laoke.get(
        "/v1/metrics/satisfaction", dealership_id=DEALERSHIP, baseline="true", **period.whole
    )
    group = whole["groups"][0]
    assert_value(page, "sat-csi", group["csi"]["mean"])
    assert_value(page, "sat-ssi", group["ssi"]["mean"])
    assert_value(page, "sat-nps", group["nps"]["score"])
    assert_value(page, "cmp-total", group["complaints"]["total"])
    assert group["complaints"]["total"] > 0, "the demo dealership has complaints"
    for category, count in group["complaints"]["by_category"].items():
        assert_value(page, f"cmp-cat-{category}", count)
    assert_value(page, "cmp-silent", group["silent_dissatisfied_estimate"])
    # The SLA panel shows the figures of the clock the demo dealership counts in: opening
    # hours (the default), as complaints recorded them.
    assert page.get_by_test_id("sla-clock").get_attribute("data-value") == "business"
    for name in ("apology", "resolution"):
        for p in ("p50", "p90"):
            assert_value(page, f"sla-{name}-{p}", group[f"business_hours_to_{name}"][p])
    assert_value(page, "sla-within", group["resolved_within_sla"]["rate"])
    assert_value(page, "ref-rate", group["referral_conversion"]["rate"])
    for outcome, rate in group["repurchase"].items():
        assert_value(page, f"rep-{outcome}", rate["rate"])
    # Beside each, seed 004's figure; and the fixed customers against the never-troubled.
    seed = {"resolved_quickly": 0.82, "resolved_slowly": 0.54, "unresolved": 0.19}
    for outcome, rate in (seed | {"dissatisfied_never_complained": 0.09}).items():
        assert_value(page, f"rep-seed-{outcome}", rate)
    low = group["dissatisfaction"]
    assert_value(page, "rep-fixed-ratio", low["fixed_versus_untroubled"]["ratio"])
    # Dissatisfaction beside the means: the shares of low answers and detractors.
    assert_value(page, "dis-csi-low", low["csi_low"]["share"])
    assert_value(page, "dis-ssi-low", low["ssi_low"]["share"])
    assert_value(page, "dis-nps-detractors", low["nps_detractors"]["share"])
    assert_value(page, "dis-signalled", low["silent"]["signalled"])
    assert_value(page, "fu-completion", group["follow_up_completion"]["rate"])

    # …and one per month, over time.
    slices = month_slices(period.start, period.today)
    assert page.locator("[data-testid^=sat-row-]").count() == len(slices)
    for month, m_from, m_to in slices:
        monthly = laoke.get(
            "/v1/metrics/satisfaction", dealership_id=DEALERSHIP, **{"from": m_from, "to": m_to}
        )["groups"][0]
        row = page.get_by_test_id(f"sat-row-{month}")
        for testid, expected in (
            ("csi", monthly["csi"]["mean"]),
            ("ssi", monthly["ssi"]["mean"]),
            ("nps", monthly["nps"]["score"]),
        ):
            raw = row.get_by_test_id(testid).get_attribute("data-value")
            shown = None if raw == "null" else float(raw or "nan")
            assert shown == (None if expected is None else pytest.approx(expected)), (month, testid)

    # The funnel: each step's complaints as the complaint list has them one by one, and the
    # SLA targets as complaints recorded them (in opening hours, whatever the due times'
    # distance in wall-clock hours).
    complaints = walk(laoke, "/v1/complaints", dealership_id=DEALERSHIP, **period.whole)
    assert complaints, "the demo dealership files complaints in the period"
    for step in range(1, 7):
        reached = sum(c["step"] >= step for c in complaints)
        stalled = sum(c["step"] == step and c["closed_at"] is None for c in complaints)
        assert_value(page, f"funnel-reached-{step}", reached)
        assert_value(page, f"funnel-stalled-{step}", stalled)
    sample = complaints[0]  # one SLA for every severity here: any complaint's targets
    assert sample["sla_hours"] == SLA_HOURS, "the SLA complaints' settings set"
    assert_value(page, "sla-apology-target", sample["apology_within_hours"])
    assert_value(page, "sla-resolution-target", sample["sla_hours"])

    # Customers by class with value and cost: every customer of the dealership, as each
    # profile classifies them now (its facts: value and cost).
    totals: dict[str, list[float]] = {}
    for listed_customer in walk(laoke, "/v1/customers", dealership_id=DEALERSHIP):
        customer = laoke.get(f"/v1/customers/{listed_customer['customer_id']}")
        facts = customer["classification"]["facts"]
        sums = totals.setdefault(customer["customer_class"], [0, 0.0, 0.0])
        sums[0] += 1
        sums[1] += facts["value_cny"]
        sums[2] += facts["cost_cny"]
    assert sum(count for count, _, _ in totals.values()) >= DEMO_CUSTOMERS
    for name in ("gold", "meteor", "small_star", "burden"):
        count, spend, cost = totals.get(name, [0, 0.0, 0.0])
        assert_value(page, f"cls-{name}-customers", count)
        assert value(page, f"cls-{name}-value") == pytest.approx(spend, abs=0.01)
        assert value(page, f"cls-{name}-cost") == pytest.approx(cost, abs=0.01)

    # Where the period's new customers came from and why customers were lost in it: one
    # retention answer, each source beside seed 003's share, the neglected beside its 63 %.
    retention = laoke.get("/v1/metrics/retention", dealership_id=DEALERSHIP, **period.whole)
    assert_retention(page, retention)
    assert retention["groups"][0]["acquisition"]["new_customers"] > 0, "the demo wins customers"
    assert retention["groups"][0]["lost"]["customers"] > 0, "the demo dealership loses some"
    assert page.get_by_test_id("acq-note").inner_text() == ""

    page.screenshot(path=str(OUTPUT / "dashboard-en.png"), full_page=True)

    # 中文: every label from the strings table, the same numbers.
    before = value(page, "cmp-total")
    page.get_by_test_id("lang-toggle").click()
    assert page.locator("#sat-h").inner_text() == "满意度趋势"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_test_id("status").inner_text().startswith("已更新")
    assert value(page, "cmp-total") == before
    assert page.get_by_test_id("fu-tab-due").inner_text() == "待办（含逾期）"
    assert page.locator("#acq-h").inner_text() == "新客户从哪里来"
    assert_retention(page, retention)
    page.screenshot(path=str(OUTPUT / "dashboard-zh.png"), full_page=True)

    # The language and the dealership are remembered.
    page.reload()
    page.wait_for_selector("[data-testid=status].ok", timeout=60_000)
    assert page.locator("#sat-h").inner_text() == "满意度趋势"
    assert page.get_by_test_id("dealership").input_value() == DEALERSHIP
    # The browser logs each keyless request's 401 as an error, some after the status shows
    # the first: those are expected; any other error is not.
    assert not [e for e in errors if "status of 401" not in e], errors
    context.close()


def test_the_work_list_shows_filters_and_pages_the_read_apis_rows(
    laoke_demo: Laoke, browser: Browser, period: Period
) -> None:
    laoke = laoke_demo
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page = context.new_page()
    show(page, laoke, period)

    # Each tab: the API's first page of that list, in its order.
    lists: dict[str, list[dict[str, Any]]] = {}
    for status in ("due", "upcoming", "expired", "done", "skipped"):
        page.get_by_test_id(f"fu-tab-{status}").click()
        shown = listed(page)
        lists[status] = walk(laoke, "/v1/followups", dealership_id=DEALERSHIP, status=status)
        assert shown == ids(lists[status])[:PAGE], status
        assert page.get_by_test_id(f"fu-tab-{status}").get_attribute("aria-selected") == "true"

    # A row names whom to call and about which car: as the API's item says.
    status = next(s for s in ("due", "skipped", "upcoming") if any(i["vehicle"] for i in lists[s]))
    page.get_by_test_id(f"fu-tab-{status}").click()
    listed(page)
    item = next(i for i in lists[status][:PAGE] if i["vehicle"] and i["customer"])
    row = page.locator(f"[data-testid=fu-row][data-id='{item['follow_up_id']}']")
    text = row.inner_text()
    assert (item["customer"]["name"] or item["customer_id"][:8]) in text
    assert item["customer"]["phone"] is None or item["customer"]["phone"] in text
    assert row.get_by_test_id("fu-vehicle").inner_text() == item["vehicle"]["vin"]
    for known in (item["vehicle"]["model"], item["vehicle"]["plate"]):
        assert known is None or known in text

    # Paging: "more" reads the next page by the cursor until the list is whole.
    longest = max(lists, key=lambda s: len(lists[s]))
    assert len(lists[longest]) > PAGE, "a list longer than a page"
    page.get_by_test_id(f"fu-tab-{longest}").click()
    listed(page)
    pages = 1
    while page.get_by_test_id("fu-more").is_visible():
        page.get_by_test_id("fu-more").click()
        pages += 1
        shown = listed(page)
    assert shown == ids(lists[longest]) and pages == -(-len(shown) // PAGE)
    assert_value(page, "fu-shown", len(shown))

    # Filters: by reason, by channel, by advisor; each list is the API's with that filter.
    status = max(
        (s for s in lists if any(i["channel"] for i in lists[s])), key=lambda s: len(lists[s])
    )
    items = lists[status]
    page.get_by_test_id(f"fu-tab-{status}").click()
    listed(page)
    reason = Counter(i["reason"] for i in items).most_common()[-1][0]
    channel = Counter(i["channel"] for i in items if i["channel"]).most_common()[-1][0]
    advisor = Counter(i["advisor_id"] for i in items if i["advisor_id"]).most_common()[-1][0]
    for control, name, chosen in (
        ("fu-reason", "reason", reason),
        ("fu-channel", "channel", channel),
    ):
        page.get_by_test_id(control).select_option(chosen)
        expected = walk(
            laoke, "/v1/followups", dealership_id=DEALERSHIP, status=status, **{name: chosen}
        )
        assert expected and all(i[name] == chosen for i in expected)
        assert listed(page) == ids(expected)[:PAGE], name
        page.get_by_test_id(control).select_option("")
        listed(page)
    page.get_by_test_id("fu-advisor").fill(advisor)
    page.get_by_test_id("fu-apply").click()
    expected = walk(
        laoke, "/v1/followups", dealership_id=DEALERSHIP, status=status, advisor_id=advisor
    )
    assert expected and all(i["advisor_id"] == advisor for i in expected)
    assert listed(page) == ids(expected)[:PAGE]
    page.screenshot(path=str(OUTPUT / "dashboard-worklist.png"), full_page=False)
    context.close()


def test_the_csv_button_saves_the_list_the_api_streams(
    laoke_demo: Laoke, browser: Browser, period: Period
) -> None:
    laoke = laoke_demo
    context = browser.new_context(accept_downloads=True, locale="en-GB")
    page = context.new_page()
    asked: list[Request] = []
    page.on("request", lambda r: asked.append(r) if "/v1/followups" in r.url else None)
    show(page, laoke, period)
    status = "skipped"  # a long list (the history import's contacts), whole in the CSV
    page.get_by_test_id(f"fu-tab-{status}").click()
    listed(page)
    reason = laoke.get("/v1/followups", dealership_id=DEALERSHIP, status=status)["items"][0][
        "reason"
    ]
    page.get_by_test_id("fu-reason").select_option(reason)
    listed(page)
    asked.clear()

    with page.expect_download() as downloading:
        page.get_by_test_id("fu-csv").click()
    download = downloading.value
    data = Path(download.path()).read_bytes()

    (request,) = asked
    assert request.headers["accept"] == "text/csv"
    assert request.headers.get("authorization") == f"Bearer {laoke.key}"
    assert "format=" not in request.url and f"reason={reason}" in request.url
    assert download.suggested_filename == f"followups-{DEALERSHIP}-{status}.csv"
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark (Excel)"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    expected = walk(laoke, "/v1/followups", dealership_id=DEALERSHIP, status=status, reason=reason)
    assert [r["follow_up_id"] for r in rows] == ids(expected)
    for row, item in zip(rows, expected, strict=True):
        assert row["customer.name"] == (item["customer"] or {}).get("name") or ""
        assert row["reason"] == reason and row["status"] == status
    page.wait_for_selector("[data-testid=fu-saved]")
    context.close()


def test_the_retention_panels_follow_the_period_and_show_an_empty_one(
    laoke_demo: Laoke, browser: Browser, period: Period
) -> None:
    """One request to /v1/metrics/retention per period shown, with the dealership and the
    period entered; the panels show its answer, an empty period included."""
    laoke = laoke_demo
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    asked: list[dict[str, list[str]]] = []
    page.on(
        "request",
        lambda r: (
            asked.append(parse_qs(urlparse(r.url).query))
            if urlparse(r.url).path == "/v1/metrics/retention"
            else None
        ),
    )
    page.goto(laoke.url + "/")  # (without a key yet: refused)
    page.wait_for_selector("[data-testid=status].error")
    quarter = Period(period.today - timedelta(days=91), period.today)
    empty = Period(date(2001, 1, 1), date(2001, 1, 31))  # long before the demo dealership
    for shown in (period, quarter, empty):
        asked.clear()
        enter(page, laoke, shown)
        params = {"dealership_id": DEALERSHIP, **shown.whole}
        assert asked == [{name: [v] for name, v in params.items()}]
        answer = laoke.get("/v1/metrics/retention", **params)
        assert_retention(page, answer)
    (group,) = answer["groups"]
    assert group["acquisition"]["new_customers"] == 0 and group["lost"]["customers"] == 0
    assert (
        page.get_by_test_id("acq-note").inner_text() == "No customer was first seen in this period."
    )
    assert page.get_by_test_id("lost-note").inner_text() == "No customer was lost in this period."
    assert page.get_by_test_id("acq-referred-share").inner_text() == "—"
    context.close()


def v1_requests(page: Page, laoke: Laoke, period: Period) -> Counter[str]:
    """The read API requests the page makes to show everything once, by path."""
    page.goto(laoke.url + "/")  # (without a key yet: refused)
    page.wait_for_selector("[data-testid=status].error")
    page.wait_for_selector("[data-testid=fu-note][aria-busy=false]")
    made: list[str] = []
    page.on("request", lambda r: made.append(urlparse(r.url).path) if "/v1/" in r.url else None)
    enter(page, laoke, period)
    return Counter(made)


def test_the_page_makes_the_same_requests_however_many_complaints(
    laoke_demo: Laoke, browser: Browser, period: Period
) -> None:
    """Last in this module: it files more complaints at the demo dealership."""
    laoke = laoke_demo
    context = browser.new_context(locale="en-GB")
    before = v1_requests(context.new_page(), laoke, period)
    complaints = laoke.get("/v1/metrics/satisfaction", dealership_id=DEALERSHIP, **period.whole)

    more = 40
    # (in a thread of its own: Playwright's sync API keeps an event loop in this one)
    with ThreadPoolExecutor(1) as thread:
        sent = thread.submit(asyncio.run, publish_complaints(laoke.nats_url, more, 1)).result()
    laoke.published += sent
    wait_quiet(laoke.url, laoke.published, laoke.log)
    page = context.new_page()
    after = v1_requests(page, laoke, period)

    was = complaints["groups"][0]["complaints"]["total"]
    assert value(page, "cmp-total") == was + more  # the page shows the bigger dealership
    assert value(page, "funnel-reached-1") == was + more
    assert after == before, (before, after)
    # the period's metrics and each month's, a sample of complaints, the retention figures,
    # classes, the work list
    assert sum(before.values()) == 1 + len(month_slices(period.start, period.today)) + 4
    assert before["/v1/metrics/retention"] == 1
    assert not any(path.startswith(("/v1/audit", "/v1/customers")) for path in before)
    context.close()
