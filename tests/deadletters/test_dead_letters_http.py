"""Every refusal of `POST /v1/events` is dead-lettered and counted like one on NATS, under
the dealership of the key that sent it; and GET /v1/dead-letters keeps the API key rules
(401 without a key, 403 naming a dealership the key may not read, 404 for another's letter)."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from deadletters_support import MAX_ARRAY, A, B, Rig, event, raw

from laoke.metrics import DEAD_LETTERS


def counted(reason: str) -> float:
    return float(DEAD_LETTERS.labels("intake", reason)._value.get())


async def test_an_event_for_a_dealership_the_key_may_not_write_is_dead_lettered_and_counted(
    rig: Rig,
) -> None:
    before = counted("forbidden_dealership")
    foreign = event(B)
    answer = await rig.post(foreign)  # A's key, B's event
    assert answer.status_code == 403
    assert answer.json()["results"][0]["event_id"] == foreign["event_id"]
    (letter,) = await rig.letters(1)
    assert (letter["reason"], letter["dealership_id"], letter["via"]) == (
        "forbidden_dealership",
        A,
        "http",
    )
    assert letter["body"] == raw(foreign).decode()
    assert B in letter["error"]
    assert letter["headers"]["Laoke-Via"] == "http"
    assert letter["headers"]["Laoke-Api-Key"], "which key sent it"
    assert counted("forbidden_dealership") == before + 1
    listed_for_b = await rig.get("/v1/dead-letters", rig.b)
    assert listed_for_b.json()["items"] == [], "B is not shown what A's key sent"


async def test_each_event_of_a_request_over_the_limit_is_dead_lettered_and_counted(
    rig: Rig,
) -> None:
    before = counted("too_many_events")
    sent = [event() for _ in range(MAX_ARRAY + 2)]
    answer = await rig.post(sent)
    assert answer.status_code == 413
    body = answer.json()
    assert str(MAX_ARRAY) in body["message"]
    assert body["rejected"] == len(sent)
    letters = await rig.letters(len(sent))
    assert {item["reason"] for item in letters} == {"too_many_events"}
    assert sorted(item["body"] for item in letters) == sorted(raw(e).decode() for e in sent)
    assert counted("too_many_events") == before + len(sent)


async def test_a_body_that_is_not_json_is_dead_lettered_with_its_bytes(rig: Rig) -> None:
    before = counted("bad_json")
    answer = await rig.post(b'{"event_id": \xff')
    assert answer.status_code == 422
    assert answer.json()["results"][0]["reason"] == "bad_json"
    (letter,) = await rig.letters(1)
    assert letter["reason"] == "bad_json" and letter["body"] is None
    assert letter["body_base64"] == "eyJldmVudF9pZCI6IP8="  # b'{"event_id": \xff'
    assert counted("bad_json") == before + 1


async def test_the_list_keeps_the_api_key_rules(rig: Rig) -> None:
    await rig.post(event(visit_kind="karaoke"))
    await rig.post(event(B, visit_kind="karaoke"), rig.b)
    (mine,) = await rig.letters(1)
    (theirs,) = await rig.letters(1, rig.b)
    assert (await rig.http.get("/v1/dead-letters", params={"dealership_id": A})).status_code == 401
    assert (await rig.get("/v1/dead-letters", "lk_no_such_key")).status_code == 401
    named_b = await rig.get("/v1/dead-letters", dealership_id=B)
    assert named_b.status_code == 403 and named_b.json()["message"]
    assert (await rig.get(f"/v1/dead-letters/{mine['seq']}")).status_code == 200
    other = await rig.get(f"/v1/dead-letters/{theirs['seq']}")
    assert other.status_code == 404 and other.json()["message"]
    ops = rig.keys.create([], read=False, ops=True)[1]
    assert (await rig.get("/v1/dead-letters", ops, dealership_id=A)).status_code == 403
    two = rig.keys.create([A, B])[1]
    assert (await rig.get("/v1/dead-letters", two)).status_code == 422, "name one of the two"


async def test_pages_filters_and_a_letter_arriving_between_pages(rig: Rig) -> None:
    kinds = ["karaoke", "disco", "karaoke", "opera"]
    for kind in kinds:
        await rig.post(event(visit_kind=kind))
    await rig.post(event(customer={}))  # no_identity
    everything = await rig.letters(len(kinds) + 1)
    seqs = [item["seq"] for item in everything]
    assert seqs == sorted(seqs, reverse=True), "newest first"

    first = (await rig.get("/v1/dead-letters", limit=2)).json()
    assert [i["seq"] for i in first["items"]] == seqs[:2] and first["next_cursor"]
    await rig.post(event(visit_kind="circus"))  # arrives on top, meanwhile
    await rig.letters(len(kinds) + 2)
    pages = first["items"]
    cursor = first["next_cursor"]
    while cursor:
        page = (await rig.get("/v1/dead-letters", limit=2, cursor=cursor)).json()
        pages += page["items"]
        cursor = page["next_cursor"]
    assert [i["seq"] for i in pages] == seqs, "nothing repeated, nothing skipped"

    enums = (await rig.get("/v1/dead-letters", reason="bad_enum")).json()["items"]
    assert len(enums) == len(kinds) + 1
    assert {i["reason"] for i in enums} == {"bad_enum"}
    newest = datetime.fromisoformat(everything[0]["at"])
    later: dict[str, Any] = {"from": (newest + timedelta(microseconds=1)).isoformat()}
    only_new = (await rig.get("/v1/dead-letters", **later)).json()["items"]
    assert [i["event_id"] for i in only_new] and all(i["seq"] > seqs[0] for i in only_new)
    before: dict[str, Any] = {"to": datetime.fromisoformat(everything[-1]["at"]).isoformat()}
    assert (await rig.get("/v1/dead-letters", **before)).json()["items"] == []
    bad = await rig.get("/v1/dead-letters", cursor="nope")
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    wrong = await rig.get("/v1/dead-letters", to=datetime(2020, 1, 1, tzinfo=UTC).isoformat(),
                          **{"from": datetime(2021, 1, 1, tzinfo=UTC).isoformat()})  # fmt: skip
    assert wrong.status_code == 422


def cell(item: dict[str, Any], column: str) -> str:
    """A JSON item's value for a CSV column, as the contract says a cell holds it."""
    value: Any = item
    for part in column.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def test_csv_rows_equal_the_json_items(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("services.projections.routes.deadletters.CSV_CHUNK", 2)
    notes = ["等了三个小时，没有人通知。", '王芳, "小芳"', "刘洋\n(新)"]
    for note in notes:
        await rig.post(event(visit_kind="卡拉OK", note=note))
    items = await rig.letters(len(notes))
    answer = await rig.http.get(
        "/v1/dead-letters",
        params={"limit": 1},  # pages JSON only
        headers={"X-API-Key": rig.a, "Accept": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    header = list(reader.fieldnames or [])
    assert rows == [{column: cell(item, column) for column in header} for item in items]
    assert [json.loads(row["body"])["note"] for row in rows] == notes[::-1], "newest first"


async def test_a_body_too_long_to_read_is_refused_and_its_head_dead_lettered(rig: Rig) -> None:
    before = counted("oversize")
    sent = [event(note="长" * 30_000) for _ in range(MAX_ARRAY + 3)]  # ~90 KiB each
    answer = await rig.post(sent)
    assert answer.status_code == 413
    assert "MAX_ARRAY" in answer.json()["message"]
    (letter,) = await rig.letters(1)
    assert (letter["reason"], letter["dealership_id"]) == ("oversize", A)
    body = letter["body"]
    head = body.encode() if body is not None else base64.b64decode(letter["body_base64"])
    assert len(head) == 64 * 1024 and json.dumps(sent).encode().startswith(head)
    assert counted("oversize") == before + 1
