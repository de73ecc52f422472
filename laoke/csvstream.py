"""CSV for the read API's lists: a list route answers `Accept: text/csv` with the same rows
as its JSON items, streamed (docs/contract.md §4, "CSV").

- `wants_csv(accept)`: content negotiation (python-mimeparse): CSV when the client prefers
  `text/csv` to `application/json`; JSON for no `Accept`, `*/*` or a tie.
- `columns_of(model)`: the header of a list item's model: its fields in order, a nested
  model's fields as `outer.inner` (so an object that is null still has its columns);
  lists and maps are one column each.
- `cell(value)`: a JSON value as text: null empty, `true`/`false`, numbers and strings as
  JSON writes them, lists and maps as compact JSON. A string Excel would run as a formula
  (`=`, `+`, `-`, `@`, tab or CR first, and not a plain number) gets a leading `'`.
- `csv_response(columns, chunks, filename)`: UTF-8 with a byte-order mark (Excel on a
  Chinese Windows reads the file as GBK without it), the header row, then each chunk of
  items (an iterable, or an async iterable), encoded when the one before has been sent:
  memory stays flat however long the list (the read API's chunks come from the database a
  page at a time, services/projections/queries/paging.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
import types
import typing
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

import mimeparse
from pydantic import BaseModel
from starlette.responses import StreamingResponse

CSV = "text/csv"
JSON = "application/json"
BOM = "\ufeff"
# Documents the CSV answer beside a route's JSON model (merged into its 200 response).
CSV_OPENAPI: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            CSV: {
                "schema": {
                    "type": "string",
                    "description": "With `Accept: text/csv`: the same rows, streamed; UTF-8"
                    " with a byte-order mark, a header row, nested objects as dotted columns.",
                }
            }
        }
    }
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def wants_csv(accept: str | None) -> bool:
    """Whether `Accept` prefers CSV (on a tie, the last of the offers wins: JSON)."""
    if not accept:
        return False
    try:
        return bool(mimeparse.best_match([CSV, JSON], accept) == CSV)
    except ValueError:  # a malformed header: the default answer
        return False


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (`Model` or `Model | None`), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(found) == 1:
            return _model_in(found[0])
    return None


def columns_of(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """The CSV header of `model`'s rows: dotted paths, in field order."""
    names: list[str] = []
    for name, field in model.model_fields.items():
        nested = _model_in(field.annotation)
        if nested is None:
            names.append(prefix + name)
        else:
            names.extend(columns_of(nested, f"{prefix}{name}."))
    return tuple(names)


def cell(value: Any) -> str:
    """One JSON value as the text of a cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
            return "'" + value
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def row_of(item: Mapping[str, Any], paths: Sequence[Sequence[str]]) -> list[str]:
    """An item (a JSON object) as one row's cells, in the header's order."""
    cells = []
    for path in paths:
        value: Any = item
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        cells.append(cell(value))
    return cells


class _Writer:
    """Items to CSV bytes, one piece at a time (the BOM and header first)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = columns
        self.paths = [column.split(".") for column in columns]
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)  # Excel's dialect: commas, quotes as needed, CRLF

    def header(self) -> bytes:
        self.buffer.write(BOM)
        self.writer.writerow(self.columns)
        return self._take()

    def rows(self, items: Iterable[Mapping[str, Any]]) -> bytes:
        self.writer.writerows(row_of(item, self.paths) for item in items)
        return self._take()

    def _take(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode()


Chunks = Iterable[Iterable[Mapping[str, Any]]]
AsyncChunks = AsyncIterable[Iterable[Mapping[str, Any]]]


def encode(columns: Sequence[str], chunks: Chunks) -> Iterator[bytes]:
    """The CSV text, chunk by chunk: the BOM and header first, then one piece per chunk,
    each chunk asked for when the piece before has been taken."""
    writer = _Writer(columns)
    yield writer.header()
    for items in chunks:
        yield writer.rows(items)


async def encode_async(columns: Sequence[str], chunks: AsyncChunks) -> AsyncIterator[bytes]:
    """`encode` for chunks that come from an async source (a stream read with a client)."""
    writer = _Writer(columns)
    yield writer.header()
    async for items in chunks:
        yield writer.rows(items)


def csv_response(
    columns: Sequence[str], chunks: Chunks | AsyncChunks, filename: str
) -> StreamingResponse:
    """The streamed answer (`filename` without `.csv`: ASCII letters, digits and dashes).
    Sync chunks are read in the thread pool (Starlette's way with a sync iterator), so a
    chunk may query a database."""
    body = (
        encode_async(columns, chunks)
        if isinstance(chunks, AsyncIterable)
        else encode(columns, chunks)
    )
    return StreamingResponse(
        body,
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )
