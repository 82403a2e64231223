"""LivenessRecognition (video + ID number/name) and LivenessCompare (video + a photo).

    params (every one, before any media) -> the one-time challenge is looked at (LIP code / ACTION
           order: this merchant's, unexpired, unused; not spent yet) -> intake (VideoBase64: <= 8 MB
           encoded, mp4/webm/avi by its leading bytes, nothing decoded) -> reference (the registry's ID
           photo for IdCard/Name, or the uploaded photo), checked before the video work -> the challenge
           is taken (once) -> read_capture (bounded: faceengine.VideoLimits) -> verify_capture (liveness,
           best frame, compare) -> Sim, Result, best frames
    A bad video or reference is answered without spending the challenge.

The pipeline is the sessions' (wx_backend/pipeline). Verdicts, and bad media or an engine failure,
go in ``Result`` (HTTP 200, as the cloud does); only Success, IdNameMisMatch and CompareLowSimilarity
are charged (the dispatcher decides from ``Result``).
"""
from __future__ import annotations

import base64
import json
import logging

from ..errors import BadRequest, Rejected, ServiceError
from ..pipeline import intake
from ..pipeline.challenge import ACTION_ORDERS, ACTION_SEQUENCE, LIVE_CODE, has_cloud, take_cloud
from ..pipeline.engine_errors import Stage, loaded
from ..pipeline.verify import Verdict, verify_capture
from ..registry.photo_verify import identity_reference, photo_template
from ..registry.store import today
from .photo_actions import identity_params, require_str
from .registry import ActionContext, action

log = logging.getLogger(__name__)

# Cloud LivenessType -> (faceengine mode, the challenge's kind, its key in the mode's challenge JSON).
MODES = {"LIP": ("lip", LIVE_CODE, "code"), "ACTION": ("action", ACTION_SEQUENCE, "sequence"),
         "SILENT": ("silent", None, None)}


def _best_frame_num(params: dict) -> int:
    """BestFrameNum from ``Optional`` ({"BestFrameNum": 2..10}); 0 when not asked for."""
    raw = params.get("Optional")
    if raw in (None, ""):
        return 0
    try:
        options = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise BadRequest("InvalidParameterValue", "Optional 必须是 JSON 对象字符串")
    n = options.get("BestFrameNum")
    if n is None:
        return 0
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= 10:
        raise BadRequest("InvalidParameterValue", "BestFrameNum 取值范围 2-10")
    return n


def _mode_and_challenge(params: dict) -> tuple[str, str]:
    mode = require_str(params, "LivenessType")
    if mode not in MODES:
        raise BadRequest("InvalidParameterValue", "LivenessType 取值 LIP/ACTION/SILENT")
    value = params.get("ValidateData") or ""
    if not isinstance(value, str):
        raise BadRequest("InvalidParameterValue", "ValidateData 必须是字符串")
    if mode == "LIP" and not (len(value) == 4 and value.isdigit()):
        raise BadRequest("InvalidParameterValue", "数字模式 ValidateData 为 GetLiveCode 获取的4位数字")
    if mode == "ACTION" and value not in ACTION_ORDERS:
        raise BadRequest("InvalidParameterValue", "动作模式 ValidateData 为 GetActionSequence 获取的动作顺序")
    return mode, value


_SPENT = "验证码/动作顺序无效、已过期或已使用，请重新获取"


def _check_challenge(ctx: ActionContext, mode: str, value: str) -> None:
    """Refuse a code or order that is not this merchant's, unused and unexpired; nothing is spent."""
    _, kind, _ = MODES[mode]
    if kind is not None and not has_cloud(ctx.services.challenges, ctx.merchant.id, kind, value, ctx.clock.now()):
        raise ServiceError("FailedOperation.ChallengeExpired", _SPENT)


def _take_challenge(ctx: ActionContext, mode: str, value: str) -> dict:
    """The challenge JSON the liveness check runs against ({} for SILENT); refuses a spent one."""
    engine_mode, kind, key = MODES[mode]
    if kind is None:
        return {}
    if not take_cloud(ctx.services.challenges, ctx.merchant.id, kind, value, ctx.clock.now()):
        raise ServiceError("FailedOperation.ChallengeExpired", _SPENT)
    return {key: value}


def _video(params: dict, max_encoded: int) -> intake.Video:
    if params.get("VideoUrl") and not params.get("VideoBase64"):
        # Fetching merchant-supplied URLs from inside the service is an SSRF door; not offered.
        raise ServiceError("UnsupportedOperation", "暂不支持 VideoUrl，请使用 VideoBase64")
    return intake.video_base64(require_str(params, "VideoBase64"), max_encoded)


def _verify(ctx: ActionContext, params: dict, reference_of) -> dict:
    """The shared flow; ``reference_of(engine) -> FaceTemplate`` (raises Rejected) is the comparison's side."""
    mode, value = _mode_and_challenge(params)
    frames_wanted = _best_frame_num(params)
    _check_challenge(ctx, mode, value)
    svc = ctx.services
    try:
        video = _video(params, ctx.settings.max_video_bytes)
        engine = loaded(svc.engine, Stage.LIVENESS)
        template = reference_of(engine)          # identity checks before the expensive video work
        challenge = _take_challenge(ctx, mode, value)
        capture = intake.read_capture(video.data, MODES[mode][0])
        kit = loaded(svc.liveness, Stage.LIVENESS)
        verdict = verify_capture(engine, kit, MODES[mode][0], challenge, capture, lambda: template,
                                 best_frames=max(1, frames_wanted))
    except Rejected as early:
        verdict = Verdict(early.result)
    return _body(verdict, frames_wanted)


def _body(verdict: Verdict, frames_wanted: int) -> dict:
    body: dict = {"Sim": verdict.sim if verdict.sim is not None else 0.0}
    if verdict.best_frames_jpeg:
        jpegs = [base64.b64encode(j).decode("ascii") for j in verdict.best_frames_jpeg]
        body["BestFrameBase64"] = jpegs[0]
        if frames_wanted:
            body["BestFrameList"] = jpegs[:frames_wanted]
    body.update(Result=verdict.result.tencent, Description=verdict.result.message)
    return body


@action("LivenessRecognition", product="live_verification")
def liveness_recognition(ctx: ActionContext, params: dict) -> dict:
    id_card, name = identity_params(params)

    def reference_of(engine):
        return identity_reference(engine, ctx.services.registry, id_card, name, today(ctx.clock))

    return _verify(ctx, params, reference_of)


@action("LivenessCompare", product="liveness")
def liveness_compare(ctx: ActionContext, params: dict) -> dict:
    if params.get("ImageUrl") and not params.get("ImageBase64"):
        raise ServiceError("UnsupportedOperation", "暂不支持 ImageUrl，请使用 ImageBase64")
    image = require_str(params, "ImageBase64")

    def reference_of(engine):    # the uploaded photo first: a bad photo is known before the video work
        return photo_template(engine, image, ctx.settings.max_image_bytes, reference=True)

    return _verify(ctx, params, reference_of)
