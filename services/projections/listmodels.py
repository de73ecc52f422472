"""Response models of the ops lists (`GET /v1/customers?dealership_id=…`, `GET
/v1/referrals?dealership_id=…`), beside models.py's; a list item's fields are its CSV
columns too (laoke/csvstream.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.projections.models import CustomerClassName, Public, Verdict
from services.projections.referralmodels import ReferralPublic


class ReferralListPublic(Public):
    dealership_id: str
    status: Verdict | None = Field(description="The verdict listed; null: every one.")
    as_of: datetime
    count: int = Field(description="Items on this page.")
    items: list[ReferralPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )


class CustomerSummaryPublic(Public):
    """A customer on a list: who, how to reach them, what they drive, their class and how
    long since the last touchpoint (`GET /v1/customers/{id}` has the whole profile)."""

    customer_id: str
    dealership_id: str
    name: str | None
    phone: str | None = Field(
        description="The primary phone: the first one known that is not flagged as wrong."
    )
    phones: list[str]
    plates: list[str] = Field(description="Licence plates: the person's, then their vehicles'.")
    vins: list[str]
    customer_class: CustomerClassName
    advisor_id: str | None
    first_seen_at: datetime
    last_touch_at: datetime | None
    days_since_last_touchpoint: int | None
    neglected: bool = Field(
        description="No touchpoint for more than `neglect_days` (or none at all)."
    )
    open_complaints: int
    spend_cny: float


class CustomerPagePublic(Public):
    dealership_id: str
    q: str | None = Field(description="The search asked for (name, phone fragment or plate).")
    customer_class: CustomerClassName | None = Field(description="The class listed; null: all.")
    neglected: bool | None = Field(description="Only (not) neglected customers; null: both.")
    neglect_days: int = Field(
        description="Days without a touchpoint after which a customer is neglected (the"
        " classes' `recency_days`: a big buyer neglected that long is a meteor)."
    )
    as_of: datetime
    count: int = Field(description="Items on this page.")
    items: list[CustomerSummaryPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )
