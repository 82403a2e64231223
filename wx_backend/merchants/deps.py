"""The collaborators onboarding services need, passed as one argument."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..api.ratelimit import RateLimiter
from ..clock import Clock, utc_naive
from ..crypto import Sealer
from ..services import Services
from ..settings import Settings
from .sms import SmsGateway
from .whitelist import Whitelist


@dataclass(frozen=True)
class OnboardingDeps:
    settings: Settings
    clock: Clock
    sealer: Sealer
    sms: SmsGateway
    whitelist: Whitelist
    limiter: RateLimiter      # throttles of the public form and the SMS cap

    @classmethod
    def from_services(cls, svc: Services) -> "OnboardingDeps":
        return cls(settings=svc.settings, clock=svc.clock, sealer=svc.sealer,
                   sms=svc.sms, whitelist=svc.whitelist, limiter=svc.rate_limiter)

    def now(self) -> dt.datetime:
        """Aware UTC now."""
        return self.clock.now()

    def now_naive(self) -> dt.datetime:
        """Naive UTC now, as stored."""
        return utc_naive(self.clock.now())
