"""Complaints' wiring: RETENTION (durable 'complaints') → decisions on RETENTION; deadlines."""

from __future__ import annotations

from events import type_names
from laoke.clock import Clock
from laoke.consumer import Handler
from laoke.deadlines import OnDeadline
from laoke.eventstore import ServiceApplication
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from services.complaints.application import HANDLED, Complaints
from services.complaints.calendar import public_holidays
from services.complaints.rules import SERVICE
from services.complaints.settings import ComplaintSettings


class ComplaintsService(RetentionService):
    name = SERVICE

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        complaint_settings: ComplaintSettings | None = None,
    ) -> None:
        self.complaint_settings = complaint_settings or ComplaintSettings()
        super().__init__(settings, clock)

    def build_app(self) -> ServiceApplication:
        app = ServiceApplication(self.settings, self.store_name)
        self.complaints = Complaints(app, self.complaint_settings)
        # The `holidays` package loads China's table on first use (about a second): here,
        # not in the first complaint's handler.
        public_holidays(self.clock.now().year)
        return app

    def handler(self) -> Handler:
        return self.complaints.handle

    def handles(self) -> frozenset[str]:
        return type_names(HANDLED)

    def on_deadline(self) -> OnDeadline | None:
        return self.complaints.on_deadline
