"""The worker's scheduled housekeeping (issue 14): anonymous visitors of /h5/oauth/start used to leave
two rows each, purged only when an operator ran `flask wechat purge`."""
from __future__ import annotations

import datetime as dt

from huey import crontab  # noqa: F401  (the schedule is Huey's)

from wx_backend.pipeline import charge
from wx_backend.billing.models import Reservation
from wx_backend.merchants.models import APPROVED, Merchant, ResourcePack
from wx_backend.services import EXTENSION_KEY
from wx_backend.wechat.models import H5Session, OAuthState


def _scheduled(app):
    huey = app.extensions[EXTENSION_KEY].jobs.huey
    return {task.name: task for task in huey._registry.periodic_tasks}


def test_the_worker_purges_what_an_oauth_start_flood_leaves(app, client, app_ctx, clock):
    for _ in range(200):
        assert client.get("/h5/oauth/start?next=/", headers={"Cookie": ""}).status_code == 302
        client.delete_cookie("wxf_h5")
    assert H5Session.select().count() == 200 and OAuthState.select().count() == 200

    task = _scheduled(app)["housekeeping"]
    at = dt.datetime(2026, 11, 30, 9, 10)
    assert task.validate_datetime(at) and not task.validate_datetime(at.replace(minute=11))
    clock.advance(minutes=11)
    app.extensions[EXTENSION_KEY].jobs.huey.execute(task)
    assert H5Session.select().count() == 0                   # anonymous sessions live as long as their state
    assert OAuthState.select().count() == 200                 # kept an hour more, to call a replay a replay
    clock.advance(hours=1)
    app.extensions[EXTENSION_KEY].jobs.huey.execute(task)
    assert OAuthState.select().count() == 0


def test_housekeeping_releases_quota_held_by_a_call_that_never_settled(app, app_ctx, clock):
    now = clock.now().replace(tzinfo=None)
    m = Merchant.create(name="m", uscc="91110000802100433B", industry_key="finance.bank", phone="13800000000",
                        status=APPROVED, submitted_at=now, review_deadline=now.date())
    pack = ResourcePack.create(merchant=m, product="photo_verification", total=1, remaining=1, created_at=now)
    charge.reserve(charge.charge_key(m.id, "photo_verification", "k"), clock.now())   # the worker dies here
    assert ResourcePack.get_by_id(pack.id).remaining == 0
    clock.advance(minutes=11)
    app.extensions[EXTENSION_KEY].jobs.huey.execute(_scheduled(app)["housekeeping"])
    assert ResourcePack.get_by_id(pack.id).remaining == 1
    from wx_backend import housekeeping
    charge.reserve(charge.charge_key(m.id, "photo_verification", "k2"), clock.now())
    clock.advance(minutes=11)
    done = housekeeping.run(app.extensions[EXTENSION_KEY])
    assert done["stale_quota_holds"] == 1 and ResourcePack.get_by_id(pack.id).remaining == 1
    assert Reservation.get().settled


def test_the_cli_runs_the_same_pass(app, app_ctx):
    out = app.test_cli_runner().invoke(args=["housekeeping"])
    assert out.exit_code == 0 and '"status": "ok"' in out.output and "oauth_states" in out.output


def test_housekeeping_deletes_expired_challenges_that_issuing_no_longer_does(app, app_ctx, clock):
    from wx_backend import housekeeping
    from wx_backend.pipeline.challenge import CLOUD_TTL, LIVE_CODE, OneTimeChallenge, issue_cloud

    svc = app.extensions[EXTENSION_KEY]
    issue_cloud(svc.challenges, 1, LIVE_CODE, clock.now())
    clock.advance(seconds=CLOUD_TTL.total_seconds() * 3)
    issue_cloud(svc.challenges, 1, LIVE_CODE, clock.now())   # a long-expired one is still there
    assert OneTimeChallenge.select().count() == 2
    assert housekeeping.run(svc)["challenges"] == 1
    assert OneTimeChallenge.select().count() == 1           # the live one stays
