"""The application factory, settings and health endpoint."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wx_backend import result_codes
from wx_backend.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_database_and_engine(client):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["engine"] in ("ready", "not loaded")


def test_sqlite_runs_in_wal_mode(app_ctx):
    from wx_backend import db
    mode = db.database.execute_sql("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_production_refuses_to_start_without_secrets():
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"WXF_ENV": "production", "SECRET_KEY": "x"})
    message = str(err.value)
    assert "DATA_KEY" in message and "WECHAT_MP_SECRET" in message
    assert "SECRET_KEY (" not in message  # the one that was given is not listed


def test_production_starts_with_its_secrets():
    env = {"WXF_ENV": "production", "SECRET_KEY": "s" * 32, "DATA_KEY": "d" * 32, "WECHAT_MP_APPID": "a",
           "WECHAT_MP_SECRET": "b", "WECHAT_OA_APPID": "c", "WECHAT_OA_SECRET": "e",
           "WECHAT_OA_TOKEN": "t"}
    s = Settings.from_env(env)
    assert s.is_production and s.wechat_api_base == "https://api.weixin.qq.com"


@pytest.mark.parametrize("env", [{"WXF_ENV": "staging"}, {"MAX_IMAGE_BYTES": "lots"},
                                 {"HOLIDAYS": "2026-13-01"}])
def test_bad_settings_are_refused_with_a_message(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_only_the_settings_module_reads_the_environment():
    offenders = []
    for path in list((ROOT / "wx_backend").rglob("*.py")) + list((ROOT / "faceengine").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if ("os.environ" in text or "os.getenv" in text) and path.name != "settings.py":
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_result_code_table_is_pinned():
    codes = {c.tencent: c for c in result_codes.all_codes()}
    billable = sorted(c.tencent for c in codes.values() if c.billable)
    assert billable == ["FailedOperation.CompareLowSimilarity", "FailedOperation.IdNameMisMatch",
                        "Success"]
    assert codes["Success"].saas == 0
    assert codes["FailedOperation.IdNameMisMatch"].saas == 2006
    assert codes["FailedOperation.CompareLowSimilarity"].saas == 2016
    assert codes["InvalidParameterValue.BizTokenExpired"].saas == 15
    assert codes["FailedOperation.BizTokenFinished"].saas == 14
    assert codes["FailedOperation.RetryLimitExceeded"].saas == 16
    assert result_codes.lookup("ImageBlur").tencent == "FailedOperation.ImageBlur"
    assert len({c.saas for c in codes.values()}) == len(codes)


@pytest.mark.parametrize("code, kind", [
    ("Success", "verdict"), ("FailedOperation.CompareLowSimilarity", "verdict"),
    ("FailedOperation.LipMoveSmall", "verdict"), ("FailedOperation.IdNoExistSystem", "verdict"),
    ("FailedOperation.ImageDecodeFailed", "bad_input"), ("FailedOperation.LipVideoInvalid", "bad_input"),
    ("FailedOperation.ImageSizeTooLarge", "bad_input"), ("MissingParameter", "bad_input"),
    ("RequestLimitExceeded", "refused"), ("UnauthorizedOperation.Arrears", "refused"),
    ("FailedOperation.ChallengeExpired", "refused"), ("FailedOperation.LivessSystemError", "system"),
    ("FailedOperation.CompareSystemError", "system"), ("InternalError", "system"),
])
def test_result_code_kinds_are_pinned(code, kind):
    assert result_codes.lookup(code).kind.value == kind


def test_result_code_kind_agrees_with_http_status():
    for c in result_codes.all_codes():
        assert c.is_system == (c.http_status >= 500), c.tencent
        assert (c.kind is result_codes.Kind.VERDICT) == (c.http_status == 200), c.tencent


def test_app_module_imports_cleanly_in_a_fresh_process(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", "import app; print(app.app.name)"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "wx_backend"


def test_services_are_frozen_typed_and_overridden_at_build_time(settings, clock):
    import dataclasses

    from wx_backend import create_app
    from wx_backend.engine_holder import EngineHolder
    from wx_backend.merchants.sms import MemorySmsGateway
    from wx_backend.services import EXTENSION_KEY, Services

    engine = EngineHolder(lambda: "the test's engine")
    sms = MemorySmsGateway()
    app = create_app(settings, clock=clock, overrides={"engine": engine, "sms": sms})
    svc = app.extensions[EXTENSION_KEY]
    assert isinstance(svc, Services) and svc.engine is engine and svc.sms is sms and svc.clock is clock
    with pytest.raises(dataclasses.FrozenInstanceError):
        svc.engine = EngineHolder(lambda: None)
    # Every collaborator is a declared field; nothing hangs off the object by name.
    assert set(vars(svc)) == {f.name for f in dataclasses.fields(Services)}
    with pytest.raises(TypeError):
        create_app(settings, clock=clock, overrides={"no_such_collaborator": object()})
