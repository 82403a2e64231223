"""Submitting an application: validate everything first, then create the merchant in one transaction.

Bad input of any kind raises ApplicationInvalid listing every problem by field, and nothing is
written. Channel rights follow the industry whitelist (``decide_channels``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import peewee
from werkzeug.security import generate_password_hash

from .. import db
from ..errors import BadRequest, Refused
from ..result_codes import lookup
from . import licence as licence_mod
from . import notices, uscc
from .deps import OnboardingDeps
from .models import CHANNELS, NATIVE_CHANNELS, PENDING, Merchant, MerchantUser
from .whitelist import OTHER, Whitelist
from .workdays import WorkCalendar

CHANNEL_NAMES = {"native_h5": "微信原生H5", "miniprogram": "小程序", "h5": "普通H5", "api": "API"}
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 8
MAX_NAME, MAX_DESCRIPTION = 100, 2000
# The public form: tries per client address per hour (any outcome), applications per contact number per day.
APPLY_PER_CLIENT, CLIENT_WINDOW_S = 10, 3600
APPLY_PER_PHONE, PHONE_WINDOW_S = 3, 86400


class ApplicationInvalid(BadRequest):
    """``errors``: field -> Chinese message, every problem found (not just the first)."""

    def __init__(self, errors: dict[str, str], codes: dict[str, str]):
        self.errors = dict(errors)
        first = next(iter(errors))
        super().__init__(codes[first], "；".join(f"{k}: {v}" for k, v in errors.items()),
                         extra={"fields": self.errors})


@dataclass(frozen=True)
class ApplicationForm:
    name: str
    uscc: str
    industry_key: str
    phone: str
    channels: tuple[str, ...]
    licence: bytes
    description: str = ""
    username: str = ""        # console login to create with the merchant (optional)
    password: str = ""


@dataclass(frozen=True)
class ChannelDecision:
    granted: tuple[str, ...]
    refused: tuple[dict, ...] = field(default_factory=tuple)     # {"channel", "reason"}


def decide_channels(industry_key: str, requested: tuple[str, ...] | list[str],
                    whitelist: Whitelist) -> ChannelDecision:
    """Which requested channels the application covers.

    Outside the whitelist, native H5 and the mini-program are refused with the reason, and ordinary H5
    takes their place (DESIGN §4: such merchants stay on the recorded-video path), also when they
    asked for api as well. Order follows CHANNELS.
    """
    wanted = [c for c in CHANNELS if c in set(requested)]
    if whitelist.is_whitelisted(industry_key):
        return ChannelDecision(tuple(wanted))
    industry = whitelist.describe(industry_key)
    refused = tuple({"channel": c, "reason": f"行业「{industry}」不在微信原生H5/小程序行业白名单内，"
                                           "可使用普通H5（录制视频）方式"}
                    for c in wanted if c in NATIVE_CHANNELS)
    granted = [c for c in wanted if c not in NATIVE_CHANNELS]
    if refused and "h5" not in granted:
        granted.append("h5")
    return ChannelDecision(tuple(c for c in CHANNELS if c in granted), refused)


def normalise_phone(text: str) -> str:
    """Mainland mobile (13800138000) or landline (010-12345678); '' when neither."""
    raw = re.sub(r"[\s()]", "", text or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    if MOBILE_RE.match(raw):
        return raw
    if LANDLINE_RE.match(raw):
        area_len = 3 if raw[1] in "12" else 4     # 010, 02x are three digits; the rest four
        digits = raw.replace("-", "")
        return f"{digits[:area_len]}-{digits[area_len:]}"
    return ""


def parse_channels(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"[,\s]+", text or "") if p.strip())


def _validate(form: ApplicationForm, deps: OnboardingDeps):
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}

    def bad(name: str, message: str, code: str = "InvalidParameterValue") -> None:
        errors.setdefault(name, message)
        codes.setdefault(name, code)

    name = " ".join((form.name or "").split())
    if not 2 <= len(name) <= MAX_NAME:
        bad("name", f"企业名称应为2-{MAX_NAME}个字符")
    code = ""
    try:
        code = uscc.validate(form.uscc)
    except uscc.UsccError as exc:
        bad("uscc", str(exc), "InvalidParameterValue.CreditCodeInvalid")
    if code and Merchant.select().where(Merchant.uscc == code).exists():
        bad("uscc", "该统一社会信用代码已提交过申请", "FailedOperation.MerchantExists")
    industry = (form.industry_key or "").strip()
    if industry != OTHER and not deps.whitelist.is_whitelisted(industry):
        bad("industry", f"行业 {industry!r} 不存在：请选择白名单中的行业，或选择“其他”（other）",
            "InvalidParameterValue.IndustryUnknown")
    phone = normalise_phone(form.phone)
    if not phone:
        bad("phone", "联系电话应为大陆手机号（11位）或座机号（如 010-12345678）",
            "InvalidParameterValue.PhoneInvalid")
    unknown = [c for c in form.channels if c not in CHANNELS]
    if unknown or not form.channels:
        bad("channels", f"渠道须为 {', '.join(CHANNELS)} 中的一个或多个"
                        + (f"（未知：{', '.join(unknown)}）" if unknown else ""),
            "InvalidParameterValue.ChannelUnknown")
    description = (form.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        bad("description", f"业务描述不超过{MAX_DESCRIPTION}个字符")
    image = None
    try:
        image = licence_mod.check(form.licence, deps.settings.max_licence_bytes)
    except licence_mod.LicenceError as exc:
        bad("licence", str(exc), "InvalidParameterValue.LicenceImageTooLarge" if exc.too_large
            else "InvalidParameterValue.LicenceImageInvalid")
    if form.username or form.password:
        if not USERNAME_RE.match(form.username or ""):
            bad("username", "登录名为3-64位字母、数字或 _ . @ -")
        elif MerchantUser.select().where(MerchantUser.username == form.username).exists():
            bad("username", "该登录名已被使用", "FailedOperation.UsernameTaken")
        if len(form.password or "") < MIN_PASSWORD:
            bad("password", f"密码至少{MIN_PASSWORD}位")
    if errors:
        for k in codes:
            lookup(codes[k])    # an unknown code is a programming error; fail loudly here
        raise ApplicationInvalid(errors, codes)
    return name, code, industry, phone, description, image


def _phone_key(deps: OnboardingDeps, phone: str) -> str:
    return f"apply:phone:{deps.sealer.digest(phone, 'apply-phone')[:40]}"


def admit_public(deps: OnboardingDeps, client: str, phone_text: str) -> None:
    """The public form's throttle, checked before any of the form is read (the licence is decoded
    later): each try counts against the client address; a contact number that has already filed
    APPLY_PER_PHONE applications today is refused. Raises Refused(RequestLimitExceeded)."""
    now_ms = int(deps.now().timestamp() * 1000)
    if not deps.limiter.hit(f"apply:client:{deps.sealer.digest(client, 'apply-client')[:40]}",
                            APPLY_PER_CLIENT, now_ms, CLIENT_WINDOW_S * 1000):
        raise Refused("RequestLimitExceeded", "提交过于频繁，请一小时后再试")
    phone = normalise_phone(phone_text)
    if phone and len(deps.limiter.recent(_phone_key(deps, phone), now_ms, PHONE_WINDOW_S * 1000)) >= APPLY_PER_PHONE:
        raise Refused("RequestLimitExceeded", "该联系电话今日提交的申请已达上限，请明天再试")


def submit(deps: OnboardingDeps, form: ApplicationForm, *, public: bool = False) -> Merchant:
    """Create a pending application (and its console login when given); notify the merchant.
    ``public``: it came through the public form, so it counts against its contact number's daily limit."""
    now = deps.now_naive()
    try:
        with db.write_atomic():
            name, code, industry, phone, description, image = _validate(form, deps)
            decision = decide_channels(industry, form.channels, deps.whitelist)
            merchant = Merchant.create(
                name=name, uscc=code, industry_key=industry, phone=phone, description=description,
                channels_requested=[c for c in CHANNELS if c in set(form.channels)],
                channels_granted=list(decision.granted), refused_channels=list(decision.refused),
                licence_image=deps.sealer.seal(image.data), licence_mime=image.mime,
                status=PENDING, submitted_at=now,
                review_deadline=WorkCalendar.from_settings(deps.settings).review_deadline(deps.now()),
                qps_limit=deps.settings.default_qps_limit)
            if form.username:
                MerchantUser.create(merchant=merchant, username=form.username,
                                    password_hash=generate_password_hash(form.password))
            refused = ""
            if decision.refused:
                refused = ("其中" + "、".join(CHANNEL_NAMES[r["channel"]] for r in decision.refused)
                           + "因行业不在白名单未予受理，已改为普通H5。")
            notice = notices.record(merchant, "submitted", now,
                                    deadline=merchant.review_deadline.isoformat(), refused=refused)
    except peewee.IntegrityError:
        # Two identical applications raced past the checks; the loser sees the same message.
        raise ApplicationInvalid({"uscc": "该统一社会信用代码或登录名已被使用"},
                                 {"uscc": "FailedOperation.MerchantExists"}) from None
    if public:
        deps.limiter.hit(_phone_key(deps, merchant.phone), APPLY_PER_PHONE + 1,
                         int(deps.now().timestamp() * 1000), PHONE_WINDOW_S * 1000)
    notices.deliver(deps, [notice])
    return merchant
