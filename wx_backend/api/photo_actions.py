"""Cloud API actions without video: GetLiveCode, GetActionSequence, IdCardVerification, ImageRecognitionV2."""
from __future__ import annotations

import logging

from ..errors import BadRequest, Rejected, ServiceError
from ..pipeline.challenge import ACTION_SEQUENCE, LIVE_CODE, issue_cloud
from ..pipeline.engine_errors import Stage, loaded
from ..registry.photo_verify import PhotoVerdict, verify_id_name, verify_photo
from ..registry.store import today
from .registry import ActionContext, action

log = logging.getLogger(__name__)

EXTRA_MAX_CHARS = 10


def refuse_encryption(params: dict) -> None:
    """The cloud's ``Encryption`` (envelope-encrypted IdCard/Name) is not offered: say so, don't misread."""
    if params.get("Encryption"):
        raise ServiceError("UnsupportedOperation", "暂不支持 Encryption 参数，请直接传入 IdCard 和 Name")


def identity_params(params: dict) -> tuple[str, str]:
    """IdCard and Name, in clear (the cloud's envelope encryption is refused)."""
    refuse_encryption(params)
    return require_str(params, "IdCard"), require_str(params, "Name")


def require_str(params: dict, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise BadRequest("MissingParameter", f"缺少参数 {name}")
    if not isinstance(value, str):
        raise BadRequest("InvalidParameterValue", f"{name} 必须是字符串")
    return value


@action("GetLiveCode", quick=True)
def get_live_code(ctx: ActionContext, params: dict) -> dict:
    return {"LiveCode": issue_cloud(ctx.services.challenges, ctx.merchant.id, LIVE_CODE, ctx.clock.now())}


@action("GetActionSequence", quick=True)
def get_action_sequence(ctx: ActionContext, params: dict) -> dict:
    sequence = issue_cloud(ctx.services.challenges, ctx.merchant.id, ACTION_SEQUENCE, ctx.clock.now())
    return {"ActionSequence": sequence}


@action("IdCardVerification", product="photo_verification")
def id_card_verification(ctx: ActionContext, params: dict) -> dict:
    id_card, name = identity_params(params)
    result = verify_id_name(ctx.services.registry, id_card, name, today(ctx.clock))
    return {"Result": result.tencent, "Description": result.message}


@action("ImageRecognitionV2", product="photo_verification")
def image_recognition_v2(ctx: ActionContext, params: dict) -> dict:
    id_card, name = identity_params(params)
    image = require_str(params, "ImageBase64")
    extra = params.get("Extra")
    if extra is not None and (not isinstance(extra, str) or len(extra) > EXTRA_MAX_CHARS):
        raise BadRequest("InvalidParameterValue", f"Extra 最长 {EXTRA_MAX_CHARS} 个字符")
    try:
        engine = loaded(ctx.services.engine, Stage.PHOTO)
    except Rejected as failed:
        verdict = PhotoVerdict(failed.result)
    else:
        verdict = verify_photo(engine, ctx.services.registry, id_card, name, image, today(ctx.clock),
                               ctx.settings.max_image_bytes)
    body = {"Sim": verdict.sim, "Result": verdict.result.tencent, "Description": verdict.description}
    if extra is not None:
        body["Extra"] = extra
    return body
