"""Blocking work in a worker thread, seen through to its end.

`asyncio.to_thread` leaves its thread running when the awaiting task is cancelled. A service
stops by cancelling its tasks, then closes its stores: a store closed under a thread still
using it crashes the process on SQLite (Python's sqlite3 segfaults when one thread closes
a connection another is reading). With `in_thread`, a cancelled task ends only once its
thread is done, so after a stop has awaited its cancelled tasks no thread of theirs is left
using a store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`await asyncio.to_thread(func, ...)`, except that cancelling the caller waits for the
    thread to finish (further cancels too) before the CancelledError goes on."""
    work = asyncio.ensure_future(asyncio.to_thread(func, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        while not work.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([work])
        if not work.cancelled():
            work.exception()  # nobody awaits it now: mark its error, if any, as seen
        raise
