"""Cloud API actions of verification sessions: DetectAuth and GetDetectInfoEnhanced.

Both are registered with ``product=None``: creating or reading a session costs nothing; each
attempt's verdict is charged by the session itself (key BizToken:seq), see attempts.record_verdict.
"""
from __future__ import annotations

from ..api.registry import ActionContext, action
from ..billing import ledger
from ..errors import Refused
from . import results, sessions
from .attempts import PRODUCT


@action("DetectAuth", product=None)
def detect_auth(ctx: ActionContext, params: dict) -> dict:
    request = sessions.DetectAuthRequest.from_params(params)
    if not ledger.has_quota(ctx.merchant.id, PRODUCT, ctx.clock.now()):
        raise Refused("UnauthorizedOperation.Arrears")
    created = sessions.create_session(ctx.merchant, request, settings=ctx.settings, clock=ctx.clock,
                                      sealer=ctx.services.sealer)
    return {"Url": created.url, "BizToken": created.biz_token}


@action("GetDetectInfoEnhanced", product=None)
def get_detect_info_enhanced(ctx: ActionContext, params: dict) -> dict:
    request = results.DetectInfoRequest.from_params(params)
    return results.detect_info(ctx.merchant, request, sealer=ctx.services.sealer, clock=ctx.clock)
