"""Session machinery over real HTTP with the mini-program client: binding, consent, challenges,
attempt accounting, the codes of finished / expired / exhausted tokens, bad input, rate limits."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from miniprogram_stub.client import MiniProgramError
from wx_backend import db
from wx_backend.verification.models import Attempt, VerificationSession

from .conftest import grey_capture, make_rule, new_session


def _code(err: MiniProgramError) -> str:
    return err.body["error"]["code"]


@pytest.fixture
def mp_light(svc, native_merchant):
    rule = make_rule(svc, native_merchant, "miniprogram", "light")
    return new_session(svc, native_merchant, rule)


def _session(token: str) -> VerificationSession:
    with db.database.connection_context():
        return VerificationSession.get(VerificationSession.biz_token == token)


def test_token_is_long_random_and_identity_is_sealed(svc, native_merchant, mp_light):
    assert len(mp_light) >= 32
    other = new_session(svc, native_merchant, make_rule(svc, native_merchant, "miniprogram", "light"))
    assert other != mp_light
    row = _session(mp_light)
    assert b"Grace" not in bytes(row.name_sealed) and GRACE_ID_BYTES not in bytes(row.id_card_sealed)
    assert svc.sealer.open_text(row.id_card_sealed) == "11010519491231002X"


GRACE_ID_BYTES = b"11010519491231002X"


def test_consent_is_required_before_a_challenge(flow, mp_light):
    f = flow(mp_light)
    with pytest.raises(MiniProgramError) as err:
        f.challenge()
    assert err.value.status == 403 and _code(err.value) == "FailedOperation.ConsentRequired"
    with pytest.raises(MiniProgramError) as err:
        f.consent(version="some-other-text")
    assert _code(err.value) == "FailedOperation.ConsentRequired"
    f.consent()
    ch = f.challenge()
    assert ch["mode"] == "light" and len(ch["challenge"]["colors"]) >= 6
    assert 0 < ch["expires_in"] <= 600
    assert _session(mp_light).consent_at is not None


def test_session_binds_to_the_first_wechat_user(flow, mp_light):
    alice = flow(mp_light, "alice")
    alice.consent()
    bob = flow(mp_light, "bob")
    for step in (bob.challenge, bob.status, bob.consent):
        with pytest.raises(MiniProgramError) as err:
            step()
        assert err.value.status == 403 and _code(err.value) == "FailedOperation.WeChatUserMismatch"
    assert alice.challenge()["mode"] == "light"     # alice is unaffected


def test_calls_without_a_mini_program_session_are_refused(server, mp_light):
    import requests
    resp = requests.get(f"{server}/api/biz/{mp_light}/challenge", timeout=5)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "FailedOperation.SessionRequired"


def test_unknown_token_is_illegal(flow):
    with pytest.raises(MiniProgramError) as err:
        flow("x" * 32).status()
    assert err.value.status == 404 and _code(err.value) == "InvalidParameterValue.BizTokenIllegal"


def test_challenge_is_one_time(flow, mp_light):
    f = flow(mp_light)
    f.consent()
    ch = f.challenge()
    first = f.send_frames(ch["nonce"], grey_capture())
    assert first["passed"] is False and first["code"] == "FailedOperation.LivessBestFrameError"
    with pytest.raises(MiniProgramError) as err:
        f.send_frames(ch["nonce"], grey_capture())
    assert _code(err.value) == "FailedOperation.ChallengeExpired"
    assert _session(mp_light).attempts_used == 1


def test_challenges_per_session_are_capped(flow, mp_light):
    from wx_backend.verification.models import MAX_CHALLENGES
    f = flow(mp_light)
    f.consent()
    nonces = {f.challenge()["nonce"] for _ in range(MAX_CHALLENGES)}
    assert len(nonces) == MAX_CHALLENGES
    with pytest.raises(MiniProgramError) as err:
        f.challenge()
    assert _code(err.value) == "FailedOperation.ChallengeLimitExceeded"
    assert _session(mp_light).challenges_issued == MAX_CHALLENGES
    assert _session(mp_light).attempts_used == 0


def test_expired_challenge_is_refused_without_using_an_attempt(flow, mp_light, clock):
    f = flow(mp_light)
    f.consent()
    ch = f.challenge()
    clock.advance(ch["expires_in"] + 1)
    with pytest.raises(MiniProgramError) as err:
        f.send_frames(ch["nonce"], grey_capture())
    assert _code(err.value) == "FailedOperation.ChallengeExpired"
    assert _session(mp_light).attempts_used == 0


GREY = "grey"


@pytest.mark.parametrize("files, audio, code", [
    ([("0.jpg", b"not a jpeg at all")], None, "FailedOperation.ImageDecodeFailed"),
    ([("abc.jpg", GREY)], None, "InvalidParameter"),
    ([("0.jpg", GREY), ("0.jpg", GREY)], None, "InvalidParameterValue"),
    ([("99999.jpg", GREY)], None, "InvalidParameterValue"),
    ([("-5.jpg", GREY)], None, "InvalidParameterValue"),
    ([("0.jpg", GREY)], b"RIFF....not a wav", "InvalidParameterValue"),
    ([("0.jpg", b"\xff\xd8" + b"\x00" * (600 * 1024))], None, "FailedOperation.ImageSizeTooLarge"),
    ([("0.jpg", "truncated")], None, "FailedOperation.ImageDecodeFailed"),
    ([("0.jpg", "png")], None, "FailedOperation.ImageDecodeFailed"),
    ([("0.jpg", GREY), ("66.jpg", "small")], None, "InvalidParameterValue"),
    ([], None, "MissingParameter"),
])
def test_bad_uploads_get_a_code_and_change_nothing(flow, mp_light, files, audio, code):
    f = flow(mp_light)
    f.consent()
    ch = f.challenge()
    grey = grey_capture(100)[0][1]
    variants = {GREY: grey, "truncated": grey[:len(grey) // 2],
                "png": cv2.imencode(".png", np.zeros((480, 640, 3), np.uint8))[1].tobytes(),
                "small": cv2.imencode(".jpg", np.zeros((240, 320, 3), np.uint8))[1].tobytes()}
    parts = [("frames", (name, variants.get(data, data), "image/jpeg")) for name, data in files]
    if audio is not None:
        parts.append(("audio", ("audio.wav", audio, "audio/wav")))
    resp = f.mp.post(f"/api/biz/{mp_light}/frames", data={"nonce": ch["nonce"]}, files=parts or None)
    assert 400 <= resp.status_code < 500
    assert resp.json()["error"]["code"] == code
    row = _session(mp_light)
    assert row.attempts_used == 0 and row.state == "open"
    # the challenge was not spent by the bad upload: it still takes a real capture
    assert f.send_frames(ch["nonce"], grey_capture())["attempt"] == 1


def test_three_attempts_then_retry_limit(flow, mp_light, svc):
    f = flow(mp_light)
    f.consent()
    for n in (1, 2, 3):
        result = f.send_frames(f.challenge()["nonce"], grey_capture())
        assert result["attempt"] == n and result["passed"] is False
        assert result["attempts_left"] == 3 - n
    assert result["finished"] is True
    assert result["redirect"] == f"https://m.example.com/done?token={mp_light}"
    with pytest.raises(MiniProgramError) as err:
        f.challenge()
    assert err.value.status == 409 and _code(err.value) == "FailedOperation.RetryLimitExceeded"
    assert err.value.body["error"]["saas_code"] == 16
    status = f.status()
    assert status["state"] == "exhausted" and status["redirect"].endswith(f"token={mp_light}")
    with db.database.connection_context():
        assert Attempt.select().where(Attempt.is_need_charge == True).count() == 0  # noqa: E712


def test_expired_token_answers_15(flow, mp_light, clock):
    f = flow(mp_light)
    f.consent()
    clock.advance(7200)
    with pytest.raises(MiniProgramError) as err:
        f.challenge()
    assert err.value.status == 410 and err.value.body["error"]["saas_code"] == 15


def test_failures_per_user_are_limited_across_sessions(svc, flow, native_merchant, clock):
    rule = make_rule(svc, native_merchant, "miniprogram", "light")
    tokens = [new_session(svc, native_merchant, rule) for _ in range(3)]
    done = 0
    for token in tokens[:2]:
        f = flow(token)
        f.consent()
        for _ in range(3 if done < 3 else 2):
            f.send_frames(f.challenge()["nonce"], grey_capture(500))
            done += 1
    assert done == 5
    f = flow(tokens[2])
    f.consent()
    with pytest.raises(MiniProgramError) as err:
        f.challenge()
    assert err.value.status == 429 and _code(err.value) == "FailedOperation.TooManyAttempts"
    clock.advance(181)
    assert f.challenge()["mode"] == "light"


def test_concurrent_uploads_cannot_make_a_fourth_attempt(svc, vapp, mp_light):
    import threading

    from wx_backend.errors import Refused
    from wx_backend.verification import sessions as s

    with db.database.connection_context():
        VerificationSession.update(attempts_used=2, attempts_started=2).where(
            VerificationSession.biz_token == mp_light).execute()
    won, refused, barrier = [], [], threading.Barrier(5)

    def racer():
        with vapp.app_context():
            db.database.connect(reuse_if_open=True)
            session = VerificationSession.get(VerificationSession.biz_token == mp_light)
            barrier.wait()
            try:
                won.append(s.reserve_attempt(session))
            except Refused as exc:
                refused.append(exc.result.tencent)
            db.database.close()

    threads = [threading.Thread(target=racer) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won == [3] and refused == ["FailedOperation.RetryLimitExceeded"] * 4
    assert _session(mp_light).attempts_used == 3
