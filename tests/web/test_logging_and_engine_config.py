"""What reaches logs, and how the engine configuration is checked at start-up."""
from __future__ import annotations

import json
import types

import pytest

from wx_backend.access_log import RedactingLogger, redact_path
from wx_backend.engine_factory import engine_options
from wx_backend.settings import ConfigError, Settings

TOKEN = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"


def test_biz_tokens_are_cut_short_in_paths():
    assert redact_path(f"/api/biz/{TOKEN}/frames") == "/api/biz/Zm9v…/frames"
    assert redact_path(f"/h5/biz/{TOKEN}") == "/h5/biz/Zm9v…"
    assert redact_path("/merchant/login") == "/merchant/login"


def test_gunicorn_access_log_line_has_no_token_and_no_query():
    from gunicorn.config import Config

    cfg = Config()
    cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(q)s %(r)s')
    logger = RedactingLogger(cfg)
    req = types.SimpleNamespace(method="POST", path=f"/api/biz/{TOKEN}/frames",
                                query="code=secretcode&state=s1", uri=f"/api/biz/{TOKEN}/frames?code=x",
                                version=(1, 1), headers=[])
    resp = types.SimpleNamespace(status="200 OK", sent=10, headers=[], response_length=10)
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "POST", "RAW_URI": req.uri,
               "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": req.query}
    import datetime as dt
    atoms = logger.atoms(resp, req, environ, dt.timedelta(milliseconds=5))
    line = cfg.access_log_format % atoms
    assert TOKEN not in line
    assert "secretcode" not in line
    assert "/api/biz/Zm9v…/frames" in line


def test_default_engine_is_the_shipped_mobilefacenet():
    opts = engine_options(Settings())
    assert opts.onnx_embedder is None and opts.embedder_name == "mobilefacenet"


@pytest.mark.parametrize("env, name", [
    ({}, "mobilefacenet"),
    ({"FACE_EMBEDDER": "dlib"}, "dlib"),
    ({"FACE_EMBEDDER": "Fused"}, "fused"),
    ({"ONNX_EMBEDDER_PATH": "/m.onnx"}, "onnx"),           # as before FACE_EMBEDDER existed
    ({"FACE_EMBEDDER": "onnx", "ONNX_EMBEDDER_PATH": "/m.onnx"}, "onnx"),
])
def test_face_embedder_setting(env, name):
    assert Settings.from_env(env).face_embedder == name


@pytest.mark.parametrize("env, words", [
    ({"FACE_EMBEDDER": "arcface"}, "one of"),
    ({"FACE_EMBEDDER": "onnx"}, "needs ONNX_EMBEDDER_PATH"),
    ({"FACE_EMBEDDER": "dlib", "ONNX_EMBEDDER_PATH": "/m.onnx"}, "go together"),
])
def test_face_embedder_setting_refused(env, words):
    with pytest.raises(ConfigError, match=words):
        Settings.from_env(env)


def test_onnx_embedder_without_calibration_is_refused():
    with pytest.raises(ConfigError, match="knots"):
        engine_options(Settings(onnx_embedder_path="/models/arcface.onnx"))


@pytest.mark.parametrize("spec, words", [
    ("{not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    (json.dumps({"knots": [[0.2, 100], [0.6, 70]], "size": 112}), "unknown keys"),
    (json.dumps({"knots": [[0.6, 70], [0.2, 100]]}), "knots"),
    (json.dumps({"knots": [[0.2, 100], [0.6, 70]], "mean": [1, 2]}), "mean needs 3"),
])
def test_malformed_onnx_spec_names_the_problem(spec, words):
    with pytest.raises(ConfigError, match=words):
        engine_options(Settings(onnx_embedder_path="/m.onnx", onnx_embedder_spec=spec))


def test_onnx_spec_is_read_into_embedder_options():
    spec = {"input_size": 128, "colour_order": "BGR", "mean": [0, 0, 0], "std": [255, 255, 255],
            "flip_average": True, "knots": [[0.2, 100], [0.55, 80], [0.62, 70], [1.0, 0]]}
    opts = engine_options(Settings(onnx_embedder_path="/m.onnx",
                                   onnx_embedder_spec=json.dumps(spec))).onnx_embedder
    assert (opts.path, opts.input_size, opts.colour_order, opts.flip_average) == ("/m.onnx", 128, "BGR", True)
    assert opts.std == (255.0, 255.0, 255.0)
    assert opts.curve.sim(0.62) == pytest.approx(70.0)


def test_bad_engine_configuration_stops_create_app(settings):
    from wx_backend import create_app

    with pytest.raises(ConfigError):
        create_app(settings.replace(onnx_embedder_path="/m.onnx"))


def test_an_unhandled_error_is_logged_without_the_token(app, caplog):
    @app.get("/api/biz/<token>/boom")
    def boom(token):
        raise RuntimeError("kaboom")

    client = app.test_client()
    with caplog.at_level("ERROR"):
        resp = client.get(f"/api/biz/{TOKEN}/boom")
    assert resp.status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Exception on /api/biz/Zm9v…/boom [GET]" in logged
    assert TOKEN not in logged and TOKEN not in caplog.text
