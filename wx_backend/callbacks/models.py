"""One row per result callback: what is sent (the JSON body, no ID number, name or image), where it
stands (pending -> delivered | failed), and what the last try saw (HTTP status, latency, error).

The body holds the BizToken and the result, so a row is personal data of its session: the retention
purge and a merchant's deletion remove it with the session's other data.
"""
from __future__ import annotations

import peewee

from ..db import BaseModel
from ..merchants.models import Merchant
from ..verification.models import VerificationSession

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# What ended the session.
FINISHED, EXHAUSTED, EXPIRED = "finished", "exhausted", "expired"


class CallbackDelivery(BaseModel):
    event_id = peewee.CharField(max_length=40, unique=True)     # also in the body: receivers dedupe on it
    merchant = peewee.ForeignKeyField(Merchant, on_delete="CASCADE")
    session = peewee.ForeignKeyField(VerificationSession, on_delete="CASCADE")
    biz_token = peewee.CharField(max_length=64, index=True)
    rule_id = peewee.CharField(max_length=32)
    event = peewee.CharField(max_length=16)
    body = peewee.TextField()
    url = peewee.TextField(default="")                          # where the last try went
    state = peewee.CharField(max_length=16, default=PENDING, index=True)
    attempts = peewee.IntegerField(default=0)
    next_at = peewee.DateTimeField(index=True)                  # due (pending), or leased until
    give_up_at = peewee.DateTimeField()
    last_status = peewee.IntegerField(null=True)                # the receiver's HTTP status
    last_error = peewee.CharField(max_length=200, default="")
    latency_ms = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(index=True)
    delivered_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("session", "event"), True),)
