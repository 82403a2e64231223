"""What the user's page says about an attempt that did not pass: the result code's message is written
for merchants ("活体检测没通过"); the user also needs to know what to do differently next time.

Hints are per documented result code and say nothing more than the code does (DESIGN §3: no detail
that helps tune a replay); the action-order hint repeats the order the user was asked for.
"""
from __future__ import annotations

ACTION_NAMES = {"1": "张嘴", "2": "眨眼"}

HINTS = {
    "FailedOperation.LipMoveSmall": "读数字时请正对屏幕，口型清晰、声音自然。",
    "FailedOperation.LipVoiceFail": "请在数字出现时立即读出，声音与口型同步，周围尽量安静。",
    "FailedOperation.LipVoiceDetect": "没有听到声音：请允许使用麦克风，并读出屏幕上的数字。",
    "FailedOperation.LipVoiceLow": "声音太小：请靠近手机，正常音量读出数字。",
    "FailedOperation.LipVoiceRecognize": "请逐个读出屏幕上出现的数字。",
    "FailedOperation.ActionOpenMouth": "请在提示“张嘴”时把嘴张大，保持约半秒。",
    "FailedOperation.ActionCloseEye": "请在提示“眨眼”时完整地眨一次眼。",
    "FailedOperation.SilentDetectFail": "请本人正对屏幕，自然眨眼、可轻微转动头部；不要使用照片或屏幕翻拍。",
    "FailedOperation.SilentTooShort": "录制时间太短，请在录制结束前保持面部在画面中。",
    "FailedOperation.ReflectionFail": "请在光线柔和的室内进行，避免强光直射面部，调高屏幕亮度并保持不动。",
    "FailedOperation.LivessDetectFake": "请本人正对屏幕完成核身，不要使用照片、视频或翻拍。",
    "FailedOperation.LivessDetectFail": "请保持整张脸在画面中，直到检测结束。",
    "FailedOperation.LivessBestFrameError": "没有拍到清晰的正脸：请在光线充足处正对屏幕。",
    "FailedOperation.FaceChanged": "检测过程中请保持同一人正对屏幕。",
    "FailedOperation.CompareLowSimilarity": "请确认由证件本人完成核身，并摘下帽子、口罩或墨镜。",
    "FailedOperation.ImageDecodeFailed": "上传的画面无法识别，请重试。",
    "FailedOperation.LipVideoInvalid": "视频无法识别，请重新录制。",
    "FailedOperation.LipSizeError": "视频为空或过大，请重新录制。",
}


def action_order(sequence: str) -> str:
    """ "2,1" -> "请先眨眼，再张嘴" (1 = open mouth, 2 = blink)."""
    names = [ACTION_NAMES.get(a.strip(), "") for a in (sequence or "").split(",")]
    if len(names) != 2 or not all(names):
        return ""
    return f"请先{names[0]}，再{names[1]}"


def hint(code: str, challenge: dict | None = None) -> str:
    """The user's next step after ``code`` (a Tencent string); '' when there is nothing to add."""
    if code == "FailedOperation.ActionOrderError":
        order = action_order((challenge or {}).get("sequence", ""))
        return f"动作顺序不对：{order}。" if order else "动作顺序不对，请按提示的顺序完成动作。"
    return HINTS.get(code, "")
