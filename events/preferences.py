"""What a `ContactPreferenceChanged` means (part of the contract), as one pure function.

A customer's opt-outs are a set of (purpose, channel) pairs, kept as `{purpose: [channels]}`.
A change adds (opt-out) or removes (opt back in) the pairs it names: no `channels` = every
channel; no `purposes` = every purpose but an open complaint's steps (service, survey,
marketing, referral), so a complaint call-back is refused only when `complaint` is named.
Outreach applies it to decide; the read model shows it; both call this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import get_args

from events.fields import Channel
from events.inbound import Purpose

PURPOSES: tuple[str, ...] = get_args(Purpose)
CHANNELS: tuple[str, ...] = get_args(Channel)
UNNAMED_PURPOSES: tuple[str, ...] = tuple(p for p in PURPOSES if p != "complaint")
"""What a change without `purposes` covers: every purpose but an open complaint's steps (a
complaint contact is always a step of an open complaint)."""

OptOuts = dict[str, list[str]]
"""purpose -> the channels opted out of for it (sorted; purposes without any left out)."""


def opt_outs_after(
    opt_outs: Mapping[str, Iterable[str]],
    opt_out: bool,
    channels: Iterable[str] | None,
    purposes: Iterable[str] | None,
) -> OptOuts:
    """The opt-outs after one preference change."""
    named_channels = set(channels or ()) or set(CHANNELS)
    named_purposes = list(purposes or ()) or list(UNNAMED_PURPOSES)
    result = {p: set(c) for p, c in opt_outs.items()}
    for purpose in named_purposes:
        current = result.setdefault(purpose, set())
        if opt_out:
            current |= named_channels
        else:
            current -= named_channels
    return {p: sorted(c) for p, c in sorted(result.items()) if c}


def opt_outs_united(a: Mapping[str, Iterable[str]], b: Mapping[str, Iterable[str]]) -> OptOuts:
    """Two customers' opt-outs folded into one (a merge): the most restrictive wins."""
    united = {p: set(a.get(p, ())) | set(b.get(p, ())) for p in set(a) | set(b)}
    return {p: sorted(c) for p, c in sorted(united.items()) if c}
