"""The authority ID registry: the interface the verification services use, and the local implementation.

It stands in for the national ID-photo database: given an ID number it answers the registered name and the
face template of the ID photo. The local implementation keeps them in the application database, sealed.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

import peewee

from .. import db
from ..clock import Clock, utc_naive
from ..crypto import SealError, Sealer
from .models import AuthorityFace, AuthorityIdentity

log = logging.getLogger(__name__)

DIGEST_PURPOSE = "idcard"


class RegistryError(Exception):
    """The registry could not answer (storage failure, undecryptable record)."""


class NoSuchIdentity(LookupError):
    """The ID number is not in the registry (a verdict: IdNoExistSystem)."""


@dataclass(frozen=True)
class AuthorityRecord:
    name: str
    template: bytes          # FaceTemplate.to_bytes() of the ID photo; b"" when there is no photo
    template_model: str      # "" when there is no photo

    @property
    def has_photo(self) -> bool:
        return bool(self.template)


class AuthorityRegistry(Protocol):
    def lookup(self, id_number: str) -> AuthorityRecord:
        """The record of a (validated) ID number; raises NoSuchIdentity or RegistryError."""

    def put(self, id_number: str, name: str, template: bytes, template_model: str) -> bool:
        """Create or replace a record; True when it was new."""


class LocalRegistry:
    """AuthorityRegistry on the application database."""

    def __init__(self, sealer: Sealer, clock: Clock):
        self._sealer = sealer
        self._clock = clock

    def _digest(self, id_number: str) -> str:
        return self._sealer.digest(id_number, DIGEST_PURPOSE)

    def lookup(self, id_number: str) -> AuthorityRecord:
        try:
            identity = AuthorityIdentity.get_or_none(AuthorityIdentity.id_digest == self._digest(id_number))
            if identity is None:
                raise NoSuchIdentity("not registered")
            face = AuthorityFace.get_or_none(AuthorityFace.identity == identity)
            name = self._sealer.open_text(identity.name_sealed)
            template = self._sealer.open(face.template_sealed) if face is not None else b""
        except peewee.PeeweeException as exc:
            raise RegistryError(f"registry storage failed: {type(exc).__name__}") from exc
        except SealError as exc:
            raise RegistryError("a registry record cannot be opened with this data key") from exc
        return AuthorityRecord(name=name, template=template,
                               template_model=face.model if face is not None else "")

    def put(self, id_number: str, name: str, template: bytes, template_model: str) -> bool:
        now = utc_naive(self._clock.now())
        digest = self._digest(id_number)
        try:
            with db.database.atomic():
                identity = AuthorityIdentity.get_or_none(AuthorityIdentity.id_digest == digest)
                created = identity is None
                if created:
                    identity = AuthorityIdentity.create(id_digest=digest, name_sealed=self._sealer.seal_text(name),
                                                        created_at=now, updated_at=now)
                else:
                    identity.name_sealed = self._sealer.seal_text(name)
                    identity.updated_at = now
                    identity.save()
                AuthorityFace.delete().where(AuthorityFace.identity == identity).execute()
                if template:
                    AuthorityFace.create(identity=identity, template_sealed=self._sealer.seal(template),
                                         model=template_model, created_at=now)
        except peewee.PeeweeException as exc:
            raise RegistryError(f"registry storage failed: {type(exc).__name__}") from exc
        return created

    def count(self) -> int:
        return AuthorityIdentity.select().count()


def today(clock: Clock) -> dt.date:
    """The date ID birth dates are checked against (China Standard Time: births are registered there)."""
    return (clock.now().astimezone(dt.timezone.utc) + dt.timedelta(hours=8)).date()
