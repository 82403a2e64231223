"""The baseline of bench/api_load.py: a bare Flask app answering a Cloud API-shaped JSON body.

Nothing is checked, stored or signed: what it costs is gunicorn + Flask + JSON, the floor under any
action of the service. It is served with the service's own gunicorn settings (bench/bare_gunicorn_conf.py).
"""
from __future__ import annotations

import uuid

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "engine": "ready"})


@app.post("/")
def cloud_api():
    return jsonify({"Response": {"LiveCode": "0000", "RequestId": str(uuid.uuid4())}})
