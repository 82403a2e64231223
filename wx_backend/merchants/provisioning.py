"""What an approved merchant receives: API credentials, rules (RuleIds) and the trial packs.

Credentials: SecretId "AKID" + 32 letters/digits, SecretKey 32 letters/digits (Tencent's shapes), the
key stored sealed and shown once. Rotation (a leaked or aging key): a merchant holds at most
MAX_ACTIVE_KEYS active keys, as Tencent Cloud's API keys; it adds the new one, moves its servers over,
then disables the old one; the last active key cannot be disabled. Rules: one per granted browser channel — light liveness for WeChat
native H5 and the mini-program, digit (lip) for ordinary H5 — and an ordinary-H5 rule for every
approved merchant, since ordinary H5 is open to all (DESIGN §4). The default rule is the mini-program's
when granted, else native H5's, else ordinary H5's. Trial: TRIAL_CALLS for each product.
"""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from ..crypto import Sealer
from .models import PRODUCTS, ApiCredential, Merchant, ResourcePack, Rule

ALNUM = string.ascii_letters + string.digits
TRIAL_CALLS = 50
TRIAL_LABEL = "trial"
MAX_ACTIVE_KEYS = 2
RULE_ORDER = ("miniprogram", "native_h5", "h5")       # default preference
RULE_MODE = {"miniprogram": "light", "native_h5": "light", "h5": "lip"}
RULE_NAMES = {"miniprogram": "小程序·光线活体", "native_h5": "原生H5·光线活体", "h5": "普通H5·数字活体",
              "h5:action": "普通H5·动作活体", "h5:silent": "普通H5·静默活体"}


@dataclass(frozen=True)
class IssuedCredential:
    secret_id: str
    secret_key: str


def random_alnum(n: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(n))


def new_secret_pair() -> IssuedCredential:
    return IssuedCredential("AKID" + random_alnum(32), random_alnum(32))


def issue_credential(merchant: Merchant, sealer: Sealer, now, *, pair: IssuedCredential | None = None,
                     revealed: bool = False) -> IssuedCredential:
    pair = pair or new_secret_pair()
    ApiCredential.create(merchant=merchant, secret_id=pair.secret_id,
                         secret_key_sealed=sealer.seal_text(pair.secret_key), created_at=now,
                         active=True, revealed_at=now if revealed else None)
    return pair


class KeyRotationRefused(Exception):
    """A key could not be added (the limit) or disabled (the last one, or not this merchant's)."""


def active_credentials(merchant_id: int) -> list[ApiCredential]:
    return list(ApiCredential.select().where((ApiCredential.merchant == merchant_id) & ApiCredential.active)
                .order_by(ApiCredential.id))


def add_credential(merchant: Merchant, sealer: Sealer, now) -> IssuedCredential:
    """A further active key for ``merchant`` (the caller shows its SecretKey once, then it is marked
    revealed); refused at MAX_ACTIVE_KEYS. Call inside a transaction."""
    if len(active_credentials(merchant.id)) >= MAX_ACTIVE_KEYS:
        raise KeyRotationRefused(f"已有 {MAX_ACTIVE_KEYS} 个有效密钥，请先停用一个")
    return issue_credential(merchant, sealer, now, revealed=True)


def disable_credential(merchant_id: int, secret_id: str, now) -> ApiCredential:
    """Stop accepting ``secret_id`` (at once, on every worker: the gateway reads ``active`` per call).
    Refused for another merchant's key, an inactive one, or the merchant's last active key."""
    keys = active_credentials(merchant_id)
    cred = next((c for c in keys if c.secret_id == secret_id), None)
    if cred is None:
        raise KeyRotationRefused("没有这个有效密钥")
    if len(keys) == 1:
        raise KeyRotationRefused("不能停用最后一个有效密钥：请先新增一个")
    ApiCredential.update(active=False, disabled_at=now).where(ApiCredential.id == cred.id).execute()
    return cred


def new_rule_id() -> str:
    """A 10-digit RuleId (Tencent's RuleIds are digit strings), unique across merchants."""
    while True:
        candidate = str(secrets.randbelow(9 * 10**9) + 10**9)
        if not Rule.select().where(Rule.rule_id == candidate).exists():
            return candidate


def rule_channels(granted: list[str]) -> list[str]:
    return [c for c in RULE_ORDER if c in granted or c == "h5"]


def create_rules(merchant: Merchant, now) -> list[Rule]:
    rules = []
    for i, channel in enumerate(rule_channels(list(merchant.channels_granted))):
        rules.append(Rule.create(rule_id=new_rule_id(), merchant=merchant, channel=channel,
                                 liveness_mode=RULE_MODE[channel], name=RULE_NAMES[channel],
                                 created_at=now, is_default=(i == 0)))
    return rules


def add_rule(merchant: Merchant, channel: str, mode: str, now, name: str = "") -> Rule:
    return Rule.create(rule_id=new_rule_id(), merchant=merchant, channel=channel, liveness_mode=mode,
                       name=name or RULE_NAMES.get(f"{channel}:{mode}", f"{channel}·{mode}"),
                       created_at=now, is_default=False)


def create_trial_packs(merchant: Merchant, now) -> list[ResourcePack]:
    return [ResourcePack.create(merchant=merchant, product=p, total=TRIAL_CALLS, remaining=TRIAL_CALLS,
                                label=TRIAL_LABEL, created_at=now) for p in PRODUCTS]


def default_rule(merchant: Merchant) -> Rule | None:
    return (Rule.select().where((Rule.merchant == merchant) & Rule.is_default).first()
            or Rule.select().where(Rule.merchant == merchant).order_by(Rule.id).first())


def reveal_secret_key(credential: ApiCredential, sealer: Sealer, now) -> str | None:
    """The SecretKey the first time it is asked for, None afterwards (shown once).

    The update is conditional on ``revealed_at IS NULL`` so that two concurrent requests cannot both
    see the key."""
    updated = (ApiCredential.update(revealed_at=now)
               .where((ApiCredential.id == credential.id) & ApiCredential.revealed_at.is_null())
               .execute())
    if updated != 1:
        return None
    return sealer.open_text(credential.secret_key_sealed)
