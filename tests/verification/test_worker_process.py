"""A real worker process killed with SIGKILL in the middle of a video job; a new worker finds the job
at its start-up sweep, runs it, and the verdict is charged once.

The web side enqueues into the SQLite Huey queue (not eagerly), and `python -m wx_backend.jobs worker`
runs as its own process on the same database, as `make run` starts it. The job lease is shortened to
2 s through the environment (JOB_LEASE_S) so the test does not wait for the default lease (30 s).
"""
from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from capture_synth import lip as talking
from faceengine.liveness.challenge import new_lip_challenge
from wx_backend import db
from wx_backend.billing.models import Charge
from wx_backend.pipeline import intake
from wx_backend.verification import jobs
from wx_backend.verification.models import DONE, JOB_DONE, PENDING, RUNNING, Attempt, VideoJob

from ..conftest import ROOT
from .test_jobs import h5_session  # noqa: F401  (fixture)

LEASE_S = 2
CHALLENGE = new_lip_challenge(random.Random(5820)).to_json()   # paced: {"code", "show_ms", "duration_ms"}


@pytest.fixture
def settings(settings):
    return settings.replace(huey_immediate=False, job_lease_s=LEASE_S)


def _worker(settings, log_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "WXF_ENV": "testing",
           "DATABASE_URL": settings.database_url, "HUEY_SQLITE_PATH": settings.huey_sqlite_path,
           "JOB_LEASE_S": str(LEASE_S)}
    return subprocess.Popen([sys.executable, "-m", "wx_backend.jobs", "worker"], cwd=ROOT, env=env,
                            stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def _job(job_id: int) -> VideoJob:
    with db.database.connection_context():
        return VideoJob.get_by_id(job_id)


def _wait(job_id: int, states: set[str], timeout_s: float, worker) -> VideoJob:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job(job_id)
        if job.state in states:
            return job
        assert worker.poll() is None, "the worker exited on its own"
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} still {job.state} after {timeout_s} s")


def test_a_worker_killed_mid_job_is_replaced_and_the_job_is_charged_once(svc, settings, h5_session,  # noqa: F811
                                                                          grace_portrait, tmp_path):
    rng = random.Random(31)
    # An 8 s recording keeps the job busy for a second or more: time to kill it mid-way.
    reading = dataclasses.replace(talking.Reading.following(CHALLENGE, rng), duration_ms=8000)
    video = talking.encode_video(talking.lip_capture(grace_portrait, reading, rng),
                                 talking.voiced_audio(reading, rng), "mp4")
    attempt = jobs.submit_video(h5_session, "user-digest", CHALLENGE, intake.Video(video, "mp4"), svc)
    db.database.close()
    [job_id] = [j.id for j in VideoJob.select()]

    first = _worker(settings, tmp_path / "worker1.log")
    try:
        _wait(job_id, {RUNNING, JOB_DONE}, 90, first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    job = _job(job_id)
    assert job.state == RUNNING, "the worker finished before it could be killed; make the video longer"
    with db.database.connection_context():
        assert Attempt.get_by_id(attempt.id).state == PENDING
        assert Charge.select().count() == 0
        assert job.video_sealed is not None       # the raw video stays until a verdict exists

    time.sleep(LEASE_S + 0.5)                     # the dead worker's lease runs out
    second = _worker(settings, tmp_path / "worker2.log")
    try:
        job = _wait(job_id, {JOB_DONE}, 90, second)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
    log = (tmp_path / "worker2.log").read_text(errors="replace")
    assert "was lost" in log                      # found by the start-up sweep, not by chance
    with db.database.connection_context():
        done = Attempt.get_by_id(attempt.id)
        assert done.state == DONE and done.code == "Success" and done.is_need_charge, done.code
        assert Charge.select().count() == 1
    assert job.runs == 2 and job.video_sealed is None


def test_status_shows_a_queued_video_its_place_then_running(svc, settings, h5_session, clock):  # noqa: F811
    """What the recording page shows while the worker is busy: place in the queue, then running."""
    from wx_backend.verification import status

    from .conftest import make_merchant, make_rule, new_session
    from wx_backend.verification.models import VerificationSession

    merchant = make_merchant(svc, native=False)
    other = VerificationSession.get(VerificationSession.biz_token == new_session(
        svc, merchant, make_rule(svc, merchant, "h5", "lip")))
    queued = intake.Video(b"\x1a\x45\xdf\xa3 video", "webm")
    jobs.submit_video(h5_session, "user-a", CHALLENGE, queued, svc)
    jobs.submit_video(other, "user-b", CHALLENGE, queued, svc)

    first, second = status.describe(h5_session, clock), status.describe(other, clock)
    assert first["state"] == second["state"] == "processing"
    assert first["progress"] == {"job": "queued", "ahead": 0}
    assert second["progress"] == {"job": "queued", "ahead": 1}

    [job_a, _] = VideoJob.select().order_by(VideoJob.id)
    assert jobs.claim(job_a.id, clock.now(), LEASE_S)
    assert status.describe(h5_session, clock)["progress"] == {"job": "running"}
    # The running video has left the queue: nobody is waiting ahead of the second one any more.
    assert status.describe(other, clock)["progress"] == {"job": "queued", "ahead": 0}
