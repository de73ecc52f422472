"""What a simulation generated, counted straight from its events (and, where the events
cannot say, from the plan): what metrics computed from the same events must agree with.

Definitions (docs/simulator.md):
- a customer's complaint outcome is that of their first complaint: `quick` if a remedy was
  accepted within 48 h of filing (the SLA), `slow` if accepted later, `unresolved` if never;
- `silent` (dissatisfied but silent): never complained, and some CSI or SSI score <= 6;
- a repurchaser bought a vehicle (a later `VehiclePurchased`) after the first complaint was
  filed (silent: after the first low score).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from events import (
    ApologyIssued,
    ComplaintFiled,
    ContactPreferenceChanged,
    FollowUpCompleted,
    InboundEvent,
    RemedyAccepted,
    RemedyProposed,
    SurveyAnswered,
    VehiclePurchased,
)
from laoke.sim.rates import GROUPS, Group

USED_CARS = "used-cars"  # the source of a car sold on (identity.py)

SLA = timedelta(hours=48)
APOLOGY_WITHIN = timedelta(hours=1)
LOW_SCORE = 6
AUTHORITY_CNY = {"advisor": 2_000, "manager": 20_000}  # docs/domain.md's default limits


class GroupTruth(BaseModel):
    customers: int = 0
    repurchasers: int = 0

    @property
    def rate(self) -> float | None:
        return self.repurchasers / self.customers if self.customers else None


class SurveyTruth(BaseModel):
    answers: int = 0
    total: int = 0
    low: int = Field(0, description="Scores <= 6 (NPS: detractors).")
    promoters: int = Field(0, description="NPS 9-10.")

    @property
    def mean(self) -> float | None:
        return self.total / self.answers if self.answers else None

    @property
    def nps(self) -> float | None:
        """Promoters minus detractors, in percent of answers (meaningful for NPS only)."""
        return 100.0 * (self.promoters - self.low) / self.answers if self.answers else None


class Truth(BaseModel):
    """Counts over the whole simulation (all dealerships)."""

    start: datetime
    end: datetime
    events: int = 0
    by_type: dict[str, int] = Field(default_factory=dict)
    customers: int = Field(0, description="Simulated people (not intake's customer records).")
    customers_by_dealership: dict[str, int] = Field(default_factory=dict)
    groups: dict[str, GroupTruth] = Field(
        default_factory=lambda: {str(group): GroupTruth() for group in GROUPS}
    )
    complaints_by_category: dict[str, int] = Field(default_factory=dict)
    complaints_resolved_within_sla: int = 0
    complaints_resolved_late: int = 0
    complaints_unresolved: int = 0
    apologies_late: int = 0
    remedies_over_authority: int = 0
    complaint_callbacks: int = 0
    surveys: dict[str, SurveyTruth] = Field(
        default_factory=lambda: {kind: SurveyTruth() for kind in ("CSI", "SSI", "NPS")}
    )
    purchases: int = 0
    repurchasers_total: int = 0
    sources: dict[str, int] = Field(default_factory=dict, description="New prospects by source.")
    churned: dict[str, int] = Field(default_factory=dict, description="Churn reasons (plan).")
    referrals: dict[str, int] = Field(
        default_factory=dict, description="'real' and each fake kind (plan)."
    )
    opt_outs: int = 0
    expected_merges: int = Field(0, description="People first known by two ids (plan).")
    vin_only_records: int = Field(0, description="Events whose hints name only a VIN.")
    used_car_sales: int = Field(0, description="Cars sold on to someone new (owner changes).")
    wrong_merges: int = Field(0, description="Wrong merges, each split later (plan).")

    def count(self, field: str, key: str) -> None:
        table: dict[str, int] = getattr(self, field)
        table[key] = table.get(key, 0) + 1

    def add_customer(self, dealership_id: str, events: list[InboundEvent]) -> None:
        """Count one simulated person's events (in their time order). The buyer of their car
        (identity.py: told in the seller's story) is someone else: not their purchase."""
        self.customers += 1
        self.customers_by_dealership[dealership_id] = (
            self.customers_by_dealership.get(dealership_id, 0) + 1
        )
        self.events += len(events)
        self.vin_only_records += sum(
            1 for e in events if e.customer.phone is None and e.customer.external_id is None
        )
        for name, n in Counter(e.event_type for e in events).items():
            self.by_type[name] = self.by_type.get(name, 0) + n
        events = [e for e in events if e.source != USED_CARS]
        types = Counter(e.event_type for e in events)
        self.purchases += types.get("VehiclePurchased", 0)
        if types.get("VehiclePurchased", 0) > 1:
            self.repurchasers_total += 1
        filed: dict[str, datetime] = {}
        accepted: dict[str, datetime] = {}
        first_low: datetime | None = None
        for event in events:
            if isinstance(event, ComplaintFiled):
                filed[event.complaint_id] = event.occurred_at
                self.count("complaints_by_category", event.category)
            elif isinstance(event, ApologyIssued):
                if event.occurred_at > filed[event.complaint_id] + APOLOGY_WITHIN:
                    self.apologies_late += 1
            elif isinstance(event, RemedyAccepted):
                accepted.setdefault(event.complaint_id, event.occurred_at)
            elif isinstance(event, RemedyProposed):
                limit = AUTHORITY_CNY.get(event.role)
                self.remedies_over_authority += limit is not None and event.amount_cny > limit
            elif isinstance(event, FollowUpCompleted):
                self.complaint_callbacks += 1
            elif isinstance(event, ContactPreferenceChanged):
                self.opt_outs += event.opt_out
            elif isinstance(event, SurveyAnswered):
                survey = self.surveys[event.survey_kind]
                survey.answers += 1
                survey.total += event.score
                survey.low += event.score <= LOW_SCORE
                survey.promoters += event.score >= 9
                if event.survey_kind != "NPS" and event.score <= LOW_SCORE and first_low is None:
                    first_low = event.occurred_at
        for complaint_id, at in filed.items():
            done = accepted.get(complaint_id)
            if done is None:
                self.complaints_unresolved += 1
            elif done <= at + SLA:
                self.complaints_resolved_within_sla += 1
            else:
                self.complaints_resolved_late += 1
        group: Group | None = None
        since: datetime | None = None
        if filed:
            complaint_id, since = min(filed.items(), key=lambda item: item[1])
            done = accepted.get(complaint_id)
            group = "unresolved" if done is None else "quick" if done <= since + SLA else "slow"
        elif first_low is not None:
            group, since = "silent", first_low
        if group is not None and since is not None:
            truth = self.groups[group]
            truth.customers += 1
            truth.repurchasers += any(
                isinstance(e, VehiclePurchased) and e.occurred_at > since for e in events
            )

    def rates(self) -> dict[str, float | None]:
        return {group: truth.rate for group, truth in self.groups.items()}

    def summary(self) -> dict[str, object]:
        """A JSON-able summary with the derived figures (rates, means, NPS) filled in."""
        data = self.model_dump(mode="json")
        data["repurchase_rates"] = self.rates()
        data["survey_means"] = {kind: s.mean for kind, s in self.surveys.items()}
        data["nps"] = self.surveys["NPS"].nps
        return data
