"""Application-wide CLI commands (features add their own groups in their init_app)."""
from __future__ import annotations

import json

import click
from flask import Flask

from . import db


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create the tables and add columns a newer version added (idempotent)."""
        added = db.create_tables()
        click.echo(json.dumps({"status": "ok", "tables": [m._meta.table_name for m in db.all_models()],
                               "columns_added": added}))
