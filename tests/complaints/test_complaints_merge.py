"""Complaints follow `CustomersMerged`: later decisions go under the survivor (pure rules)."""

from __future__ import annotations

from typing import Any

from complaints_support import at, recorded

from services.complaints.aggregates import Complaint, CustomerComplaints
from services.complaints.customers import file_under, merge_customers, split_customers
from services.complaints.ids import APOLOGY, SLA
from services.complaints.rules import callback_completed, deadline_passed, decide
from services.complaints.settings import Policy

POLICY = Policy()
OLD, SURVIVOR = "c-old", "c-survivor"
DEALERSHIP = recorded("ComplaintFiled").dealership_id


def filed(customer_id: str = OLD, complaint_id: str = "CP-1") -> Complaint:
    outcome = decide(
        None, recorded("ComplaintFiled", complaint_id, customer_id=customer_id), POLICY
    )
    assert outcome.complaint is not None
    return outcome.complaint


def listed(customer_id: str, *complaints: Complaint) -> CustomerComplaints:
    listing = None
    for complaint in complaints:
        listing = file_under(listing, DEALERSHIP, customer_id, complaint.complaint_id)
    return listing or CustomerComplaints(dealership_id=DEALERSHIP, customer_id=customer_id)


def merged_into_survivor(*complaints: Complaint) -> tuple[CustomerComplaints, CustomerComplaints]:
    old, survivor = listed(OLD, *complaints), listed(SURVIVOR)
    merge_customers(survivor, [old], list(complaints))
    return old, survivor


def types(decisions: list[Any]) -> list[str]:
    return [d.event_type for d in decisions]


def test_filing_lists_the_complaint_under_its_customer_once() -> None:
    complaint = filed()
    listing = listed(OLD, complaint)
    assert file_under(listing, DEALERSHIP, OLD, "CP-1") is listing
    assert listing.complaint_ids == ["CP-1"]


def test_a_merge_moves_the_merged_customers_complaints_to_the_survivor() -> None:
    first, second = filed(complaint_id="CP-1"), filed(complaint_id="CP-2")
    bystander = filed(customer_id="c-other", complaint_id="CP-9")
    old, survivor = listed(OLD, first, second), listed(SURVIVOR)
    changed = merge_customers(survivor, [old], [first, second, bystander])
    assert {id(a) for a in changed} == {id(old), id(survivor), id(first), id(second)}
    assert (first.customer_id, second.customer_id) == (SURVIVOR, SURVIVOR)
    assert first.merged_from == [OLD]
    assert survivor.complaint_ids == ["CP-1", "CP-2"]
    assert old.merged_into == SURVIVOR and old.complaint_ids == []
    assert bystander.customer_id == "c-other"


def test_a_replayed_merge_changes_nothing() -> None:
    complaint = filed()
    old, survivor = merged_into_survivor(complaint)
    assert merge_customers(survivor, [old], [complaint]) == []
    assert complaint.merged_from == [OLD]


def test_merges_in_a_chain_end_at_the_last_survivor() -> None:
    complaint = filed()
    _, middle = merged_into_survivor(complaint)
    last = listed("c-last")
    merge_customers(last, [middle], [complaint])
    assert complaint.customer_id == "c-last" and complaint.merged_from == [OLD, SURVIVOR]
    assert last.complaint_ids == ["CP-1"]


def test_deadline_decisions_after_the_merge_are_under_the_survivor() -> None:
    complaint = filed()
    merged_into_survivor(complaint)
    decided = deadline_passed(complaint, APOLOGY, complaint.apology_due_at, POLICY).decisions
    decided += deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY).decisions
    assert types(decided) == ["ApologyOverdue", "ComplaintEscalated", "ComplaintEscalated"]
    assert {d.customer_id for d in decided} == {SURVIVOR}


def test_steps_under_the_survivors_id_reach_the_complaint_filed_under_the_old_id() -> None:
    complaint = filed()
    merged_into_survivor(complaint)
    decided: list[Any] = []
    for event_type, hours in (
        ("ApologyIssued", 0.5),
        ("ComplaintInvestigated", 1),
        ("RemedyProposed", 2),
        ("RemedyAccepted", 3),
    ):
        event = recorded(event_type, customer_id=SURVIVOR, occurred_at=at(hours=hours))
        decided += decide(complaint, event, POLICY).decisions
    assert complaint.step == 5
    rejected = decide(complaint, recorded("RemedyRejected", customer_id=SURVIVOR), POLICY)
    decided += rejected.decisions
    assert complaint.follow_up_id is not None
    callback = recorded(
        "FollowUpCompleted", follow_up_id=complaint.follow_up_id, customer_id=SURVIVOR
    )
    decided += callback_completed(complaint, callback, POLICY).decisions
    assert types(decided) == [
        "ComplaintClockSet",
        "ComplaintResolved",
        "ContactRequested",
        "ComplaintStepRejected",
        "ComplaintClosed",
    ]
    assert {d.customer_id for d in decided} == {SURVIVOR}


def test_without_the_merge_the_decisions_stay_under_the_filing_customer() -> None:
    """The control: the decisions follow the complaint's owner, not a step's customer id."""
    complaint = filed()
    decided = deadline_passed(complaint, APOLOGY, complaint.apology_due_at, POLICY).decisions
    assert {d.customer_id for d in decided} == {OLD}


def test_a_split_gives_the_restored_customer_its_complaints_back() -> None:
    before = filed(complaint_id="CP-1")  # filed under OLD, then merged
    mine = filed(customer_id=SURVIVOR, complaint_id="CP-2")  # the survivor's own
    old, survivor = listed(OLD, before), listed(SURVIVOR, mine)
    merge_customers(survivor, [old], [before])
    during = filed(customer_id=SURVIVOR, complaint_id="CP-3")  # OLD's phone, while merged
    survivor.add(complaint_ids=["CP-3"])

    split_customers(survivor, old, [before, mine, during], {str(during.filed_event_id)})

    assert (before.customer_id, during.customer_id, mine.customer_id) == (OLD, OLD, SURVIVOR)
    assert before.merged_from == [] and old.merged_into is None
    assert old.complaint_ids == ["CP-1", "CP-3"] and survivor.complaint_ids == ["CP-2"]
    # later decisions are recorded under the restored customer again
    outcome = decide(before, recorded("ApologyIssued", "CP-1", customer_id=OLD), POLICY)
    assert {d.customer_id for d in outcome.decisions} <= {OLD}


def test_a_split_inside_a_chain_returns_a_complaint_to_the_customer_it_passed_through() -> None:
    complaint = filed(customer_id="c-c", complaint_id="CP-C")
    c, b, a = listed("c-c", complaint), listed(OLD), listed(SURVIVOR)
    merge_customers(b, [c], [complaint])
    merge_customers(a, [b], [complaint])
    assert complaint.merged_from == ["c-c", OLD]
    split_customers(a, b, [complaint], set())  # B (with C still in it) leaves A
    assert complaint.customer_id == OLD and complaint.merged_from == ["c-c"]
