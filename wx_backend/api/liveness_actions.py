"""LivenessRecognition (video + ID number/name) and LivenessCompare (video + a photo).

    params -> one-time challenge (LIP code / ACTION order, this merchant's, unexpired, unused)
           -> video intake (base64, <= 8 MB encoded, mp4/webm/avi) -> [identity: ID, name, ID photo]
           -> liveness (faceengine.liveness) -> best frame -> compare -> Sim, Result, best frames

Verdicts go in ``Result`` (HTTP 200, as the cloud does); only Success, IdNameMisMatch and
CompareLowSimilarity are charged (the dispatcher decides from ``Result``). faceengine exceptions are
translated into result codes here (this is their boundary for videos).
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import tempfile
from pathlib import Path

from PIL import Image

from faceengine.errors import EngineUnavailable, FaceEngineError, MediaError

from ..errors import BadRequest, ServiceError
from ..liveness import kit_holder, read_capture, result_for, run_liveness
from ..registry import REGISTRY
from ..registry.photo_verify import PhotoVerdict, Probe, Rejected, compare, identity_reference, photo_template
from ..registry.store import today
from .challenges import ACTION_ORDERS, ACTION_SEQUENCE, CHALLENGES, LIVE_CODE
from .photo_actions import engine_or_verdict, refuse_encryption, require_str
from .registry import ActionContext, action

log = logging.getLogger(__name__)

# Cloud LivenessType -> (faceengine mode, the challenge's JSON key).
MODES = {"LIP": ("lip", "code"), "ACTION": ("action", "sequence"), "SILENT": ("silent", None)}
# Leading bytes of the accepted containers.
_MP4_BRANDS = (b"ftyp",)
_WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


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


def _consume_challenge(ctx: ActionContext, mode: str, value: str) -> None:
    if mode == "SILENT":
        return
    kind = LIVE_CODE if mode == "LIP" else ACTION_SEQUENCE
    if not ctx.services.extras[CHALLENGES].consume(ctx.merchant.id, kind, value, ctx.clock.now()):
        raise ServiceError("FailedOperation.ChallengeExpired",
                           "验证码/动作顺序无效、已过期或已使用，请重新获取")


def _video_bytes(params: dict, max_encoded: int) -> bytes:
    if params.get("VideoUrl") and not params.get("VideoBase64"):
        # Fetching merchant-supplied URLs from inside the service is an SSRF door; not offered.
        raise ServiceError("UnsupportedOperation", "暂不支持 VideoUrl，请使用 VideoBase64")
    text = require_str(params, "VideoBase64")
    if len(text) > max_encoded:
        raise Rejected("FailedOperation.LipSizeError")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Rejected("FailedOperation.LipVideoInvalid") from None
    if not data:
        raise Rejected("FailedOperation.LipSizeError")
    is_mp4 = data[4:8] in _MP4_BRANDS
    is_webm = data.startswith(_WEBM_MAGIC)
    is_avi = data[:4] == b"RIFF" and data[8:12] == b"AVI "
    if not (is_mp4 or is_webm or is_avi):
        raise Rejected("FailedOperation.LipVideoInvalid")
    return data


def _jpeg_b64(image_rgb) -> str:
    buf = io.BytesIO()
    Image.fromarray(image_rgb).save(buf, format="JPEG", quality=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _run_liveness(ctx: ActionContext, mode: str, challenge: str, video: bytes):
    """(LivenessResult, frames); raises Rejected for undecodable media and engine failures."""
    engine_mode, key = MODES[mode]
    payload = {key: challenge} if key else {}
    with tempfile.TemporaryDirectory(prefix="wxf-video-") as tmp:
        path = Path(tmp) / "capture"
        path.write_bytes(video)
        try:
            frames, audio = read_capture(path, engine_mode)
            kit = kit_holder(ctx.services).get()
            return run_liveness(kit, engine_mode, payload, frames, audio), frames
        except MediaError:
            raise Rejected("FailedOperation.LipVideoInvalid") from None
        except EngineUnavailable as exc:
            log.error("liveness unavailable: %s", exc)
            raise Rejected("FailedOperation.LivessSystemError") from None
        # MediaPipe reports a failed graph run as RuntimeError; it enters our code here.
        except (FaceEngineError, RuntimeError) as exc:
            log.error("liveness could not evaluate: %s", type(exc).__name__)
            raise Rejected("FailedOperation.LivessUnknownError") from None


def _verify(ctx: ActionContext, params: dict, reference_of) -> dict:
    """Shared flow; ``reference_of(engine, probe: Probe | None) -> PhotoVerdict | None`` does the comparison
    side (called first with None to check the reference before the video work)."""
    mode, challenge = _mode_and_challenge(params)
    frames_wanted = _best_frame_num(params)
    _consume_challenge(ctx, mode, challenge)
    body: dict = {"Sim": 0.0}
    try:
        video = _video_bytes(params, ctx.settings.max_video_bytes)
        engine, failed = engine_or_verdict(ctx, "FailedOperation.LivessSystemError")
        if failed is not None:
            raise Rejected(failed.result.tencent)
        early = reference_of(engine, None)      # identity checks before the expensive video work
        if early is not None:
            raise Rejected(early.result.tencent)
        result, frames = _run_liveness(ctx, mode, challenge, video)
        if not result.passed:
            verdict = PhotoVerdict(result_for(result.code))
        else:
            best = [frames[b.index].image_rgb for b in result.best_frames if 0 <= b.index < len(frames)]
            if not best:
                raise Rejected("FailedOperation.LivessBestFrameError")
            body["BestFrameBase64"] = _jpeg_b64(best[0])
            if frames_wanted:
                body["BestFrameList"] = [_jpeg_b64(img) for img in best[:frames_wanted]]
            try:
                analysis = engine.analyse(best[0])
            except FaceEngineError:
                raise Rejected("FailedOperation.LivessBestFrameError") from None
            if analysis.template is None:
                raise Rejected("FailedOperation.LivessBestFrameError")
            verdict = reference_of(engine, Probe(best[0], analysis))
    except Rejected as v:
        verdict = PhotoVerdict(v.result)
    body.update(Sim=verdict.sim, Result=verdict.result.tencent, Description=verdict.description)
    return body


@action("LivenessRecognition", product="live_verification")
def liveness_recognition(ctx: ActionContext, params: dict) -> dict:
    refuse_encryption(params)
    id_card, name = require_str(params, "IdCard"), require_str(params, "Name")
    reference = {}

    def reference_of(engine, probe):
        if probe is None:
            try:
                reference["template"] = identity_reference(engine, ctx.services.extras[REGISTRY], id_card, name,
                                                           today(ctx.clock))
            except Rejected as verdict:
                return PhotoVerdict(verdict.result)
            return None
        return compare(engine, probe, reference["template"])

    return _verify(ctx, params, reference_of)


@action("LivenessCompare", product="liveness")
def liveness_compare(ctx: ActionContext, params: dict) -> dict:
    if params.get("ImageUrl") and not params.get("ImageBase64"):
        raise ServiceError("UnsupportedOperation", "暂不支持 ImageUrl，请使用 ImageBase64")
    image = require_str(params, "ImageBase64")

    reference = {}

    def reference_of(engine, probe):
        if probe is None:     # the uploaded photo first: a bad photo is known before the video work
            try:
                reference["template"] = photo_template(engine, image, ctx.settings.max_image_bytes,
                                                       reference=True)
            except Rejected as verdict:
                return PhotoVerdict(verdict.result)
            return None
        return compare(engine, probe, reference["template"])

    return _verify(ctx, params, reference_of)
