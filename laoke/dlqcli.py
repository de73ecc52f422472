"""`laoke dlq list|show|redrive`: dead letters for ops.

`list` and `show` read the dead-letter store that projections builds from RETENTION_DLQ
(services/projections/deadletters/); `redrive` takes each letter's original bytes and
headers from the stream itself, publishes them (or a corrected body) to DEALER_IN, and
records who re-drove what on RETENTION_DLQ (`dlq.ops.redriven`, laoke/dlq.py). Intake
then treats the message as any other: recorded once (a second re-drive of a recorded
event is a duplicate), or refused again into a new letter that counts its attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO
from uuid import uuid4

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from events import SubjectError, inbound_subject
from laoke.dlq import (
    ATTEMPT,
    DEALERSHIP,
    REDRIVE_OF,
    REDRIVEN_AT,
    REDRIVEN_BY,
    REDRIVES,
    Redrive,
    subject_dealership,
)
from laoke.partitions import DEALER_IN_TOKEN
from laoke.publishing import Outgoing, publish_all
from laoke.service import connect
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN, RETENTION_DLQ
from services.projections.deadletters import queries
from services.projections.deadletters.models import DeadLetterPublic
from services.projections.deadletters.store import DeadLetterStore

CHUNK = 200  # letters published (and acked) at a time
PAGE = 1000  # letters read from the store at a time


@dataclass(frozen=True)
class Selection:
    """Which letters: the ones named, or those the filters match."""

    seqs: tuple[int, ...] = ()
    dealership_id: str | None = None
    service: str | None = None
    reason: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def query(self, limit: int, **more: Any) -> queries.LetterQuery:
        return queries.LetterQuery(
            now=datetime.now(UTC),
            limit=limit,
            dealership_id=self.dealership_id,
            service=self.service,
            reason=self.reason,
            start=self.start,
            end=self.end,
            **more,
        )


@dataclass
class Report:
    """What a re-drive did: (letter, DEALER_IN sequence) re-driven, (letter, why) skipped."""

    redriven: list[tuple[int, int]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def attempts(store: DeadLetterStore, selection: Selection, *, unredriven: bool) -> dict[int, int]:
    """The letters selected, each with the try it was (1: a first refusal), oldest first
    (the order they are re-driven in)."""
    if selection.seqs:
        found = (queries.letter(store, seq, None, None) for seq in selection.seqs)
        known = {letter.seq: letter.attempt for letter in found if letter is not None}
        return {seq: known.get(seq, 0) for seq in selection.seqs}  # 0: not listed yet
    query = selection.query(PAGE, unredriven=unredriven)
    tries = {
        letter.seq: letter.attempt
        for letters in queries.letter_chunks(store, query, PAGE)
        for letter in letters
    }
    return dict(sorted(tries.items()))


def _named(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _attempt_said(headers: dict[str, str]) -> int:
    """The try a letter the store does not list yet says it was (its input's header)."""
    try:
        return max(1, int(headers.get(ATTEMPT, "1")))
    except ValueError:
        return 1


def _dealership(headers: dict[str, str]) -> str | None:
    """The dealership a letter was sent for, as the dead-letter store reads it."""
    original = headers.get("Laoke-Original-Subject", "")
    return headers.get(DEALERSHIP) or subject_dealership(original, DEALER_IN_TOKEN)


def _event_id(data: bytes) -> str | None:
    found = _named(data).get("event_id")
    return found[:200] if isinstance(found, str) else None


def redrive_message(
    seq: int, headers: dict[str, str], data: bytes, attempt: int, by: str, at: datetime
) -> Outgoing:
    """The message re-driving a letter: to `dealer.in.<dealership>.<type>`, the dealership
    the letter was sent for (else the body's), the type the body names (else the original
    subject's); with the sender's own headers and the re-drive's. SubjectError when no
    subject can be made (a body that is not an event and no subject: give --body)."""
    body = {k: v for k, v in _named(data).items() if isinstance(v, str)}
    original = headers.get("Laoke-Original-Subject", "")
    dealership = _dealership(headers) or body.get("dealership_id", "")
    event_type = body.get("event_type") or original.rpartition(".")[2]
    subject = inbound_subject(dealership, event_type)
    kept = {k: v for k, v in headers.items() if not k.lower().startswith(("laoke-", "nats-"))}
    kept |= {
        "Nats-Msg-Id": f"redrive:{uuid4()}",
        REDRIVE_OF: str(seq),
        REDRIVEN_BY: by,
        REDRIVEN_AT: at.isoformat(),
        ATTEMPT: str(attempt),
    }
    return Outgoing(subject, data, kept)


async def redrive(
    settings: LaokeSettings,
    selection: Selection,
    *,
    by: str,
    body: bytes | None = None,
    again: bool = False,
    progress: TextIO | None = None,
) -> Report:
    """Re-drive the selected intake letters (with `body`: the one letter named, corrected)."""
    store = DeadLetterStore(settings)
    try:
        tries = attempts(store, selection, unredriven=not again)
    finally:
        store.close()
    seqs = list(tries)
    report = Report()
    nc, js = await connect(settings, "laoke-dlq")
    console = Console(file=progress or sys.stderr)
    bar = Progress(console=console, disable=progress is None or len(seqs) < 2)
    try:
        with bar:
            task = bar.add_task("re-driving", total=len(seqs))
            for start in range(0, len(seqs), CHUNK):
                chunk = seqs[start : start + CHUNK]
                await _redrive_chunk(nc, js, chunk, tries, by, body, report)
                bar.advance(task, len(chunk))
    finally:
        await nc.close()
    return report


async def _redrive_chunk(
    nc: NatsClient,
    js: JetStreamContext,
    seqs: Sequence[int],
    tries: dict[int, int],
    by: str,
    body: bytes | None,
    report: Report,
) -> None:
    at = datetime.now(UTC)
    planned: list[tuple[int, Outgoing, Redrive]] = []
    for seq in seqs:
        try:
            stored = await js.get_msg(RETENTION_DLQ, seq)
        except NotFoundError:
            report.skipped.append((seq, "no longer on RETENTION_DLQ"))
            continue
        headers = dict(stored.headers or {})
        if stored.subject == REDRIVES or headers.get("Laoke-Service") != "intake":
            report.skipped.append((seq, "not a refused inbound event (only intake's go back)"))
            continue
        data = body if body is not None else stored.data or b""
        attempt = (tries.get(seq) or _attempt_said(headers)) + 1
        try:
            message = redrive_message(seq, headers, data, attempt, by, at)
        except SubjectError:
            report.skipped.append((seq, "no dealership or event type to send it to: give --body"))
            continue
        note = Redrive(
            letter=seq,
            dealership_id=_dealership(headers),  # the letter's: the same partition's
            redriven_as="",
            subject=message.subject,
            by=by,
            at=at,
            attempt=attempt,
            body="original" if body is None else "corrected",
            sha256=hashlib.sha256(data).hexdigest(),
            event_id=_event_id(data),
        )
        planned.append((seq, message, note))
    if not planned:
        return
    acks = await publish_all(nc, [message for _, message, _ in planned])
    notes = [
        note.model_copy(update={"redriven_as": f"{DEALER_IN}:{ack.seq}"}).message(str(uuid4()))
        for (_, _, note), ack in zip(planned, acks, strict=True)
    ]
    await publish_all(nc, notes)
    report.redriven += [(seq, ack.seq) for (seq, _, _), ack in zip(planned, acks, strict=True)]


def show_list(store: DeadLetterStore, selection: Selection, limit: int, as_json: bool) -> None:
    page, _ = queries.letter_page(store, selection.query(limit))
    if as_json:
        for letter in page:
            print(letter.model_dump_json(exclude={"body", "body_base64"}))
        return
    table = Table("seq", "at", "dealership", "service", "reason", "try", "re-driven", "error")
    for letter in page:
        table.add_row(
            str(letter.seq),
            letter.at.isoformat(timespec="seconds"),
            letter.dealership_id or "-",
            letter.service,
            letter.reason,
            str(letter.attempt),
            str(len(letter.redrives)),
            letter.error[:80],
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # piped: no wrapping


def show_one(found: DeadLetterPublic) -> None:
    print(found.model_dump_json(indent=2))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "unknown"


def _time(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    if found.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time with its offset (e.g. +08:00)")
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="laoke dlq", description="dead letters (RETENTION_DLQ)")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, text in (
        ("list", "letters, newest first"),
        ("redrive", "send letters back to DEALER_IN"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("--dealership", help="only this dealership's letters")
        action.add_argument("--reason", help="only letters refused for this reason")
        action.add_argument("--from", dest="start", type=_time, help="refused at or after")
        action.add_argument("--to", dest="end", type=_time, help="refused before")
    listing = actions.choices["list"]
    listing.add_argument("--service", help="only this service's letters (default: all)")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    show = actions.add_parser("show", help="one letter, its body and its re-drives")
    show.add_argument("seq", type=int)
    again = actions.choices["redrive"]
    again.add_argument("seqs", type=int, nargs="*", metavar="SEQ", help="the letters to re-drive")
    again.add_argument("--body", metavar="FILE", help="a corrected body (one letter only)")
    again.add_argument("--by", help="who re-drives (default: the OS user)")
    again.add_argument("--again", action="store_true", help="with filters: re-driven ones too")
    again.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def dlq_command(settings: LaokeSettings, argv: Sequence[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.action == "show":
        store = DeadLetterStore(settings)
        try:
            found = queries.letter(store, args.seq, None, None)
        finally:
            store.close()
        if found is None:
            print(f"no dead letter {args.seq} (laoke dlq list shows them)", file=sys.stderr)
            return 1
        show_one(found)
        return 0
    selection = Selection(
        seqs=tuple(getattr(args, "seqs", ())),
        dealership_id=args.dealership,
        service=getattr(args, "service", None) if args.action == "list" else "intake",
        reason=args.reason,
        start=args.start,
        end=args.end,
    )
    if args.action == "list":
        store = DeadLetterStore(settings)
        try:
            show_list(store, selection, args.limit, args.json)
        finally:
            store.close()
        return 0
    filtered = any(v is not None for v in (args.dealership, args.reason, args.start, args.end))
    if not args.seqs and not filtered:
        parser.error("name the letters (SEQ ...) or filter them (--dealership, --reason, ...)")
    if args.seqs and filtered:
        parser.error("name the letters or filter them, not both")
    body = None
    if args.body is not None:
        if len(args.seqs) != 1:
            parser.error("--body corrects one letter: name exactly one SEQ")
        with open(args.body, "rb") as source:
            body = source.read()
    progress = None if args.quiet else sys.stderr
    by = " ".join((args.by or _os_user()).split())[:100] or "unknown"  # it goes into a header
    report = asyncio.run(
        redrive(settings, selection, by=by, body=body, again=args.again, progress=progress)
    )
    for seq, why in report.skipped:
        print(f"letter {seq}: skipped: {why}", file=sys.stderr)
    for seq, position in report.redriven:
        print(f"letter {seq}: re-driven as {DEALER_IN}:{position}")
    print(f"re-drove {len(report.redriven)} letters as {by!r}, skipped {len(report.skipped)}")
    return 0 if report.redriven or not report.skipped else 1
