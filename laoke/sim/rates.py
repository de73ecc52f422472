"""The rates the simulator draws from: docs/domain.md's figures, and a few of its own.

Every probability is a setting so that a test (or a benchmark) can make a behaviour
common or rare; the defaults marked "docs/domain.md" come from the seeds, the others are
the simulator's own guesses and say so.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Probability = Annotated[float, Field(ge=0.0, le=1.0)]

Outcome = Literal["quick", "slow", "unresolved"]
Group = Literal["quick", "slow", "unresolved", "silent"]
GROUPS: tuple[Group, ...] = ("quick", "slow", "unresolved", "silent")
ChurnReason = Literal["death_bankruptcy", "moved", "friends", "competitors", "quality", "neglected"]
ReferralSource = Literal["friends", "events", "non_business", "cold_visit", "other"]
FakeKind = Literal["registered_after_delivery", "vehicle_mismatch", "callback_failed"]
FAKE_KINDS: tuple[FakeKind, ...] = (
    "registered_after_delivery",
    "vehicle_mismatch",
    "callback_failed",
)

CHURN_REASONS: dict[ChurnReason, float] = {
    "death_bankruptcy": 0.01,
    "moved": 0.05,
    "friends": 0.07,
    "competitors": 0.09,
    "quality": 0.15,
    "neglected": 0.63,
}
REFERRAL_SOURCES: dict[ReferralSource, float] = {
    "friends": 0.30,
    "events": 0.30,
    "non_business": 0.20,
    "cold_visit": 0.05,
    "other": 0.15,
}
COMPLAINT_OUTCOMES: dict[Outcome, float] = {"quick": 0.5, "slow": 0.3, "unresolved": 0.2}


class SimRates(BaseModel):
    """How often each thing happens in a simulated dealership."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # docs/domain.md "Satisfaction and figures" (seed 004): repurchase by complaint outcome.
    repurchase_quick: Probability = Field(0.82, description="Resolved within the 48 h SLA.")
    repurchase_slow: Probability = Field(0.54, description="Resolved after the SLA.")
    repurchase_unresolved: Probability = Field(0.19, description="Never accepted a remedy.")
    repurchase_silent: Probability = Field(
        0.09, description="A CSI/SSI score <= 6 and never complained."
    )
    repurchase_baseline: Probability = Field(
        0.15, description="Simulator's own: customers in none of the four groups."
    )
    # docs/domain.md "Touchpoints", "Referrals" (seed 003): why lost customers leave, and
    # where new customers come from.
    churn_reasons: dict[ChurnReason, Probability] = Field(
        default_factory=lambda: dict(CHURN_REASONS)
    )
    referral_sources: dict[ReferralSource, Probability] = Field(
        default_factory=lambda: dict(REFERRAL_SOURCES)
    )
    # The simulator's own mix (no seed gives these).
    owner_share: Probability = Field(0.6, description="Customers who already own a car.")
    prospect_purchase: Probability = Field(0.55, description="New prospects who buy a car.")
    complaint: Probability = Field(0.2, description="Car owners who file a complaint.")
    complaint_outcomes: dict[Outcome, Probability] = Field(
        default_factory=lambda: dict(COMPLAINT_OUTCOMES)
    )
    silent_dissatisfied: Probability = Field(
        0.1, description="Non-complaining car owners who give a CSI/SSI score <= 6."
    )
    churn: Probability = Field(0.15, description="Owners in no group who stop coming.")
    opt_out: Probability = Field(0.04)
    two_systems: Probability = Field(
        0.1, description="Prospects first known to the showroom by its own id only (a merge)."
    )
    vin_only_service: Probability = Field(0.3, description="Service records naming only a VIN.")
    used_car_sale: Probability = Field(
        0.04, description="Car owners who sell their car to someone new (a change of owner)."
    )
    wrong_merge: Probability = Field(
        0.02, description="Owners sent once under another owner's DMS number (split later)."
    )
    fake_referral: Probability = Field(0.25, description="Friends' referrals that are fake.")
    over_authority: Probability = Field(
        0.1, description="A first remedy proposed above the proposer's authority."
    )
    late_apology: Probability = Field(0.05, description="Apology after the 1 h default.")
    remedy_rejected_once: Probability = Field(0.25)
    scope_change: Probability = Field(0.2, description="Service visits whose scope grows.")
    scope_declined: Probability = Field(0.25)
    ssi_response: Probability = Field(0.6)
    csi_response: Probability = Field(0.5)
    nps_response: Probability = Field(
        0.3, description="Answers to the NPS question, where outreach surely asked it."
    )
    small_purchase_per_month: Probability = Field(0.05)
    callback_reached: Probability = Field(0.8)

    @model_validator(mode="after")
    def _distributions_sum_to_one(self) -> SimRates:
        for name in ("churn_reasons", "referral_sources", "complaint_outcomes"):
            total = sum(getattr(self, name).values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{name} must sum to 1, not {total}")
        return self

    def response(self, kind: str) -> float:
        """How often a survey of `kind` (CSI, SSI) is answered."""
        return {"CSI": self.csi_response, "SSI": self.ssi_response}[kind]

    def repurchase(self, group: Group) -> float:
        return {
            "quick": self.repurchase_quick,
            "slow": self.repurchase_slow,
            "unresolved": self.repurchase_unresolved,
            "silent": self.repurchase_silent,
        }[group]
