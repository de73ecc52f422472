"""laoke/csvstream.py: the CSV answer of every list (header from the item model, cells as
the contract writes them, formulas defused, BOM first, chunks encoded one at a time)."""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pydantic import BaseModel

from laoke.csvstream import cell, columns_of, csv_response, encode, wants_csv


class Car(BaseModel):
    vin: str
    plate: str | None


class Person(BaseModel):
    name: str


class Item(BaseModel):
    item_id: str
    car: Car | None
    owner: Person
    tags: list[str]
    detail: dict[str, str]
    score: float | None


def test_the_header_spells_nested_models_as_dotted_columns() -> None:
    assert columns_of(Item) == (
        "item_id",
        "car.vin",
        "car.plate",
        "owner.name",
        "tags",
        "detail",
        "score",
    )


def test_cells_hold_json_values_as_text() -> None:
    assert cell(None) == ""
    assert (cell(True), cell(False)) == ("true", "false")
    assert (cell(3), cell(2.5), cell(289900.0)) == ("3", "2.5", "289900.0")
    assert cell("张伟") == "张伟"
    assert cell(["京A12345", "粤B1"]) == '["京A12345","粤B1"]'
    assert cell({"备注": "春节"}) == '{"备注":"春节"}'


def test_text_excel_would_run_as_a_formula_is_defused() -> None:
    for formula in ("=1+1", "@SUM(A1)", "+1+cmd|' /C calc'!A0", "-2+3", "\t=x", "\rx"):
        assert cell(formula) == "'" + formula
    for plain in ("+8613800138000", "-5", "-0.5", "a=b", "京A-12345"):
        assert cell(plain) == plain


def chunks_of(n: int, size: int, pulled: list[int]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, n, size):
        pulled.append(start)
        yield [
            {"item_id": f"i-{k}", "car": None, "owner": {"name": f"客户{k}"}, "tags": []}
            for k in range(start, min(n, start + size))
        ]


def test_the_bom_and_header_come_first_then_one_piece_per_chunk_when_asked() -> None:
    pulled: list[int] = []
    pieces = encode(columns_of(Item), chunks_of(5, 2, pulled))
    head = next(pieces)
    assert head.startswith(b"\xef\xbb\xbf") and pulled == []  # nothing read before
    assert head.decode("utf-8-sig") == "item_id,car.vin,car.plate,owner.name,tags,detail,score\r\n"
    first = next(pieces)
    assert pulled == [0] and first.decode().count("\r\n") == 2
    rest = list(pieces)
    assert pulled == [0, 2, 4] and len(rest) == 2
    text = (head + first + b"".join(rest)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["owner.name"] for r in rows] == [f"客户{k}" for k in range(5)]
    assert rows[0] == {
        "item_id": "i-0",
        "car.vin": "",
        "car.plate": "",
        "owner.name": "客户0",
        "tags": "[]",
        "detail": "",
        "score": "",
    }


async def test_async_chunks_give_the_same_bytes() -> None:
    async def chunks() -> AsyncIterator[list[dict[str, Any]]]:
        for chunk in chunks_of(5, 2, []):
            yield chunk

    response = csv_response(columns_of(Item), chunks(), "items-demo")
    assert response.headers["content-disposition"] == 'attachment; filename="items-demo.csv"'
    assert response.media_type == "text/csv; charset=utf-8"
    streamed = b"".join([piece async for piece in response.body_iterator])
    assert streamed == b"".join(encode(columns_of(Item), chunks_of(5, 2, [])))


def test_memory_stays_flat_however_many_rows() -> None:
    def peak(rows: int) -> tuple[int, int]:
        written = 0
        tracemalloc.start()
        try:
            for piece in encode(columns_of(Item), chunks_of(rows, 500, [])):
                written += len(piece)
            return tracemalloc.get_traced_memory()[1], written
        finally:
            tracemalloc.stop()

    small, small_bytes = peak(1_000)
    large, large_bytes = peak(30_000)
    assert large_bytes > 25 * small_bytes
    assert large < 2 * small  # 30 times the rows, not twice the memory


def test_csv_is_sent_when_the_client_prefers_it() -> None:
    for accept in ("text/csv", "text/csv; charset=utf-8", "text/csv, */*;q=0.1", "text/*"):
        assert wants_csv(accept), accept
    for accept in (None, "", "*/*", "application/json", "text/csv, application/json",
                   "text/csv;q=0.5, application/json", "text/html", "garbage;;q=x"):  # fmt: skip
        assert not wants_csv(accept), accept
