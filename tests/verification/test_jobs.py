"""Background video jobs: a job lost with its worker is found by the sweep, run again and charged
once; the SQLite Huey queue carries a job from the web process to the worker; a job that keeps
killing its worker is given up without charge."""
from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from faceengine.liveness.challenge import new_lip_challenge
from wx_backend import db
from wx_backend.billing.models import Charge
from wx_backend.clock import utc_naive
from wx_backend.pipeline import intake
from wx_backend.pipeline.challenge import new_session_challenge
from wx_backend.pipeline.verify import Verdict
from wx_backend.result_codes import lookup
from wx_backend.verification import attempts, jobs
from wx_backend.verification.models import RUNNING, Attempt, VerificationSession, VideoJob

from .conftest import make_merchant, make_rule, new_session
from .test_h5_video_flow import record


@pytest.fixture
def h5_session(svc, enrolled, app_ctx):
    merchant = make_merchant(svc, native=False)
    token = new_session(svc, merchant, make_rule(svc, merchant, "h5", "lip"))
    db.database.connect(reuse_if_open=True)
    return VerificationSession.get(VerificationSession.biz_token == token)


def _charges() -> int:
    return Charge.select().count()


def orphan_job(svc, session, video: bytes, challenge: dict) -> VideoJob:
    """What a worker killed mid-job leaves: the attempt counted, the job claimed (running, a lease,
    one run) and no verdict."""
    now = utc_naive(svc.clock.now())
    attempt = attempts.start_attempt(session, "video", "user-digest", svc.clock)
    return VideoJob.create(attempt=attempt, challenge_payload=json.dumps(challenge),
                           video_sealed=svc.sealer.seal(video), video_suffix=".mp4", state=RUNNING,
                           lease_until=now + dt.timedelta(seconds=svc.settings.job_lease_s), runs=1,
                           created_at=now, updated_at=now)


def test_killed_workers_job_is_rerun_by_the_sweep_and_charged_once(svc, h5_session, clock, grace_portrait):
    challenge = new_lip_challenge(random.Random(21)).to_json()
    job = orphan_job(svc, h5_session, record(grace_portrait, challenge, 21, "mp4"), challenge)
    def sweep():
        return jobs.sweep(svc)

    assert sweep() == 0                                   # the lease still holds: not lost yet
    clock.advance(svc.settings.job_lease_s + 1)
    assert sweep() == 1                                   # found and run again (eagerly here)
    job = VideoJob.get_by_id(job.id)
    attempt = Attempt.get_by_id(job.attempt_id)
    assert job.state == "done" and job.runs == 2 and job.video_sealed is None
    assert attempt.state == "done" and attempt.code == "Success" and attempt.is_need_charge
    assert _charges() == 1
    # Nothing more happens on later sweeps, a duplicate task, or the first worker finishing late.
    clock.advance(svc.settings.job_lease_s + 1)
    assert sweep() == 0
    assert jobs.process_video(job.id, svc) == "skipped"
    ok = lookup("Success")
    late = Verdict(ok, live=ok, compare=ok, sim=99.0)
    assert attempts.record_verdict(attempt, late, sealer=svc.sealer, clock=svc.clock) is False
    assert _charges() == 1
    assert VerificationSession.get_by_id(h5_session.id).state == "finished"


def test_a_job_that_keeps_failing_is_given_up_uncharged(svc, h5_session, clock):
    job = orphan_job(svc, h5_session, b"\x1a\x45\xdf\xa3 whatever", {"code": "1111"})
    VideoJob.update(runs=jobs.MAX_RUNS).where(VideoJob.id == job.id).execute()
    clock.advance(svc.settings.job_lease_s + 1)
    jobs.sweep(svc)
    job = VideoJob.get_by_id(job.id)
    assert job.state == "done" and job.video_sealed is None
    assert Attempt.get_by_id(job.attempt_id).state == "void"
    assert VerificationSession.get_by_id(h5_session.id).attempts_used == 0   # it did not count
    assert _charges() == 0


class TestQueuedThroughHuey:
    """The real queue, on each storage: SQLite by default, Redis when REDIS_URL is set (skipped
    when no Redis answers)."""

    @pytest.fixture(params=["SqliteHuey", "RedisHuey"])
    def settings(self, request, settings):
        changes = {"huey_immediate": False}
        if request.param == "RedisHuey":
            changes["redis_url"] = request.getfixturevalue("redis_url")
        return settings.replace(**changes)

    def test_web_enqueues_and_the_worker_runs_it(self, svc, settings, h5_session, grace_portrait):
        huey = svc.jobs.huey
        assert type(huey).__name__ == ("RedisHuey" if settings.redis_url else "SqliteHuey")
        issued = new_session_challenge("lip", svc.clock.now(), random.Random(3))
        video = record(grace_portrait, issued.payload, 22, "mp4")
        attempt = jobs.submit_video(h5_session, "user-digest", issued.payload, intake.Video(video, "mp4"), svc)
        job = VideoJob.get(VideoJob.attempt == attempt.id)
        assert job.state == "queued" and Attempt.get_by_id(attempt.id).state == "pending"
        assert huey.pending_count() == 1
        task = huey.dequeue()                               # what the worker process does
        assert task.name == "verification.process_video"
        huey.execute(task)
        assert VideoJob.get_by_id(job.id).state == "done"
        assert Attempt.get_by_id(attempt.id).code == "Success"
        assert _charges() == 1
