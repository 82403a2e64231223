"""Tables of the local authority ID registry.

Names and ID numbers live in one table, face templates in another (biometric data kept apart from the
identifiers, PIPL): neither holds an ID number in clear — rows are keyed by ``Sealer.digest`` of it —
and both seal their payloads (name, template) with the data key.
"""
from __future__ import annotations

import peewee

from ..db import BaseModel


class AuthorityIdentity(BaseModel):
    id_digest = peewee.CharField(max_length=64, unique=True)     # Sealer.digest(id_number, "idcard")
    name_sealed = peewee.BlobField()
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()


class AuthorityFace(BaseModel):
    """The reference (ID) photo's face template of one identity."""

    identity = peewee.ForeignKeyField(AuthorityIdentity, backref="faces", unique=True, on_delete="CASCADE")
    template_sealed = peewee.BlobField()                          # Sealer.seal(FaceTemplate.to_bytes())
    model = peewee.CharField(max_length=64)                       # embedder id, to refuse cross-model compares
    created_at = peewee.DateTimeField()
