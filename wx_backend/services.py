"""The collaborators of this application instance: one frozen, typed ``Services``, built once in the
factory (``build_services``) before any feature registers.

Views fetch it with ``services()`` and hand what a step needs to domain code as arguments; domain code
never touches ``current_app``, ``request`` or ``g``. Nothing is added or swapped after the factory:
tests replace collaborators with ``create_app(settings, overrides={"engine": ...})``, and each named
collaborator is used instead of its default (a default that depends on it, such as the liveness kit
on the engine, is built on the replacement). ``dataclasses.replace(svc, ...)`` gives a variant for
code that takes a Services as an argument.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from flask import current_app

from .clock import Clock, SystemClock
from .crypto import Sealer
from .engine_holder import EngineHolder
from .settings import Settings

if TYPE_CHECKING:
    from .api.ratelimit import RateLimiter
    from .callbacks.safe_http import Resolver
    from .jobs import JobQueue
    from .merchants.sms import SmsGateway
    from .merchants.whitelist import Whitelist
    from .pipeline.challenge import ChallengeStore
    from .registry.store import AuthorityRegistry
    from .wechat.adapter import WeChatAdapter

EXTENSION_KEY = "wxfaceid"


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    sealer: Sealer
    engine: EngineHolder          # this process's FaceEngine, loaded once (after gunicorn's fork)
    liveness: EngineHolder        # this process's faceengine.LivenessKit, on that engine
    registry: "AuthorityRegistry"  # the authority ID-photo registry
    challenges: "ChallengeStore"  # one-time challenges of both front doors
    rate_limiter: "RateLimiter"   # per-merchant Cloud API QPS
    jobs: "JobQueue"              # background work (Huey)
    wechat: "WeChatAdapter"       # WeChat's server APIs
    sms: "SmsGateway"
    whitelist: "Whitelist"        # industry_whitelist.yaml
    callback_resolver: "Resolver"  # DNS for the merchants' callback URLs (checked against SSRF)
    callback_transport: Any       # None: a pinned HTTPS transport per delivery (callbacks.transport)
    # fn(session_ids) of features keeping rows per session (the callbacks' log): run by the retention
    # purge and by a merchant's deletion, in their transaction.
    session_erasers: tuple[Callable[[list[int]], None], ...]


def build_services(app, settings: Settings, clock: Clock | None = None,
                   overrides: dict[str, Any] | None = None) -> Services:
    """Every collaborator, built from the settings unless ``overrides`` names it. Raises ConfigError
    (a broken whitelist, an uncalibrated embedder) so that a bad configuration stops start-up."""
    from faceengine import LivenessKit

    from .api.ratelimit import build_rate_limiter
    from .callbacks import deliveries
    from .callbacks.safe_http import system_resolver
    from .engine_factory import engine_loader     # the face engine's code, imported only for an app
    from .jobs import JobQueue, build_huey
    from .merchants.sms import OutboxSmsGateway
    from .merchants.whitelist import load as load_whitelist
    from .pipeline.challenge import build_store
    from .registry.store import LocalRegistry
    from .wechat.adapter import WeChatAdapter

    given = dict(overrides or {})
    unknown = set(given) - {f.name for f in dataclasses.fields(Services)}
    if unknown:
        raise TypeError(f"unknown collaborators {sorted(unknown)}")

    def pick(name: str, default):
        return given.pop(name) if name in given else default()

    clock = pick("clock", lambda: clock or SystemClock())
    sealer = pick("sealer", lambda: Sealer(settings.data_key))
    engine = pick("engine", lambda: EngineHolder(engine_loader(settings)))
    return Services(
        settings=settings, clock=clock, sealer=sealer, engine=engine,
        liveness=pick("liveness", lambda: EngineHolder(
            lambda: LivenessKit(engine.get(), settings.onnx_pad_model_path))),
        registry=pick("registry", lambda: LocalRegistry(sealer, clock)),
        challenges=pick("challenges", lambda: build_store(settings.redis_url, sealer)),
        rate_limiter=pick("rate_limiter", lambda: build_rate_limiter(settings)),
        jobs=pick("jobs", lambda: JobQueue(build_huey(settings), app)),
        wechat=pick("wechat", lambda: WeChatAdapter.from_settings(settings)),
        sms=pick("sms", lambda: OutboxSmsGateway(clock)),
        whitelist=pick("whitelist", lambda: load_whitelist(settings.industry_whitelist_path)),
        callback_resolver=pick("callback_resolver", lambda: system_resolver),
        callback_transport=pick("callback_transport", lambda: None),
        session_erasers=pick("session_erasers", lambda: (deliveries.erase,)),
    )


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
