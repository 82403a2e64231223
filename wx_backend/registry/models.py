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
    """The reference (ID) photo of one identity and its face template.

    The photo is kept (sealed) so that the template can be made again when the operator changes the
    embedder (FACE_EMBEDDER); rows enrolled before photos were kept have none (``photo_sealed`` NULL)
    and are compared with the embedder that made their template (docs/calibration.md)."""

    identity = peewee.ForeignKeyField(AuthorityIdentity, backref="faces", unique=True, on_delete="CASCADE")
    template_sealed = peewee.BlobField()                          # Sealer.seal(FaceTemplate.to_bytes())
    model = peewee.CharField(max_length=64)                       # embedder id, to refuse cross-model compares
    created_at = peewee.DateTimeField()
    photo_sealed = peewee.BlobField(null=True)                    # Sealer.seal(the enrolled photo file)
