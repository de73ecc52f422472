"""The relay's sealing (`seal_all`) asks the key store only for customers with something
personal to seal: most decisions carry nothing personal, and each key asked for needlessly
was a key store round trip, on a real nats-server."""

from __future__ import annotations

import json
import secrets

from nats.js import JetStreamContext

from events.factories import sample_recorded
from laoke.keyring import Keyring
from laoke.publishing import Outgoing
from laoke.sealing import seal_all

MASTER = secrets.token_bytes(32)


def outgoing(customer_id: str, event_type: str, **fields: object) -> Outgoing:
    body = sample_recorded(event_type, customer_id=customer_id, **fields)
    subject = f"retention.{body['dealership_id']}.{customer_id}.{event_type}"
    return Outgoing(subject, json.dumps(body).encode())


async def test_only_customers_with_personal_values_get_a_key(js: JetStreamContext) -> None:
    keyring = await Keyring(MASTER).start(js)
    named = outgoing("c-named", "FollowUpSkipped", detail={"name": "王先生"})
    plain = outgoing("c-plain", "FollowUpSkipped", detail={"expires_at": "2026-01-01"})

    sealed = await seal_all(keyring, [named, plain])

    assert set(keyring.keys) == {"c-named"}
    assert sealed[1] is plain  # nothing to seal: passed on as it came
    assert "王先生" not in sealed[0].body.decode()
    assert json.loads(sealed[0].body)["sealed"]["key"] == "c-named"
    other = await Keyring(MASTER).start(js)  # nothing was written for the other customer
    await other.load(["c-named", "c-plain"])
    assert set(other.keys) == {"c-named"}
