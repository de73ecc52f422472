"""Response models of `/v1/metrics/retention`: where new customers come from and why
customers are lost (seed 003), as far as the recorded events show it
(services/projections/retention.py, docs/projections.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.projections.metricmodels import FiguresPublic, RatePublic
from services.projections.models import Public


class SourcePublic(Public):
    customers: int = Field(description="New customers who first came this way.")
    share: float | None = Field(description="customers ÷ new customers.")
    bought: int = Field(description="Of them, those who have bought a vehicle since.")


class AcquisitionPublic(Public):
    """New customers (first seen in the period) by how they first came: a referral claim
    naming them, else the kind of their first touchpoint (seed 003: friends 30 %, events
    30 %, non-business contact 20 %, cold visits 5 %, other 15 %)."""

    new_customers: int = Field(description="Customers first seen in the period.")
    bought: int = Field(description="Of them, those who have bought a vehicle since.")
    referred: SourcePublic = Field(
        description="A referral claim names them as the new buyer, whatever its verdict"
        " (seed 003: friends' introductions)."
    )
    event: SourcePublic = Field(description="First touchpoint a visit of kind `event`.")
    walk_in: SourcePublic = Field(
        description="First touchpoint a `showroom` visit or a `test_drive`, with no referral"
        " claim (seed 003: cold visits)."
    )
    phoned_in: SourcePublic = Field(
        description="First touchpoint a `phone_in` call. Who sent the caller (seed 003's"
        " non-business contacts) is no field of the contract: this is the channel."
    )
    other: SourcePublic = Field(
        description="Any other first contact: a call out (a lead followed up), a"
        " registration or purchase with no visit before it."
    )


class LostPublic(Public):
    """Customers (a paid purchase on record) lost in the period: their last touchpoint
    became more than `lapse_days` old then. Each has one cause, the first that holds of the
    `lapse_days` before that last touchpoint; every rate is of `customers`."""

    customers: int = Field(description="Customers lost in the period.")
    complained: RatePublic = Field(description="Filed a complaint then.")
    dissatisfied: RatePublic = Field(
        description="No complaint, but a dissatisfaction signal then (a low score, a risk"
        " flag, a breached scope change)."
    )
    last_call: RatePublic = Field(
        description="Their last touchpoint was a call (`phone_in`, `phone_out`, a follow-up"
        " made): why they went may be in its note, which is free text, not a reason code."
    )
    neglected: RatePublic = Field(
        description="No contact made by the dealership then: no call out, no follow-up"
        " made, no complaint handled, no reward (seed 003: 63 % of lost customers)."
    )
    contacted: RatePublic = Field(
        description="The dealership was in touch then, and nothing says why they went."
    )
    neglected_share: RatePublic = Field(
        description="neglected ÷ (last_call + neglected + contacted): of the lost customers"
        " with no complaint and no dissatisfaction on record, those neglected."
    )


class RetentionGroupPublic(Public):
    group: str = Field(
        description="The group's dealership, department and advisor as cut (`group_by`),"
        " joined by '/'; 'all' when not cut."
    )
    dealership_id: str | None = Field(None, description="When cut by dealership.")
    department: str | None = Field(
        None,
        description="When cut by department: new customers are `sales`', lost ones"
        " `customer_care`'s.",
    )
    advisor_id: str | None = Field(None, description="When cut by advisor (the customer's).")
    acquisition: AcquisitionPublic
    lost: LostPublic


class RetentionPublic(FiguresPublic):
    lapse_days: int = Field(
        description="Days without a touchpoint after which a customer is lost (the classes'"
        " `recency_days`, 180), and the span before it that each cause is judged on."
    )
    as_of: datetime
    groups: list[RetentionGroupPublic]
