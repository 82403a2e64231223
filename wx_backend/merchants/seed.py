"""Approved merchants without clicking: the development demo (`flask --app app demo seed`) and a helper
other features' tests use. Both go through the real apply + approve path.

Demo credentials are derived from Settings.data_key with HMAC, so every run (and every fresh database)
prints the same working SecretId/SecretKey; seeding is refused in production.
"""
from __future__ import annotations

import hashlib
import hmac
import io

from PIL import Image, ImageDraw
from werkzeug.security import generate_password_hash

from . import application, provisioning, review
from .deps import OnboardingDeps
from .models import APPROVED, ApiCredential, Merchant, Reviewer, Rule

DEMO_USCC = "91350100M000100Y43"
DEMO_USER, DEMO_PASSWORD = "demo", "demo-merchant-pass"
DEMO_REVIEWER, DEMO_REVIEWER_PASSWORD = "reviewer", "demo-reviewer-pass"


class DemoRefused(Exception):
    pass


def licence_png(text: str = "营业执照 BUSINESS LICENCE", size=(640, 420)) -> bytes:
    """A legible stand-in licence scan (PNG) drawn with Pillow."""
    img = Image.new("RGB", size, (250, 246, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle([10, 10, size[0] - 10, size[1] - 10], outline=(160, 30, 30), width=6)
    for i, line in enumerate([text, "USCC", "Demo Co., Ltd."]):
        draw.text((40, 60 + 60 * i), line, fill=(20, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _derived(key: str, purpose: str, n: int) -> str:
    digest = hmac.new(key.encode(), purpose.encode(), hashlib.sha512).digest()
    alphabet = provisioning.ALNUM
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def create_approved_merchant(deps: OnboardingDeps, *, uscc: str, name: str = "测试商户",
                             industry: str = "finance.bank",
                             channels: tuple[str, ...] = ("native_h5", "miniprogram", "h5", "api"),
                             phone: str = "13800138000", wechat_approved: bool = True,
                             username: str = "", password: str = "",
                             secret_pair: provisioning.IssuedCredential | None = None
                             ) -> review.Approval:
    """Apply and approve in one go (tests, demo). ``uscc`` must be valid and unused."""
    merchant = application.submit(deps, application.ApplicationForm(
        name=name, uscc=uscc, industry_key=industry, phone=phone, channels=tuple(channels),
        licence=licence_png(), description="", username=username, password=password))
    approval = review.approve(deps, merchant.id, reviewer="seed", secret_pair=secret_pair)
    if wechat_approved and approval.wechat_review == "pending":
        review.set_wechat_review(deps, merchant.id, approved=True)
    return approval


def seed_demo(deps: OnboardingDeps) -> dict:
    if deps.settings.is_production:
        raise DemoRefused("demo seed is for development only (WXF_ENV=production)")
    key = deps.settings.data_key
    pair = provisioning.IssuedCredential("AKID" + _derived(key, "demo-secret-id", 32),
                                         _derived(key, "demo-secret-key", 32))
    merchant = Merchant.get_or_none(Merchant.uscc == DEMO_USCC)
    created = merchant is None
    if created:
        approval = create_approved_merchant(
            deps, uscc=DEMO_USCC, name="演示银行股份有限公司", username=DEMO_USER,
            password=DEMO_PASSWORD, secret_pair=pair)
        merchant = Merchant.get_by_id(approval.merchant_id)
        now = deps.now_naive()
        provisioning.add_rule(merchant, "h5", "action", now)
        provisioning.add_rule(merchant, "h5", "silent", now)
    elif merchant.status != APPROVED or not ApiCredential.select().where(
            ApiCredential.secret_id == pair.secret_id).exists():
        raise DemoRefused("a merchant with the demo USCC exists but is not the seeded demo "
                          "(DATA_KEY changed?); remove var/ and seed again")
    if not Rule.select().where((Rule.merchant == merchant) & (Rule.channel == "miniprogram")
                               & (Rule.liveness_mode == "lip")).exists():
        # The paced digit mode in the mini-program (`make demo MODE=lip`), added to older seeds too.
        provisioning.add_rule(merchant, "miniprogram", "lip", deps.now_naive())
    if not Reviewer.select().where(Reviewer.username == DEMO_REVIEWER).exists():
        Reviewer.create(username=DEMO_REVIEWER,
                        password_hash=generate_password_hash(DEMO_REVIEWER_PASSWORD))
    rules = Rule.select().where(Rule.merchant == merchant).order_by(Rule.id)
    return {
        "created": created, "merchant_id": merchant.id, "merchant_name": merchant.name,
        "merchant_login": {"username": DEMO_USER, "password": DEMO_PASSWORD},
        "reviewer_login": {"username": DEMO_REVIEWER, "password": DEMO_REVIEWER_PASSWORD},
        "secret_id": pair.secret_id, "secret_key": pair.secret_key,
        "secret_note": "development only: derived from DATA_KEY, identical on every seed",
        "rule_id": provisioning.default_rule(merchant).rule_id,
        "rules": [{"rule_id": r.rule_id, "channel": r.channel, "liveness_mode": r.liveness_mode}
                  for r in rules],
    }
