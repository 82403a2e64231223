"""deploy/ agrees with the service: nginx's body limit is MAX_REQUEST_BYTES, nginx's own refusals carry the
result-code table's codes and texts, the example environment is one the service starts with, and the
production gunicorn settings keep what the development file loads after the fork. (The cluster test runs
these files for real; this needs no service.)"""
from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import pytest

from wx_backend.result_codes import lookup
from wx_backend.settings import ConfigError, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVER_CONF = (DEPLOY / "nginx" / "wxfaceid-server.conf").read_text()


def _nginx_size(value: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * units[unit]


def test_nginx_refuses_exactly_what_the_service_would():
    [limit] = re.findall(r"^client_max_body_size (\S+);", SERVER_CONF, re.M)
    assert _nginx_size(limit) == Settings().max_request_bytes


def test_nginx_refusals_speak_the_result_code_table():
    bodies = re.findall(r"return (\d{3}) '(\{.*\})';", SERVER_CONF)
    assert len(bodies) == 6
    for status, raw in bodies:
        body = json.loads(raw.replace("$request_id", "r"))
        if "Response" in body:                               # the Cloud API: HTTP 200, as the SDK expects
            error = body["Response"]["Error"]
            code = lookup(error["Code"])
            assert status == "200" and error["Message"] == code.message
        else:
            error = body["error"]
            code = lookup(error["code"])
            assert (error["saas_code"], error["message"]) == (code.saas, code.message)
            assert int(status) == (503 if code.tencent == "InternalError" else code.http_status)


def test_the_example_environment_starts_a_production_service():
    env = {}
    for line in (DEPLOY / "wxfaceid.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    with pytest.raises(ConfigError, match="SECRET_KEY is shorter than 32 bytes"):
        Settings.from_env(env)                      # the keys must be replaced (issue 14)
    settings = Settings.from_env({**env, "SECRET_KEY": "s" * 43, "DATA_KEY": "d" * 43})
    assert settings.is_production and settings.trusted_proxies == 1 and settings.redis_url
    assert settings.max_request_bytes == Settings().max_request_bytes
    source = (Path(__file__).resolve().parents[2] / "wx_backend" / "settings.py").read_text()
    unknown = [k for k in env if f'"{k}"' not in source and k != "WXF_BIND"]   # WXF_BIND: the systemd unit's
    assert unknown == []


def test_production_gunicorn_keeps_the_per_worker_model_loading():
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert conf["worker_class"] == "gthread" and conf["threads"] >= 2
    assert "warm" in conf["post_worker_init"].__code__.co_names       # the development file's hook
    assert conf["logger_class"] == "wx_backend.access_log.RedactingLogger"
    assert conf["graceful_timeout"] < 45                                # inside the unit's TimeoutStopSec
