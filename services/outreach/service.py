"""Outreach's wiring: RETENTION (durable 'outreach') → contact plans → FollowUpDue & co."""

from __future__ import annotations

from events import type_names
from laoke.clock import Clock
from laoke.consumer import Handler, Loads
from laoke.deadlines import OnDeadline
from laoke.eventstore import ServiceApplication
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from services.outreach.application import HANDLED, SERVICE, Outreach
from services.outreach.settings import OutreachSettings


class OutreachService(RetentionService):
    name = SERVICE

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        outreach_settings: OutreachSettings | None = None,
    ) -> None:
        self.outreach_settings = outreach_settings or OutreachSettings()
        super().__init__(settings, clock)

    def build_app(self) -> ServiceApplication:
        app = ServiceApplication(self.settings, self.store_name)
        self.outreach = Outreach(app, self.outreach_settings, self.clock)
        return app

    def handler(self) -> Handler:
        return self.outreach.handle

    def on_deadline(self) -> OnDeadline | None:
        return self.outreach.on_deadline

    def loads(self) -> Loads:
        return self.outreach.loads

    def handles(self) -> frozenset[str]:
        return type_names(HANDLED)
