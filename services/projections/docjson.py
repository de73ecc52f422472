"""A document's JSON text as stored, and back (a rebuild dumps and loads a document or two
per event: with the standard library that was a tenth of its time).

The text is byte for byte what the store has always held,
`json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`, so a store
written before compares equal with one rebuilt now (compare.py compares the text). orjson
writes the same for every value a document holds (keys sorted by code point, the same
escapes, the same shortest float text) except floats below 1e-4, which it spells `1e-6`
or `0.00001` where Python writes `1e-06` and `1e-05`: those documents, and anything orjson
refuses (an integer past 64 bits, a key that is not a string, a subclass of a JSON type),
are dumped by the standard library as before. (Two things differ and cannot occur: NaN and infinity
would be written `null`, where events refuse them; a UUID or an enum, which no handler puts
in a document, would be written as text where the standard library raised.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from pydantic_core import from_json

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    # what the standard library refuses, orjson must refuse too (then it is tried below)
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# A float below 1e-4 as orjson writes it where Python does not: `4.7e-9` (Python: `e-09`;
# from e-10 on both agree) and `0.00001` (a number: after `:`, `,`, `[` or `-`). Each
# starts with a literal, which `re` finds fast; text that matches takes the slower path.
_EXPONENT = re.compile(rb"e-\d(?=[,\]}])(?<=\de-\d)")
_DECIMAL = re.compile(rb"0\.0000(?<=[:,\[-]0\.0000)")


def dump_doc(doc: dict[str, Any]) -> str:
    try:
        text = orjson.dumps(doc, option=_OPTIONS)
    except TypeError:
        return _dump_stdlib(doc)
    if _EXPONENT.search(text) or _DECIMAL.search(text):
        return _dump_stdlib(doc)
    return text.decode()


def _dump_stdlib(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def load_doc(text: str) -> Any:
    """A stored document, read by pydantic's parser (orjson's would read an integer past 64
    bits as a float); anything it refuses, by the standard library as before."""
    try:
        return from_json(text, cache_strings=False)
    except ValueError:
        return json.loads(text)
