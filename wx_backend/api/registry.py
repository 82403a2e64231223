"""The Cloud API 3.0 action registry: one decorator, one table, one handler contract.

Contract for every action handler (photo verification, liveness, verification sessions, ...):

    @action("ImageRecognitionV2", product="photo_verification")
    def image_recognition(ctx: ActionContext, params: dict) -> dict:
        ...
        return {"Sim": 87.2, "Result": "Success", "Description": "成功"}

* ``params`` is the decoded JSON request body (a dict; field names exactly as the cloud spells them).
* The handler returns the ``Response`` body WITHOUT ``RequestId`` (the dispatcher adds it).
* Errors: raise ``wx_backend.errors.ServiceError(code)`` (or BadRequest/NotFound/Refused) with a code from
  ``wx_backend.result_codes``; the dispatcher renders ``{"Response": {"Error": {"Code", "Message"},
  "RequestId"}}``. Never return an error dict by hand.
* Billing is decided by the result code, never by the handler: the code is the raised ServiceError's, or
  the returned body's ``"Result"`` field when present (verdict actions such as ImageRecognitionV2 report
  IdNameMisMatch / CompareLowSimilarity in ``Result`` with HTTP 200, as the cloud does), else ``Success``.
  When ``product`` is one of ``merchants.models.PRODUCTS`` the dispatcher checks quota BEFORE calling the
  handler (``UnauthorizedOperation.Arrears`` when none) and charges at most once afterwards if
  ``ResultCode.billable``. ``product=None`` means the action is never charged by the dispatcher (sessions
  charge through ``wx_backend.billing.charge`` themselves, keyed on BizToken + attempt).
* ``ctx`` is frozen: the merchant (already authenticated, approved, within its QPS limit), the RequestId,
  the injected clock, the application's Services and Settings. Handlers never touch flask's request/g.
* Every call leaves a usage record written by the dispatcher; its masked ID number comes from the
  request's ``IdCard`` field (handlers do not write usage records for their own call).
* ``quick=True`` (free actions only): the handler's database writes and the call's usage record commit
  in one transaction, one write-lock hold on SQLite instead of two. Only for handlers that do no slow
  work (GetLiveCode, GetActionSequence): on SQLite the lock is taken when the handler starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..clock import Clock
from ..merchants.models import PRODUCTS
from ..services import Services
from ..settings import Settings


@dataclass(frozen=True)
class ActionContext:
    merchant: Any            # wx_backend.merchants.models.Merchant (approved)
    request_id: str
    clock: Clock
    services: Services
    settings: Settings


Handler = Callable[[ActionContext, dict], dict]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    product: str | None      # a PRODUCTS value (charged per the rules above) or None (never charged here)
    handler: Handler
    quick: bool = False      # writes and usage record in one transaction (see above)


_ACTIONS: dict[str, ActionSpec] = {}


class DuplicateAction(Exception):
    pass


def action(name: str, product: str | None = None, quick: bool = False) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, params) -> dict`` as the Cloud API action ``name``."""
    if product is not None and product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r}; one of {PRODUCTS} or None")
    if quick and product is not None:
        raise ValueError("a charged action settles its charge outside the handler's transaction: not quick")

    def register(handler: Handler) -> Handler:
        existing = _ACTIONS.get(name)
        if existing is not None and existing.handler is not handler:
            # Re-importing the same module (e.g. importlib.reload in tests) re-registers the same name;
            # two different handlers for one action is a programming error.
            if (existing.handler.__module__, existing.handler.__qualname__) != (
                    handler.__module__, handler.__qualname__):
                raise DuplicateAction(f"action {name} is already registered by "
                                      f"{existing.handler.__module__}")
        _ACTIONS[name] = ActionSpec(name=name, product=product, handler=handler, quick=quick)
        return handler

    return register


def get_action(name: str) -> ActionSpec | None:
    return _ACTIONS.get(name)


def registered_actions() -> tuple[str, ...]:
    return tuple(sorted(_ACTIONS))
