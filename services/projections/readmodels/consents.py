"""Consent you can prove: every consent change kept with its time, source and event id.

A registration's consent (marketing given or refused, the channels accepted) and every
`ContactPreferenceChanged` become one row of `consents`, with what they cover spelled out
(a change naming no purposes or channels covers those events/preferences.py says), so the
history reads without knowing the contract's defaults. The profile and a person's export
show it (queries/consents.py); merges move it to the survivor like the timeline. Called
by the customer read model's handlers of those two events (readmodels/customers.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from events import ContactPreferenceChanged, CustomerRegistered
from events.preferences import CHANNELS, UNNAMED_PURPOSES
from services.projections.readmodels.context import Context
from services.projections.tables import Row, ts


def record_registration(ctx: Context, event: CustomerRegistered, customer: Row) -> None:
    consent = event.consent
    _record(ctx, event, customer, consent.marketing, ["marketing"], consent.channels)


def record_change(ctx: Context, event: ContactPreferenceChanged, customer: Row) -> None:
    purposes = event.purposes or UNNAMED_PURPOSES
    channels = event.channels or CHANNELS
    _record(ctx, event, customer, not event.opt_out, purposes, channels)


def _record(
    ctx: Context,
    event: CustomerRegistered | ContactPreferenceChanged,
    customer: Row,
    given: bool,
    purposes: Sequence[str],
    channels: Sequence[str],
) -> None:
    ctx.tx.defer(
        "INSERT INTO consents (seq, customer_id, original_customer_id, dealership_id, event_id,"
        " event_type, occurred_at, received_at, source, given, purposes, channels) VALUES (?, ?,"
        " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
        (
            ctx.seq,
            customer["customer_id"],
            event.customer_id,
            event.dealership_id,
            ctx.event_id,
            event.event_type,
            ts(event.occurred_at),
            ts(event.received_at) if event.received_at is not None else None,
            event.source,
            1 if given else 0,
            json.dumps(sorted(set(purposes))),
            json.dumps(sorted(set(channels))),
        ),
    )
