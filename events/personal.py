"""Which values of an event are personal, and taking them out of (or back into) its JSON.

A field is personal when its declaration carries the `PERSONAL` marker (or, for a dict of
small facts, `personal_entries`: events/fields.py): the markers are the one list of
personal data. Recorded events travel with those values
taken out into a sealed box (laoke/sealing.py encrypts it with the customer's key) and a
placeholder left in their place, so that the body still validates for a reader without
the key: text reads `[sealed]`, a required list is empty, anything else is left out.
After erasure the box can no longer be opened and the placeholders are what remains.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from events.registry import EVENT_TYPES

SEALED_TEXT = "[sealed]"
SEALED = "sealed"
"""The top-level key of a recorded event's sealed box: {"key": customer id, "box": text}."""

Placeholder = Literal["text", "empty", "drop"]
Path = tuple[str, ...]  # field names; "*" stands for every item of a list


def _unwrap(annotation: Any) -> list[Any]:
    """The types an annotation may hold, without Annotated, Optional and None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [t for arg in get_args(annotation) for t in _unwrap(arg) if t is not type(None)]
    return [annotation]


def _is_personal(info: FieldInfo) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and extra.get("x-personal") is True


def _placeholder(info: FieldInfo) -> Placeholder:
    """`[sealed]` where the field's type takes it (names, phones, free text), else an empty
    list for a required list, else nothing (optional dates, plates, details)."""
    try:
        TypeAdapter(Any if info.annotation is None else info.annotation).validate_python(
            SEALED_TEXT, strict=True
        )
    except ValidationError:
        return "empty" if info.is_required() else "drop"
    return "text"


def _walk(model: type[BaseModel], prefix: Path) -> list[tuple[Path, Placeholder]]:
    found: list[tuple[Path, Placeholder]] = []
    for name, info in model.model_fields.items():
        if _is_personal(info):
            found.append(((*prefix, name), _placeholder(info)))
            continue
        extra = info.json_schema_extra
        if isinstance(extra, dict) and isinstance(entries := extra.get("x-personal-entries"), list):
            found += [((*prefix, name, str(key)), "text") for key in entries]
            continue
        for kind in _unwrap(info.annotation):
            if get_origin(kind) is list:
                inner = [t for t in _unwrap(get_args(kind)[0]) if _is_model(t)]
                for item in inner:
                    found += _walk(item, (*prefix, name, "*"))
            elif _is_model(kind):
                found += _walk(kind, (*prefix, name))
    return found


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


@cache
def personal_paths(event_type: str) -> tuple[tuple[Path, Placeholder], ...]:
    """The personal fields of an event type, with what stands in for each when sealed."""
    model = EVENT_TYPES.get(event_type)
    return tuple(_walk(model, ())) if model is not None else ()


def _expand(raw: Any, path: Path, done: tuple[str, ...] = ()) -> list[tuple[Any, str, str]]:
    """(container, key, dotted path) of each value `path` reaches in `raw`."""
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(raw, list):
            return []
        steps = [(item, str(i)) for i, item in enumerate(raw)]
        return [hit for item, i in steps for hit in _expand(item, rest, (*done, i))] if rest else []
    if not isinstance(raw, dict) or head not in raw:
        return []
    if not rest:
        return [(raw, head, ".".join((*done, head)))]
    return _expand(raw[head], rest, (*done, head))


def take_personal(raw: dict[str, Any]) -> dict[str, Any]:
    """Take the personal values out of a recorded event's JSON object (in place), leaving
    placeholders; returns them by dotted path (`customer.phone`, `questions.0.text`)."""
    taken: dict[str, Any] = {}
    for path, placeholder in personal_paths(str(raw.get("event_type"))):
        for container, key, dotted in _expand(raw, path):
            value = container[key]
            if value is None or value == SEALED_TEXT:
                continue
            taken[dotted] = value
            if placeholder == "text":
                container[key] = SEALED_TEXT
            elif placeholder == "empty":
                container[key] = [] if isinstance(value, list) else {}
            else:
                del container[key]
    return taken


def put_personal(raw: dict[str, Any], values: dict[str, Any]) -> None:
    """Put values taken by `take_personal` back into the event's JSON object (in place)."""
    for dotted, value in values.items():
        if "." not in dotted:  # most are top-level fields
            raw[dotted] = value
            continue
        *parents, last = dotted.split(".")
        container: Any = raw
        for step in parents:
            container = container[int(step)] if isinstance(container, list) else container[step]
        if isinstance(container, list):
            container[int(last)] = value
        else:
            container[last] = value
