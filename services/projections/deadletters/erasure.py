"""An erasure reaches the dead letters: the letters that name the erased customer (by one of
their phones or external ids) leave RETENTION_DLQ's raw bytes and the dead-letter store.

Dead letters are what was refused, so no customer was resolved for most of them: they are
matched on their bytes. What the erased customer is known by is read from the read store
just before the erasure is applied there (services/projections/service.py); a phone
matches in any spelling (`+86 139-1234-5678`, `13912345678`): the body's digits are
compared with the number's national digits.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from laoke.streams import RETENTION_DLQ
from laoke.threads import in_thread
from services.projections.deadletters.store import DeadLetterStore, Letter
from services.projections.reader import read_stream
from services.projections.store import ReadStore

ERASURE_SUFFIX = ".CustomerErased"
_NOT_DIGITS = re.compile(r"\D")
NATIONAL_DIGITS = 7  # shorter numbers are too common to tell one person's letters by


@dataclass
class Erased:
    """What one erased customer's letters are found by."""

    dealership_id: str
    phones: set[str] = field(default_factory=set)  # national digits
    external_ids: set[str] = field(default_factory=set)

    def names(self, body: bytes) -> bool:
        digits = _NOT_DIGITS.sub("", body.decode("utf-8", "replace"))
        if any(phone in digits for phone in self.phones):
            return True
        return any(f'"{e}"'.encode() in body for e in self.external_ids)


def erasures_in(data: Sequence[tuple[str, bytes]]) -> list[tuple[str, list[str]]]:
    """(dealership, erased ids) of each `CustomerErased` among (subject, body) messages."""
    found = []
    for subject, body in data:
        if subject.endswith(ERASURE_SUFFIX):
            event = json.loads(body)
            found.append((str(event["dealership_id"]), [str(c) for c in event["erased_ids"]]))
    return found


def known_by(store: ReadStore, dealership_id: str, customer_ids: list[str]) -> Erased:
    """What the read store knows these customers by (before the erasure is applied)."""
    erased = Erased(dealership_id)
    marks = ", ".join("?" * len(customer_ids))
    rows = store.query(
        f"SELECT kind, value FROM identities WHERE dealership_id = ? AND customer_id IN ({marks})",
        (dealership_id, *customer_ids),
    )
    for kind, value in rows:
        if kind == "phone":
            national = _NOT_DIGITS.sub("", str(value)).removeprefix("86")
            if len(national) >= NATIONAL_DIGITS:
                erased.phones.add(national)
        elif kind == "external_id":
            erased.external_ids.add(str(value))
    return erased


async def sweep(js: JetStreamContext, letters: DeadLetterStore, erased: Erased) -> int:
    """Delete the dealership's letters that name the customer from RETENTION_DLQ and from
    the dead-letter store; how many."""
    if not erased.phones and not erased.external_ids:
        return 0
    gone: list[int] = []
    async for batch in read_stream(js, "dlq.>", stream=RETENTION_DLQ):
        for message in batch:
            letter = Letter.of(message)
            if letter.dealership() == erased.dealership_id and erased.names(letter.data):
                gone.append(letter.seq)
    for seq in gone:
        with contextlib.suppress(NotFoundError):  # gone already (its age, or a sweep before)
            await js.delete_msg(RETENTION_DLQ, seq)
    await in_thread(_forget, letters, gone)
    return len(gone)


def _forget(letters: DeadLetterStore, seqs: list[int]) -> None:
    with letters.transaction() as tx:
        for seq in seqs:
            tx.execute("DELETE FROM dead_letters WHERE seq = ?", (seq,))
            tx.execute("DELETE FROM redrives WHERE letter_seq = ?", (seq,))
