"""The workshop's wiring: RETENTION (durable 'workshop') → repair orders, decisions, queue."""

from __future__ import annotations

from events import type_names
from laoke.clock import Clock
from laoke.consumer import Handler
from laoke.eventstore import ServiceApplication
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from laoke.threads import in_thread
from services.workshop.application import WORKSHOP_EVENTS, Workshop
from services.workshop.queue import WorkshopIndex
from services.workshop.rules import SERVICE, QueuedOrder
from services.workshop.settings import WorkshopSettings


class WorkshopService(RetentionService):
    name = SERVICE

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        workshop_settings: WorkshopSettings | None = None,
    ) -> None:
        # Set before the base class builds the app and asks for the handler.
        self.workshop_settings = workshop_settings or WorkshopSettings()
        self.index = WorkshopIndex()
        super().__init__(settings, clock)
        self.app.observers.append(self.index.observe)

    def build_app(self) -> ServiceApplication:
        app = ServiceApplication(self.settings, self.store_name)
        self.workshop = Workshop(app, self.workshop_settings)
        return app

    def handler(self) -> Handler:
        return self.workshop.handle

    def handles(self) -> frozenset[str]:
        return type_names(WORKSHOP_EVENTS)

    async def start(self) -> None:
        await in_thread(self.index.rebuild, self.app)
        await super().start()

    # -- reads (for the API) --------------------------------------------------------------
    def queue(self, dealership_id: str) -> list[QueuedOrder]:
        """Open orders of a dealership in its dispatch order."""
        return self.index.queue(dealership_id, self.workshop_settings.policy(dealership_id))

    def breaches(self, dealership_id: str) -> dict[str | None, list[str]]:
        return self.index.breaches(dealership_id)
