"""The rebuild's reader: RETENTION read in a process of its own, handed over in batches.

Reading (nats-py's fetch and its message objects) costs about a third of applying; in the
rebuilding process both would share one core (the GIL). Here a child process reads and
sends each batch as plain `(seq, data, subject)` tuples through a bounded queue, so reading
and applying run on two cores. The queue holds a few batches more than the parent applies
at a time (`grouped`): the reader keeps ahead without filling memory.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Iterator
from multiprocessing.context import SpawnProcess
from typing import Any

from laoke.durable import stream_sequence
from laoke.service import connect
from laoke.settings import LaokeSettings
from services.projections.application import Message
from services.projections.reader import last_sequence, read_stream

AHEAD = 4  # batches read ahead of the one being applied (default)
Batch = list[tuple[int, bytes, str]]


def _read(settings: LaokeSettings, batch: int, out: Any) -> None:
    """In the child: the stream's last sequence, then each batch, then None. An error is
    sent as its text, for the parent to raise."""
    try:
        asyncio.run(_read_async(settings, batch, out))
    except BaseException as exc:  # the parent must not wait for batches that never come
        out.put(f"{type(exc).__name__}: {exc}")
        raise


async def _read_async(settings: LaokeSettings, batch: int, out: Any) -> None:
    nc, js = await connect(settings, "laoke-projections-rebuild-reader")
    try:
        out.put(await last_sequence(js))
        async for messages in read_stream(js, batch=batch):
            out.put([(stream_sequence(m), m.data, m.subject) for m in messages])
        out.put(None)
    finally:
        await nc.close()


class StreamReader:
    """`with StreamReader(settings) as reader`: `reader.last` is the stream's last sequence
    when reading began; iterating gives its messages, batch after batch."""

    def __init__(self, settings: LaokeSettings, batch: int = 2000, ahead: int = AHEAD) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of this process's state
        self._queue: Any = context.Queue(ahead)
        self._process: SpawnProcess = context.Process(
            target=_read, args=(settings, batch, self._queue), daemon=True
        )
        self.last = 0

    def __enter__(self) -> StreamReader:
        self._process.start()
        self.last = int(self._next())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(10)
        self._queue.close()

    def __iter__(self) -> Iterator[list[Message]]:
        while (batch := self._next()) is not None:
            yield [Message(seq, data, subject) for seq, data, subject in batch]

    def grouped(self, size: int) -> Iterator[list[Message]]:
        """The messages in lists of at least `size` (whole batches; the last may be less)."""
        group: list[Message] = []
        for batch in self:
            group += batch
            if len(group) >= size:
                yield group
                group = []
        if group:
            yield group

    def _next(self) -> Any:
        while True:
            try:
                found = self._queue.get(timeout=1.0)
            except queue.Empty:
                if not self._process.is_alive():
                    raise RuntimeError("the rebuild's reader stopped") from None
                continue
            if isinstance(found, str):
                raise RuntimeError(f"the rebuild's reader failed: {found}")
            return found
