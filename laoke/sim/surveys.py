"""Chapters of contact: opting out, and answering the surveys outreach sends.

Outreach's survey policy (docs/outreach.md): NPS rides along on an invitation when not asked
for 180 days. Invitations may wait up to 14 days for room under the contact cap, hence the
margin: the simulator answers NPS only where the cadence rule surely put the question.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events import ContactPreferenceChanged, SurveyAnswered
from laoke.sim.dealership import Dealership
from laoke.sim.model import DAY, HOUR, MINUTE, Invitation, Person, Story, between, office

NPS_INTERVAL = timedelta(days=180)
NPS_MARGIN = timedelta(days=16)


def opt_out(d: Dealership, s: Story, p: Person) -> None:
    """The opting-out customer's `ContactPreferenceChanged`: of all channels (then nothing
    is answered after it) or of sms and wechat."""
    if not p.opt_out:
        return
    rng = d.rng
    lo = max(d.start, p.arrival + DAY)
    if p.group == "silent" and s.resolved is not None:
        lo = max(lo, s.resolved + DAY)  # the low score that makes them silent counts
    at = office(rng, between(rng, lo, d.end - DAY))
    channels = None if rng.random() < 0.5 else ["sms", "wechat"]
    added = s.add(
        at,
        ContactPreferenceChanged,
        "call-center",
        d.hints(p, "call"),
        opt_out=True,
        channels=channels,
    )
    if added is not None and channels is None:  # all channels: no more surveys
        s.opted_out_at = at


def answer(d: Dealership, s: Story, p: Person) -> None:
    """Answer some of the surveys outreach sends: CSI/SSI by the response rates, and
    NPS only on invitations that surely carried the question (outreach's cadence: not
    asked in the last 180 days), judged from the nominal due times with a margin for
    the contact cap's waiting; where unsure, no NPS answer. Nothing is answered after
    a full opt-out, and invitations caused after it are never sent."""
    rng, rates, opted_out_at = d.rng, d.rates, s.opted_out_at
    last_possible: datetime | None = None  # the last invitation that may have asked NPS
    last_sure: datetime | None = None  # the last one that surely did
    for invitation in sorted(s.invitations, key=lambda i: (i.cause_at, i.cause)):
        cause_at, due = invitation.cause_at, invitation.due_at
        unsure = False
        if opted_out_at is not None:
            if cause_at >= opted_out_at + MINUTE:
                continue  # skipped: the customer had opted out
            unsure = cause_at > opted_out_at - MINUTE
        sure = not unsure and (
            last_possible is None or due - last_possible >= NPS_INTERVAL + NPS_MARGIN
        )
        never = last_sure is not None and due - last_sure < NPS_INTERVAL - NPS_MARGIN
        if sure:
            last_sure = due
        if not never:
            last_possible = due
        if cause_at < d.start or unsure:
            continue  # history (a DMS import): nobody answers it now
        answered = invitation.answer_at
        if answered is None and rng.random() < rates.response(invitation.kind):
            answered = due + rng.randint(1, 36) * HOUR
        if answered is not None and (opted_out_at is None or answered < opted_out_at):
            _survey(d, s, p, answered, invitation.kind, invitation, invitation.score)
        if sure and rng.random() < rates.nps_response:
            at = due + rng.randint(37, 72) * HOUR
            if opted_out_at is None or at < opted_out_at:
                _survey(d, s, p, at, "NPS", invitation)


def _survey(
    d: Dealership,
    s: Story,
    p: Person,
    at: datetime,
    kind: str,
    invitation: Invitation,
    score: int | None = None,
) -> None:
    """An answer to outreach's invitation; its survey id is derived from the cause's
    event id when the story is told (`events.ids`)."""
    s.add(
        at,
        SurveyAnswered,
        "survey",
        d.hints(p, "survey"),
        survey_of=(invitation.cause, invitation.kind),
        survey_kind=kind,
        score=_score(d, p, kind, at) if score is None else score,
        about=invitation.about,
    )


def _score(d: Dealership, p: Person, kind: str, at: datetime) -> int:
    rng = d.rng
    complained = p.group in ("quick", "slow", "unresolved")
    # Only the dissatisfied (complainers; silent ones from their low score on) give NPS
    # detractor scores, so "a low score and never complained" means the same whether a
    # metric counts CSI/SSI only or NPS too.
    unhappy = complained or (p.group == "silent" and p.pivot is not None and at >= p.pivot)
    if kind == "NPS":
        roll = rng.random()
        if roll < (0.35 if unhappy else 0.65):
            return rng.randint(9, 10)
        if not unhappy or roll < 0.65:
            return rng.randint(7, 8)
        return rng.randint(0, 6)
    if complained:
        return rng.randint(4, 10)
    # content and silent customers score >= 7; silent ones give one low score (pivot)
    return rng.choice((7, 8, 8, 9, 9, 9, 10, 10))
