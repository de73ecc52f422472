"""The generator: plan each dealership's customers, then tell each one's story as events.

Planning first lets the repurchases of each complaint-outcome group be allocated as a
quota (round(n × rate) members drawn at random), so the realised rate is within 0.5/n of
the configured one at any size. Each person's story is a list of timed inbound events,
strictly increasing in time; all stories are merged into one publish order by time.
Randomness comes only from `random.Random` and faker, seeded; time only from the window.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from events import (
    ApologyIssued,
    ComplaintFiled,
    ComplaintInvestigated,
    ContactPreferenceChanged,
    CustomerRegistered,
    CustomerVisited,
    FollowUpCompleted,
    InboundEvent,
    ReferralCallbackAnswered,
    ReferralClaimed,
    RemedyAccepted,
    RemedyProposed,
    RemedyRejected,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeDeclined,
    ServiceCheckedIn,
    ServiceCompleted,
    SmallPurchaseMade,
    SurveyAnswered,
    VehicleDelivered,
    VehiclePurchased,
    follow_up_id,
    survey_id,
    to_json,
)
from events.ids import SURVEY_CONTACTS
from laoke.sim import texts
from laoke.sim.config import SimConfig, window
from laoke.sim.people import Identity, People, phone_variant
from laoke.sim.rates import FAKE_KINDS, GROUPS, Group, Outcome, SimRates
from laoke.sim.truth import Truth

K = TypeVar("K", bound=str)
NAMESPACE = UUID("8a3f1c52-3c1e-4f0e-9a51-5e1d2b7c9d40")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
ADVISORS = tuple(f"adv-{n:02d}" for n in range(1, 9))
ROLE_LIMITS = (("advisor", 2_000), ("manager", 20_000), ("general_manager", None))
ROLE_STAFF = {"advisor": None, "manager": "mgr-01", "general_manager": "gm-01"}
# Outreach's survey policy (docs/outreach.md): the invitation goes out a day after its
# cause, out of quiet hours (21:00-09:00); NPS rides along when not asked for 180 days.
# Invitations may wait up to 14 days for room under the contact cap, hence the margin: the
# simulator answers NPS only where the cadence rule surely put the question.
SURVEY_DELAY = timedelta(days=1)
NPS_INTERVAL = timedelta(days=180)
NPS_MARGIN = timedelta(days=16)
QUIET_END_HOUR, QUIET_START_HOUR = 9, 21


def complaint_callback_id(dealership_id: str, complaint_id: str) -> str:
    """The step-6 call-back's follow-up id as the complaints service derives it (the only
    follow-up id a sender can know in advance; a test keeps the two in step)."""
    aggregate = uuid5(NAMESPACE_URL, f"laoke:complaint:{dealership_id}:{complaint_id}")
    return f"complaint-callback-{aggregate}"


@dataclass
class Car:
    vin: str
    model: str
    colour: str
    price: int
    purchased_at: datetime
    delivered_at: datetime
    km_per_day: float
    test_drive_at: datetime | None = None

    def mileage(self, at: datetime) -> int:
        return 30 + int((at - self.delivered_at) / DAY * self.km_per_day)


@dataclass
class Person:
    index: int
    ident: Identity
    advisor: str
    owner: bool
    arrival: datetime
    dms_id: str
    showroom_id: str | None = None  # known to the showroom by its own id first (a merge)
    source: str | None = None
    cars: list[Car] = field(default_factory=list)
    pivot: datetime | None = None  # the complaint, the low score, or a point to buy after
    group: Group | None = None
    repurchase: bool = False
    churn: str | None = None
    horizon: datetime | None = None
    referral: str | None = None  # "real" or a fake kind
    referrer: Person | None = None
    opt_out: bool = False


@dataclass
class Invitation:
    """A survey outreach will send because of an event (`cause`, a Story item key)."""

    cause: int
    cause_at: datetime
    kind: str  # CSI or SSI
    about: str
    answer_at: datetime | None = None  # forced answer (the silent customer's low score)
    score: int | None = None

    @property
    def due_at(self) -> datetime:
        """Outreach's nominal due time: a day after the cause, out of quiet hours."""
        due = self.cause_at + SURVEY_DELAY
        if due.hour >= QUIET_START_HOUR:
            due += DAY
        if due.hour < QUIET_END_HOUR or due.hour >= QUIET_START_HOUR:
            due = due.replace(hour=QUIET_END_HOUR, minute=0, second=0)
        return due


@dataclass(frozen=True)
class SimEvent:
    """One generated event in publish order, with its JSON bytes (what is published)."""

    occurred_at: datetime
    dealership_id: str
    event_type: str
    event_id: str
    data: bytes
    person: str  # "<dealership>/<index>": the simulated person (not intake's customer id)


@dataclass
class Simulation:
    config: SimConfig
    start: datetime
    end: datetime
    events: list[SimEvent]
    truth: Truth

    def ndjson(self) -> bytes:
        return b"".join(e.data + b"\n" for e in self.events)


def _between(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    if hi <= lo:
        return lo
    return lo + timedelta(seconds=rng.randint(0, int((hi - lo).total_seconds())))


def _office(rng: random.Random, day: datetime) -> datetime:
    """A time of `day` during opening hours (09:00-19:59 local)."""
    return day.replace(hour=rng.randint(9, 19), minute=rng.randint(0, 59), second=0)


def _pick(rng: random.Random, weights: Mapping[K, float]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Story:
    """One person's events, collected in any order and told in time order."""

    def __init__(self, dealership_id: str, person: Person, horizon: datetime) -> None:
        self.dealership_id = dealership_id
        self.person = person
        self.horizon = horizon
        self.items: list[tuple[datetime, int, type[InboundEvent], str, dict[str, Any]]] = []
        self.invitations: list[Invitation] = []
        self.stops_buying: datetime | None = None  # no purchase of any kind after this

    def buys(self, at: datetime) -> bool:
        return self.stops_buying is None or at <= self.stops_buying

    def add(
        self,
        at: datetime,
        model: type[InboundEvent],
        source: str,
        hints: dict[str, Any],
        /,
        **data: Any,
    ) -> int | None:
        """Add an event at `at` (dropped when past the person's horizon: churn, or the end);
        returns its key, to refer to it (e.g. a survey's cause), or None when dropped."""
        if at >= self.horizon:
            return None
        key = len(self.items)
        self.items.append((at, key, model, source, {"customer": hints, **data}))
        return key

    def tell(self, seed: int) -> list[InboundEvent]:
        told: list[InboundEvent] = []
        previous: datetime | None = None
        ordered = sorted(self.items, key=lambda i: i[:2])
        ids = {
            item[1]: uuid5(NAMESPACE, f"{seed}:{self.dealership_id}:{self.person.index}:{k}")
            for k, item in enumerate(ordered)
        }
        for at, key, model, source, data in ordered:
            if previous is not None and at <= previous:
                at = previous + timedelta(seconds=1)  # strictly ordered per customer
            previous = at
            if "survey_of" in data:  # outreach's survey id, from the cause's event id
                data = dict(data)
                cause, contact_kind = data.pop("survey_of")
                contact = follow_up_id(ids[cause], SURVEY_CONTACTS[contact_kind])
                data["survey_id"] = survey_id(contact, data["survey_kind"])
            raw = {
                "event_id": ids[key],
                "occurred_at": at,
                "dealership_id": self.dealership_id,
                "source": source,
                **data,
            }
            # trusted: no future check, so validation never reads the wall clock
            told.append(model.model_validate(raw, context={"trusted": True}))
        return told


class DealershipSim:
    """Plans and tells one dealership's customers."""

    def __init__(
        self, config: SimConfig, dealership_id: str, number: int, start: datetime, end: datetime
    ) -> None:
        self.config = config
        self.rates: SimRates = config.rates
        self.d = dealership_id
        self.start = start
        self.end = end
        self.rng = random.Random(f"laoke-sim:{config.seed}:{dealership_id}")
        self.people = People(config.seed * 1000 + number, self.rng)
        self.persons: list[Person] = []
        self.complaints = 0
        self.truth_plan: dict[str, dict[str, int]] = {"sources": {}, "churned": {}, "referrals": {}}

    # -- planning ------------------------------------------------------------------------
    def plan(self) -> None:
        rng, rates = self.rng, self.rates
        for index in range(self.config.customers):
            self.persons.append(self._plan_person(index))
        owners = [p for p in self.persons if p.owner]
        for person in self.persons:
            if person.source == "friends":
                if owners:
                    person.referrer = rng.choice(owners)
                    fake = rng.random() < rates.fake_referral
                    person.referral = rng.choice(FAKE_KINDS) if fake else "real"
                    self._tally("referrals", person.referral)
                else:
                    person.source = "other"
            if person.source is not None:
                self._tally("sources", person.source)
        self._plan_groups()

    def _tally(self, table: str, key: str) -> None:
        self.truth_plan[table][key] = self.truth_plan[table].get(key, 0) + 1

    def _new_car(self, purchased_at: datetime) -> Car:
        rng = self.rng
        model = rng.choice(list(texts.MODELS))
        low, high = texts.MODELS[model]
        delivered = _office(rng, purchased_at + rng.randint(3, 15) * DAY)
        return Car(
            vin=self.people.vin(),
            model=model,
            colour=rng.choice(texts.COLOURS),
            price=rng.randrange(low, high + 1, 100),
            purchased_at=purchased_at,
            delivered_at=delivered,
            km_per_day=rng.uniform(20, 70),
        )

    def _plan_person(self, index: int) -> Person:
        rng, rates = self.rng, self.rates
        ident = self.people.identity()
        owner = rng.random() < rates.owner_share
        advisor = rng.choice(ADVISORS)
        dms_id = f"DMS-{index + 1:07d}"
        if owner:
            bought = _office(rng, self.start - rng.randint(30, 3 * 365) * DAY)
            person = Person(index, ident, advisor, True, bought - rng.randint(1, 10) * DAY, dms_id)
            person.cars.append(self._new_car(bought))
            return person
        source = _pick(rng, rates.referral_sources)
        buys = source == "friends" or rng.random() < rates.prospect_purchase
        last = self.end - (60 if buys else 25) * DAY
        if last <= self.start:
            buys, last = False, max(self.start, self.end - 3 * DAY)
        arrival = _office(rng, _between(rng, self.start, last))
        person = Person(index, ident, advisor, False, arrival, dms_id, source=source)
        if rng.random() < rates.two_systems:
            person.showroom_id = f"SR-{rng.randrange(16**8):08X}-{index}"
        if buys:
            drive = _office(rng, arrival + rng.randint(1, 10) * DAY)
            car = self._new_car(_office(rng, drive + rng.randint(1, 20) * DAY))
            car.test_drive_at = drive
            person.cars.append(car)
        elif source == "friends":
            person.source = "other"
        return person

    def _plan_groups(self) -> None:
        rng, rates = self.rng, self.rates
        first = self.start + 7 * DAY
        last = self.end - 75 * DAY  # room for a slow resolution and a repurchase after it
        members: dict[Group, list[Person]] = {group: [] for group in GROUPS}
        content: list[Person] = []
        for person in self.persons:
            if not person.cars:
                continue
            lo = max(first, person.cars[0].delivered_at + 7 * DAY)
            if lo > last:
                continue
            person.pivot = _between(rng, lo, last)
            if rng.random() < rates.complaint:
                outcome: Outcome = _pick(rng, rates.complaint_outcomes)
                group: Group = outcome
            elif rng.random() < rates.silent_dissatisfied:
                group = "silent"
            else:
                content.append(person)
                continue
            person.group = group
            members[group].append(person)
        for group, people in members.items():
            quota = int(len(people) * rates.repurchase(group) + 0.5)
            for person in rng.sample(people, quota):
                person.repurchase = True
        for person in content:
            person.repurchase = rng.random() < rates.repurchase_baseline
        for person in self.persons:
            person.opt_out = rng.random() < rates.opt_out
            if not person.owner or person.group is not None or person.repurchase:
                continue
            lo, hi = self.start + 14 * DAY, self.end - 180 * DAY
            if hi > lo and rng.random() < rates.churn:
                person.churn = _pick(rng, rates.churn_reasons)
                person.horizon = _between(rng, lo, hi)
                self._tally("churned", person.churn)

    # -- telling -------------------------------------------------------------------------
    def tell(self, truth: Truth) -> list[SimEvent]:
        out: list[SimEvent] = []
        for person in self.persons:
            story = Story(self.d, person, person.horizon or self.end)
            self._story(story, person)
            events = story.tell(self.config.seed)
            truth.add_customer(self.d, events)
            who = f"{self.d}/{person.index}"
            out.extend(
                SimEvent(e.occurred_at, self.d, e.event_type, str(e.event_id), to_json(e), who)
                for e in events
            )
        return out

    def _hints(self, person: Person, system: str, merged: bool = True) -> dict[str, Any]:
        ident = person.ident
        if system == "dms":
            return {"phone": ident.phone, "external_id": person.dms_id, "name": ident.name}
        if system == "showroom":
            hints: dict[str, Any] = {"name": ident.name}
            if person.showroom_id is not None:
                hints["external_id"] = person.showroom_id
            if merged or person.showroom_id is None:
                hints["phone"] = phone_variant(ident.phone, self.rng)
            return hints
        return {"phone": ident.phone}

    def _story(self, s: Story, p: Person) -> None:
        rng = self.rng
        if p.owner:
            self._register(s, p, p.arrival)
        else:
            kind = {"events": "event", "non_business": "phone_in", "other": "phone_in"}
            s.add(
                p.arrival,
                CustomerVisited,
                "showroom",
                self._hints(p, "showroom", merged=False),
                visit_kind=kind.get(p.source or "", "showroom"),
                advisor_id=p.advisor,
                note=texts.SOURCE_NOTES.get(p.source or "other"),
            )
            self._register(s, p, p.arrival + rng.randint(10, 60) * MINUTE)
            if not p.cars:  # a second visit that does not end in a purchase
                self._visit(s, p, p.arrival + rng.randint(3, 20) * DAY, "showroom")
        for car in list(p.cars):
            self._purchase(s, p, car)
        if p.referral is not None:
            self._referral(s, p)
        resolved: datetime | None = p.pivot
        if p.group in ("quick", "slow", "unresolved"):
            resolved = self._complaint(s, p)
        elif p.group == "silent":
            resolved = self._low_score(s, p)
        if p.group is not None and not p.repurchase:
            # Not buying again means taking the business elsewhere: no service, no
            # accessories after the complaint (silent: the low score) either, so the
            # repurchase figure is the same whether a metric counts cars or any purchase.
            s.stops_buying = p.pivot
        if p.repurchase and resolved is not None:
            lo = resolved + 14 * DAY
            bought = _office(rng, _between(rng, lo, self.end - 25 * DAY))
            car = self._new_car(bought)
            car.test_drive_at = bought - rng.randint(1, 5) * DAY
            p.cars.append(car)
            self._purchase(s, p, car)
        for car in p.cars:
            self._services(s, p, car)
        self._small_purchases(s, p)
        opted_out_at: datetime | None = None
        if p.opt_out:
            lo = max(self.start, p.arrival + DAY)
            if p.group == "silent" and resolved is not None:
                lo = max(lo, resolved + DAY)  # the low score that makes them silent counts
            at = _office(rng, _between(rng, lo, self.end - DAY))
            channels = None if rng.random() < 0.5 else ["sms", "wechat"]
            added = s.add(
                at,
                ContactPreferenceChanged,
                "call-center",
                self._hints(p, "call"),
                opt_out=True,
                channels=channels,
            )
            if added is not None and channels is None:  # all channels: no more surveys
                opted_out_at = at
        self._answer_surveys(s, p, opted_out_at)
        if p.churn is not None and p.churn != "neglected" and p.horizon is not None:
            self._visit(s, p, p.horizon - HOUR, "phone_out", texts.CHURN_NOTES[p.churn])

    def _register(self, s: Story, p: Person, at: datetime) -> None:
        ident, rng = p.ident, self.rng
        s.add(
            at,
            CustomerRegistered,
            "dms",
            self._hints(p, "dms"),
            name=ident.name,
            phones=[ident.phone],
            birthday=ident.birthday,
            family=[
                {"relation": r.relation, "name": r.name, "birthday": r.birthday}
                for r in ident.family
            ],
            advisor_id=p.advisor,
            consent={
                "marketing": rng.random() < 0.8,
                "channels": rng.choice(
                    (["phone"], ["phone", "wechat"], ["phone", "sms", "wechat"])
                ),
            },
        )

    def _visit(self, s: Story, p: Person, at: datetime, kind: str, note: str | None = None) -> None:
        system = "call-center" if kind.startswith("phone") else "showroom"
        s.add(
            at,
            CustomerVisited,
            system,
            self._hints(p, system),
            visit_kind=kind,
            advisor_id=p.advisor,
            note=note,
        )

    def _purchase(self, s: Story, p: Person, car: Car) -> None:
        if car.test_drive_at is not None:
            self._visit(s, p, car.test_drive_at, "test_drive")
        s.add(
            car.purchased_at,
            VehiclePurchased,
            "dms",
            self._hints(p, "dms"),
            vin=car.vin,
            model=car.model,
            colour=car.colour,
            price_cny=Decimal(car.price),
            advisor_id=p.advisor,
        )
        delivered = s.add(
            car.delivered_at,
            VehicleDelivered,
            "dms",
            self._hints(p, "dms"),
            vin=car.vin,
            delivered_at=car.delivered_at,
        )
        if delivered is not None:  # outreach sends an SSI survey (history deliveries too)
            s.invitations.append(Invitation(delivered, car.delivered_at, "SSI", car.vin))

    def _score(self, p: Person, kind: str, at: datetime) -> int:
        rng = self.rng
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

    def _survey(
        self,
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
            self._hints(p, "survey"),
            survey_of=(invitation.cause, invitation.kind),
            survey_kind=kind,
            score=self._score(p, kind, at) if score is None else score,
            about=invitation.about,
        )

    def _answer_surveys(self, s: Story, p: Person, opted_out_at: datetime | None) -> None:
        """Answer some of the surveys outreach sends: CSI/SSI by the response rates, and
        NPS only on invitations that surely carried the question (outreach's cadence: not
        asked in the last 180 days), judged from the nominal due times with a margin for
        the contact cap's waiting; where unsure, no NPS answer. Nothing is answered after
        a full opt-out, and invitations caused after it are never sent."""
        rng, rates = self.rng, self.rates
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
            if cause_at < self.start or unsure:
                continue  # history (a DMS import): nobody answers it now
            answered = invitation.answer_at
            if answered is None and rng.random() < rates.response(invitation.kind):
                answered = due + rng.randint(1, 36) * HOUR
            if answered is not None and (opted_out_at is None or answered < opted_out_at):
                self._survey(s, p, answered, invitation.kind, invitation, invitation.score)
            if sure and rng.random() < rates.nps_response:
                at = due + rng.randint(37, 72) * HOUR
                if opted_out_at is None or at < opted_out_at:
                    self._survey(s, p, at, "NPS", invitation)

    def _referral(self, s: Story, p: Person) -> None:
        rng, car, referrer = self.rng, p.cars[0], p.referrer
        assert referrer is not None
        own = referrer.cars[0]
        colour, model = own.colour, own.model
        if p.referral == "vehicle_mismatch":
            colour = rng.choice([c for c in texts.COLOURS if c != own.colour])
        referral_id = f"RF-{p.index:06d}"
        claimed = p.arrival + rng.randint(60, 180) * MINUTE
        if p.referral == "registered_after_delivery":
            claimed = car.delivered_at + rng.randint(60, 72 * 60) * MINUTE
        referrer_phone = phone_variant(referrer.ident.phone, rng)
        s.add(
            claimed,
            ReferralClaimed,
            "showroom",
            self._hints(p, "showroom"),
            referral_id=referral_id,
            vin=car.vin,
            referrer={
                "name": referrer.ident.name,
                "phone": referrer_phone,
                "vehicle_model": model,
                "vehicle_colour": colour,
            },
        )
        if p.referral in ("real", "callback_failed"):
            n = rng.choice((3, 4))
            wrong = (
                rng.randint(2, n) if p.referral == "callback_failed" else int(rng.random() < 0.1)
            )
            answers = [{"correct": i >= wrong} for i in range(n)]
            rng.shuffle(answers)
            s.add(
                car.delivered_at + rng.randint(2, 6) * DAY,
                ReferralCallbackAnswered,
                "call-center",
                self._hints(p, "call"),
                referral_id=referral_id,
                questions=answers,
            )

    def _services(self, s: Story, p: Person, car: Car) -> None:
        rng = self.rng
        at = car.delivered_at + rng.randint(150, 210) * DAY
        visit = 0
        while at < s.horizon:
            if at >= self.start:
                visit += 1
                self._service_visit(
                    s, p, car, _office(rng, at), f"RO-{p.index:06d}-{car.vin[-4:]}-{visit}"
                )
            at += rng.randint(150, 210) * DAY

    def _service_visit(self, s: Story, p: Person, car: Car, at: datetime, ro: str) -> None:
        done = at + self.rng.randint(120, 420) * MINUTE
        self._service_visit_at(s, p, car, at, done, ro)

    def _service_visit_at(
        self, s: Story, p: Person, car: Car, at: datetime, done: datetime, ro: str
    ) -> Invitation | None:
        rng, rates = self.rng, self.rates
        if not s.buys(done):
            return None
        hints = (
            {"vin": car.vin} if rng.random() < rates.vin_only_service else self._hints(p, "call")
        )
        kinds = {
            "appointment": 40,
            "walk_in": 20,
            "waiting": 15,
            "emergency": 10,
            "vip": 5,
            "rework": 5,
        }
        arrival = _pick(rng, kinds)
        s.add(
            at,
            ServiceCheckedIn,
            "service",
            hints,
            repair_order_id=ro,
            vin=car.vin,
            arrival_kind=arrival,
            promised_at=done + HOUR,
            advisor_id=p.advisor,
        )
        if rng.random() < rates.scope_change:
            changed = at + rng.randint(30, 90) * MINUTE
            items = rng.sample(texts.SCOPE_ITEMS, rng.randint(1, 3))
            s.add(
                changed,
                RepairScopeChanged,
                "service",
                hints,
                repair_order_id=ro,
                added_items=items,
                extra_amount_cny=Decimal(rng.randrange(200, 3000, 10)),
            )
            answer = (
                ScopeChangeDeclined if rng.random() < rates.scope_declined else ScopeChangeApproved
            )
            s.add(
                changed + rng.randint(5, 25) * MINUTE, answer, "service", hints, repair_order_id=ro
            )
        kind = (
            "rework"
            if arrival == "rework"
            else _pick(rng, {"maintenance": 70, "repair": 20, "inspection": 10})
        )
        completed = s.add(
            done,
            ServiceCompleted,
            "service",
            hints,
            repair_order_id=ro,
            vin=car.vin,
            mileage_km=car.mileage(done),
            amount_cny=Decimal(rng.randrange(400, 6000, 10)),
            service_kind=kind,
            advisor_id=p.advisor,
        )
        if completed is None:
            return None
        invitation = Invitation(completed, done, "CSI", ro)  # outreach sends a CSI survey
        s.invitations.append(invitation)
        return invitation

    def _small_purchases(self, s: Story, p: Person) -> None:
        rng = self.rng
        month = self.start
        n = 0
        while month < self.end:
            at = _office(rng, month + rng.randint(0, 27) * DAY)
            bought = rng.random() < self.rates.small_purchase_per_month
            if bought and at > p.arrival + DAY and s.buys(at):
                n += 1
                items = rng.sample(texts.SMALL_ITEMS, rng.randint(1, 2))
                s.add(
                    at,
                    SmallPurchaseMade,
                    "dms",
                    self._hints(p, "dms"),
                    order_id=f"PO-{p.index:06d}-{n}",
                    items=items,
                    amount_cny=Decimal(rng.randrange(99, 3000, 1)),
                )
            month += 30 * DAY

    def _low_score(self, s: Story, p: Person) -> datetime:
        """Dissatisfied but silent: a service visit around the pivot that went badly, and
        the CSI answer with a score <= 6 (the pivot becomes the answer's time)."""
        assert p.pivot is not None
        rng, car = self.rng, p.cars[0]
        at = _office(rng, p.pivot - 3 * DAY)
        done = at + rng.randint(60, 300) * MINUTE
        invitation = self._service_visit_at(s, p, car, at, done, f"RO-{p.index:06d}-LOW")
        assert invitation is not None  # silent customers do not churn: within the horizon
        invitation.answer_at = invitation.due_at + rng.randint(1, 36) * HOUR
        invitation.score = rng.randint(2, 6)
        p.pivot = invitation.answer_at
        return p.pivot

    def _complaint(self, s: Story, p: Person) -> datetime:
        """The six steps; returns when the complaint process ended (accepted or abandoned)."""
        rng, rates = self.rng, self.rates
        assert p.pivot is not None and p.group is not None
        filed = p.pivot
        category = texts.CATEGORIES[self.complaints % len(texts.CATEGORIES)]  # every category
        self.complaints += 1
        complaint_id = f"CP-{p.index:06d}"
        call = self._hints(p, "call")
        s.add(
            filed,
            ComplaintFiled,
            "call-center",
            call,
            complaint_id=complaint_id,
            channel=rng.choice(("phone", "on_site", "online", "survey")),
            category=category,
            description=texts.COMPLAINTS[category],
            severity=rng.choice(("low", "medium", "high")),
            vin=p.cars[0].vin,
        )
        late = rng.random() < rates.late_apology
        apology = (
            filed + rng.randint(70, 240) * MINUTE if late else filed + rng.randint(5, 50) * MINUTE
        )
        s.add(
            apology,
            ApologyIssued,
            "call-center",
            call,
            complaint_id=complaint_id,
            issued_by=p.advisor,
            channel=rng.choice(("phone", "on_site", "wechat")),
            message=texts.APOLOGY,
        )
        investigated = apology + rng.randint(30, 180) * MINUTE
        remedy = self._remedy_for(category)
        s.add(
            investigated,
            ComplaintInvestigated,
            "call-center",
            call,
            complaint_id=complaint_id,
            answers={
                "what": texts.COMPLAINTS[category],
                "how": "客户来电详细说明",
                "product": p.cars[0].model,
                "why": "影响正常用车",
                "advisor": p.advisor,
                "wanted_resolution": texts.WANTED[remedy],
            },
        )
        end = {
            "quick": filed + rng.randint(8 * 60, 40 * 60) * MINUTE,
            "slow": filed + rng.randint(56 * 60, 12 * 24 * 60) * MINUTE,
            "unresolved": filed + rng.randint(2 * 24 * 60, 10 * 24 * 60) * MINUTE,
        }[p.group]
        steps = self._remedy_steps(p.group, remedy)
        gap = (end - investigated) / max(len(steps), 1)
        for n, (kind, data) in enumerate(steps, start=1):
            at = end if n == len(steps) else investigated + gap * n
            s.add(at, kind, "call-center", call, complaint_id=complaint_id, **data)
        if p.group == "unresolved":
            return end
        callback = end + 3 * DAY + rng.randint(0, 360) * MINUTE
        reached = rng.random() < rates.callback_reached
        satisfaction = rng.randint(7, 10) if p.group == "quick" else rng.randint(5, 9)
        s.add(
            callback,
            FollowUpCompleted,
            "call-center",
            call,
            follow_up_id=complaint_callback_id(self.d, complaint_id),
            outcome="reached" if reached else rng.choice(("no_answer", "declined")),
            satisfaction=satisfaction if reached else None,
        )
        return end

    def _remedy_for(self, category: str) -> str:
        options = {
            "product_quality": ("repair", "replace", "refund"),
            "unsatisfying_goods": ("replace", "refund", "repair"),
            "misleading_advertising": ("refund", "apology"),
        }.get(category, ("apology", "apology", "repair", "refund"))
        return self.rng.choice(options)

    def _remedy_steps(
        self, group: str, remedy: str
    ) -> list[tuple[type[InboundEvent], dict[str, Any]]]:
        rng, rates = self.rng, self.rates
        if group == "unresolved" and rng.random() < 0.3:
            return []  # the customer stopped answering after the investigation
        low, high = {
            "apology": (0, 1500),
            "repair": (500, 8000),
            "replace": (5000, 40000),
            "refund": (1000, 30000),
        }[remedy]
        amount = rng.randrange(low, high + 1, 50)
        steps: list[tuple[type[InboundEvent], dict[str, Any]]] = []
        if rng.random() < rates.over_authority:
            amount = max(amount, 2500)  # above an advisor's limit, proposed by the advisor
            steps.append((RemedyProposed, self._proposal(remedy, amount, "advisor")))
        steps.append((RemedyProposed, self._proposal(remedy, amount)))
        if group == "unresolved" or rng.random() < rates.remedy_rejected_once:
            steps.append((RemedyRejected, {"note": "客户认为补偿不够"}))
            amount = int(amount * 1.3)
            steps.append((RemedyProposed, self._proposal(remedy, amount)))
        final = RemedyRejected if group == "unresolved" else RemedyAccepted
        steps.append((final, {"note": "客户仍不满意" if group == "unresolved" else "客户接受"}))
        return steps

    def _proposal(self, remedy: str, amount: int, role: str | None = None) -> dict[str, Any]:
        if role is None:
            role = next(r for r, limit in ROLE_LIMITS if limit is None or amount <= limit)
        staff = ROLE_STAFF[role] or self.rng.choice(ADVISORS)
        return {"remedy": remedy, "amount_cny": Decimal(amount), "proposed_by": staff, "role": role}


def simulate(config: SimConfig, now: datetime | None = None) -> Simulation:
    """Generate the whole simulation: events in publish order, and the truth about them."""
    start, end = window(config, now)
    truth = Truth(start=start, end=end)
    events: list[SimEvent] = []
    for number, dealership_id in enumerate(config.ids(), start=1):
        sim = DealershipSim(config, dealership_id, number, start, end)
        sim.plan()
        events.extend(sim.tell(truth))
        for table, counts in sim.truth_plan.items():
            for key, n in counts.items():
                target: dict[str, int] = getattr(truth, table)
                target[key] = target.get(key, 0) + n
        truth.expected_merges += sum(p.showroom_id is not None for p in sim.persons)
    # Stable: ties are between different people; a person's own times strictly increase.
    events.sort(key=lambda e: (e.occurred_at, e.dealership_id))
    return Simulation(config, start, end, events, truth)
