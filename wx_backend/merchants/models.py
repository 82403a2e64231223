"""Merchants, their console users, API credentials, rules (channel + liveness mode) and resource packs.

Shared by onboarding (this package), the Cloud API (credentials, QPS limit), billing (packs) and
verification sessions (rules, channel rights). Times are naive UTC.
"""
from __future__ import annotations

import json

import peewee

from ..db import BaseModel

# Application / review states.
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
# WeChat-side review of native H5 and mini-program: none (not asked / not eligible) -> pending -> ...
WX_NONE = "none"

CHANNELS = ("native_h5", "miniprogram", "h5", "api")
NATIVE_CHANNELS = ("native_h5", "miniprogram")
LIVENESS_MODES = ("light", "lip", "action", "silent")
# What a rule's sessions compare the face with: the authority ID photo (IdCard + Name), the photo the
# merchant sends (ImageBase64), or either (the photo when one is sent).
COMPARE_SOURCES = ("either", "authority", "photo")
# Which liveness modes each session channel can run (DESIGN §3): light needs the screen we control
# (native H5, mini-program); action and silent need the recorded video of ordinary H5; digit runs
# everywhere.
MODES_BY_CHANNEL = {
    "native_h5": ("light", "lip"),
    "miniprogram": ("light", "lip"),
    "h5": ("lip", "action", "silent"),
}
# Billable products, each with its own prepaid pack.
PRODUCTS = ("live_verification", "liveness", "photo_verification")


class JSONListField(peewee.TextField):
    def db_value(self, value):
        return json.dumps(list(value or []), ensure_ascii=False)

    def python_value(self, value):
        return json.loads(value) if value else []


class Merchant(BaseModel):
    name = peewee.CharField(max_length=200)
    uscc = peewee.CharField(max_length=18, unique=True)      # unified social credit code
    industry_key = peewee.CharField(max_length=64)           # whitelist key like "finance.bank", or "other"
    phone = peewee.CharField(max_length=32)
    description = peewee.TextField(default="")
    channels_requested = JSONListField(default=list)
    channels_granted = JSONListField(default=list)           # what the application covers
    refused_channels = JSONListField(default=list)           # [{"channel", "reason"}] as JSON objects
    licence_image = peewee.BlobField(null=True)              # sealed (Sealer) JPEG/PNG bytes
    licence_mime = peewee.CharField(max_length=32, default="")
    status = peewee.CharField(max_length=16, default=PENDING, index=True)
    submitted_at = peewee.DateTimeField()
    review_deadline = peewee.DateField()
    reviewed_at = peewee.DateTimeField(null=True)
    review_reason = peewee.TextField(default="")
    reviewer = peewee.CharField(max_length=64, default="")
    wechat_review = peewee.CharField(max_length=16, default=WX_NONE)
    qps_limit = peewee.IntegerField(default=20)
    postpaid = peewee.BooleanField(default=False)

    def native_allowed(self) -> bool:
        """May use WeChat native H5 / mini-program: approved here, whitelisted, WeChat-side approved."""
        return (self.status == APPROVED and self.wechat_review == APPROVED
                and any(c in NATIVE_CHANNELS for c in self.channels_granted))


class MerchantUser(BaseModel):
    """A merchant console login."""

    merchant = peewee.ForeignKeyField(Merchant, backref="users", on_delete="CASCADE")
    username = peewee.CharField(max_length=64, unique=True)
    password_hash = peewee.CharField(max_length=255)


class Reviewer(BaseModel):
    """An operator who reviews applications."""

    username = peewee.CharField(max_length=64, unique=True)
    password_hash = peewee.CharField(max_length=255)


class ApiCredential(BaseModel):
    merchant = peewee.ForeignKeyField(Merchant, backref="credentials", on_delete="CASCADE")
    secret_id = peewee.CharField(max_length=64, unique=True)
    secret_key_sealed = peewee.BlobField()                   # Sealer.seal of the SecretKey
    created_at = peewee.DateTimeField()
    active = peewee.BooleanField(default=True)
    # When the SecretKey was shown (it is shown once: to the approving CLI operator or the merchant).
    revealed_at = peewee.DateTimeField(null=True)
    disabled_at = peewee.DateTimeField(null=True)            # when a rotation retired it (active False)


class Rule(BaseModel):
    """A RuleId: fixes the channel, liveness mode and compare source of verification sessions, where
    the user may be sent back to, and where the result is posted (rules.py)."""

    rule_id = peewee.CharField(max_length=32, unique=True)
    merchant = peewee.ForeignKeyField(Merchant, backref="rules", on_delete="CASCADE")
    channel = peewee.CharField(max_length=16)                # one of CHANNELS except "api"
    liveness_mode = peewee.CharField(max_length=16)          # one of LIVENESS_MODES
    name = peewee.CharField(max_length=100, default="")
    created_at = peewee.DateTimeField()
    is_default = peewee.BooleanField(default=False)            # the merchant's default RuleId
    active = peewee.BooleanField(default=True)                 # a disabled rule starts no session
    compare_source = peewee.CharField(max_length=16, default="either")   # one of COMPARE_SOURCES
    redirect_allow = JSONListField(default=list)               # allowed RedirectUrl origins; [] = any
    callback_url = peewee.TextField(default="")                # result callback (https), "" = none
    callback_key_sealed = peewee.BlobField(null=True)          # the callback's HMAC key, sealed
    updated_at = peewee.DateTimeField(null=True)


class ResourcePack(BaseModel):
    """Prepaid calls of one product; consumed oldest first."""

    merchant = peewee.ForeignKeyField(Merchant, backref="packs", on_delete="CASCADE")
    product = peewee.CharField(max_length=32)                # one of PRODUCTS
    total = peewee.IntegerField()
    remaining = peewee.IntegerField()
    label = peewee.CharField(max_length=64, default="")
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(null=True)


class SmsOutbox(BaseModel):
    """The default SMS gateway's record of what it would have sent."""

    phone = peewee.CharField(max_length=32)
    body = peewee.TextField()
    created_at = peewee.DateTimeField()


class InSiteMessage(BaseModel):
    merchant = peewee.ForeignKeyField(Merchant, backref="messages", on_delete="CASCADE")
    title = peewee.CharField(max_length=200)
    body = peewee.TextField()
    created_at = peewee.DateTimeField()
    read_at = peewee.DateTimeField(null=True)
