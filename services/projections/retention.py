"""Where new customers come from and why customers are lost (seed 003), pure: facts in,
figures out. `queries/retention.py` loads the facts; definitions, formulas and worked
examples are in docs/projections.md ("Acquisition and lost customers").

What the contract's events can say, and no more:
- **how a new customer first came**: a referral claim naming them as the new buyer
  (`referred`, seed 003's friends' introductions), else the kind of their first touchpoint,
  a visit's `visit_kind`: an `event` (owners' club, launch), a walk-in (`showroom`,
  `test_drive`), a call in (`phone_in`); anything else (a call out to a lead, a
  registration or purchase with no visit before it) is `other`. Seed 003's
  "non-business contact" has no field of its own: who sent a caller is in a free-text note
  at best, so `phoned_in` counts the channel, not the relation.
- **why a customer was lost**: a reason told on the phone is a free-text note, not a code,
  so the five told reasons of seed 003 (death, moved, friends, competitors, quality) cannot
  be told apart; what can be read is whether the dealership had been in touch: each lost
  customer has one `Cause`, the first that holds of the `lapse` (recency_days, 180) before
  they went quiet (their last touchpoint).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from services.projections.metricmodels import RatePublic
from services.projections.metrics import Fact, rate
from services.projections.retentionmodels import (
    AcquisitionPublic,
    LostPublic,
    RetentionGroupPublic,
    SourcePublic,
)

Source = Literal["referred", "event", "walk_in", "phoned_in", "other"]
SOURCES: tuple[Source, ...] = get_args(Source)
Cause = Literal["complained", "dissatisfied", "last_call", "neglected", "contacted"]
CAUSES: tuple[Cause, ...] = get_args(Cause)
# The causes whose reason the history does not show (no complaint, no low score): seed
# 003's shares are of these in the simulator (docs/simulator.md).
UNEXPLAINED: tuple[Cause, ...] = ("last_call", "neglected", "contacted")

VISIT = "CustomerVisited"
FIRST_CONTACT: dict[str, Source] = {
    "event": "event",
    "showroom": "walk_in",
    "test_drive": "walk_in",
    "phone_in": "phoned_in",
}
CALLS = frozenset({"phone_in", "phone_out"})
FOLLOW_UP = "FollowUpCompleted"  # a touchpoint only when someone was reached (timing.py)
# Touchpoints the dealership made: a follow-up made, a complaint's handling, a reward (and
# a `phone_out` visit, below). A survey answer is the customer's.
DEALERSHIP_CONTACTS = frozenset(
    {FOLLOW_UP, "ApologyIssued", "ComplaintInvestigated", "RemedyProposed", "RewardGranted"}
)


@dataclass(frozen=True)
class Touch:
    """A touchpoint as the timeline holds it."""

    at: datetime
    event_type: str
    kind: str | None = None  # a visit's `visit_kind`


def source_of(first: Touch | None, referred: bool) -> Source:
    """How a new customer first came: named by a referral claim, else by their first
    touchpoint."""
    if referred:
        return "referred"
    if first is None or first.event_type != VISIT:
        return "other"
    return FIRST_CONTACT.get(first.kind or "", "other")


def made_by_dealership(touch: Touch) -> bool:
    return touch.event_type in DEALERSHIP_CONTACTS or (
        touch.event_type == VISIT and touch.kind == "phone_out"
    )


def is_call(touch: Touch) -> bool:
    """A call logged by staff (in or out) or a follow-up made: what was said is in its note."""
    return touch.event_type == FOLLOW_UP or (touch.event_type == VISIT and touch.kind in CALLS)


def cause_of(
    touches: Sequence[Touch],
    complaints: Iterable[datetime],
    signals: Iterable[datetime],
    lapse: timedelta,
) -> Cause:
    """Why a lost customer went, as far as the history shows, judged on the `lapse` before
    their last touchpoint (`touches`, in time order, ends with it), first match wins:
    a complaint filed then (`complained`); a dissatisfaction signal then (`dissatisfied`:
    a low score, a risk flag, a breached scope change); the last touchpoint a call
    (`last_call`: the note may say why); no contact made by the dealership then
    (`neglected`); else `contacted` (in touch, and no word on record)."""
    last = touches[-1].at
    since = last - lapse

    def within(at: datetime) -> bool:
        return since <= at <= last

    if any(within(at) for at in complaints):
        return "complained"
    if any(within(at) for at in signals):
        return "dissatisfied"
    if is_call(touches[-1]):
        return "last_call"
    if not any(within(t.at) and made_by_dealership(t) for t in touches):
        return "neglected"
    return "contacted"


def summarise_retention(group: str, facts: Iterable[Fact]) -> RetentionGroupPublic:
    """A group's figures from its `newcomer` facts (`source`, `bought`) and `lost` facts
    (`cause`)."""
    new = dict.fromkeys(SOURCES, 0)
    bought = dict.fromkeys(SOURCES, 0)
    lost = dict.fromkeys(CAUSES, 0)
    for fact in facts:
        if fact.kind == "newcomer":
            new[fact.values["source"]] += fact.count
            bought[fact.values["source"]] += fact.count if fact.values["bought"] else 0
        elif fact.kind == "lost":
            lost[fact.values["cause"]] += fact.count
    newcomers, gone = sum(new.values()), sum(lost.values())

    def source(name: Source) -> SourcePublic:
        return SourcePublic(
            customers=new[name], share=rate(new[name], newcomers).rate, bought=bought[name]
        )

    def cause(name: Cause) -> RatePublic:
        return rate(lost[name], gone)

    unexplained = sum(lost[c] for c in UNEXPLAINED)
    return RetentionGroupPublic(
        group=group,
        acquisition=AcquisitionPublic(
            new_customers=newcomers,
            bought=sum(bought.values()),
            referred=source("referred"),
            event=source("event"),
            walk_in=source("walk_in"),
            phoned_in=source("phoned_in"),
            other=source("other"),
        ),
        lost=LostPublic(
            customers=gone,
            complained=cause("complained"),
            dissatisfied=cause("dissatisfied"),
            last_call=cause("last_call"),
            neglected=cause("neglected"),
            contacted=cause("contacted"),
            neglected_share=rate(lost["neglected"], unexplained),
        ),
    )
