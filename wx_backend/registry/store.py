"""The authority ID registry: the interface the verification services use, and the local implementation.

It stands in for the national ID-photo database: given an ID number it answers the registered name and the
face template of the ID photo. The local implementation keeps them in the application database, sealed.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
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


class PhotoUnusable(Exception):
    """A kept registry photo could not be embedded again (refused by the rules, or unreadable)."""


class KeptPhoto(Protocol):
    def open(self) -> bytes:
        """The ID photo file; raises RegistryError when it cannot be read."""


@dataclass(frozen=True)
class AuthorityRecord:
    name: str
    template: bytes          # FaceTemplate.to_bytes() of the ID photo; b"" when there is no photo
    template_model: str      # "" when there is no photo
    kept_photo: KeptPhoto | None = None   # the ID photo file itself, when the registry keeps it

    @property
    def has_photo(self) -> bool:
        return bool(self.template)

    @property
    def photo(self) -> bytes:
        """The kept ID photo file (b"" when there is none), opened on each access."""
        return self.kept_photo.open() if self.kept_photo is not None else b""


@dataclass(frozen=True)
class _SealedPhoto:
    sealer: Sealer
    sealed: bytes = field(repr=False)

    def open(self) -> bytes:
        try:
            return self.sealer.open(self.sealed)
        except SealError as exc:
            raise RegistryError("a registry photo cannot be opened with this data key") from exc


class AuthorityRegistry(Protocol):
    def lookup(self, id_number: str) -> AuthorityRecord:
        """The record of a (validated) ID number; raises NoSuchIdentity or RegistryError."""

    def put(self, id_number: str, name: str, template: bytes, template_model: str, photo: bytes = b"") -> bool:
        """Create or replace a record; True when it was new."""

    def update_template(self, id_number: str, template: bytes, template_model: str) -> None:
        """Replace the template of a record's photo (made again with another embedder)."""


class LocalRegistry:
    """AuthorityRegistry on the application database."""

    def __init__(self, sealer: Sealer, clock: Clock):
        self._sealer = sealer
        self._clock = clock

    def _digest(self, id_number: str) -> str:
        return self._sealer.digest(id_number, DIGEST_PURPOSE)

    def lookup(self, id_number: str) -> AuthorityRecord:
        # One query for both tables (this runs on every photo verification); the kept ID photo is
        # opened only when it is asked for (a template made again for another embedder), not each time.
        try:
            row = (AuthorityIdentity
                   .select(AuthorityIdentity.name_sealed, AuthorityFace.template_sealed, AuthorityFace.model,
                           AuthorityFace.photo_sealed)
                   .join(AuthorityFace, peewee.JOIN.LEFT_OUTER)
                   .where(AuthorityIdentity.id_digest == self._digest(id_number))
                   .tuples().first())
            if row is None:
                raise NoSuchIdentity("not registered")
            name_sealed, template_sealed, model, photo_sealed = row
            name = self._sealer.open_text(name_sealed)
            template = self._sealer.open(template_sealed) if template_sealed is not None else b""
        except peewee.PeeweeException as exc:
            raise RegistryError(f"registry storage failed: {type(exc).__name__}") from exc
        except SealError as exc:
            raise RegistryError("a registry record cannot be opened with this data key") from exc
        photo = _SealedPhoto(self._sealer, bytes(photo_sealed)) if photo_sealed else None
        return AuthorityRecord(name=name, template=template, template_model=model or "", kept_photo=photo)

    def update_template(self, id_number: str, template: bytes, template_model: str) -> None:
        try:
            identity = AuthorityIdentity.get_or_none(AuthorityIdentity.id_digest == self._digest(id_number))
            if identity is None:
                raise NoSuchIdentity("not registered")
            (AuthorityFace.update(template_sealed=self._sealer.seal(template), model=template_model)
             .where(AuthorityFace.identity == identity).execute())
        except peewee.PeeweeException as exc:
            raise RegistryError(f"registry storage failed: {type(exc).__name__}") from exc

    def reembed(self, model: str, make_template, dry_run: bool = False) -> dict[str, int]:
        """Make the template of every kept photo not yet embedded with ``model`` again.

        ``make_template(photo_bytes) -> FaceTemplate`` (raises PhotoUnusable to skip a photo). Returns counts:
        ``current`` (already ``model``), ``reembedded``, ``failed`` (photo refused or unreadable),
        ``no_photo`` (enrolled before photos were kept: compared with their own embedder until the
        operator enrols the photo again)."""
        counts = {"current": 0, "reembedded": 0, "failed": 0, "no_photo": 0}
        try:
            for face in AuthorityFace.select().iterator():
                if face.model == model:
                    counts["current"] += 1
                    continue
                if not face.photo_sealed:
                    counts["no_photo"] += 1
                    continue
                if dry_run:
                    counts["reembedded"] += 1
                    continue
                try:
                    template = make_template(self._sealer.open(face.photo_sealed))
                except (PhotoUnusable, SealError) as exc:   # one bad photo must not stop the others
                    log.warning("registry photo could not be embedded again: %s", type(exc).__name__)
                    counts["failed"] += 1
                    continue
                (AuthorityFace.update(template_sealed=self._sealer.seal(template.to_bytes()), model=template.model)
                 .where(AuthorityFace.id == face.id).execute())
                counts["reembedded"] += 1
        except peewee.PeeweeException as exc:
            raise RegistryError(f"registry storage failed: {type(exc).__name__}") from exc
        return counts

    def put(self, id_number: str, name: str, template: bytes, template_model: str, photo: bytes = b"") -> bool:
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
                                         model=template_model, created_at=now,
                                         photo_sealed=self._sealer.seal(photo) if photo else None)
        except peewee.PeeweeException as exc:
            raise RegistryError(f"registry storage failed: {type(exc).__name__}") from exc
        return created

    def count(self) -> int:
        return AuthorityIdentity.select().count()


def today(clock: Clock) -> dt.date:
    """The date ID birth dates are checked against (China Standard Time: births are registered there)."""
    return (clock.now().astimezone(dt.timezone.utc) + dt.timedelta(hours=8)).date()
