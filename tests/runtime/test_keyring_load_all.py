"""`Keyring.load_all` (the rebuild's way to read keys): one pass over the key store gives
the cache what a request per customer would (a key, or erased), on a real nats-server."""

from __future__ import annotations

import secrets

import pytest
from nats.js import JetStreamContext

from laoke.keyring import Keyring

MASTER = secrets.token_bytes(32)


async def test_one_pass_reads_every_key_and_every_erasure(js: JetStreamContext) -> None:
    writer = await Keyring(MASTER).start(js)
    await writer.ensure(["c-kept", "c-erased", "c-other"])
    await writer.destroy(["c-erased"])

    reader = await Keyring(MASTER).start(js)
    await reader.load_all()
    asked = await Keyring(MASTER).start(js)  # the request-per-customer way
    await asked.load(["c-kept", "c-erased", "c-other"])

    assert reader.keys == asked.keys == writer.keys
    assert reader.cipher("c-erased") is None and reader.cipher("c-kept") is not None
    with pytest.raises(KeyError):  # never given a key: not read as erased
        reader.cipher("c-unknown")


async def test_an_empty_key_store_loads_nothing(js: JetStreamContext) -> None:
    reader = await Keyring(MASTER).start(js)
    await reader.load_all()
    assert reader.keys == {}
