"""The composition root's list of services: what `laoke run` starts, in start order.

Each entry names the service class and, where it serves HTTP, its router builder. Imports
are lazy so that one service can run in its own process without loading the others.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter

from laoke.clock import Clock
from laoke.partitions import PartitionGroup, owned_partitions
from laoke.settings import LaokeSettings


class Service(Protocol):
    name: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    service_class: str  # "module:Class"
    router_builder: str | None = None  # "module:function(service) -> APIRouter"

    def build(self, settings: LaokeSettings, clock: Clock) -> Service:
        cls: Any = _load(self.service_class)
        partitions = owned_partitions(settings)
        if getattr(cls, "one_partition_each", False) and len(partitions) > 1:
            return PartitionGroup(
                [
                    cls(settings.model_copy(update={"partitions_owned": [p.index]}), clock)
                    for p in partitions
                ]
            )
        service: Service = cls(settings, clock)
        return service

    def router(self, service: Service) -> APIRouter | None:
        if self.router_builder is None:
            return None
        build: Any = _load(self.router_builder)
        router: APIRouter = build(service)
        return router


def _load(target: str) -> object:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


# Consumers of RETENTION first, so that nothing intake records waits on a missing consumer;
# intake last among the NATS services, then the HTTP API serves them all.
SERVICES: tuple[ServiceEntry, ...] = (
    ServiceEntry(
        "projections",
        "services.projections.service:ProjectionsService",
        "services.projections.api:build_router",
    ),
    ServiceEntry("complaints", "services.complaints.service:ComplaintsService"),
    ServiceEntry("outreach", "services.outreach.service:OutreachService"),
    ServiceEntry("referrals", "services.referrals.service:ReferralsService"),
    ServiceEntry(
        "workshop",
        "services.workshop.service:WorkshopService",
        "services.workshop.api:build_router",
    ),
    ServiceEntry(
        "intake", "services.intake.service:IntakeService", "services.intake.api:build_router"
    ),
)


def entry(name: str) -> ServiceEntry:
    for candidate in SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no service {name!r}; known: {', '.join(s.name for s in SERVICES)}")
