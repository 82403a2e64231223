"""Rules (RuleIds) a merchant creates, edits and disables, in its console or through the operator CLI.

A rule fixes, for the sessions DetectAuth starts on it: the channel (only one the merchant may use: the
ordinary H5 of every approved merchant, or native H5 / the mini-program when ``Merchant.native_allowed``
— whitelisted industry, our review and WeChat's review passed), the liveness mode (the channel's modes,
MODES_BY_CHANNEL), the compare source (COMPARE_SOURCES), the origins RedirectUrl may point to, and the
URL the result is posted to (checked against SSRF at save time and again at every delivery; its HMAC
key is generated with it and shown to the merchant, who verifies the callbacks with it).

Edits change future sessions only: a session copies channel and mode when it is created. A disabled rule
starts no session (``FailedOperation.RuleDisabled``); its running sessions finish as they were. The
default rule moves to the oldest other active rule when it is disabled.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import db
from ..callbacks import safe_http
from ..crypto import Sealer, new_token
from ..errors import BadRequest, NotFound, Refused
from .models import (APPROVED, COMPARE_SOURCES, MODES_BY_CHANNEL, NATIVE_CHANNELS, Merchant, Rule)
from .provisioning import new_rule_id

MAX_NAME = 100
HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
MAX_ORIGINS = 20
CHANNEL_NAMES = {"miniprogram": "小程序", "native_h5": "微信原生H5", "h5": "普通H5"}
MODE_NAMES = {"light": "光线活体", "lip": "数字活体", "action": "动作活体", "silent": "静默活体"}
COMPARE_NAMES = {"either": "权威库或商户照片", "authority": "权威库（身份证号+姓名）",
                 "photo": "商户上传照片（ImageBase64）"}


@dataclass(frozen=True)
class RuleSpec:
    """What the merchant asks a rule to be (create: all fields; edit: the same, in full)."""

    channel: str
    liveness_mode: str
    compare_source: str = "either"
    redirect_allow: tuple[str, ...] = ()
    callback_url: str = ""
    name: str = ""

    @classmethod
    def parse(cls, *, channel: str, liveness_mode: str, compare_source: str = "either",
              redirect_allow: str | list[str] | tuple[str, ...] = (), callback_url: str = "",
              name: str = "") -> "RuleSpec":
        """From form fields or CLI options: ``redirect_allow`` one origin per line or comma."""
        if isinstance(redirect_allow, str):
            redirect_allow = redirect_allow.replace(",", "\n").splitlines()
        return cls(channel=(channel or "").strip(), liveness_mode=(liveness_mode or "").strip(),
                   compare_source=(compare_source or "either").strip(),
                   redirect_allow=tuple(o.strip() for o in redirect_allow if o and o.strip()),
                   callback_url=(callback_url or "").strip(), name=(name or "").strip())


@dataclass(frozen=True)
class RuleContext:
    """What checking a rule needs from the application: the sealer, whether this is production
    (https callbacks only), the operator's allowed callback networks, and the DNS resolver."""

    sealer: Sealer
    production: bool
    callback_allow: tuple[str, ...] = ()
    resolver: safe_http.Resolver = safe_http.system_resolver

    @classmethod
    def from_services(cls, svc) -> "RuleContext":
        return cls(sealer=svc.sealer, production=svc.settings.is_production,
                   callback_allow=svc.settings.callback_allow_networks,
                   resolver=svc.callback_resolver)


def allowed_channels(merchant: Merchant) -> list[str]:
    """The session channels this merchant may make rules for now."""
    if merchant.status != APPROVED:
        return []
    out = [c for c in NATIVE_CHANNELS if c in merchant.channels_granted and merchant.native_allowed()]
    return out + ["h5"]


def normalise_origin(text: str, production: bool) -> str:
    """'https://m.example.com/x' -> 'https://m.example.com'; a host may start with '*.' (subdomains)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise BadRequest("InvalidParameterValue", f"跳转地址白名单：{text} 不是有效的地址") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise BadRequest("InvalidParameterValue",
                         f"跳转地址白名单：{text} 须为 https://主机名 形式（可用 *.example.com）")
    if production and scheme != "https":
        raise BadRequest("InvalidParameterValue", f"跳转地址白名单：生产环境须使用 https（{text}）")
    bare = host[2:] if host.startswith("*.") else host
    if not HOST_RE.fullmatch(bare):
        raise BadRequest("InvalidParameterValue", f"跳转地址白名单：{text} 的主机名无效")
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def redirect_allowed(url: str, origins: list[str] | tuple[str, ...]) -> bool:
    """True when ``url`` is under one of ``origins`` (or the list is empty: any http(s) URL)."""
    if not origins:
        return True
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if parts.username or parts.password:
        return False
    for origin in origins:
        o = urlsplit(origin)
        if o.scheme != scheme or o.port != port:
            continue
        pattern = o.hostname or ""
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _check(merchant: Merchant, spec: RuleSpec, ctx: RuleContext) -> RuleSpec:
    if merchant.status != APPROVED:
        raise Refused("FailedOperation.ReviewStateInvalid", "商户审核通过后才能配置规则")
    if spec.channel not in MODES_BY_CHANNEL:
        raise BadRequest("InvalidParameterValue.ChannelUnknown",
                         f"渠道须为 {'、'.join(MODES_BY_CHANNEL)} 之一")
    if spec.channel not in allowed_channels(merchant):
        raise Refused("FailedOperation.ChannelNotAllowed")
    if spec.liveness_mode not in MODES_BY_CHANNEL[spec.channel]:
        modes = "、".join(MODE_NAMES[m] for m in MODES_BY_CHANNEL[spec.channel])
        raise BadRequest("InvalidParameterValue",
                         f"{CHANNEL_NAMES[spec.channel]}支持的活体模式：{modes}")
    if spec.compare_source not in COMPARE_SOURCES:
        raise BadRequest("InvalidParameterValue", f"比对来源须为 {'、'.join(COMPARE_SOURCES)} 之一")
    if len(spec.name) > MAX_NAME:
        raise BadRequest("InvalidParameterValue", f"规则名称不超过 {MAX_NAME} 个字符")
    if len(spec.redirect_allow) > MAX_ORIGINS:
        raise BadRequest("InvalidParameterValue", f"跳转地址白名单最多 {MAX_ORIGINS} 项")
    origins = tuple(dict.fromkeys(normalise_origin(o, ctx.production) for o in spec.redirect_allow))
    if spec.callback_url:
        try:
            safe_http.check_url(spec.callback_url, production=ctx.production, allow=ctx.callback_allow,
                                resolver=ctx.resolver)
        except safe_http.UnsafeUrl as exc:
            raise BadRequest("InvalidParameterValue.CallbackUrlUnsafe", str(exc)) from None
    name = spec.name or f"{CHANNEL_NAMES[spec.channel]}·{MODE_NAMES[spec.liveness_mode]}"
    return RuleSpec(spec.channel, spec.liveness_mode, spec.compare_source, origins, spec.callback_url, name)


def _fields(spec: RuleSpec, rule: Rule | None, ctx: RuleContext) -> dict:
    key = rule.callback_key_sealed if rule is not None else None
    if spec.callback_url and key is None:
        key = ctx.sealer.seal_text(new_token(32))      # the merchant's HMAC key for this rule's callbacks
    return {"channel": spec.channel, "liveness_mode": spec.liveness_mode,
            "compare_source": spec.compare_source, "redirect_allow": list(spec.redirect_allow),
            "callback_url": spec.callback_url, "callback_key_sealed": key, "name": spec.name}


def create(merchant: Merchant, spec: RuleSpec, ctx: RuleContext, now: dt.datetime) -> Rule:
    checked = _check(merchant, spec, ctx)
    with db.write_atomic():
        first = not Rule.select().where((Rule.merchant == merchant) & Rule.active & Rule.is_default).exists()
        return Rule.create(rule_id=new_rule_id(), merchant=merchant, created_at=now, updated_at=now,
                           is_default=first, active=True, **_fields(checked, None, ctx))


def get_own(merchant_id: int, rule_id: str) -> Rule:
    """The merchant's rule ``rule_id``; another merchant's looks exactly like none."""
    rule = Rule.get_or_none((Rule.rule_id == rule_id) & (Rule.merchant == merchant_id))
    if rule is None:
        raise NotFound("InvalidParameterValue", "RuleId 不存在或不属于该商户")
    return rule


def edit(rule: Rule, spec: RuleSpec, ctx: RuleContext, now: dt.datetime) -> Rule:
    checked = _check(rule.merchant, spec, ctx)
    fields = _fields(checked, rule, ctx)
    Rule.update(updated_at=now, **fields).where(Rule.id == rule.id).execute()
    return Rule.get_by_id(rule.id)


def set_active(rule: Rule, active: bool, now: dt.datetime) -> Rule:
    """Disable (or enable again) a rule; the default moves off a disabled rule."""
    with db.write_atomic():
        if active and rule.channel not in allowed_channels(rule.merchant):
            raise Refused("FailedOperation.ChannelNotAllowed")
        Rule.update(active=active, updated_at=now, is_default=rule.is_default and active).where(
            Rule.id == rule.id).execute()
        if not active and rule.is_default:
            heir = (Rule.select().where((Rule.merchant == rule.merchant_id) & Rule.active & (Rule.id != rule.id))
                    .order_by(Rule.id).first())
            if heir is not None:
                Rule.update(is_default=True).where(Rule.id == heir.id).execute()
        elif active and not Rule.select().where((Rule.merchant == rule.merchant_id) & Rule.is_default).exists():
            Rule.update(is_default=True).where(Rule.id == rule.id).execute()
    return Rule.get_by_id(rule.id)


def callback_key(rule: Rule, sealer: Sealer) -> str | None:
    return sealer.open_text(rule.callback_key_sealed) if rule.callback_key_sealed else None


def rotate_callback_key(rule: Rule, sealer: Sealer, now: dt.datetime) -> str:
    key = new_token(32)
    Rule.update(callback_key_sealed=sealer.seal_text(key), updated_at=now).where(Rule.id == rule.id).execute()
    return key


def view(rule: Rule) -> dict:
    """A rule as the CLI prints it (no key: ``rule show --key`` prints that)."""
    return {"rule_id": rule.rule_id, "merchant": rule.merchant_id, "name": rule.name,
            "channel": rule.channel, "liveness_mode": rule.liveness_mode,
            "compare_source": rule.compare_source, "redirect_allow": list(rule.redirect_allow),
            "callback_url": rule.callback_url, "active": rule.active, "default": rule.is_default}
