"""``flask --app app authority add|import|reembed``: enrol people (ID number, name, reference photo) in
the registry; make the kept photos' templates again after a change of FACE_EMBEDDER.

Output is JSON on stdout. ``import`` reports each row (never the ID number in clear: masked) and exits
non-zero when any row failed; good rows are kept. Photos are judged by the reference rules (an ID-chip
portrait of 102x126 pixels is fine) and kept, sealed, beside their template.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from .. import db
from ..errors import Rejected
from ..services import services
from .idcard import InvalidIdNumber, InvalidName, mask_id_number, validate_id_number, validate_name
from .photo_verify import file_template
from .store import PhotoUnusable, RegistryError, today

authority_cli = AppGroup("authority", help="The authority ID registry (ID number, name, ID photo).")


class EnrolError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _enrol(id_number: str, name: str, photo: str | None) -> bool:
    """Validate and store one person; returns True when new. Raises EnrolError."""
    svc = services()
    try:
        validate_id_number(id_number, today(svc.clock))
    except InvalidIdNumber as exc:
        raise EnrolError("FailedOperation.IdFormatError", str(exc)) from None
    try:
        name = validate_name(name)
    except InvalidName as exc:
        raise EnrolError("FailedOperation.NameFormatError", str(exc)) from None
    template, model, data = b"", "", b""
    if photo:
        try:
            data = Path(photo).read_bytes()
        except OSError as exc:
            raise EnrolError("InvalidParameterValue", f"cannot read photo: {exc.strerror}") from None
        try:
            engine = svc.engine.get()
            face = file_template(engine, data, svc.settings.max_image_bytes)
        except Rejected as verdict:
            raise EnrolError(verdict.result.tencent, f"reference photo refused: {verdict.result.message}") \
                from None
        except Exception as exc:  # engine loading failures of any kind are reported per row
            raise EnrolError("FailedOperation.CompareSystemError", f"face engine unavailable: {exc}") from None
        template, model = face.to_bytes(), face.model
    try:
        return svc.registry.put(id_number, name, template, model, photo=data)
    except RegistryError as exc:
        raise EnrolError("InternalError", str(exc)) from None


@authority_cli.command("add")
@click.option("--id-card", "id_card", required=True)
@click.option("--name", required=True)
@click.option("--photo", default=None, help="JPEG/PNG/WebP of the ID photo (optional: no photo = ID/name only).")
def add_command(id_card: str, name: str, photo: str | None):
    """Add or replace one person."""
    with db.database.connection_context():
        try:
            created = _enrol(id_card, name, photo)
        except EnrolError as exc:
            click.echo(json.dumps({"ok": False, "id_card": mask_id_number(id_card), "code": exc.code,
                                   "error": str(exc)}, ensure_ascii=False))
            sys.exit(1)
    click.echo(json.dumps({"ok": True, "id_card": mask_id_number(id_card), "created": created,
                           "photo": bool(photo)}, ensure_ascii=False))


@authority_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def import_command(csv_file: str):
    """Import a CSV with columns id_card,name,photo_path (photo paths relative to the CSV's folder)."""
    base = Path(csv_file).resolve().parent
    rows, failed = [], 0
    with open(csv_file, newline="", encoding="utf-8-sig") as fh, db.database.connection_context():
        reader = csv.DictReader(fh)
        missing = {"id_card", "name", "photo_path"} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(f"CSV lacks columns: {', '.join(sorted(missing))}")
        for line_no, row in enumerate(reader, start=2):
            id_card = (row.get("id_card") or "").strip()
            photo = (row.get("photo_path") or "").strip()
            entry = {"line": line_no, "id_card": mask_id_number(id_card)}
            try:
                entry["created"] = _enrol(id_card, row.get("name") or "",
                                          str(base / photo) if photo else None)
                entry["ok"] = True
            except EnrolError as exc:
                failed += 1
                entry.update(ok=False, code=exc.code, error=str(exc))
            rows.append(entry)
    click.echo(json.dumps({"imported": len(rows) - failed, "failed": failed, "rows": rows},
                          ensure_ascii=False, indent=2))
    if failed:
        sys.exit(1)


@authority_cli.command("reembed")
@click.option("--dry-run", is_flag=True, help="only count what would be done")
def reembed_command(dry_run: bool):
    """Make every kept photo's template with the configured embedder (FACE_EMBEDDER).

    Verification also does it on first use of a record; this does it for all at once. Records
    enrolled before photos were kept ("no_photo") are compared with the embedder that made their
    template until their photo is enrolled again (``authority add`` / ``import``)."""
    svc = services()
    try:
        engine = svc.engine.get()
    except Exception as exc:  # engine loading failures of any kind are reported, then exit 1
        raise click.ClickException(f"face engine unavailable: {exc}") from None

    def make_template(data: bytes):
        try:
            return file_template(engine, data, len(data))
        except Rejected as verdict:
            raise PhotoUnusable(verdict.result.tencent) from None

    with db.database.connection_context():
        try:
            counts = svc.registry.reembed(engine.model_id, make_template, dry_run=dry_run)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"model": engine.model_id, "dry_run": dry_run, **counts}))
    if counts["failed"]:
        sys.exit(1)
