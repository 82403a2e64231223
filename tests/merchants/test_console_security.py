"""The consoles under attack (issue 14): password guessing, user-name enumeration, a copied cookie
after sign-out, a cookie forged with a leaked key, framing, and production's refusal of weak keys.
Each test fails on the code before issue 14 (noted per test), on its first assertion: the module ``signin``
that holds the rules is imported only after it."""
from __future__ import annotations

import hashlib
import logging

import pytest
from werkzeug.security import generate_password_hash

from wx_backend import create_app, db
from wx_backend.merchants.models import Reviewer
from wx_backend.merchants.seed import create_approved_merchant
from wx_backend.settings import DEV_DATA_KEY, DEV_SECRET_KEY, ConfigError, Settings

from .test_consoles import csrf, login

PASSWORD = "password-123"


@pytest.fixture
def merchant_user(deps):
    create_approved_merchant(deps, uscc="9144030071526726XG", username="alpha", password=PASSWORD)
    return "alpha"


def test_sixty_wrong_passwords_meet_a_growing_delay_then_a_lockout(app, merchant_user, clock, caplog):
    """Before: 60 wrong passwords in 6 s, no delay, and the right one then signed in."""
    c = app.test_client()
    caplog.set_level(logging.INFO, logger="wx_backend.merchants.signin")
    answers = [login(c, "/merchant", "alpha", f"wrong-{i}").status_code for i in range(60)]
    right = login(c, "/merchant", "alpha", PASSWORD)
    assert c.get("/merchant/").status_code == 302          # not signed in
    assert right.status_code == 429 and "请" in right.get_data(as_text=True)
    from wx_backend.merchants import signin
    # The first FREE_FAILURES are answered; every later try inside the delay is refused unchecked.
    assert answers[:signin.FREE_FAILURES] == [200] * signin.FREE_FAILURES
    assert set(answers[signin.FREE_FAILURES:]) == {429}

    # Waiting out each growing delay, the failures reach the lock: then even the right password waits.
    waits = []
    for i in range(signin.LOCK_ACCOUNT - signin.FREE_FAILURES):
        waits.append(signin.delay_s(signin.FREE_FAILURES + i))
        clock.advance(waits[-1])
        assert login(c, "/merchant", "alpha", f"late-{i}").status_code == 200
    assert waits == sorted(waits) and waits[-1] > waits[0]
    clock.advance(signin.MAX_DELAY_S)
    locked = login(c, "/merchant", "alpha", PASSWORD)
    assert locked.status_code == 429 and "锁定" in locked.get_data(as_text=True)
    assert any("locked" in r.getMessage() for r in caplog.records)
    assert not any("alpha" in r.getMessage() or PASSWORD in r.getMessage() for r in caplog.records)

    clock.advance(signin.FAIL_WINDOW_S)                     # the failures leave the window
    assert login(c, "/merchant", "alpha", PASSWORD).status_code == 302
    assert c.get("/merchant/").status_code == 200


def test_many_user_names_from_one_address_are_locked_too(app, merchant_user, clock):
    from wx_backend.merchants import signin
    c = app.test_client()
    for i in range(signin.LOCK_CLIENT):
        clock.advance(signin.delay_s(i))
        assert login(c, "/merchant", f"guess{i}", "x").status_code == 200
    clock.advance(signin.MAX_DELAY_S)
    locked = login(c, "/merchant", "alpha", PASSWORD)
    assert locked.status_code == 429 and "锁定" in locked.get_data(as_text=True)


def test_an_unknown_user_name_costs_the_same_hash_and_gets_the_same_answer(app, merchant_user, monkeypatch):
    """Before: an unknown name was answered without hashing (30x faster: the names could be listed)."""
    c = app.test_client()
    login(c, "/merchant", "nobody-0", "x")           # the dummy hash is made once, on first use
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    known = login(c, "/merchant", "alpha", "wrong")
    known_hashes = len(calls)
    unknown = login(c.application.test_client(), "/merchant", "nobody-1", "wrong")
    assert known_hashes == 1 and len(calls) - known_hashes == 1
    assert known.status_code == unknown.status_code == 200
    strip = lambda page: page.replace("nobody-1", "").replace("alpha", "")  # noqa: E731
    assert strip(known.get_data(as_text=True)).count("错误") == strip(unknown.get_data(as_text=True)).count("错误")


def test_sign_out_revokes_the_session_everywhere(app, merchant_user):
    """Before: the session was the cookie itself; a copy kept working after sign-out."""
    c = app.test_client()
    assert login(c, "/merchant", "alpha", PASSWORD).status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", c.get_cookie("session").value)
    assert copy.get("/merchant/").status_code == 200
    assert c.post("/merchant/logout", data={"csrf_token": csrf(c, "/merchant/")}).status_code == 302
    assert copy.get("/merchant/").status_code == 302
    from wx_backend.merchants import signin
    assert signin.ConsoleSession.select().count() == 0


def test_a_cookie_signed_with_the_key_but_naming_no_session_opens_nothing(app, app_ctx):
    """Before: {"reviewer_id": 1} signed with SECRET_KEY (published in development) opened /review/."""
    from flask.sessions import SecureCookieSessionInterface

    Reviewer.create(username="rev", password_hash=generate_password_hash("reviewer-pass"))
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    for forged in ({"reviewer_id": 1}, {"console_sid": "made-up-session-id"}):
        c = app.test_client()
        c.set_cookie("session", serializer.dumps(forged))
        resp = c.get("/review/")
        assert resp.status_code == 302 and "/review/login" in resp.headers["Location"]


def test_console_pages_cannot_be_framed_and_run_only_our_scripts(client):
    """Before: no CSP, X-Frame-Options or HSTS on any console response."""
    for url in ("/merchant/login", "/review/login", "/merchant/apply"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
            csp.split("script-src")[1].split(";")[0]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "onsubmit=" not in resp.get_data(as_text=True)
    assert "Strict-Transport-Security" not in client.get("/merchant/login").headers   # plain-HTTP development


PRODUCTION = {"WXF_ENV": "production", "SECRET_KEY": "k" * 48, "DATA_KEY": "d" * 48,
              "WECHAT_MP_APPID": "wxa", "WECHAT_MP_SECRET": "s", "WECHAT_OA_APPID": "wxb",
              "WECHAT_OA_SECRET": "s", "WECHAT_OA_TOKEN": "t"}


@pytest.mark.parametrize("name,value,why", [
    ("SECRET_KEY", DEV_SECRET_KEY, "published development value"),
    ("DATA_KEY", DEV_DATA_KEY, "published development value"),
    ("SECRET_KEY", "x" * 31, "shorter than 32 bytes"),
    ("DATA_KEY", "k3y-0f-12-by", "shorter than 32 bytes"),
])
def test_production_refuses_development_and_short_keys(name, value, why):
    """Before: WXF_ENV=production started with the published SECRET_KEY."""
    with pytest.raises(ConfigError) as err:
        Settings.from_env({**PRODUCTION, name: value})
    assert name in str(err.value) and why in str(err.value) and value not in str(err.value)


def test_production_sends_hsts(tmp_path):
    settings = Settings.from_env({**PRODUCTION, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                                  "HUEY_SQLITE_PATH": str(tmp_path / "huey.db")})
    app = create_app(settings)
    with app.app_context():
        db.create_tables()
    resp = app.test_client().get("/merchant/login", base_url="https://localhost")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    db.database.close()
