"""`GET /v1/metrics/retention` end to end (intake and projections on a real nats-server):
a month's new customers by how they first came, and the customers lost in it by what their
last months show, as the store holds them; cut by advisor."""

from __future__ import annotations

from typing import Any

from projections_helpers import DEALERSHIP, Rig


def days(n: float) -> float:
    return 24 * n


class People:
    """Customers of the story, each under a phone and a VIN of their own."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig

    async def send(self, event_type: str, phone: str, day: float, **fields: Any) -> None:
        vin = f"LSGKB54E0K{phone[-7:]}"
        if event_type in ("VehiclePurchased", "ServiceCompleted", "ComplaintFiled"):
            fields.setdefault("vin", vin)
        if event_type in ("ServiceCompleted", "ComplaintFiled"):
            fields.setdefault("repair_order_id", f"RO-{phone}-{day}")
        await self.rig.send(
            event_type, customer={"phone": phone}, occurred_at=self.rig.at(days(day)), **fields
        )

    async def register(self, phone: str, day: float, advisor: str = "adv-1") -> None:
        await self.send("CustomerRegistered", phone, day, phones=[phone], advisor_id=advisor)

    async def owner(self, phone: str, advisor: str = "adv-1") -> None:
        """Registered and bought a car 400 days ago."""
        await self.register(phone, -400, advisor)
        await self.send("VehiclePurchased", phone, -399, advisor_id=advisor)


async def test_new_and_lost_customers_of_a_month(rig: Rig) -> None:
    people = People(rig)
    # New this month: at an owners' club event; walked in, then named by a referral claim
    # and bought; phoned in.
    await people.send("CustomerVisited", "13800000011", -10, visit_kind="event", advisor_id="adv-1")
    await people.register("13800000011", -9.9)
    await people.send(
        "CustomerVisited", "13800000012", -9, visit_kind="showroom", advisor_id="adv-2"
    )
    await people.send(
        "ReferralClaimed", "13800000012", -8.9, referral_id="rf-12", vin="LSGKB54E0K0000012"
    )
    await people.send("VehiclePurchased", "13800000012", -5, advisor_id="adv-2")
    await people.send(
        "CustomerVisited", "13800000013", -8, visit_kind="phone_in", advisor_id="adv-1"
    )
    # Lost this month (last touchpoint 181-211 days ago): serviced and never called
    # (neglected); called by us last (a last call); complained (a complaint 60 days before
    # their last service).
    await people.owner("13800000014")
    await people.send("ServiceCompleted", "13800000014", -200)
    await people.owner("13800000015", advisor="adv-2")
    await people.send("CustomerVisited", "13800000015", -195, visit_kind="phone_out")
    await people.owner("13800000016")
    await people.send("ComplaintFiled", "13800000016", -250, complaint_id="CP-16")
    await people.send("ServiceCompleted", "13800000016", -190)
    # Not lost: a prospect who never bought (no customer to lose), one still in touch, one
    # lost before the month.
    await people.register("13800000017", -400)
    await people.send("CustomerVisited", "13800000017", -300, visit_kind="showroom")
    await people.owner("13800000018")
    await people.send("ServiceCompleted", "13800000018", -100)
    await people.owner("13800000019")
    await people.send("ServiceCompleted", "13800000019", -215)
    await rig.settled()

    period = {"from": rig.at(days(-30)), "to": rig.at(0)}
    body = await rig.get("/v1/metrics/retention", dealership_id=DEALERSHIP, **period)
    assert body["lapse_days"] == 180 and body["dealership_id"] == DEALERSHIP
    (month,) = body["groups"]
    came = month["acquisition"]
    assert (came["new_customers"], came["bought"]) == (3, 1)
    counts = {name: came[name]["customers"] for name in SOURCES}
    assert counts == {"referred": 1, "event": 1, "walk_in": 0, "phoned_in": 1, "other": 0}
    assert came["referred"] == {"customers": 1, "share": 0.3333, "bought": 1}
    lost = month["lost"]
    assert lost["customers"] == 3
    causes = {name: lost[name]["numerator"] for name in CAUSES}
    assert causes == {
        "complained": 1,
        "dissatisfied": 0,
        "last_call": 1,
        "neglected": 1,
        "contacted": 0,
    }
    assert lost["neglected_share"] == {"numerator": 1, "denominator": 2, "rate": 0.5}

    cut = await rig.get(
        "/v1/metrics/retention", dealership_id=DEALERSHIP, group_by="advisor", **period
    )
    groups = {g["advisor_id"]: g for g in cut["groups"]}
    assert set(groups) == {"adv-1", "adv-2"}
    assert groups["adv-2"]["lost"]["last_call"]["numerator"] == 1
    assert groups["adv-2"]["acquisition"]["referred"]["customers"] == 1
    assert groups["adv-1"]["lost"]["customers"] == 2

    bad = await rig.get(
        "/v1/metrics/retention", 422, dealership_id=DEALERSHIP, group_by="branch", **period
    )
    assert bad["field"] == "group_by"


async def test_history_that_arrives_late_makes_no_new_customer(rig: Rig) -> None:
    """A customer is first seen at their earliest event, whatever order the events come in:
    an owner who phoned in this month and whose purchase of 400 days ago is imported after
    is not new this month, and was new when they registered."""
    people = People(rig)
    await people.send(
        "CustomerVisited", "13800000021", -3, visit_kind="phone_in", advisor_id="adv-1"
    )
    await people.owner("13800000021")  # (the import: registered -400, bought -399)
    await rig.settled()

    month = {"from": rig.at(days(-30)), "to": rig.at(0)}
    body = await rig.get("/v1/metrics/retention", dealership_id=DEALERSHIP, **month)
    assert body["groups"][0]["acquisition"]["new_customers"] == 0
    then = {"from": rig.at(days(-401)), "to": rig.at(days(-371))}
    body = await rig.get("/v1/metrics/retention", dealership_id=DEALERSHIP, **then)
    came = body["groups"][0]["acquisition"]
    assert (came["new_customers"], came["other"]["customers"], came["bought"]) == (1, 1, 1)


SOURCES = ("referred", "event", "walk_in", "phoned_in", "other")
CAUSES = ("complained", "dissatisfied", "last_call", "neglected", "contacted")
