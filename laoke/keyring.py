"""Customers' data keys: one AES-256 key per canonical customer, kept wrapped by the master
key in the JetStream key-value bucket `laoke_keys` (replicated like the streams).

A key is created when the first event of its customer is sealed (laoke/sealing.py) and
destroyed by erasure: the entry is purged, which drops its history and leaves a marker,
so a customer erased stays erased (no key is ever made for them again). Keys are cached
in memory once read; erasure takes them out of every process's cache as it reads the
`CustomerErased` event. A wrong master key is found at start, before anything is written:
the bucket holds a check entry wrapped by the key it was created with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js import JetStreamContext
from nats.js.errors import (
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from laoke.settings import LaokeSettings
from laoke.streams import KEYS, key_bucket

log = logging.getLogger(__name__)
MASTER_KEY_FILE = "master.key"
CHECK = "master-check"  # not a customer id: those are [a-z0-9-] and never this one
NONCE = 12


class MasterKeyError(RuntimeError):
    """The master key is missing, malformed or not the one the key store was made with."""


def master_key(settings: LaokeSettings) -> bytes:
    """`LAOKE_MASTER_KEY` (32 bytes, base64), or the data dir's `master.key`, generated the
    first time (the embedded run's case; it says so in its log)."""
    text = settings.master_key
    if text is None:
        path = settings.data_dir / MASTER_KEY_FILE
        if not path.exists():
            _generate(path)
        text = path.read_text().strip()
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise MasterKeyError("LAOKE_MASTER_KEY must be 32 random bytes in base64 (44 characters)")
    return key


def _generate(path: Path) -> None:
    """Written whole into a file of its own, then linked in as `path`: a process starting at
    the same moment either makes it first or reads the whole key, never an empty file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)  # fails if another process linked its key first: theirs wins
        except FileExistsError:
            return
    finally:
        draft.unlink()
    log.warning(
        "generated a master key into %s (LAOKE_MASTER_KEY): keep a copy apart from the data;"
        " without it no customer's personal data can be read",
        path,
    )


def identity_secret(master: bytes) -> bytes:
    """The key of intake's keyed hashes of phones and ids (services/intake/rules.py)."""
    return hmac.new(master, b"laoke identity keys", hashlib.sha256).digest()


ERASED: None = None  # what the cache holds for an erased customer


class Keyring:
    """The data keys of one process, cached: `cipher()` answers from memory (the consumers'
    worker threads), `load()` and `ensure()` fill the cache first (on the event loop)."""

    def __init__(self, master: bytes, *, enabled: bool = True) -> None:
        self.master = AESGCM(master)
        self.identity_secret = identity_secret(master)
        self.enabled = enabled  # off: nothing is sealed (a comparison benchmark only)
        self.kv: KeyValue | None = None
        # Raw keys (None: erased), a cipher made at each use: a cached AESGCM holds ~2.5 KB
        # of OpenSSL state (250 MB per 100,000 customers in every process), a raw key ~200
        # bytes with its entry, and making the cipher costs ~2 µs.
        self.keys: dict[str, bytes | None] = {}

    @classmethod
    def of(cls, settings: LaokeSettings) -> Keyring:
        return cls(master_key(settings), enabled=settings.encryption == "on")

    def fresh(self) -> Keyring:
        """A keyring with the same master key and an empty cache (to start on another
        connection, e.g. an HTTP request's own)."""
        other = Keyring.__new__(Keyring)
        other.master, other.identity_secret, other.enabled = (
            self.master,
            self.identity_secret,
            self.enabled,
        )
        other.kv, other.keys = None, {}
        return other

    async def start(self, js: JetStreamContext, replicas: int = 1) -> Keyring:
        """Open (or create) the key store; raises `MasterKeyError` for a wrong master key."""
        self.kv = await key_bucket(js, replicas)
        try:
            entry = await self.kv.get(CHECK)
        except KeyNotFoundError:
            try:
                await self.kv.update(CHECK, self._wrap(CHECK, secrets.token_bytes(32)), last=0)
            except KeyWrongLastSequenceError:
                pass  # another process made it first
            entry = await self.kv.get(CHECK)
        try:
            self._unwrap(CHECK, entry.value or b"")
        except InvalidTag:
            raise MasterKeyError(
                "LAOKE_MASTER_KEY is not the master key this key store was created with"
                f" (bucket {KEYS}): refusing to start"
            ) from None
        return self

    def _wrap(self, customer_id: str, key: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self.master.encrypt(nonce, key, customer_id.encode())

    def _unwrap(self, customer_id: str, wrapped: bytes) -> bytes:
        return self.master.decrypt(wrapped[:NONCE], wrapped[NONCE:], customer_id.encode())

    def cipher(self, customer_id: str) -> AESGCM | None:
        """The customer's key from the cache; None when erased. Raises KeyError when it was
        not loaded: a caller that skipped `load()` must not read an event as erased."""
        key = self.keys[customer_id]
        return None if key is None else AESGCM(key)

    async def load(self, customer_ids: Iterable[str]) -> None:
        """Read the keys not cached yet (customers never given one count as erased: their
        events carry no box)."""
        missing = [c for c in dict.fromkeys(customer_ids) if c not in self.keys]
        if missing and self.kv is not None:  # not started: nothing to open with (tests)
            await asyncio.gather(*(self._read(c) for c in missing))

    async def load_all(self) -> None:
        """Every key of the store into the cache, in one pass over the bucket (a rebuild
        opens nearly every customer's events: one request per customer cost more). Keys
        written meanwhile are read on demand by `load` as before."""
        assert self.kv is not None, "start() first"
        watcher = await self.kv.watchall()
        try:
            while (entry := await watcher.updates(timeout=30)) is not None:
                if entry.key == CHECK:
                    continue
                if entry.operation in (KV_PURGE, KV_DEL):  # erased
                    self.keys[entry.key] = ERASED
                else:
                    self.keys[entry.key] = self._unwrap(entry.key, entry.value or b"")
        finally:
            await watcher.stop()

    async def ensure(self, customer_ids: Iterable[str]) -> None:
        """Like `load`, creating the keys of customers who have none yet."""
        missing = [c for c in dict.fromkeys(customer_ids) if c not in self.keys]
        if missing:
            await asyncio.gather(*(self._create(c) for c in missing))

    async def _create(self, customer_id: str) -> None:
        """A new key, written only where nothing was ever written (`last=0`: KV's create()
        would overwrite an erased customer's marker); else the one there, or erased. One
        round trip for a new customer, the common case when sealing."""
        assert self.kv is not None, "start() first"
        key = AESGCM.generate_key(256)
        try:
            await self.kv.update(customer_id, self._wrap(customer_id, key), last=0)
        except KeyWrongLastSequenceError:
            await self._read(customer_id)
            return
        self.keys[customer_id] = key

    async def _read(self, customer_id: str) -> None:
        assert self.kv is not None, "start() first"
        try:
            entry = await self.kv.get(customer_id)
        except KeyNotFoundError as missing:
            if missing.op is not None:  # a purge marker (nats-py reports it as not found)
                self.keys[customer_id] = ERASED
            return  # never given one: not cached, asked again next time
        self.keys[customer_id] = self._unwrap(customer_id, entry.value or b"")

    async def destroy(self, customer_ids: Iterable[str]) -> None:
        """Erase: purge each customer's key and its history (a marker stays)."""
        assert self.kv is not None, "start() first"
        for customer_id in dict.fromkeys(customer_ids):
            await self.kv.purge(customer_id)
            self.keys[customer_id] = ERASED

    def forget(self, customer_ids: Iterable[str]) -> None:
        """Another process erased them: this one no longer holds their keys."""
        for customer_id in customer_ids:
            self.keys[customer_id] = ERASED
