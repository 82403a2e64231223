"""Usage records, charges and quota reservations.

A Charge row exists once per idempotency key (unique): that uniqueness, not application logic, is what
makes a retried or concurrent call unable to pay twice. A Reservation holds one unit of quota taken before
the work starts; it is settled (turned into a Charge or given back) when the verdict is known.
"""
from __future__ import annotations

import peewee

from ..db import BaseModel
from ..merchants.models import Merchant, ResourcePack


class UsageRecord(BaseModel):
    merchant = peewee.ForeignKeyField(Merchant, backref="usage", on_delete="CASCADE")
    created_at = peewee.DateTimeField(index=True)
    action = peewee.CharField(max_length=64)
    product = peewee.CharField(max_length=32, default="")
    result_code = peewee.CharField(max_length=80)
    charged = peewee.BooleanField(default=False)
    masked_id = peewee.CharField(max_length=32, default="")      # 1101**********1234, never the number
    request_id = peewee.CharField(max_length=64, default="")

    class Meta:
        indexes = ((("merchant", "created_at"), False),)


class Charge(BaseModel):
    merchant = peewee.ForeignKeyField(Merchant, backref="charges", on_delete="CASCADE")
    key = peewee.CharField(max_length=128, unique=True)          # idempotency key, merchant-scoped digest
    product = peewee.CharField(max_length=32)
    pack = peewee.ForeignKeyField(ResourcePack, null=True, on_delete="SET NULL")   # None: postpaid
    result_code = peewee.CharField(max_length=80)
    created_at = peewee.DateTimeField()


class Reservation(BaseModel):
    merchant = peewee.ForeignKeyField(Merchant, on_delete="CASCADE")
    product = peewee.CharField(max_length=32)
    pack = peewee.ForeignKeyField(ResourcePack, null=True, on_delete="SET NULL")   # None: postpaid
    created_at = peewee.DateTimeField()
    settled = peewee.BooleanField(default=False, index=True)
