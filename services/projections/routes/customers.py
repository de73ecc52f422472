"""`/v1/customers`: a profile by id, a lookup by phone or VIN, a timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from events import normalise_phone
from laoke.httpauth import DealershipsToSearch, ReadableDealerships
from services.projections.models import CustomerListPublic, CustomerPublic, TimelinePublic
from services.projections.queries import customers as queries
from services.projections.routes.common import (
    Offset,
    PageLimit,
    as_json,
    bad_param,
    not_found,
    v1_router,
)
from services.projections.service import ProjectionsService

VIN_QUERY_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"


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

    @router.get("/customers", response_model=CustomerListPublic, tags=["customers"])
    def lookup_customers(
        dealerships: DealershipsToSearch,
        phone: Annotated[
            str | None, Query(max_length=64, description="Any format of the number.")
        ] = None,
        vin: Annotated[str | None, Query(pattern=VIN_QUERY_PATTERN, description="A VIN.")] = None,
    ) -> Response:
        """The customers holding a phone number or a VIN (one per dealership at most)."""
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
