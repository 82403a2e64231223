"""GET /healthz: is this worker able to serve (database reachable, face engine loaded)."""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from . import db
from .services import Services, services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    svc = services()
    database = db.ping()
    engine = svc.engine.state
    ok = database == "ok" and not engine.startswith("error")
    body = {"status": "ok" if ok else "degraded", "database": database, "engine": engine,
            "env": svc.settings.env}
    return jsonify(body), (200 if ok else 503)


def init_app(app: Flask, svc: Services) -> None:
    app.register_blueprint(bp)
