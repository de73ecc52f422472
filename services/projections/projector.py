"""How each recorded event changes the read models: one function per event type.

`apply(tx, event, seq)` is the entry point: it resolves the canonical customer (following
merges), writes the timeline row, moves the last touchpoint, then calls the event type's
function from `HANDLERS`. The functions read and write rows through `Tx` only (no clock,
no I/O beyond the transaction), so replaying the stream gives the same tables.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from events import (
    EVENT_TYPES,
    INBOUND_TYPES,
    ApologyIssued,
    ApologyOverdue,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintInvestigated,
    ComplaintResolved,
    ComplaintRiskFlagged,
    ComplaintStepRejected,
    ContactPreferenceChanged,
    CustomerRegistered,
    CustomersMerged,
    CustomerVisited,
    Event,
    FollowUpCompleted,
    FollowUpDue,
    FollowUpSkipped,
    PhoneFlagged,
    ReferralCallbackAnswered,
    ReferralClaimed,
    ReferralRejected,
    ReferralVerified,
    RemedyAccepted,
    RemedyProposed,
    RemedyRefused,
    RemedyRejected,
    RepairScopeChanged,
    RewardGranted,
    ScopeChangeApproved,
    ScopeChangeBreached,
    ScopeChangeDeclined,
    ServiceCheckedIn,
    ServiceCompleted,
    SmallPurchaseMade,
    SurveyAnswered,
    SurveyAnswerRejected,
    VehicleDelivered,
    VehiclePurchased,
    normalise_phone,
)
from services.projections.settings import ProjectionSettings
from services.projections.store import (
    COMPLAINTS,
    CUSTOMERS,
    FOLLOWUPS,
    REFERRALS,
    Row,
    Tx,
    parse_ts,
    ts,
)

TOUCHPOINTS: frozenset[str] = INBOUND_TYPES | {"RewardGranted"}
"""Contacts with the customer: everything other systems report, and a reward given.
Decisions (a follow-up planned, an escalation) are in the timeline but are not contacts."""

# Follow-up reasons by department (for grouping metrics); anything else is customer care.
SALES_REASONS = {"purchase_call_7d", "purchase_call_3m", "small_purchase_call", "survey_ssi"}
SERVICE_REASONS = {
    "service_reminder",
    "inspection_reminder",
    "insurance_reminder",
    "survey_csi",
    "scope_change_contact",
}
REFERRAL_REJECTION_CHECK = {
    "registered_after_delivery": "registered_before_delivery",
    "referrer_unknown": "referrer_known",
    "referrer_vehicle_mismatch": "referrer_vehicle",
    "callback_failed": "callback",
    "already_rewarded": "referee_not_rewarded",
}
REFUSALS = {"unknown_referral", "callback_out_of_order"}


def money(value: Decimal | float | int) -> float:
    return round(float(value), 2)


class Context:
    """What every handler gets: the transaction, the event's position, the settings."""

    def __init__(self, tx: Tx, seq: int, settings: ProjectionSettings) -> None:
        self.tx = tx
        self.seq = seq
        self.settings = settings

    def canonical(self, customer_id: str) -> str:
        seen = set()
        row = self.tx.get(CUSTOMERS, customer_id)
        while row is not None and row["merged_into"] and customer_id not in seen:
            seen.add(customer_id)
            customer_id = row["merged_into"]
            row = self.tx.get(CUSTOMERS, customer_id)
        return customer_id

    def customer(self, customer_id: str, dealership_id: str, at: datetime) -> Row:
        row = self.tx.get(CUSTOMERS, customer_id)
        if row is None:
            row = {
                "customer_id": customer_id,
                "dealership_id": dealership_id,
                "merged_into": None,
                "advisor_id": None,
                "last_touch_at": None,
                "doc": new_customer_doc(at),
            }
        self.tx.put(CUSTOMERS, row)
        return row

    def ref(self, dealership_id: str, ref: str | None) -> tuple[str | None, str | None]:
        """The advisor and department behind a repair order id or a VIN."""
        if not ref:
            return None, None
        refs: dict[tuple[str, str], tuple[str | None, str | None]] = self.tx.memo.setdefault(
            "refs", {}
        )
        if (dealership_id, ref) not in refs:
            found = self.tx.query(
                "SELECT advisor_id, department FROM refs WHERE dealership_id = ? AND ref = ?",
                (dealership_id, ref),
            )
            refs[(dealership_id, ref)] = (found[0][0], found[0][1]) if found else (None, None)
        return refs[(dealership_id, ref)]

    def set_ref(self, dealership_id: str, ref: str, advisor: str | None, department: str) -> None:
        self.tx.defer(
            "INSERT INTO refs (dealership_id, ref, advisor_id, department) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (dealership_id, ref) DO UPDATE SET advisor_id ="
            " COALESCE(excluded.advisor_id, refs.advisor_id), department = excluded.department",
            (dealership_id, ref, advisor, department),
        )
        # The same upsert on the cached value; without an advisor and without a cached one
        # the stored advisor is unknown here, so the next lookup asks the table.
        refs = self.tx.memo.setdefault("refs", {})
        key = (dealership_id, ref)
        if advisor is not None:
            refs[key] = (advisor, department)
        elif key in refs:
            refs[key] = (refs[key][0], department)

    def identity(self, dealership_id: str, kind: str, value: str, customer_id: str) -> None:
        self.tx.defer(
            "INSERT INTO identities (dealership_id, kind, value, customer_id) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (dealership_id, kind, value) DO UPDATE SET customer_id ="
            " excluded.customer_id",
            (dealership_id, kind, value, customer_id),
        )

    def signal(
        self, event: Event, customer: Row, kind: str, advisor: str | None, dept: str
    ) -> None:
        """A sign of dissatisfaction (low score, risk flag) for the 'never complained' metric."""
        self.tx.defer(
            "INSERT INTO signals (event_id, dealership_id, customer_id, kind, at, advisor_id,"
            " department) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (
                str(event.event_id),
                event.dealership_id,
                customer["customer_id"],
                kind,
                ts(event.occurred_at),
                advisor or customer["advisor_id"],
                dept,
            ),
        )


def new_customer_doc(at: datetime) -> dict[str, Any]:
    return {
        "name": None,
        "phones": [],
        "external_ids": [],
        "birthday": None,
        "family": [],
        "consent": {"marketing": None, "channels": [], "opted_out": [], "opted_out_all": False},
        "vehicles": {},
        "flagged_phones": [],
        "first_seen_at": ts(at),
        "merged_ids": [],
        "stats": {
            "spend_cny": 0.0,
            "vehicle_purchases": 0,
            "largest_purchase_cny": 0.0,
            "last_big_purchase_at": None,
            "small_purchases": 0,
            "visits": 0,
            "service_visits": 0,
            "first_service_at": None,
            "last_service_at": None,
            "reworks": 0,
            "complaints": 0,
            "open_complaints": 0,
            "remedies_paid_cny": 0.0,
            "risk_flags": 0,
            "scope_breaches": 0,
            "referrals_rewarded": 0,
        },
    }


def _add(items: list[Any], value: Any) -> None:
    if value not in items:
        items.append(value)


def _phone(raw: str) -> str | None:
    """`normalise_phone`, or None for what is not a phone."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return None


_NOT_SUMMARISED: set[str] = {
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "dealership_id",
    "source",
    "customer",
    "customer_id",
    "correlation_id",
    "causation_id",
}
_SCALARS = (str, int, float, bool)


def summary_of(event: Event) -> str:
    """A short human line for the timeline."""
    data = event.model_dump(mode="json", exclude_none=True, exclude=_NOT_SUMMARISED)
    parts = [f"{key}={value}" for key, value in data.items() if isinstance(value, _SCALARS)]
    return ", ".join(parts)[:500]


# -- entry point -------------------------------------------------------------------------------


def prefetch(tx: Tx, events: list[Event]) -> None:
    """Read every row a batch of events will touch in a few queries, before applying it
    (one `IN (…)` per table instead of a lookup per event); merge pointers are followed."""
    customers: list[tuple[str]] = []
    keys: dict[str, list[tuple[str, str]]] = {name: [] for name in _KEYED}
    refs: list[tuple[str, str]] = []
    for event in events:
        if event.customer_id is not None:
            customers.append((event.customer_id,))
        if isinstance(event, CustomersMerged):
            customers += [(event.survivor_id,), *((m,) for m in event.merged_ids)]
        elif isinstance(event, RewardGranted):
            customers.append((event.referrer_customer_id,))
        fields = type(event).model_fields
        for name, found in keys.items():
            if name in fields and isinstance(value := getattr(event, name), str):
                found.append((event.dealership_id, value))
        if isinstance(event, ComplaintFiled | ComplaintRiskFlagged | SurveyAnswered):
            for name in _REF_FIELDS:
                if name in fields and isinstance(value := getattr(event, name), str):
                    refs.append((event.dealership_id, value))
    for name, table in _KEYED.items():
        tx.prefetch(table, keys[name])
    _prefetch_refs(tx, refs)
    seen: set[tuple[str]] = set()
    while customers:
        tx.prefetch(CUSTOMERS, customers)
        seen.update(customers)
        rows = (tx.get(CUSTOMERS, *key) for key in customers)
        customers = [
            (row["merged_into"],)
            for row in rows
            if row is not None and row["merged_into"] and (row["merged_into"],) not in seen
        ]


_KEYED = {"complaint_id": COMPLAINTS, "follow_up_id": FOLLOWUPS, "referral_id": REFERRALS}
_REF_FIELDS = ("repair_order_id", "vin", "about")


def _prefetch_refs(tx: Tx, wanted: list[tuple[str, str]]) -> None:
    """`Context.ref`'s answers for a batch, read before any of its `set_ref`s."""
    memo: dict[tuple[str, str], tuple[str | None, str | None]] = tx.memo.setdefault("refs", {})
    by_dealership: dict[str, list[str]] = {}
    for dealership_id, ref in dict.fromkeys(wanted):
        if (dealership_id, ref) not in memo:
            by_dealership.setdefault(dealership_id, []).append(ref)
    for dealership_id, values in by_dealership.items():
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            for ref, advisor, department in tx.query(
                "SELECT ref, advisor_id, department FROM refs WHERE dealership_id = ?"
                f" AND ref IN ({', '.join('?' * len(chunk))})",
                (dealership_id, *chunk),
            ):
                memo[(dealership_id, ref)] = (advisor, department)
            for ref in chunk:
                memo.setdefault((dealership_id, ref), (None, None))


def apply(tx: Tx, event: Event, seq: int, settings: ProjectionSettings) -> None:
    """Apply one recorded event at stream position `seq`."""
    ctx = Context(tx, seq, settings)
    if event.customer_id is None:
        return  # recorded events always name the customer; nothing to attach this to
    customer_id = ctx.canonical(event.customer_id)
    if isinstance(event, CustomersMerged):
        customer_id = ctx.canonical(event.survivor_id)
    customer = ctx.customer(customer_id, event.dealership_id, event.occurred_at)
    touch = event.event_type in TOUCHPOINTS
    tx.defer(
        "INSERT INTO timeline (seq, customer_id, original_customer_id, dealership_id, event_id,"
        " event_type, occurred_at, source, touchpoint, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?) ON CONFLICT (seq) DO NOTHING",
        (
            seq,
            customer_id,
            event.customer_id,
            event.dealership_id,
            str(event.event_id),
            event.event_type,
            ts(event.occurred_at),
            event.source,
            1 if touch else 0,
            summary_of(event),
        ),
    )
    if touch:
        at = ts(event.occurred_at)
        if customer["last_touch_at"] is None or at > customer["last_touch_at"]:
            customer["last_touch_at"] = at
            customer["doc"]["last_touchpoint"] = {
                "event_id": str(event.event_id),
                "event_type": event.event_type,
                "at": at,
                "source": event.source,
            }
    _hints(ctx, event, customer)
    handler = HANDLERS.get(event.event_type)
    if handler is not None:
        handler(ctx, event, customer)


def _hints(ctx: Context, event: Event, customer: Row) -> None:
    hints = event.customer
    if hints is None:
        return
    doc = customer["doc"]
    d, c = event.dealership_id, customer["customer_id"]
    if hints.phone and (phone := _phone(hints.phone)):
        _add(doc["phones"], phone)
        ctx.identity(d, "phone", phone, c)
    if hints.vin:
        ctx.identity(d, "vin", hints.vin, c)
    if hints.external_id:
        _add(doc["external_ids"], hints.external_id)
        ctx.identity(d, "external_id", hints.external_id, c)
    if hints.name and not doc["name"]:
        doc["name"] = hints.name


# -- customers ---------------------------------------------------------------------------------


def on_registered(ctx: Context, event: Any, customer: Row) -> None:
    e: CustomerRegistered = event
    doc = customer["doc"]
    doc["name"] = e.name
    for raw in e.phones:
        if phone := _phone(raw):
            _add(doc["phones"], phone)
            ctx.identity(e.dealership_id, "phone", phone, customer["customer_id"])
    if e.birthday is not None:
        doc["birthday"] = e.birthday.isoformat()
    if e.family:
        doc["family"] = [m.model_dump(mode="json") for m in e.family]
    if e.advisor_id:
        customer["advisor_id"] = e.advisor_id
    doc["consent"].update(marketing=e.consent.marketing, channels=list(e.consent.channels))


def on_visited(ctx: Context, event: Any, customer: Row) -> None:
    e: CustomerVisited = event
    customer["doc"]["stats"]["visits"] += 1
    if e.advisor_id and not customer["advisor_id"]:
        customer["advisor_id"] = e.advisor_id


def _vehicle(customer: Row, vin: str) -> dict[str, Any]:
    vehicles: dict[str, dict[str, Any]] = customer["doc"]["vehicles"]
    return vehicles.setdefault(vin, {"vin": vin})


def _purchase(ctx: Context, event: Event, customer: Row, kind: str, amount: float) -> None:
    stats = customer["doc"]["stats"]
    stats["spend_cny"] = money(stats["spend_cny"] + amount)
    ctx.tx.defer(
        "INSERT INTO purchases (event_id, dealership_id, customer_id, kind, at, amount_cny)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
        (
            str(event.event_id),
            event.dealership_id,
            customer["customer_id"],
            kind,
            ts(event.occurred_at),
            amount,
        ),
    )


def on_purchased(ctx: Context, event: Any, customer: Row) -> None:
    e: VehiclePurchased = event
    price = money(e.price_cny)
    vehicle = _vehicle(customer, e.vin)
    vehicle.update(model=e.model, colour=e.colour, price_cny=price, purchased_at=ts(e.occurred_at))
    stats = customer["doc"]["stats"]
    stats["vehicle_purchases"] += 1
    if price >= stats["largest_purchase_cny"]:
        stats["largest_purchase_cny"] = price
    if price >= float(ctx.settings.classes.big_purchase_cny):
        stats["last_big_purchase_at"] = ts(e.occurred_at)
    _purchase(ctx, e, customer, "vehicle", price)
    ctx.identity(e.dealership_id, "vin", e.vin, customer["customer_id"])
    ctx.set_ref(e.dealership_id, e.vin, e.advisor_id, "sales")
    if not customer["advisor_id"]:
        customer["advisor_id"] = e.advisor_id


def on_delivered(ctx: Context, event: Any, customer: Row) -> None:
    e: VehicleDelivered = event
    _vehicle(customer, e.vin)["delivered_at"] = ts(e.delivered_at)
    ctx.identity(e.dealership_id, "vin", e.vin, customer["customer_id"])


def on_service(ctx: Context, event: Any, customer: Row) -> None:
    e: ServiceCompleted = event
    at = ts(e.occurred_at)
    vehicle = _vehicle(customer, e.vin)
    vehicle.update(mileage_km=e.mileage_km, last_service_at=at)
    stats = customer["doc"]["stats"]
    stats["service_visits"] += 1
    if stats["first_service_at"] is None or at < stats["first_service_at"]:
        stats["first_service_at"] = at
    if stats["last_service_at"] is None or at > stats["last_service_at"]:
        stats["last_service_at"] = at
    if e.service_kind == "rework":
        stats["reworks"] += 1
    _purchase(ctx, e, customer, "service", money(e.amount_cny))
    ctx.identity(e.dealership_id, "vin", e.vin, customer["customer_id"])
    ctx.set_ref(e.dealership_id, e.repair_order_id, e.advisor_id, "service")


def on_small_purchase(ctx: Context, event: Any, customer: Row) -> None:
    e: SmallPurchaseMade = event
    customer["doc"]["stats"]["small_purchases"] += 1
    _purchase(ctx, e, customer, "small", money(e.amount_cny))


def on_checked_in(ctx: Context, event: Any, customer: Row) -> None:
    e: ServiceCheckedIn = event
    _vehicle(customer, e.vin)
    ctx.identity(e.dealership_id, "vin", e.vin, customer["customer_id"])
    ctx.set_ref(e.dealership_id, e.repair_order_id, e.advisor_id, "service")


def on_scope_event(ctx: Context, event: Any, customer: Row) -> None:
    e: RepairScopeChanged | ScopeChangeApproved | ScopeChangeDeclined = event
    del ctx, e, customer  # timeline only


def on_scope_breached(ctx: Context, event: Any, customer: Row) -> None:
    e: ScopeChangeBreached = event
    customer["doc"]["stats"]["scope_breaches"] += 1
    ctx.signal(e, customer, "scope_breached", e.advisor_id, "service")


def on_preference(ctx: Context, event: Any, customer: Row) -> None:
    e: ContactPreferenceChanged = event
    consent = customer["doc"]["consent"]
    if not e.channels:
        consent["opted_out_all"] = e.opt_out
        if not e.opt_out:
            consent["opted_out"] = []
        return
    for channel in e.channels:
        if e.opt_out:
            _add(consent["opted_out"], channel)
        elif channel in consent["opted_out"]:
            consent["opted_out"].remove(channel)
    consent["opted_out"].sort()


def on_phone_flagged(ctx: Context, event: Any, customer: Row) -> None:
    e: PhoneFlagged = event
    _add(customer["doc"]["flagged_phones"], _phone(e.phone) or e.phone)


def on_merged(ctx: Context, event: Any, survivor: Row) -> None:
    """The survivor takes over the merged customers' history; they keep a pointer to it."""
    e: CustomersMerged = event
    survivor_id = survivor["customer_id"]
    doc = survivor["doc"]
    merged = [ctx.canonical(m) for m in e.merged_ids]
    merged = [m for m in dict.fromkeys(merged) if m != survivor_id]
    for old_id in merged:
        old = ctx.tx.get(CUSTOMERS, old_id)
        if old is None:
            old = ctx.customer(old_id, e.dealership_id, e.occurred_at)
        _fold(survivor, old)
        old["merged_into"] = survivor_id
        ctx.tx.put(CUSTOMERS, old)
        _add(doc["merged_ids"], old_id)
        for earlier in old["doc"]["merged_ids"]:
            _add(doc["merged_ids"], earlier)
    if not merged:
        return
    # The raw updates below move the stored rows; the same move on the rows this
    # transaction holds keeps its cache true (and they are written back at commit).
    for doc_table in (COMPLAINTS, FOLLOWUPS, REFERRALS):
        for row in ctx.tx.cached(doc_table):
            if row["customer_id"] in merged:
                row["customer_id"] = survivor_id
    for row in ctx.tx.cached(CUSTOMERS):
        if row["merged_into"] in merged:
            row["merged_into"] = survivor_id
    marks = ", ".join("?" * len(merged))
    for table in ("timeline", "identities", "complaints", "followups", "referrals", "surveys"):
        ctx.tx.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id IN ({marks})",
            (survivor_id, *merged),
        )
    for table in ("purchases", "signals"):
        ctx.tx.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id IN ({marks})",
            (survivor_id, *merged),
        )
    # Customers merged into a merged one before now point straight at the survivor.
    ctx.tx.execute(
        f"UPDATE customers SET merged_into = ? WHERE merged_into IN ({marks})",
        (survivor_id, *merged),
    )


def _fold(survivor: Row, old: Row) -> None:
    doc, other = survivor["doc"], old["doc"]
    for key in ("phones", "external_ids", "flagged_phones"):
        for value in other[key]:
            _add(doc[key], value)
    for key in ("name", "birthday"):
        doc[key] = doc[key] or other[key]
    if not doc["family"]:
        doc["family"] = other["family"]
    for vin, vehicle in other["vehicles"].items():
        doc["vehicles"].setdefault(vin, vehicle)
    survivor["advisor_id"] = survivor["advisor_id"] or old["advisor_id"]
    if old["last_touch_at"] and (
        survivor["last_touch_at"] is None or old["last_touch_at"] > survivor["last_touch_at"]
    ):
        survivor["last_touch_at"] = old["last_touch_at"]
        doc["last_touchpoint"] = other.get("last_touchpoint")
    doc["first_seen_at"] = min(doc["first_seen_at"], other["first_seen_at"])
    a, b = doc["stats"], other["stats"]
    for key, value in b.items():
        if key in ("first_service_at",):
            a[key] = min(x for x in (a[key], value) if x) if (a[key] or value) else None
        elif key in ("last_service_at", "last_big_purchase_at"):
            a[key] = max(x for x in (a[key], value) if x) if (a[key] or value) else None
        elif key == "largest_purchase_cny":
            a[key] = max(a[key], value)
        elif isinstance(value, float):
            a[key] = money(a[key] + value)
        else:
            a[key] += value


# -- complaints --------------------------------------------------------------------------------


def _department_of(ctx: Context, event: ComplaintFiled) -> tuple[str | None, str]:
    for ref in (event.repair_order_id, event.vin):
        advisor, department = ctx.ref(event.dealership_id, ref)
        if department is not None:
            return advisor, department
    if event.repair_order_id:
        return None, "service"
    if event.category in ("misleading_advertising", "unsatisfying_goods"):
        return None, "sales"
    return None, "general"


def on_complaint_filed(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintFiled = event
    if ctx.tx.get(COMPLAINTS, e.dealership_id, e.complaint_id) is not None:
        return  # the complaints service refuses a second filing (ComplaintStepRejected)
    timings = ctx.settings.timings(e.dealership_id)
    advisor, department = _department_of(ctx, e)
    at = ts(e.occurred_at)
    row: Row = {
        "dealership_id": e.dealership_id,
        "complaint_id": e.complaint_id,
        "customer_id": customer["customer_id"],
        "category": e.category,
        "advisor_id": advisor or customer["advisor_id"],
        "department": department,
        "filed_at": at,
        "apologised_at": None,
        "resolved_at": None,
        "within_sla": None,
        "doc": {
            "channel": e.channel,
            "severity": e.severity,
            "description": e.description,
            "vin": e.vin,
            "repair_order_id": e.repair_order_id,
            "step": 1,
            "steps": {"1": at},
            "apology_due_at": ts(e.occurred_at + timings.apology_within),
            "sla_due_at": ts(e.occurred_at + timings.sla),
            "apology_overdue": False,
            "sla_breached": False,
            "answers": None,
            "remedies": [],
            "escalations": [],
            "rejections": [],
            "hours_to_apology": None,
            "hours_to_resolution": None,
            "closed_at": None,
            "satisfaction": None,
        },
    }
    ctx.tx.put(COMPLAINTS, row)
    stats = customer["doc"]["stats"]
    stats["complaints"] += 1
    stats["open_complaints"] += 1


def _complaint(ctx: Context, event: Any) -> Row | None:
    row = ctx.tx.get(COMPLAINTS, event.dealership_id, event.complaint_id)
    if row is not None:
        ctx.tx.put(COMPLAINTS, row)
    return row


def _open(row: Row | None) -> bool:
    return row is not None and row["resolved_at"] is None and row["doc"]["closed_at"] is None


def _reach(row: Row, step: int, at: datetime) -> None:
    row["doc"]["step"] = step
    row["doc"]["steps"][str(step)] = ts(at)


def _hours(start: str, end: datetime) -> float:
    return round(max(0.0, (end - parse_ts(start)).total_seconds() / 3600), 4)


def on_apology(ctx: Context, event: Any, customer: Row) -> None:
    e: ApologyIssued = event
    row = _complaint(ctx, e)
    if not _open(row) or row is None or row["apologised_at"] is not None:
        return
    row["apologised_at"] = ts(e.occurred_at)
    row["doc"].update(
        apologised_by=e.issued_by, hours_to_apology=_hours(row["filed_at"], e.occurred_at)
    )
    _reach(row, 2, e.occurred_at)


def on_investigated(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintInvestigated = event
    row = _complaint(ctx, e)
    if not _open(row) or row is None or row["apologised_at"] is None:
        return
    row["doc"]["answers"] = e.answers.model_dump(mode="json", exclude_none=True)
    if row["doc"]["step"] < 3:
        _reach(row, 3, e.occurred_at)


def on_remedy_proposed(ctx: Context, event: Any, customer: Row) -> None:
    e: RemedyProposed = event
    row = _complaint(ctx, e)
    if not _open(row) or row is None or row["doc"]["answers"] is None:
        return
    remedies = row["doc"]["remedies"]
    superseded = None
    for i, remedy in enumerate(remedies):
        if remedy["status"] == "proposed":
            remedy["status"] = "superseded"
            superseded = i
    remedies.append(
        {
            "event_id": str(e.event_id),
            "at": ts(e.occurred_at),
            "remedy": e.remedy,
            "amount_cny": money(e.amount_cny),
            "proposed_by": e.proposed_by,
            "role": e.role,
            "status": "proposed",
            "supersedes": superseded,
        }
    )
    _reach(row, 4, e.occurred_at)


def on_remedy_refused(ctx: Context, event: Any, customer: Row) -> None:
    """Above the proposer's authority: the proposal never counted; an earlier one stands."""
    e: RemedyRefused = event
    row = _complaint(ctx, e)
    if row is None:
        return
    for remedy in reversed(row["doc"]["remedies"]):
        if remedy["event_id"] == str(e.causation_id) or (
            remedy["status"] == "proposed" and remedy["amount_cny"] == money(e.amount_cny)
        ):
            remedy.update(status="refused", why=e.why, limit_cny=money(e.limit_cny))
            if remedy.get("supersedes") is not None:
                row["doc"]["remedies"][remedy["supersedes"]]["status"] = "proposed"
            break


def on_remedy_accepted(ctx: Context, event: Any, customer: Row) -> None:
    e: RemedyAccepted = event
    del ctx, e, customer  # the resolution is the complaints service's ComplaintResolved


def on_remedy_rejected(ctx: Context, event: Any, customer: Row) -> None:
    e: RemedyRejected = event
    row = _complaint(ctx, e)
    if not _open(row) or row is None:
        return
    for remedy in row["doc"]["remedies"]:
        if remedy["status"] == "proposed":
            remedy.update(status="rejected", rejected_at=ts(e.occurred_at), note=e.note)
            _reach(row, 4, e.occurred_at)


def on_resolved(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintResolved = event
    row = _complaint(ctx, e)
    if row is None or row["resolved_at"] is not None:
        return
    row["resolved_at"] = ts(e.resolved_at)
    row["within_sla"] = 1 if e.within_sla else 0
    row["doc"]["hours_to_resolution"] = round(e.hours_to_resolution, 4)
    if not e.within_sla:
        row["doc"]["sla_breached"] = True
    paid = 0.0
    for remedy in row["doc"]["remedies"]:
        if remedy["status"] == "proposed":
            remedy["status"] = "accepted"
            paid = remedy["amount_cny"]
    row["doc"]["remedy_paid_cny"] = paid
    _reach(row, 5, e.resolved_at)
    owner = ctx.tx.get(CUSTOMERS, ctx.canonical(row["customer_id"])) or customer
    stats = owner["doc"]["stats"]
    stats["remedies_paid_cny"] = money(stats["remedies_paid_cny"] + paid)
    stats["open_complaints"] = max(0, stats["open_complaints"] - 1)
    ctx.tx.put(CUSTOMERS, owner)


def on_closed(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintClosed = event
    row = _complaint(ctx, e)
    if row is None or row["doc"]["closed_at"] is not None:
        return
    row["doc"].update(
        closed_at=ts(e.occurred_at), satisfaction=e.satisfaction, callback_outcome=e.outcome
    )
    _reach(row, 6, e.occurred_at)


def on_escalated(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintEscalated = event
    row = _complaint(ctx, e)
    if row is None:
        return
    row["doc"]["escalations"].append(
        {"at": ts(e.occurred_at), "escalated_to": e.escalated_to, "why": e.why}
    )
    if e.why == "sla_breached":
        row["doc"]["sla_breached"] = True
    if e.why == "apology_overdue":
        row["doc"]["apology_overdue"] = True


def on_apology_overdue(ctx: Context, event: Any, customer: Row) -> None:
    e: ApologyOverdue = event
    row = _complaint(ctx, e)
    if row is not None:
        row["doc"]["apology_overdue"] = True


def on_step_rejected(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintStepRejected = event
    row = _complaint(ctx, e)
    if row is not None:
        row["doc"]["rejections"].append(
            {"at": ts(e.occurred_at), "attempted": e.attempted, "why": e.why}
        )


def on_risk_flagged(ctx: Context, event: Any, customer: Row) -> None:
    e: ComplaintRiskFlagged = event
    customer["doc"]["stats"]["risk_flags"] += 1
    advisor, department = ctx.ref(e.dealership_id, e.repair_order_id)
    ctx.signal(e, customer, "risk_flag", advisor, department or "service")


# -- outreach ----------------------------------------------------------------------------------


def _followup_department(reason: str | None) -> str:
    if reason in SALES_REASONS:
        return "sales"
    if reason in SERVICE_REASONS:
        return "service"
    return "customer_care"


def _followup(ctx: Context, event: Any, customer: Row) -> Row:
    row = ctx.tx.get(FOLLOWUPS, event.dealership_id, event.follow_up_id)
    if row is None:
        row = {
            "dealership_id": event.dealership_id,
            "follow_up_id": event.follow_up_id,
            "customer_id": customer["customer_id"],
            "status": "open",
            "due_at": None,
            "done_at": None,
            "reason": None,
            "advisor_id": customer["advisor_id"],
            "department": "customer_care",
            "doc": {"planned_at": None, "outcome": None, "rules_applied": [], "detail": {}},
        }
    ctx.tx.put(FOLLOWUPS, row)
    return row


def on_followup_due(ctx: Context, event: Any, customer: Row) -> None:
    e: FollowUpDue = event
    row = _followup(ctx, e, customer)
    row.update(due_at=ts(e.due_at), reason=e.reason, department=_followup_department(e.reason))
    if e.complaint_id:
        complaint = ctx.tx.get(COMPLAINTS, e.dealership_id, e.complaint_id)
        if complaint is not None:
            row["department"] = complaint["department"]
            row["advisor_id"] = complaint["advisor_id"] or row["advisor_id"]
    row["doc"].update(
        planned_at=ts(e.occurred_at),
        channel=e.channel,
        detail=dict(e.detail),
        rules_applied=list(e.rules_applied),
        priority=e.priority,
        survey_id=e.survey_id,
        complaint_id=e.complaint_id,
        referral_id=e.referral_id,
        party=e.party,
        source=e.source,
    )


def on_followup_skipped(ctx: Context, event: Any, customer: Row) -> None:
    e: FollowUpSkipped = event
    row = _followup(ctx, e, customer)
    if row["status"] == "done":
        return
    row.update(status="skipped", reason=row["reason"] or e.reason)
    row["due_at"] = row["due_at"] or ts(e.occurred_at)
    row["doc"].update(skip_reason=e.skip_reason, skipped_at=ts(e.occurred_at))
    row["doc"]["detail"].update(e.detail)


def on_followup_completed(ctx: Context, event: Any, customer: Row) -> None:
    e: FollowUpCompleted = event
    row = _followup(ctx, e, customer)
    row.update(status="done", done_at=ts(e.occurred_at))
    row["due_at"] = row["due_at"] or ts(e.occurred_at)
    row["doc"].update(outcome=e.outcome, satisfaction=e.satisfaction, note=e.note)
    if e.satisfaction is not None and e.satisfaction <= ctx.settings.low_score_max:
        ctx.signal(e, customer, "low_callback_score", row["advisor_id"], row["department"])


# -- surveys -----------------------------------------------------------------------------------


def on_survey(ctx: Context, event: Any, customer: Row) -> None:
    e: SurveyAnswered = event
    advisor, department = ctx.ref(e.dealership_id, e.about)
    if e.survey_kind == "CSI":
        department = "service"
    elif e.survey_kind == "SSI":
        department = "sales"
    department = department or "general"
    advisor = advisor or customer["advisor_id"]
    ctx.tx.defer(
        "INSERT INTO surveys (event_id, dealership_id, customer_id, survey_id, kind, score,"
        " answered_at, advisor_id, department) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (event_id) DO NOTHING",
        (
            str(e.event_id),
            e.dealership_id,
            customer["customer_id"],
            e.survey_id,
            e.survey_kind,
            e.score,
            ts(e.occurred_at),
            advisor,
            department,
        ),
    )
    if e.score <= ctx.settings.low_score_max:
        ctx.signal(e, customer, f"low_{e.survey_kind.lower()}", advisor, department)


def on_survey_rejected(ctx: Context, event: Any, customer: Row) -> None:
    """Not a true answer (not invited, answered twice, someone else): out of the metrics."""
    e: SurveyAnswerRejected = event
    ctx.tx.execute("UPDATE surveys SET rejected = 1 WHERE event_id = ?", (str(e.causation_id),))
    ctx.tx.execute("DELETE FROM signals WHERE event_id = ?", (str(e.causation_id),))


# -- referrals ---------------------------------------------------------------------------------


def _referral(ctx: Context, event: Any) -> Row | None:
    row = ctx.tx.get(REFERRALS, event.dealership_id, event.referral_id)
    if row is not None:
        ctx.tx.put(REFERRALS, row)
    return row


def _check(row: Row, name: str, passed: bool, at: datetime, detail: str | None = None) -> None:
    checks: list[dict[str, Any]] = row["doc"]["checks"]
    checks[:] = [c for c in checks if c["name"] != name]
    checks.append({"name": name, "passed": passed, "at": ts(at), "detail": detail})


def on_referral_claimed(ctx: Context, event: Any, customer: Row) -> None:
    e: ReferralClaimed = event
    row = _referral(ctx, e)
    if row is None:
        row = {
            "dealership_id": e.dealership_id,
            "referral_id": e.referral_id,
            "customer_id": customer["customer_id"],
            "claimed_at": ts(e.occurred_at),
            "verdict": "pending",
            "advisor_id": customer["advisor_id"],
            "doc": {
                "claims": [],
                "checks": [],
                "callback": None,
                "rejection": None,
                "refusals": [],
                "reward": None,
                "referrer_customer_id": None,
            },
        }
        ctx.tx.put(REFERRALS, row)
    row["doc"]["claims"].append(
        {
            "at": ts(e.occurred_at),
            "event_id": str(e.event_id),
            "referrer": e.referrer.model_dump(mode="json"),
            "referrer_phone": _phone(e.referrer.phone),
            "vin": e.vin,
            "source": e.source,
        }
    )


def on_referral_callback(ctx: Context, event: Any, customer: Row) -> None:
    e: ReferralCallbackAnswered = event
    row = _referral(ctx, e)
    if row is None:
        return
    wrong = sum(1 for q in e.questions if not q.correct)
    row["doc"]["callback"] = {
        "at": ts(e.occurred_at),
        "answers": [q.model_dump(mode="json", exclude_none=True) for q in e.questions],
        "wrong": wrong,
    }


def on_referral_verified(ctx: Context, event: Any, customer: Row) -> None:
    e: ReferralVerified = event
    row = _referral(ctx, e)
    if row is None:
        return
    row["verdict"] = "verified"
    row["doc"]["referrer_customer_id"] = e.referrer_customer_id
    for name in ("registered_before_delivery", "referrer_known", "referrer_vehicle", "callback"):
        _check(row, name, True, e.occurred_at)
    row["doc"]["verified_at"] = ts(e.occurred_at)


def on_referral_rejected(ctx: Context, event: Any, customer: Row) -> None:
    e: ReferralRejected = event
    row = _referral(ctx, e)
    if row is None:
        return
    if e.reason in REFUSALS:  # a refused message, not a verdict on the referral
        row["doc"]["refusals"].append({"at": ts(e.occurred_at), "reason": e.reason})
        return
    row["verdict"] = "rejected"
    row["doc"]["rejection"] = {"at": ts(e.occurred_at), "reason": e.reason, "detail": e.detail}
    _check(row, REFERRAL_REJECTION_CHECK.get(e.reason, e.reason), False, e.occurred_at, e.detail)


def on_reward(ctx: Context, event: Any, customer: Row) -> None:
    e: RewardGranted = event
    row = _referral(ctx, e)
    if row is not None:
        row["doc"]["reward"] = {
            "at": ts(e.occurred_at),
            "kind": e.kind,
            "amount_cny": money(e.amount_cny),
            "referrer_customer_id": e.referrer_customer_id,
        }
        row["verdict"] = "rewarded"
    referrer = ctx.tx.get(CUSTOMERS, ctx.canonical(e.referrer_customer_id))
    if referrer is not None:
        referrer["doc"]["stats"]["referrals_rewarded"] += 1
        ctx.tx.put(CUSTOMERS, referrer)


Handler = Callable[[Context, Any, Row], None]

HANDLERS: dict[str, Handler] = {
    "CustomerRegistered": on_registered,
    "CustomerVisited": on_visited,
    "VehiclePurchased": on_purchased,
    "VehicleDelivered": on_delivered,
    "ServiceCompleted": on_service,
    "SmallPurchaseMade": on_small_purchase,
    "ServiceCheckedIn": on_checked_in,
    "RepairScopeChanged": on_scope_event,
    "ScopeChangeApproved": on_scope_event,
    "ScopeChangeDeclined": on_scope_event,
    "ScopeChangeBreached": on_scope_breached,
    "ContactPreferenceChanged": on_preference,
    "PhoneFlagged": on_phone_flagged,
    "CustomersMerged": on_merged,
    "ComplaintFiled": on_complaint_filed,
    "ApologyIssued": on_apology,
    "ComplaintInvestigated": on_investigated,
    "RemedyProposed": on_remedy_proposed,
    "RemedyRefused": on_remedy_refused,
    "RemedyAccepted": on_remedy_accepted,
    "RemedyRejected": on_remedy_rejected,
    "ComplaintResolved": on_resolved,
    "ComplaintClosed": on_closed,
    "ComplaintEscalated": on_escalated,
    "ApologyOverdue": on_apology_overdue,
    "ComplaintStepRejected": on_step_rejected,
    "ComplaintRiskFlagged": on_risk_flagged,
    "FollowUpDue": on_followup_due,
    "FollowUpSkipped": on_followup_skipped,
    "FollowUpCompleted": on_followup_completed,
    "SurveyAnswered": on_survey,
    "SurveyAnswerRejected": on_survey_rejected,
    "ReferralClaimed": on_referral_claimed,
    "ReferralCallbackAnswered": on_referral_callback,
    "ReferralVerified": on_referral_verified,
    "ReferralRejected": on_referral_rejected,
    "RewardGranted": on_reward,
}

_missing = set(EVENT_TYPES) - set(HANDLERS)
if _missing:  # a new event type must be given a projection (even "timeline only")
    raise RuntimeError(f"projections has no handler for {sorted(_missing)}")
