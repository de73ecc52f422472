"""The performance shortcuts give exactly what the slow paths they skip would give."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import phonenumbers
import pytest

from events import EVENT_TYPES, CustomerHints, CustomerVisited, Rejected, parse_recorded
from events.factories import sample_inbound, sample_recorded
from events.registry import RECORDED_ONLY_TYPES
from laoke.keyring import Keyring
from laoke.sealing import load_for, read_recorded
from laoke.settings import LaokeSettings
from services.intake.rules import identity_key, identity_keys
from services.projections.application import Message
from services.projections.queries.figures import followup_counts
from services.projections.readmodels.context import as_phone
from services.projections.store import ReadStore
from services.projections.tables import FOLLOWUPS, parse_ts, ts


def _numbers() -> list[str]:
    rng = random.Random(11)
    numbers = [f"1{prefix:03d}{rng.randrange(10**7):07d}" for prefix in range(1000)]
    return [*numbers, "13800138000", "+8613800138000", "138 0013 8000", "010-12345678", "x"]


def _by_phonenumbers(raw: str) -> str | None:
    """The slow path: phonenumbers itself (what the CN-mobile shortcut must agree with)."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_cn_mobile_shortcut_normalises_like_phonenumbers() -> None:
    for raw in _numbers():
        assert as_phone(raw) == _by_phonenumbers(raw), raw


def test_intake_phone_key_is_the_normalised_phone() -> None:
    for raw in _numbers():
        expected = _by_phonenumbers(raw)
        hints = CustomerHints.model_construct(phone=raw)  # any text, as a sender may send
        event = CustomerVisited.model_construct(customer=hints, source="dms")
        if expected is None:
            with pytest.raises(ValueError):
                identity_keys(event, "CN", b"k")
        else:
            key = identity_key("phone", expected, b"k")
            assert identity_keys(event, "CN", b"k") == [key], raw


def _recorded(event_type: str) -> dict[str, Any]:
    """Any event type as it sits on RETENTION."""
    if event_type in RECORDED_ONLY_TYPES:
        return sample_recorded(event_type)
    cause = "6f1e6c1e-8d8e-4a52-9a0f-0c6e8a1f2b3c"
    recorded = {"customer_id": "c-1", "correlation_id": cause, "causation_id": cause}
    return sample_inbound(event_type) | recorded


def _bytes(body: dict[str, Any], compact: bool = True) -> bytes:
    """As publishers write it (compact: the fast path's input), or spaced out (it fails
    over to `parse_recorded`)."""
    separators = (",", ":") if compact else (", ", ": ")
    return json.dumps(body, ensure_ascii=False, separators=separators).encode()


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_read_recorded_reads_what_parse_recorded_reads(event_type: str, compact: bool) -> None:
    data = _bytes(_recorded(event_type), compact)
    assert read_recorded(data, None) == parse_recorded(data)


def test_read_recorded_is_not_fooled_by_a_nested_event_type_key() -> None:
    due = _recorded("FollowUpDue")
    body = {"detail": {"event_type": "CustomerVisited"}} | due  # the nested key comes first
    data = _bytes(body)
    assert data.index(b'"CustomerVisited"') < data.index(b'"FollowUpDue"')
    assert read_recorded(data, None) == parse_recorded(data)
    assert read_recorded(data, None).event_type == "FollowUpDue"


def test_read_recorded_refuses_what_parse_recorded_refuses() -> None:
    raw = _recorded("CustomerVisited")
    hints = raw["customer"] | {"event_type": "CustomerRegistered"}
    nested = {"customer": hints} | {k: v for k, v in raw.items() if k != "customer"}
    without_version = {k: v for k, v in raw.items() if k != "schema_version"}
    for body in (without_version, raw | {"schema_version": 2}, nested, raw | {"bogus": 1}):
        data = _bytes(body)
        with pytest.raises(Rejected) as slow:
            parse_recorded(data)
        with pytest.raises(Rejected) as fast:
            read_recorded(data, None)
        assert (fast.value.reason, str(fast.value)) == (slow.value.reason, str(slow.value))


def test_ts_is_the_fixed_width_utc_text_and_parses_back() -> None:
    for value in (
        datetime(2024, 3, 1, 10, 11, 12, 500000, tzinfo=UTC),
        datetime(2024, 3, 1, 2, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(2023, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-3))),
    ):
        text = ts(value)
        assert text == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert parse_ts(text) == value and parse_ts(text).utcoffset() == timedelta(0)


def _due_time(rng: random.Random) -> str:
    """A due time within three days, on a day's or an hour's edge now and then."""
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(
        days=rng.randrange(3), hours=rng.randrange(24), minutes=rng.choice([0, 0, 17, 59])
    )
    return ts(at)


def _write_followups(store: ReadStore, rng: random.Random, rounds: int) -> None:
    """Follow-ups written, rewritten and moved between due times, groups and statuses."""
    for _ in range(rounds):
        with store.transaction() as tx:
            for _ in range(rng.randrange(1, 6)):
                ident = f"fu-{rng.randrange(30)}"
                row = tx.get(FOLLOWUPS, "d-1", ident) or {
                    "dealership_id": "d-1",
                    "follow_up_id": ident,
                    "customer_id": "c-1",
                    "done_at": None,
                    "reason": None,
                    "doc": {},
                }
                row.update(
                    status=rng.choice(["open", "done", "skipped"]),
                    due_at=rng.choice([None, _due_time(rng), _due_time(rng)]),
                    advisor_id=rng.choice([None, "adv-1"]),
                    department=rng.choice([None, "sales"]),
                )
                tx.put(FOLLOWUPS, row)


@pytest.mark.parametrize(("table", "width"), [("followup_days", 10), ("followup_hours", 13)])
def test_followup_tallies_stay_equal_to_a_count_of_the_rows(
    tmp_path: Path, table: str, width: int
) -> None:
    store = ReadStore(LaokeSettings(data_dir=tmp_path))
    _write_followups(store, random.Random(3), rounds=60)
    kept = sorted(store.query(f"SELECT * FROM {table}"))
    counted = sorted(
        store.query(
            f"SELECT dealership_id, substr(due_at, 1, {width}), COALESCE(advisor_id, ''),"
            " COALESCE(department, ''), status, COUNT(*) FROM followups"
            " WHERE due_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
        )
    )
    assert kept == counted and kept
    store.close()


@pytest.mark.parametrize("table", ["followup_days", "followup_hours"])
def test_a_tally_missing_from_an_older_store_is_filled_in_at_start(
    tmp_path: Path, table: str
) -> None:
    settings = LaokeSettings(data_dir=tmp_path)
    store = ReadStore(settings)
    _write_followups(store, random.Random(4), rounds=20)
    kept = sorted(store.query(f"SELECT * FROM {table}"))
    with store.transaction() as tx:
        tx.execute(f"DELETE FROM {table}")  # as a store written before the table was
    store.close()
    store = ReadStore(settings)
    assert sorted(store.query(f"SELECT * FROM {table}")) == kept and kept
    store.close()


def test_a_periods_followups_counted_from_the_tallies_equal_a_count_of_the_rows(
    tmp_path: Path,
) -> None:
    """Whole days, whole hours of the edge days and the rows of the edge hours: the same
    counts as the rows of the period, for periods on and off the days' and hours' edges."""
    store = ReadStore(LaokeSettings(data_dir=tmp_path))
    rng = random.Random(5)
    _write_followups(store, rng, rounds=80)
    periods = 0
    while periods < 300:
        lo, hi = sorted(_due_time(rng) for _ in range(2))
        if lo == hi:
            continue
        periods += 1
        tallied: Counter[tuple[str, str | None, str | None]] = Counter()
        for status, advisor, department, n in followup_counts(store, "d-1", lo, hi):
            tallied[(status, advisor, department)] += n
        counted = {
            (status, advisor, department): n
            for status, advisor, department, n in store.query(
                "SELECT status, advisor_id, department, COUNT(*) FROM followups WHERE"
                " dealership_id = 'd-1' AND due_at >= ? AND due_at < ? AND status <> 'skipped'"
                " GROUP BY 1, 2, 3",
                (lo, hi),
            )
        }
        assert dict(tallied) == counted, (lo, hi)
    store.close()


class AskedKeys(Keyring):
    """A keyring that notes the customers whose keys it is asked to load."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def load(self, customer_ids: Iterable[str]) -> None:
        self.asked.extend(customer_ids)


async def test_only_sealed_messages_ask_for_their_customers_keys() -> None:
    """Every reader (the services' consumers, projections, the rebuild, the audit) loads
    keys through `load_for`: a plain message must cost no key store request."""
    box = {"sealed": {"key": "c-2", "box": ""}}  # as the outbox writes it: compact JSON
    plain = json.dumps(_recorded("CustomerVisited"), separators=(",", ":")).encode()
    boxed = json.dumps(_recorded("CustomerVisited") | box, separators=(",", ":")).encode()
    messages = [
        Message(1, plain, "retention.d.c-1.CustomerVisited"),
        Message(2, boxed, "retention.d.c-2.CustomerVisited"),
    ]
    keyring = AskedKeys()
    await load_for(keyring, messages)
    assert keyring.asked == ["c-2"]
