"""`/v1/customers`: a profile by id, a lookup by phone or VIN, the customer list (search,
class, neglect), a timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from events import normalise_phone
from laoke.csvstream import CSV_OPENAPI, columns_of, csv_response
from laoke.httpauth import DealershipsToSearch, ReadableDealerships, missing_dealership
from services.projections.listmodels import CustomerPagePublic, CustomerSummaryPublic
from services.projections.models import (
    CustomerClassName,
    CustomerListPublic,
    CustomerPublic,
    TimelinePublic,
)
from services.projections.queries import customer_list
from services.projections.queries import customers as queries
from services.projections.routes.common import (
    CSV_CHUNK,
    Cursor,
    Offset,
    PageLimit,
    as_json,
    bad_param,
    csv_wanted,
    not_found,
    position,
    v1_router,
)
from services.projections.service import ProjectionsService

VIN_QUERY_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"
CSV_COLUMNS = columns_of(CustomerSummaryPublic)
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00]*$",
        description="A fragment of the name, of a phone number (any format) or of a plate.",
    ),
]
ClassFilter = Annotated[
    CustomerClassName | None, Query(alias="class", description="Only customers of this class.")
]
NeglectFilter = Annotated[
    bool | None,
    Query(description="true: only customers without a touchpoint for the neglect window;"
          " false: only the others."),
]  # fmt: skip


def identity(phone: str | None, vin: str | None) -> tuple[str, str]:
    """The identity looked up: ("phone", normalised number) or ("vin", upper case)."""
    if (phone is None) == (vin is None):
        raise bad_param("phone", "give exactly one of phone or vin")
    if phone is None:
        assert vin is not None
        return "vin", vin.upper()
    try:
        return "phone", normalise_phone(phone)
    except ValueError:
        raise bad_param("phone", f"{phone[:64]!r} is not a valid phone number") from None


def customers_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get("/customers/{customer_id}", response_model=CustomerPublic, tags=["customers"])
    def get_customer(customer_id: str, readable: ReadableDealerships) -> Response:
        """Profile, class (explained), advisor, last touchpoint. A merged id answers with the
        survivor's profile; `merged_into` then names the survivor."""
        now = service.clock.now()
        found = queries.customer(service.store, customer_id, now, settings, readable)
        if found is None:
            raise not_found(f"no customer {customer_id!r}")
        return as_json(found)

    @router.get(
        "/customers",
        response_model=CustomerListPublic | CustomerPagePublic,
        responses=CSV_OPENAPI,
        tags=["customers"],
    )
    def lookup_customers(
        request: Request,
        dealerships: DealershipsToSearch,
        phone: Annotated[
            str | None, Query(max_length=64, description="Any format of the number.")
        ] = None,
        vin: Annotated[str | None, Query(pattern=VIN_QUERY_PATTERN, description="A VIN.")] = None,
        q: Search = None,
        customer_class: ClassFilter = None,
        neglected: NeglectFilter = None,
        limit: PageLimit = 500,
        cursor: Cursor = None,
    ) -> Response:
        """With `phone` or `vin`: the customers holding it (one per dealership at most;
        `CustomerListPublic`, 404 when none). Otherwise the dealership's customer list
        (`CustomerPagePublic`), by customer id: `q` searches the name, a phone fragment or
        a plate; `class` and `neglected` filter; paged by `cursor` → `next_cursor`;
        `Accept: text/csv` streams every customer from the cursor on."""
        if phone is not None or vin is not None:
            return lookup(dealerships, phone, vin, q, customer_class, neglected, cursor)
        if dealerships is None or len(dealerships) != 1:
            raise missing_dealership()  # (a list is of one dealership: named, or the key's)
        (dealership_id,) = dealerships
        page = customer_list.CustomerList(
            dealership_id=dealership_id,
            now=service.clock.now(),
            limit=min(limit, settings.max_page),
            q=q,
            customer_class=customer_class,
            neglected=neglected,
            after=position(cursor, *customer_list.CURSOR_CHECKS),
        )
        if csv_wanted(request):
            items = customer_list.customer_chunks(service.store, page, settings.classes, CSV_CHUNK)
            return csv_response(CSV_COLUMNS, items, f"customers-{dealership_id}")
        return as_json(customer_list.customer_list(service.store, page, settings.classes))

    def lookup(
        dealerships: frozenset[str] | None,
        phone: str | None,
        vin: str | None,
        *list_params: object,
    ) -> Response:
        for name, value in zip(("q", "class", "neglected", "cursor"), list_params, strict=True):
            if value is not None:
                raise bad_param(name, "a lookup by phone or VIN takes no list parameters")
        kind, value = identity(phone, vin)
        now = service.clock.now()
        customers: dict[str, CustomerPublic] = {}
        for customer_id in queries.lookup(service.store, kind, value, dealerships):
            found = queries.customer(service.store, customer_id, now, settings, dealerships)
            if found is not None:
                customers.setdefault(found.customer_id, found)
        if not customers:
            raise not_found(f"no customer with {kind} {value}")
        return as_json(CustomerListPublic(customers=list(customers.values())))

    @router.get(
        "/customers/{customer_id}/timeline", response_model=TimelinePublic, tags=["customers"]
    )
    def get_timeline(
        customer_id: str,
        readable: ReadableDealerships,
        offset: Offset = 0,
        limit: PageLimit = 1000,
    ) -> Response:
        """Every event about the customer (merged ids included), oldest first."""
        page = min(limit, settings.max_page)
        found = queries.timeline(service.store, customer_id, offset, page, readable)
        if found is None:
            raise not_found(f"no customer {customer_id!r}")
        return as_json(found)

    return router
