"""The three JetStream streams and the leases bucket, created or updated idempotently with
explicit settings."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

DEALER_IN = "DEALER_IN"
RETENTION = "RETENTION"
RETENTION_DLQ = "RETENTION_DLQ"
LEASES = "laoke_leases"  # key-value bucket: which replica runs each partition (laoke/leases.py)
LEASE_TTL_S = 10.0
KEYS = "laoke_keys"  # key-value bucket: customers' data keys, wrapped (laoke/keyring.py)

# Inbound may be oversize: intake must see it to dead-letter it, so the capture stream
# takes up to NATS's max payload while the contract's own limit is 64 KiB.
CAPTURE_MAX_MSG_BYTES = 1024 * 1024
RECORDED_MAX_MSG_BYTES = 256 * 1024
DAY_S = 24 * 3600.0
DLQ_MAX_AGE_S = 90 * DAY_S  # dead letters are kept this long


def stream_configs(replicas: int = 1, retention_dedupe_s: float = 3600.0) -> list[StreamConfig]:
    return [
        StreamConfig(
            name=DEALER_IN,
            description="Inbound events from dealership systems, kept 7 days for ops.",
            subjects=["dealer.in.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=7 * DAY_S,
            max_msg_size=CAPTURE_MAX_MSG_BYTES,
            duplicate_window=120.0,
            discard=DiscardPolicy.OLD,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=RETENTION,
            description="Every recorded fact and decision: the audit history. Never expires.",
            subjects=["retention.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_msg_size=RECORDED_MAX_MSG_BYTES,
            duplicate_window=retention_dedupe_s,
            discard=DiscardPolicy.NEW,
            deny_delete=True,
            deny_purge=True,
            num_replicas=replicas,
        ),
        StreamConfig(
            name=RETENTION_DLQ,
            description="Dead letters: original bytes and headers, with the error.",
            subjects=["dlq.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=DLQ_MAX_AGE_S,
            max_msg_size=CAPTURE_MAX_MSG_BYTES + 64 * 1024,
            duplicate_window=120.0,
            num_replicas=replicas,
        ),
    ]


async def ensure_streams(
    js: JetStreamContext, replicas: int = 1, retention_dedupe_s: float = 3600.0
) -> None:
    for config in stream_configs(replicas, retention_dedupe_s):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
    await lease_bucket(js, replicas)
    await key_bucket(js, replicas)


async def lease_bucket(
    js: JetStreamContext, replicas: int = 1, ttl_s: float = LEASE_TTL_S
) -> KeyValue:
    try:
        return await js.key_value(LEASES)
    except BucketNotFoundError:
        config = KeyValueConfig(
            bucket=LEASES,
            description="Which replica runs each partition (laoke/leases.py).",
            history=1,
            ttl=ttl_s,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        return await js.create_key_value(config)


async def key_bucket(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    try:
        return await js.key_value(KEYS)
    except BucketNotFoundError:
        config = KeyValueConfig(
            bucket=KEYS,
            description="Customers' data keys, wrapped by the master key (laoke/keyring.py).",
            history=1,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        return await js.create_key_value(config)
