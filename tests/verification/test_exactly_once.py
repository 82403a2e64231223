"""Exactly-once under concurrency (issue 14): two genuine captures for one BizToken uploaded at the same
moment used to both pass, and the session was charged twice. Whatever the interleaving, a BizToken now
yields at most one Success and one charge for it; the later verdict finds the session finished.

Real concurrency: two threads upload to the app served over loopback HTTP (threaded), on SQLite and,
where 127.0.0.1:5432 answers, on PostgreSQL."""
from __future__ import annotations

import pytest

from faceengine.liveness.challenge import LightChallenge
from wx_backend import db
from wx_backend.billing.models import Charge
from wx_backend.verification.models import Attempt, VerificationSession

from ..concurrency import at_once
from .conftest import make_merchant, make_rule
from .test_cloud_actions import NATIVE_KEYS, detect_auth, detect_info, sdk
from .test_miniprogram_flow import light_frames


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, settings):
    if request.param == "postgresql":
        return settings.replace(database_url=request.getfixturevalue("pg_url"))
    return settings


@pytest.fixture
def light_rule(svc, enrolled):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    return make_rule(svc, merchant, "miniprogram", "light")


def _upload_together(flow, captures) -> list[dict]:
    def send(nonce: str, frames) -> dict:
        resp = flow.mp.post(f"/api/biz/{flow.biz_token}/frames", data={"nonce": nonce},
                            files=[("frames", (f"{int(t) if float(t).is_integer() else round(t, 1)}.jpg", data,
                                               "image/jpeg")) for t, data in frames])
        body = resp.json()
        return {"http": resp.status_code, "code": body.get("code") or body.get("error", {}).get("code")}

    return at_once(send, captures)


def test_two_genuine_captures_at_once_pass_once_and_are_charged_once(server, light_rule, flow, grace_portrait):
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, light_rule).BizToken
    f = flow(token)
    f.consent()
    first, second = f.challenge(), f.challenge()
    captures = [(ch["nonce"], light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), seed))
                for ch, seed in ((first, 7), (second, 8))]

    answers = _upload_together(f, captures)

    codes = sorted(a["code"] for a in answers)
    assert codes == ["FailedOperation.BizTokenFinished", "Success"], answers
    with db.database.connection_context():
        assert Charge.select().count() == 1
        session = VerificationSession.get(VerificationSession.biz_token == token)
        done = [a.code for a in Attempt.select().where(Attempt.session == session.id) if a.state == "done"]
        assert session.state == "finished" and done == ["Success"]
    details = detect_info(client, token, light_rule).Text.LivenessDetail
    assert [d.Errcode for d in details if d.IsNeedCharge] == [0]


def test_many_copies_of_one_capture_at_once_take_the_challenge_once(server, light_rule, flow, grace_portrait):
    """The same nonce six times at the same moment: one attempt, one verdict, one charge."""
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, light_rule).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    frames = light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), 5)
    answers = _upload_together(f, [(ch["nonce"], frames)] * 6)
    codes = [a["code"] for a in answers]
    assert codes.count("Success") == 1, answers
    assert set(codes) - {"Success"} <= {"FailedOperation.ChallengeExpired", "FailedOperation.BizTokenFinished"}
    with db.database.connection_context():
        assert Charge.select().count() == 1
        assert Attempt.select().where(Attempt.state == "done").count() == 1


# -- every order of two verdicts, in process (the served tests above race them for real) ----------------
def _verdict(code: str, live: str = "Success", compare: str | None = None, sim: float | None = None):
    from wx_backend.pipeline.verify import Verdict
    from wx_backend.result_codes import lookup
    return Verdict(lookup(code), live=lookup(live), compare=lookup(compare) if compare else None, sim=sim)


SUCCESS = ("Success", "Success", "Success", 91.0)
LOW = ("FailedOperation.CompareLowSimilarity", "Success", "FailedOperation.CompareLowSimilarity", 31.0)  # billable
FAKE = ("FailedOperation.LivessDetectFake", "FailedOperation.LivessDetectFake")


@pytest.mark.parametrize("first, second, recorded, charged, state", [
    (SUCCESS, SUCCESS, ["Success"], 1, "finished"),
    (SUCCESS, LOW, ["Success"], 1, "finished"),
    (SUCCESS, FAKE, ["Success"], 1, "finished"),
    (LOW, SUCCESS, ["FailedOperation.CompareLowSimilarity", "Success"], 1, "finished"),   # one charge a session
    (FAKE, SUCCESS, ["FailedOperation.LivessDetectFake", "Success"], 1, "finished"),
])
def test_whatever_the_order_a_session_passes_once(svc, app_ctx, light_rule, first, second, recorded, charged,
                                                  state):
    from wx_backend.verification import attempts

    from .conftest import new_session

    token = new_session(svc, make_merchant_of(light_rule), light_rule)
    session = VerificationSession.get(VerificationSession.biz_token == token)
    a = attempts.start_attempt(session, "frames", "user", svc.clock)      # both captures are in flight
    b = attempts.start_attempt(session, "frames", "user", svc.clock)
    assert attempts.record_verdict(a, _verdict(*first), sealer=svc.sealer, clock=svc.clock)
    assert attempts.record_verdict(b, _verdict(*second), sealer=svc.sealer, clock=svc.clock) == (
        first is not SUCCESS)
    rows = list(Attempt.select().where(Attempt.session == session.id).order_by(Attempt.seq))
    assert [r.code for r in rows if r.state == "done"] == recorded
    assert Charge.select().count() == charged
    assert sum(r.is_need_charge for r in rows) == charged     # IsNeedCharge marks the verdict that paid
    assert VerificationSession.get_by_id(session.id).state == state
    if first is SUCCESS:
        assert (rows[1].state, rows[1].code) == ("void", "FailedOperation.BizTokenFinished")


def make_merchant_of(rule_id: str):
    from wx_backend.merchants.models import Rule
    return Rule.get(Rule.rule_id == rule_id).merchant
