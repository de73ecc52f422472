"""Referrals' wiring: RETENTION (durable 'referrals') → referral decisions on RETENTION."""

from __future__ import annotations

from typing import Any

from events import type_names
from laoke.clock import Clock
from laoke.consumer import Handler, Loads
from laoke.eventstore import ServiceApplication
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from services.referrals.application import HANDLED, Referrals
from services.referrals.rules import SERVICE
from services.referrals.settings import ReferralSettings


class ReferralsService(RetentionService):
    name = SERVICE

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        referral_settings: ReferralSettings | None = None,
    ) -> None:
        self.referral_settings = referral_settings or ReferralSettings()
        super().__init__(settings, clock)  # calls build_app() and handler()

    def build_app(self) -> ServiceApplication:
        app = ServiceApplication(self.settings, self.store_name)
        self.referrals = Referrals(app, self.referral_settings)
        return app

    def loads(self) -> Loads:
        return self.referrals.loads

    def handler(self) -> Handler:
        return self.referrals.handle

    def handles(self) -> frozenset[str]:
        return type_names(HANDLED)

    # -- reads (for an API or the tests) ---------------------------------------------------
    def referral(self, dealership_id: str, referral_id: str) -> dict[str, Any] | None:
        with self.app.lock:
            return self.referrals.referral(dealership_id, referral_id)

    def referrer_record(self, dealership_id: str, customer_id: str) -> dict[str, Any] | None:
        with self.app.lock:
            return self.referrals.referrer_record(dealership_id, customer_id)
