"""The one table of result codes: Tencent string code, numeric SaaS code, message, billable, HTTP status, kind.

Every API family renders from here: the Cloud API 3.0 surface uses ``tencent`` (HTTP 200 always, as the
cloud does), the verification-session API and pages use ``http_status`` and ``saas``. Billing reads
``billable``: only Success, IdNameMisMatch and CompareLowSimilarity are charged. The pipeline reads
``kind``: what a code *is* (a verdict, bad input, a refusal, or our failure), so that no caller has to
guess it from an HTTP status. A test pins this table.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    VERDICT = "verdict"        # the check ran and this is its answer (billable or not)
    BAD_INPUT = "bad_input"    # the request cannot be used as sent; nothing changed
    REFUSED = "refused"        # the caller may not do this now (auth, limits, quota, state)
    SYSTEM = "system"          # we could not evaluate (engine, store, configuration)


_STATUS = {Kind.VERDICT: 200, Kind.BAD_INPUT: 400, Kind.SYSTEM: 500}


@dataclass(frozen=True)
class ResultCode:
    tencent: str          # e.g. "FailedOperation.CompareLowSimilarity"; "Success" for success
    saas: int             # numeric code of the SaaS result (GetDetectInfoEnhanced Text.ErrCode)
    message: str          # Chinese description, shown to merchants and users
    kind: Kind = Kind.VERDICT
    billable: bool = False
    http_status: int = 0  # 0: the kind's usual status (verdict 200, bad input 400, system 500)

    def __post_init__(self) -> None:
        if not self.http_status:
            if self.kind not in _STATUS:
                raise ValueError(f"{self.tencent}: a refusal needs its own HTTP status")
            object.__setattr__(self, "http_status", _STATUS[self.kind])

    @property
    def short(self) -> str:
        """The part after the dot: "CompareLowSimilarity"."""
        return self.tencent.rsplit(".", 1)[-1]

    @property
    def is_success(self) -> bool:
        return self.tencent == "Success"

    @property
    def is_system(self) -> bool:
        return self.kind is Kind.SYSTEM


_FO = "FailedOperation."

_TABLE: tuple[ResultCode, ...] = (
    ResultCode("Success", 0, "成功", billable=True, kind=Kind.VERDICT),
    # request shape, auth and limits (Cloud API common errors)
    ResultCode("InvalidParameter", 1, "参数错误", kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue", 2, "参数取值错误", kind=Kind.BAD_INPUT),
    ResultCode("MissingParameter", 3, "缺少参数", kind=Kind.BAD_INPUT),
    ResultCode("InternalError", 4, "内部错误", kind=Kind.SYSTEM),
    ResultCode("InvalidAction", 5, "接口不存在", kind=Kind.BAD_INPUT),
    ResultCode("UnsupportedOperation", 6, "操作不支持", kind=Kind.BAD_INPUT),
    ResultCode("RequestLimitExceeded", 7, "请求的次数超过了频率限制", http_status=429, kind=Kind.REFUSED),
    ResultCode("RequestSizeLimitExceeded", 8, "请求包超过限制大小", http_status=413, kind=Kind.BAD_INPUT),
    ResultCode("AuthFailure.SignatureFailure", 9, "签名错误", http_status=401, kind=Kind.REFUSED),
    ResultCode("AuthFailure.SecretIdNotFound", 10, "密钥不存在", http_status=401, kind=Kind.REFUSED),
    ResultCode("AuthFailure.SignatureExpire", 11, "签名过期", http_status=401, kind=Kind.REFUSED),
    ResultCode("AuthFailure.RequestReplayed", 32, "同一签名的请求只执行一次，请重新签名后再发送", http_status=409,
               kind=Kind.REFUSED),
    ResultCode("AuthFailure.InvalidAuthorization", 12, "请求头部的 Authorization 不符合规范",
               http_status=401, kind=Kind.REFUSED),
    ResultCode("UnauthorizedOperation.Nonactivated", 13, "未开通服务", http_status=403, kind=Kind.REFUSED),
    ResultCode("UnauthorizedOperation.Arrears", 17, "帐号已欠费", http_status=402, kind=Kind.REFUSED),
    ResultCode("UnauthorizedOperation", 18, "未授权操作", http_status=403, kind=Kind.REFUSED),
    # verification sessions (BizToken)
    ResultCode("FailedOperation.BizTokenFinished", 14, "本次核身已完成", http_status=409, kind=Kind.REFUSED),
    ResultCode("InvalidParameterValue.BizTokenExpired", 15, "BizToken过期", http_status=410, kind=Kind.REFUSED),
    ResultCode("FailedOperation.RetryLimitExceeded", 16, "已达到重试次数上限", http_status=409, kind=Kind.REFUSED),
    ResultCode("InvalidParameterValue.BizTokenIllegal", 19, "BizToken不合法", http_status=404, kind=Kind.REFUSED),
    ResultCode("FailedOperation.ChallengeExpired", 20, "挑战已过期或已使用，请重新获取",
               http_status=409, kind=Kind.REFUSED),
    ResultCode("FailedOperation.ChannelNotAllowed", 21,
               "该商户未开通此渠道（行业不在白名单或微信侧审核未通过），请使用普通H5", http_status=403, kind=Kind.REFUSED),
    ResultCode("FailedOperation.WeChatUserMismatch", 22, "该核身流程已绑定其他微信用户",
               http_status=403, kind=Kind.REFUSED),
    ResultCode("FailedOperation.NotInWeChat", 23, "请在微信中打开", http_status=403, kind=Kind.REFUSED),
    ResultCode("FailedOperation.SessionRequired", 24, "请先登录微信", http_status=401, kind=Kind.REFUSED),
    ResultCode("FailedOperation.ConsentRequired", 25, "请先同意人脸信息处理授权", http_status=403, kind=Kind.REFUSED),
    ResultCode("FailedOperation.TooManyAttempts", 26, "失败次数过多，请稍后再试", http_status=429, kind=Kind.REFUSED),
    ResultCode("FailedOperation.VideoProcessing", 27, "视频正在处理中", http_status=202, kind=Kind.REFUSED),
    ResultCode("FailedOperation.ChallengeLimitExceeded", 28, "本次核身获取挑战次数过多，请重新发起核身",
               http_status=429, kind=Kind.REFUSED),
    ResultCode("FailedOperation.RuleDisabled", 29, "该 RuleId 已停用", http_status=403, kind=Kind.REFUSED),
    ResultCode("InvalidParameterValue.RedirectUrlNotAllowed", 30, "RedirectUrl 不在该规则的跳转地址白名单内",
               kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue.ImageNotAllowed", 31, "该规则比对权威库，不接受 ImageBase64",
               kind=Kind.BAD_INPUT),
    # WeChat sign-in (mini-program code2session, official-account OAuth); 31xx. The WeChat errcode,
    # when there is one, travels next to the code in the error body as "errcode".
    ResultCode("FailedOperation.WeChatAppIdMismatch", 3101, "小程序 appid 与本服务配置不一致", kind=Kind.BAD_INPUT),
    ResultCode("FailedOperation.WeChatCodeInvalid", 3102, "微信登录凭证无效、已使用或已过期，请重新登录", kind=Kind.BAD_INPUT),
    ResultCode("FailedOperation.WeChatRateLimited", 3103, "微信接口调用过于频繁，请一分钟后再试",
               http_status=429, kind=Kind.REFUSED),
    ResultCode("FailedOperation.WeChatCredentialInvalid", 3104, "服务的微信 appid/secret 配置有误",
               http_status=502, kind=Kind.SYSTEM),
    ResultCode("FailedOperation.WeChatUnavailable", 3105, "暂时无法连接微信服务器，请稍后再试",
               http_status=502, kind=Kind.SYSTEM),
    ResultCode("FailedOperation.WeChatDecryptFailed", 3106, "微信加密数据无法解密，请重新登录后再试", kind=Kind.BAD_INPUT),
    ResultCode("FailedOperation.WeChatWatermarkMismatch", 3107, "微信加密数据不属于本小程序", kind=Kind.BAD_INPUT),
    ResultCode("FailedOperation.OAuthStateInvalid", 3108, "授权请求无效、已使用或已过期，请重新进入页面",
               http_status=403, kind=Kind.REFUSED),
    # merchant onboarding (applications, review, consoles); 41xx
    ResultCode("InvalidParameterValue.CreditCodeInvalid", 4101, "统一社会信用代码无效", kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue.LicenceImageInvalid", 4102, "营业执照图片须为可解码的 JPEG 或 PNG", kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue.LicenceImageTooLarge", 4103, "营业执照图片过大", http_status=413, kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue.IndustryUnknown", 4104, "行业不存在", kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue.PhoneInvalid", 4105, "联系电话格式错误", kind=Kind.BAD_INPUT),
    ResultCode("InvalidParameterValue.ChannelUnknown", 4106, "渠道不存在", kind=Kind.BAD_INPUT),
    ResultCode("FailedOperation.MerchantExists", 4107, "该企业已提交过申请", http_status=409, kind=Kind.REFUSED),
    ResultCode("FailedOperation.UsernameTaken", 4108, "登录名已被使用", http_status=409, kind=Kind.REFUSED),
    ResultCode("FailedOperation.ReviewStateInvalid", 4109, "当前状态不允许此操作", http_status=409, kind=Kind.REFUSED),
    ResultCode("ResourceNotFound.Merchant", 4110, "商户不存在", http_status=404, kind=Kind.REFUSED),
    ResultCode("InvalidParameterValue.CallbackUrlUnsafe", 4111, "回调地址不可用（须为公网 https 地址）",
               kind=Kind.BAD_INPUT),
    # engine availability
    ResultCode(_FO + "LivessSystemError", 1001, "调用活体引擎失败", kind=Kind.SYSTEM),
    ResultCode(_FO + "CompareSystemError", 1006, "调用比对引擎接口出错", kind=Kind.SYSTEM),
    # liveness verdicts
    ResultCode(_FO + "LivessDetectFake", 1002, "疑似非真人录制", kind=Kind.VERDICT),
    ResultCode(_FO + "LivessDetectFail", 1003, "活体检测没通过", kind=Kind.VERDICT),
    ResultCode(_FO + "LivessBestFrameError", 1004, "人脸检测失败，无法提取比对照片", kind=Kind.VERDICT),
    ResultCode(_FO + "LivessUnknownError", 1005, "视频实人检测没通过", kind=Kind.VERDICT),
    ResultCode(_FO + "LipVoiceDetect", 1101, "未检测到声音", kind=Kind.VERDICT),
    ResultCode(_FO + "LipVoiceLow", 1102, "视频声音太小", kind=Kind.VERDICT),
    ResultCode(_FO + "LipVoiceFail", 1103, "声音与嘴型不一致", kind=Kind.VERDICT),
    ResultCode(_FO + "LipVoiceRecognize", 1104, "声音识别失败", kind=Kind.VERDICT),
    ResultCode(_FO + "LipMoveSmall", 1105, "嘴唇动作幅度过小", kind=Kind.VERDICT),
    ResultCode(_FO + "LipFaceIncomplete", 1106, "脸部未完整露出", kind=Kind.VERDICT),
    ResultCode(_FO + "LipVideoInvalid", 1107, "视频格式有误", kind=Kind.BAD_INPUT),
    ResultCode(_FO + "LipSizeError", 1108, "视频为空，或大小不合适", kind=Kind.BAD_INPUT),
    ResultCode(_FO + "LipVideoQuaility", 1109, "视频像素太低", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionOpenMouth", 1201, "未检测到张嘴动作", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionCloseEye", 1202, "未检测到闭眼动作", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionFirstAction", 1203, "未检测到第一个动作", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionNodetectFace", 1204, "未能检测到完整人脸", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionLightDark", 1205, "光线太暗", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionLightStrong", 1206, "光线太强", kind=Kind.VERDICT),
    ResultCode(_FO + "ActionOrderError", 1207, "动作顺序与提示不符", kind=Kind.VERDICT),
    ResultCode(_FO + "SilentDetectFail", 1301, "静默检测未通过", kind=Kind.VERDICT),
    ResultCode(_FO + "SilentTooShort", 1302, "视频时长过短", kind=Kind.VERDICT),
    ResultCode(_FO + "SilentMultiFaceFail", 1303, "检测到多张人脸", kind=Kind.VERDICT),
    ResultCode(_FO + "SilentFaceDetectFail", 1304, "未检测到人脸", kind=Kind.VERDICT),
    ResultCode(_FO + "SilentFaceQualityFail", 1305, "人脸检测质量差", kind=Kind.VERDICT),
    ResultCode(_FO + "ReflectionFail", 1401, "光线活体检测未通过", kind=Kind.VERDICT),
    ResultCode(_FO + "FaceChanged", 1402, "检测过程中人脸发生变化", kind=Kind.VERDICT),
    # identity and photos
    ResultCode(_FO + "IdFormatError", 2001, "身份证号码格式错误", kind=Kind.BAD_INPUT),
    ResultCode(_FO + "NameFormatError", 2002, "姓名格式错误", kind=Kind.BAD_INPUT),
    ResultCode(_FO + "IdNoExistSystem", 2003, "库中无此号，请到户籍所在地进行核实", kind=Kind.VERDICT),
    ResultCode(_FO + "IdPhotoNoExist", 2004, "库中无此号照片", kind=Kind.VERDICT),
    ResultCode(_FO + "IdPhotoPoorQuality", 2005, "证件图片质量差", kind=Kind.VERDICT),
    ResultCode(_FO + "IdNameMisMatch", 2006, "姓名和身份证号不一致", billable=True, kind=Kind.VERDICT),
    ResultCode(_FO + "LifePhotoDetectNoFaces", 2010, "未能检测到完整人脸", kind=Kind.VERDICT),
    ResultCode(_FO + "LifePhotoDetectFaces", 2011, "检测到多张人脸", kind=Kind.VERDICT),
    ResultCode(_FO + "ImageBlur", 2012, "图片模糊", kind=Kind.VERDICT),
    ResultCode(_FO + "LifePhotoPoorQuality", 2013, "传入图片质量差（光线、角度或遮挡）", kind=Kind.VERDICT),
    ResultCode(_FO + "ImageDecodeFailed", 2014, "图片解码失败", kind=Kind.BAD_INPUT),
    ResultCode(_FO + "ImageSizeTooLarge", 2015, "图片过大", http_status=413, kind=Kind.BAD_INPUT),
    ResultCode(_FO + "CompareLowSimilarity", 2016, "比对相似度未达到通过标准", billable=True, kind=Kind.VERDICT),
    ResultCode(_FO + "LifePhotoSizeError", 2017, "传入图片过大或过小", kind=Kind.VERDICT),
    ResultCode(_FO + "LifePhotoDetectFake", 2018, "实人比对没通过", kind=Kind.VERDICT),
    ResultCode(_FO + "UnKnown", 9999, "内部未知错误", kind=Kind.SYSTEM),
)

BY_TENCENT: dict[str, ResultCode] = {c.tencent: c for c in _TABLE}
BY_SHORT: dict[str, ResultCode] = {}
for _c in _TABLE:
    BY_SHORT.setdefault(_c.short, _c)
BY_SAAS: dict[int, ResultCode] = {c.saas: c for c in _TABLE}
if len(BY_TENCENT) != len(_TABLE) or len(BY_SAAS) != len(_TABLE):
    raise RuntimeError("result code table has a duplicate Tencent or numeric code")


class UnknownResultCode(KeyError):
    pass


def lookup(code: str) -> ResultCode:
    """A code by its Tencent string ("FailedOperation.ImageBlur") or its short form ("ImageBlur")."""
    found = BY_TENCENT.get(code) or BY_SHORT.get(code)
    if found is None:
        raise UnknownResultCode(code)
    return found


def all_codes() -> tuple[ResultCode, ...]:
    return _TABLE


SUCCESS = BY_TENCENT["Success"]
