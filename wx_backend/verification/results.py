"""GetDetectInfoEnhanced: the merchant's view of a session, shaped like the cloud's response.

``Text`` follows DetectInfoText (ErrCode, ErrMsg, IdCard, Name, LiveStatus, LiveMsg, Comparestatus,
Comparemsg, Sim, Extra, LivenessDetail, LivenessMode, CompareLibType); ``BestFrame`` follows
DetectInfoBestFrame. The overall result is the successful attempt when there is one, else the
latest attempt with a verdict.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from ..clock import Clock, utc_naive
from ..crypto import Sealer
from ..errors import BadRequest, NotFound, Refused
from ..result_codes import lookup
from .attempts import MAX_BEST_FRAMES, open_frames
from .models import DONE, PENDING, PURGED, Attempt, VerificationSession

# DetectInfoText.LivenessMode: 1 digit, 2 action, 3 silent, 4 light (一闪).
LIVENESS_MODE_NUMBER = {"lip": 1, "action": 2, "silent": 3, "light": 4}
INFO_ALL, INFO_TEXT, INFO_ID_CARD, INFO_BEST_FRAME, INFO_VIDEO = "0", "1", "2", "3", "4"
PURGED_MESSAGE = "结果已删除（超过保存期限或商户已删除）"


@dataclass(frozen=True)
class DetectInfoRequest:
    biz_token: str
    rule_id: str
    info_type: str = INFO_ALL
    best_frames_count: int | None = None    # None (not sent): all that are kept, at most MAX_BEST_FRAMES

    @classmethod
    def from_params(cls, params: dict) -> "DetectInfoRequest":
        token, rule = params.get("BizToken"), params.get("RuleId")
        if not isinstance(token, str) or not token:
            raise BadRequest("MissingParameter", "缺少参数 BizToken")
        if not isinstance(rule, str) or not rule:
            raise BadRequest("MissingParameter", "缺少参数 RuleId")
        info = params.get("InfoType", INFO_ALL)
        info = str(info) if info is not None else INFO_ALL
        if not info or any(c not in "01234" for c in info):
            raise BadRequest("InvalidParameterValue", "InfoType 取值为 0-4")
        count = params.get("BestFramesCount")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 10):
            raise BadRequest("InvalidParameterValue", "BestFramesCount 取值为 0-10")
        return cls(token, rule, info, count)


def _fmt_sim(sim: float | None) -> str | None:
    return None if sim is None else f"{sim:.2f}"


def _ms(when: dt.datetime | None) -> str | None:
    if when is None:
        return None
    return str(int(when.replace(tzinfo=dt.timezone.utc).timestamp() * 1000))


def _detail(session: VerificationSession, a: Attempt, id_card: str | None, name: str | None) -> dict:
    live = lookup(a.live_code) if a.live_code else None
    compare = lookup(a.compare_code) if a.compare_code else None
    overall = lookup(a.code)
    return {
        "ReqTime": _ms(a.created_at),
        "Seq": f"{session.biz_token[:8]}-{a.seq}",
        "Idcard": id_card, "Name": name,
        "Errcode": overall.saas, "Errmsg": overall.message,
        "Livestatus": live.saas if live else None, "Livemsg": live.message if live else None,
        "Comparestatus": compare.saas if compare else None,
        "Comparemsg": compare.message if compare else None,
        "Sim": _fmt_sim(a.sim), "IsNeedCharge": bool(a.is_need_charge),
        "CompareLibType": _lib_type(session),
        "LivenessMode": LIVENESS_MODE_NUMBER.get(session.liveness_mode, 0),
    }


def _lib_type(session: VerificationSession) -> str:
    return "业务方自有" if session.ref_image_sealed is not None else "权威库"


def detect_info(merchant, request: DetectInfoRequest, *, sealer: Sealer, clock: Clock) -> dict:
    session = VerificationSession.get_or_none(VerificationSession.biz_token == request.biz_token)
    # Another merchant's token, or the wrong rule, looks exactly like an unknown token.
    if session is None or session.merchant_id != merchant.id or session.rule_id != request.rule_id:
        raise NotFound("BizTokenIllegal")
    if session.state == PURGED:
        # Past retention or deleted on request: one answer, the data is gone either way.
        raise Refused("BizTokenExpired", PURGED_MESSAGE)
    now = utc_naive(clock.now())
    id_card = sealer.open_text(session.id_card_sealed) if session.id_card_sealed else None
    name = sealer.open_text(session.name_sealed) if session.name_sealed else None
    rows = list(session.attempts.order_by(Attempt.seq))
    done = [a for a in rows if a.state == DONE]
    final = next((a for a in done if a.code == "Success"), done[-1] if done else None)

    text: dict = {"ErrCode": None, "ErrMsg": None, "IdCard": id_card, "Name": name,
                  "LiveStatus": None, "LiveMsg": None, "Comparestatus": None, "Comparemsg": None,
                  "Sim": None, "Location": None, "Extra": session.extra,
                  "LivenessDetail": [_detail(session, a, id_card, name) for a in done],
                  "CompareLibType": _lib_type(session),
                  "LivenessMode": LIVENESS_MODE_NUMBER.get(session.liveness_mode, 0)}
    if final is not None:
        detail = _detail(session, final, id_card, name)
        text.update(ErrCode=detail["Errcode"], ErrMsg=detail["Errmsg"], LiveStatus=detail["Livestatus"],
                    LiveMsg=detail["Livemsg"], Comparestatus=detail["Comparestatus"],
                    Comparemsg=detail["Comparemsg"], Sim=detail["Sim"])
    elif any(a.state == PENDING for a in rows):
        text["ErrMsg"] = lookup("VideoProcessing").message
    elif now >= session.expires_at:
        expired = lookup("BizTokenExpired")
        text.update(ErrCode=expired.saas, ErrMsg=expired.message)
    else:
        text["ErrMsg"] = "用户尚未完成核身"

    body: dict = {}
    if request.info_type in (INFO_ALL, INFO_TEXT):
        body["Text"] = text
    if request.info_type in (INFO_ALL, INFO_BEST_FRAME):
        body["BestFrame"] = _best_frames(final, request.best_frames_count, sealer)
    # InfoType 2 (ID card OCR) and 4 (video) have nothing: no ID card is captured, and by design no
    # video is kept after its verdict.
    return body


def _best_frames(final: Attempt | None, count: int | None, sealer: Sealer) -> dict:
    """DetectInfoBestFrame of the deciding attempt: BestFrame, and BestFrames = the capture's best
    frames ranked by quality (the first is BestFrame), at most MAX_BEST_FRAMES (DESIGN §10: only what
    the merchant needs is kept) and at most BestFramesCount when it is sent."""
    if final is None or final.best_frame_sealed is None:
        return {"BestFrame": None, "BestFrames": []}
    best = sealer.open(final.best_frame_sealed)
    frames = [best] + open_frames(sealer, final.more_frames_sealed)
    limit = MAX_BEST_FRAMES if count is None else min(count, MAX_BEST_FRAMES)
    encoded = [base64.b64encode(f).decode("ascii") for f in frames[:limit]]
    return {"BestFrame": base64.b64encode(best).decode("ascii"), "BestFrames": encoded}
