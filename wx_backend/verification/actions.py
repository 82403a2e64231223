"""Cloud API actions of verification sessions: DetectAuth, GetDetectInfoEnhanced and DeleteDetectInfo
(ours: the merchant deletes one BizToken's data before the retention purge).

Both are registered with ``product=None``: creating or reading a session costs nothing; each
session is charged by itself, once, at its first billable verdict (key BizToken), see attempts.record_verdict.
"""
from __future__ import annotations

from ..api.registry import ActionContext, action
from ..errors import BadRequest, Refused
from ..pipeline import charge
from . import purge, results, sessions
from .attempts import PRODUCT


@action("DetectAuth", product=None)
def detect_auth(ctx: ActionContext, params: dict) -> dict:
    request = sessions.DetectAuthRequest.from_params(params)
    if not charge.has_quota(ctx.merchant.id, PRODUCT, ctx.clock.now()):
        raise Refused("UnauthorizedOperation.Arrears")
    created = sessions.create_session(ctx.merchant, request, settings=ctx.settings, clock=ctx.clock,
                                      sealer=ctx.services.sealer, request_id=ctx.request_id)
    return {"Url": created.url, "BizToken": created.biz_token}


@action("GetDetectInfoEnhanced", product=None)
def get_detect_info_enhanced(ctx: ActionContext, params: dict) -> dict:
    request = results.DetectInfoRequest.from_params(params)
    return results.detect_info(ctx.merchant, request, sealer=ctx.services.sealer, clock=ctx.clock)


@action("DeleteDetectInfo", product=None)
def delete_detect_info(ctx: ActionContext, params: dict) -> dict:
    """{"BizToken"} -> {"BizToken", "Deleted"}: Deleted is false when it had been purged or deleted."""
    token = params.get("BizToken")
    if not isinstance(token, str) or not token:
        raise BadRequest("MissingParameter", "缺少参数 BizToken")
    done = purge.delete_session(ctx.merchant.id, token, ctx.clock.now(), via="api",
                                erasers=ctx.services.session_erasers)
    return {"BizToken": done.biz_token, "Deleted": done.deleted}
