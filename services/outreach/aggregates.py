"""The outreach aggregates: a customer's contact plan, and a survey invitation (survey.py).

`ContactPlan` (one per dealership + customer) remembers what the contact rules need:
consent and opt-outs, birthdays, vehicles and their mileage, the last touchpoint, open
complaints, every follow-up planned (ours and other services'), wrong-number flags and the
deadline slots scheduled for it (one `Deadline` per plan: slots.py). State only: the
planner (planner.py) and the contact rules (rules.py) decide. No I/O, no clock: times come
in as arguments.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from events.preferences import CHANNELS, opt_outs_after, opt_outs_united
from services.outreach.parts import FollowUp, Person, Vehicle
from services.outreach.purposes import Blocked, from_legacy
from services.outreach.slots import slot_key
from services.outreach.survey import Survey, survey_aggregate_id

__all__ = [
    "ContactPlan",
    "FollowUp",
    "Person",
    "Survey",
    "Vehicle",
    "plan_id",
    "survey_aggregate_id",
]


@lru_cache(maxsize=4096)  # pure; asked several times a message for the same customer
def plan_id(dealership_id: str, customer_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:outreach:plan:{dealership_id}:{customer_id}")


class ContactPlan(Aggregate):
    @staticmethod
    def create_id(dealership_id: str, customer_id: str) -> UUID:
        return plan_id(dealership_id, customer_id)

    @event("Started")
    def __init__(self, dealership_id: str, customer_id: str) -> None:
        self.dealership_id = dealership_id
        self.customer_id = customer_id
        self.registered = False
        self.marketing_consent: bool | None = None
        self.channels: list[str] | None = None  # None: not told; phone assumed
        self.blocked: Blocked = {}  # purpose -> opted-out channels
        self.phones: list[str] = []
        self.flagged_phones: set[str] = set()
        self.people: list[Person] = []
        self.vehicles: dict[str, Vehicle] = {}
        self.last_touchpoint: datetime | None = None
        self.outbound_calls: list[datetime] = []  # manual calls staff logged (phone_out)
        self.open_complaints: set[str] = set()
        self.follow_ups: dict[str, FollowUp] = {}
        self.last_nps_at: datetime | None = None
        self.merged_ids: set[str] = set()
        self.merged_into: str | None = None
        # For a split: this plan's own preferences before it absorbed each customer, and the
        # preference changes since (event id, opt_out, channels, purposes).
        self.own_before: dict[str, dict[str, Any]] = {}
        self.preference_log: list[tuple[str | None, bool, list[str] | None, list[str] | None]] = []
        self.brought: dict[str, str] = {}  # "vin:…"/"complaint:…" -> the event, while merged
        self.deadlines: dict[str, str] = {}  # slot -> its key (`slot_key`)
        self.causes: dict[str, tuple[str, str]] = {}  # slot -> (event id, correlation id)
        self.fired: dict[str, datetime] = {}  # slot -> due_at last fired
        self.deadline_seq = 0
        self.own_deadlines: set[str] = set()  # slots with a Deadline each (older versions)

    # -- facts ---------------------------------------------------------------------------
    # The plan's most frequent events are explicit classes, triggered by plain methods:
    # an @event method's argument handling cost as much again as the event itself. Each
    # keeps the name, the fields and their order of the @event method it replaced, so it
    # stores the same and loads what that stored. A field with a default may be missing
    # from an older store's event (read without __init__): the class attribute stands in.
    class Registered(Aggregate.Event):
        name: str
        phones: list[str]
        birthday: str | None
        family: list[dict[str, str]]
        marketing: bool
        channels: list[str]
        touched_at: datetime | None = None

        def apply(self, plan: ContactPlan) -> None:
            plan.touch_at(self.touched_at)
            plan.registered = True
            plan.marketing_consent = self.marketing
            plan.channels = list(self.channels)
            plan.phones = list(dict.fromkeys([*self.phones, *plan.phones]))
            birthday = self.birthday
            people = [Person("self", self.name, date.fromisoformat(birthday))] if birthday else []
            people += [
                Person(m["relation"], m["name"], date.fromisoformat(m["birthday"]))
                for m in self.family
            ]
            plan.people = people

    def register(
        self,
        name: str,
        phones: list[str],
        birthday: str | None,
        family: list[dict[str, str]],
        marketing: bool,
        channels: list[str],
        touched_at: datetime | None = None,
    ) -> None:
        self.trigger_event(
            self.Registered,
            name=name,
            phones=phones,
            birthday=birthday,
            family=family,
            marketing=marketing,
            channels=channels,
            touched_at=touched_at,
        )

    @event("PreferenceChanged")
    def change_preference(
        self,
        opt_out: bool,
        channels: list[str] | None,
        purposes: list[str] | None = None,
        event_id: str | None = None,
    ) -> None:
        self.blocked = opt_outs_after(self.blocked, opt_out, channels, purposes)
        if self.merged_ids:  # whose it was matters if a merge is undone
            self.preference_log.append((event_id, opt_out, channels, purposes))

    @event("VehicleSold")
    def vehicle_sold(self, vin: str) -> None:
        """The car changed hands: its reminders are the next owner's."""
        self.vehicles.pop(vin, None)

    @event("OutboundCallLogged")
    def log_outbound_call(self, at: datetime) -> None:
        """A call staff made on their own (CustomerVisited phone_out): it counts for the cap."""
        self.outbound_calls = sorted({*self.outbound_calls, at})

    @event("Touched")
    def touch(self, at: datetime) -> None:
        """A touchpoint that changes the plan no other way (the others carry `touched_at`)."""
        self.touch_at(at)

    def vehicle(self, vin: str, event_id: str | None = None) -> Vehicle:
        self._bring(f"vin:{vin}", vin in self.vehicles, event_id)
        return self.vehicles.setdefault(vin, Vehicle(vin))

    def _bring(self, key: str, known: bool, event_id: str | None) -> None:
        """While merged, which event brought a car or a complaint (a split reads it)."""
        if self.merged_ids and event_id and not known:
            self.brought.setdefault(key, event_id)

    class VehiclePurchased(Aggregate.Event):
        vin: str
        at: datetime
        event_id: str | None = None
        touched_at: datetime | None = None

        def apply(self, plan: ContactPlan) -> None:
            plan.touch_at(self.touched_at)
            plan.vehicle(self.vin, self.event_id).purchased_at = self.at

    def vehicle_purchased(
        self,
        vin: str,
        at: datetime,
        event_id: str | None = None,
        touched_at: datetime | None = None,
    ) -> None:
        self.trigger_event(
            self.VehiclePurchased, vin=vin, at=at, event_id=event_id, touched_at=touched_at
        )

    @event("VehicleDelivered")
    def vehicle_delivered(
        self,
        vin: str,
        at: datetime,
        event_id: str | None = None,
        touched_at: datetime | None = None,
    ) -> None:
        self.touch_at(touched_at)
        self.vehicle(vin, event_id).delivered_at = at

    @event("Serviced")
    def serviced(
        self,
        vin: str,
        at: datetime,
        mileage_km: int,
        event_id: str | None = None,
        touched_at: datetime | None = None,
    ) -> None:
        self.touch_at(touched_at)
        car = self.vehicle(vin, event_id)
        car.mileage = sorted([*car.mileage, (at, mileage_km)])

    @event("ComplaintOpened")
    def open_complaint(self, complaint_id: str, event_id: str | None = None) -> None:
        self._bring(f"complaint:{complaint_id}", complaint_id in self.open_complaints, event_id)
        self.open_complaints.add(complaint_id)

    @event("ComplaintClosed")
    def close_complaint(self, complaint_id: str) -> None:
        self.open_complaints.discard(complaint_id)

    @event("PhoneFlagged")
    def flag_phone(self, phone: str) -> None:
        self.flagged_phones.add(phone)

    # -- follow-ups ----------------------------------------------------------------------
    class FollowUpPlanned(Aggregate.Event):
        follow_up: dict[str, Any]

        def apply(self, plan: ContactPlan) -> None:
            planned = FollowUp.from_dict(self.follow_up)
            plan.follow_ups[planned.follow_up_id] = planned

    def plan_follow_up(self, follow_up: dict[str, Any]) -> None:
        self.trigger_event(self.FollowUpPlanned, follow_up=follow_up)

    @event("FollowUpClosed")
    def close_follow_up(self, follow_up_id: str, outcome: str) -> None:
        self.follow_ups[follow_up_id].status = "done"
        self.follow_ups[follow_up_id].outcome = outcome

    @event("FollowUpCancelled")
    def cancel_follow_up(self, follow_up_id: str, why: str) -> None:
        self.follow_ups[follow_up_id].status = "cancelled"
        self.follow_ups[follow_up_id].outcome = why

    @event("FollowUpExpired")
    def expire_follow_up(self, follow_up_id: str, slot: str) -> None:
        self.follow_ups[follow_up_id].status = "expired"
        self.end_slot(slot)

    @event("NpsAsked")
    def nps_asked(self, at: datetime) -> None:
        self.last_nps_at = at

    # -- deadline slots ------------------------------------------------------------------
    @event("SlotScheduled")
    def schedule_slot(self, slot: str, key: str, cause_id: str, correlation_id: str) -> None:
        """A slot with a Deadline of its own (`key`): older versions'; kept to load them."""
        self.deadlines[slot] = key
        self.causes[slot] = (cause_id, correlation_id)
        self.deadline_seq += 1
        self.own_deadlines.add(slot)

    class SlotsScheduled(Aggregate.Event):
        """As of one cause: the slots no more wanted, and those new or due at another time
        (slot -> due_at ISO, in the order decided: it numbers their keys). Explicit (`reslot`
        triggers it at most messages: @event's argument handling cost as much again)."""

        due: dict[str, str]
        cleared: list[str]
        cause_id: str
        correlation_id: str

        def apply(self, plan: ContactPlan) -> None:
            for slot in self.cleared:
                plan.deadlines.pop(slot, None)
            for slot, due_at in self.due.items():
                plan.deadlines[slot] = slot_key(plan.id, slot, due_at, plan.deadline_seq)
                plan.causes[slot] = (self.cause_id, self.correlation_id)
                plan.deadline_seq += 1

    @event("SlotDeadlinesRetired")
    def retire_slot_deadlines(self) -> None:
        """The slots' own deadlines were cancelled: the plan's one deadline stands for them."""
        self.own_deadlines = set()

    @event("SlotCleared")
    def clear_slot(self, slot: str) -> None:
        self.end_slot(slot)

    @event("SlotFired")
    def slot_fired(self, slot: str, due_at: datetime) -> None:
        self.fired[slot] = due_at
        self.end_slot(slot)

    def end_slot(self, slot: str) -> None:
        self.deadlines.pop(slot, None)
        self.own_deadlines.discard(slot)  # fired, or cancelled before this was recorded

    # -- merging -------------------------------------------------------------------------
    @event("Absorbed")
    def absorb(self, other: dict[str, Any]) -> None:
        """Fold a duplicate's plan in (`other`: identity.exported): the most restrictive
        contact preference wins."""
        self.own_before[other["customer_id"]] = {
            "blocked": self.blocked,
            "marketing_consent": self.marketing_consent,
            "channels": self.channels,
            "people": list(self.people),
            "log_at": len(self.preference_log),
        }
        self.merged_ids |= {other["customer_id"], *other["merged_ids"]}
        theirs_blocked = other.get("blocked")
        if theirs_blocked is None:  # exported before purposes
            theirs_blocked = from_legacy(other["opted_out_all"], other["opted_out_channels"])
        self.blocked = opt_outs_united(self.blocked, theirs_blocked)
        calls = {datetime.fromisoformat(at) for at in other.get("outbound_calls", [])}
        self.outbound_calls = sorted({*self.outbound_calls, *calls})
        if other["marketing_consent"] is not None:
            mine = self.marketing_consent
            self.marketing_consent = other["marketing_consent"] and (mine is None or mine)
        if other["channels"] is not None:
            theirs = set(other["channels"])
            self.channels = (
                sorted(theirs)
                if self.channels is None
                else [c for c in self.channels if c in theirs]
            )
        self.registered = self.registered or other["registered"]
        self.phones = list(dict.fromkeys([*self.phones, *other["phones"]]))
        self.flagged_phones |= set(other["flagged_phones"])
        known = {(p.relation, p.name) for p in self.people}
        for relation, name, born in other["people"]:
            if (relation, name) not in known:
                self.people.append(Person(relation, name, date.fromisoformat(born)))
        for data in other["vehicles"]:
            theirs_v = Vehicle.from_dict(data)
            mine_v = self.vehicles.get(theirs_v.vin)
            if mine_v is None:
                self.vehicles[theirs_v.vin] = theirs_v
            else:
                mine_v.purchased_at = mine_v.purchased_at or theirs_v.purchased_at
                mine_v.delivered_at = mine_v.delivered_at or theirs_v.delivered_at
                mine_v.mileage = sorted(set(mine_v.mileage) | set(theirs_v.mileage))
        if other["last_touchpoint"]:
            self.touch_at(datetime.fromisoformat(other["last_touchpoint"]))
        self.open_complaints |= set(other["open_complaints"])
        for data in other["follow_ups"]:
            self.follow_ups.setdefault(data["follow_up_id"], FollowUp.from_dict(data))
        if other["last_nps_at"]:
            theirs_nps = datetime.fromisoformat(other["last_nps_at"])
            if self.last_nps_at is None or theirs_nps > self.last_nps_at:
                self.last_nps_at = theirs_nps

    def touch_at(self, at: datetime | None) -> None:
        if at is not None and (self.last_touchpoint is None or at > self.last_touchpoint):
            self.last_touchpoint = at

    @event("MergedInto")
    def merge_into(self, survivor_id: str) -> None:
        self.merged_into = survivor_id
        self.deadlines, self.own_deadlines = {}, set()  # cancelled before

    @event("Unmerged")
    def unmerge(self) -> None:
        self.merged_into = None

    @event("SplitOff")
    def split_off(self, restored: dict[str, Any], reattributed: list[str]) -> None:
        """Give a split customer's part back (`restored`: identity.exported, with what the
        re-attributed events brought: identity.py): this plan's own preferences and people
        to greet as before it absorbed them, plus its own preference changes since; their
        follow-ups, vehicles, open complaints and phones."""
        before = self.own_before.pop(restored["customer_id"], None)
        if before is not None:
            self.blocked = before["blocked"]
            self.marketing_consent = before["marketing_consent"]
            self.channels = before["channels"]
            self.people = before["people"]
            for event_id, opt_out, channels, purposes in self.preference_log[before["log_at"] :]:
                if event_id not in reattributed:
                    self.blocked = opt_outs_after(self.blocked, opt_out, channels, purposes)
        self.merged_ids -= {restored["customer_id"], *restored["merged_ids"]}
        for data in restored["follow_ups"]:
            self.follow_ups.pop(data["follow_up_id"], None)
        for vehicle in restored["vehicles"]:
            self.vehicles.pop(vehicle["vin"], None)
        self.open_complaints -= set(restored["open_complaints"])
        self.phones = [p for p in self.phones if p not in restored["phones"]]
        self.brought = {k: e for k, e in self.brought.items() if e not in reattributed}

    @event("TookBack")
    def take_back(self, part: dict[str, list[Any]]) -> None:
        """A split plan's part as the survivor's plan last recorded it (identity.py)."""
        self.vehicles = {v["vin"]: Vehicle.from_dict(v) for v in part["vehicles"]}
        for data in part["follow_ups"]:
            self.follow_ups[data["follow_up_id"]] = FollowUp.from_dict(data)
        self.open_complaints = set(part["open_complaints"])
        self.fired |= {slot: datetime.fromisoformat(at) for slot, at in part.get("fired", [])}

    @event("Erased")
    def erase(self) -> None:
        """The customer was erased: nothing more is planned; whom to call is forgotten."""
        self.phones, self.flagged_phones, self.people = [], set(), []
        self.deadlines, self.own_deadlines = {}, set()  # cancelled before

    # -- reading -------------------------------------------------------------------------
    def knows_customer(self, customer_id: str) -> bool:
        return customer_id == self.customer_id or customer_id in self.merged_ids

    def phone_reachable(self) -> bool:
        """False once every known phone was found wrong (or the only one was)."""
        if not self.flagged_phones:
            return True
        return any(p not in self.flagged_phones for p in self.phones)

    def counted_contacts(self) -> list[datetime]:
        """Times of the outbound contacts the cap counts: planned or made (first tries, by
        due time; not those cancelled or expired: never made) and the calls staff logged
        themselves."""
        planned = [
            f.due_at
            for f in self.follow_ups.values()
            if f.status not in ("cancelled", "expired") and f.attempt == 1
        ]
        return planned + list(self.outbound_calls)

    def opted_out(self, purpose: str, channel: str) -> bool:
        return channel in self.blocked.get(purpose, ())

    def opted_out_of(self, purpose: str) -> bool:
        """Opted out of `purpose` on every channel."""
        return len(self.blocked.get(purpose, ())) == len(CHANNELS)


# Stores written before the class moved here name it (and its events) by its old module:
# those topics still resolve, so such stores load as before.
register_topic("services.outreach.domain:ContactPlan", ContactPlan)
