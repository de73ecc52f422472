"""One dealership's simulation: its window, its seeded randomness, and the plan of its people.

Planning first lets the repurchases of each complaint-outcome group be allocated as a
quota (round(n × rate) members drawn at random), so the realised rate is within 0.5/n of
the configured one at any size. The chapters (laoke/sim/generator.py) then tell each
person's story from the plan, drawing from the same `rng` in a fixed order: the same seed
gives the same events.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from laoke.sim import texts
from laoke.sim.config import SimConfig
from laoke.sim.model import ADVISORS, DAY, Car, Person, between, office, pick, quota
from laoke.sim.people import People, phone_variant
from laoke.sim.rates import FAKE_KINDS, GROUPS, Group, Outcome, ReferralSource, SimRates

CHURN_MARGIN = 185 * DAY  # a churner's last day is at least this long before the end


class Dealership:
    """What every chapter of a story reads: the dealership, its window, `rng`, the rates."""

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
        self.truth_counts = {"used_car_sales": 0, "wrong_merges": 0}  # identity.py's stories
        self.wrongly_tied: set[int] = set()  # people in a wrong merge (one each, no chains)

    def hints(self, person: Person, system: str, merged: bool = True) -> dict[str, Any]:
        """How `system` names the person: the DMS by phone and its id, the showroom by a
        phone format of its own (and, for some, by its own id alone before the merge)."""
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

    def new_car(self, purchased_at: datetime) -> Car:
        rng = self.rng
        model = rng.choice(list(texts.MODELS))
        low, high = texts.MODELS[model]
        delivered = office(rng, purchased_at + rng.randint(3, 15) * DAY)
        return Car(
            vin=self.people.vin(),
            model=model,
            colour=rng.choice(texts.COLOURS),
            price=rng.randrange(low, high + 1, 100),
            purchased_at=purchased_at,
            delivered_at=delivered,
            km_per_day=rng.uniform(20, 70),
        )

    # -- planning ------------------------------------------------------------------------
    def plan(self) -> None:
        rng, rates = self.rng, self.rates
        n = self.config.customers
        owning = [rng.random() < rates.owner_share for _ in range(n)]
        # The prospects' sources as a quota (like the repurchases): read back within 2
        # points at 2,000 prospects, where independent draws would stray by a point (1 σ).
        sources = iter(quota(rng, rates.referral_sources, n - sum(owning)))
        for index, owner in enumerate(owning):
            self.persons.append(self._plan_person(index, None if owner else next(sources)))
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

    def _plan_person(self, index: int, source: ReferralSource | None) -> Person:
        """An owner (`source` None: known from the DMS history) or a prospect arriving by
        `source`."""
        rng, rates = self.rng, self.rates
        ident = self.people.identity()
        advisor = rng.choice(ADVISORS)
        dms_id = f"DMS-{index + 1:07d}"
        if source is None:
            bought = office(rng, self.start - rng.randint(30, 3 * 365) * DAY)
            person = Person(index, ident, advisor, True, bought - rng.randint(1, 10) * DAY, dms_id)
            person.cars.append(self.new_car(bought))
            return person
        buys = source == "friends" or rng.random() < rates.prospect_purchase
        last = self.end - (60 if buys else 25) * DAY
        if last <= self.start:
            buys, last = False, max(self.start, self.end - 3 * DAY)
        arrival = office(rng, between(rng, self.start, last))
        person = Person(index, ident, advisor, False, arrival, dms_id, source=source)
        if rng.random() < rates.two_systems:
            person.showroom_id = f"SR-{rng.randrange(16**8):08X}-{index}"
        if buys:
            drive = office(rng, arrival + rng.randint(1, 10) * DAY)
            car = self.new_car(office(rng, drive + rng.randint(1, 20) * DAY))
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
            person.pivot = between(rng, lo, last)
            if rng.random() < rates.complaint:
                outcome: Outcome = pick(rng, rates.complaint_outcomes)
                group: Group = outcome
            elif rng.random() < rates.silent_dissatisfied:
                group = "silent"
            else:
                content.append(person)
                continue
            person.group = group
            members[group].append(person)
        for group, people in members.items():
            buyers = int(len(people) * rates.repurchase(group) + 0.5)
            for person in rng.sample(people, buyers):
                person.repurchase = True
        for person in content:
            person.repurchase = rng.random() < rates.repurchase_baseline
        # Churners leave more than 180 days (projections' `recency_days`) before the end,
        # so every one of them counts as lost by then; their reasons are a quota.
        lo, hi = self.start + 14 * DAY, self.end - CHURN_MARGIN
        churners: list[Person] = []
        for person in self.persons:
            person.opt_out = rng.random() < rates.opt_out
            if not person.owner or person.group is not None or person.repurchase:
                continue
            if hi > lo and rng.random() < rates.churn:
                churners.append(person)
        for person, reason in zip(
            churners, quota(rng, rates.churn_reasons, len(churners)), strict=True
        ):
            person.churn = reason
            person.horizon = between(rng, lo, hi)
            self._tally("churned", reason)
