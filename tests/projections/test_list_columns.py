"""The lists' derived columns (tables.py) and search patterns, pure: what a live store and a
rebuild must both write, and what `q` turns into."""

from __future__ import annotations

from typing import Any

from services.projections.queries.customer_list import patterns
from services.projections.readmodels.context import new_customer_doc
from services.projections.tables import COMPLAINTS, CUSTOMERS, complaint_status, parse_ts


def customer(vehicles: dict[str, Any], **doc: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer_id": "c-1",
        "doc": new_customer_doc(parse_ts("2026-01-01T00:00:00Z")),
    }
    row["doc"].update(doc, vehicles=vehicles)
    return row


def test_search_holds_name_phone_digits_and_plates_whatever_the_documents_key_order() -> None:
    cars = {
        "LSGB0000000000002": {"vin": "LSGB0000000000002", "plate": "京B22222"},
        "LSGA0000000000001": {"vin": "LSGA0000000000001", "plate": "京A11111"},
        "LSGC0000000000003": {"vin": "LSGC0000000000003"},  # no plate sent
    }
    built = customer(cars, name="Wang 伟", phones=["+8613800138000"], plates=["沪C33333"])
    read_back = customer(
        dict(sorted(cars.items())), name="Wang 伟", phones=["+8613800138000"], plates=["沪C33333"]
    )
    assert CUSTOMERS.derive is not None
    CUSTOMERS.derive(built)
    CUSTOMERS.derive(read_back)
    assert (
        built["search"]
        == read_back["search"]
        == "wang 伟\n8613800138000\n沪c33333\n京a11111\n京b22222"
    )
    nameless = customer({}, phones=[])
    CUSTOMERS.derive(nameless)
    assert nameless["search"] == ""


def test_a_complaint_is_in_one_state() -> None:
    def row(**changes: Any) -> dict[str, Any]:
        doc = {"closed_at": None, "escalations": []} | changes.pop("doc", {})
        return {"resolved_at": None, "doc": doc} | changes

    escalation = [{"at": "2026-01-02T00:00:00.000000Z", "escalated_to": "manager", "why": "x"}]
    assert complaint_status(row()) == "open"
    assert complaint_status(row(doc={"escalations": escalation})) == "escalated"
    resolved = row(resolved_at="2026-01-03T00:00:00.000000Z", doc={"escalations": escalation})
    assert complaint_status(resolved) == "resolved"
    closed = row(
        resolved_at="2026-01-03T00:00:00.000000Z", doc={"closed_at": "2026-01-04T00:00:00.000000Z"}
    )
    assert complaint_status(closed) == "closed"
    assert COMPLAINTS.derive is not None
    COMPLAINTS.derive(closed)
    assert closed["status"] == "closed"


def test_a_search_is_its_text_its_phone_digits_and_its_plate_spelling() -> None:
    assert patterns("张伟") == ["%张伟%"]
    assert patterns(" 138-0013 ") == ["%138-0013%", "%1380013%"]
    assert patterns("京a·123") == ["%京a·123%", "%京a123%"]
    assert patterns("50%_off\\") == ["%50\\%\\_off\\\\%"]  # LIKE's specials escaped
    assert patterns("   ") == []
