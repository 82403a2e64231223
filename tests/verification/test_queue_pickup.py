"""How the job worker takes work and holds it: an idle worker does not back off (Redis blocks on the
pop, SQLite is polled every SQLITE_POLL_S), the queue has the deployment's own name, a running job's
lease is renewed while it runs, and the page's queue position counts only the videos still waiting.

The pickup latency itself is measured by bench/cluster.py (never timed here); the cluster test
(tests/cluster/) runs real workers on Redis, one of them killed mid-job.
"""
from __future__ import annotations

import datetime as dt
import time

import pytest

from wx_backend import jobs as queue_module
from wx_backend.clock import utc_naive
from wx_backend.settings import Settings
from wx_backend.verification import jobs
from wx_backend.verification.models import QUEUED, RUNNING, VideoJob

from .test_jobs import h5_session, orphan_job  # noqa: F401  (fixture)


def test_redis_queue_blocks_on_the_pop_under_the_deployments_name():
    huey = queue_module.build_huey(Settings(redis_url="redis://127.0.0.1:6379/0", huey_name="bank_a"))
    assert type(huey).__name__ == "RedisHuey"
    assert huey.storage.blocking is True                   # BRPOP: woken by the push itself
    assert huey.storage.queue_key == "huey.redis.bank_a"


def test_sqlite_worker_polls_without_backing_off(svc, settings):
    assert settings.redis_url == ""
    consumer = svc.jobs.consumer(workers=2)
    for worker, _ in consumer.worker_threads:
        assert worker.default_delay == worker.max_delay == queue_module.SQLITE_POLL_S <= 0.5
        assert worker.backoff == 1.0
    assert consumer.huey.storage.name == settings.huey_name == "wxfaceid"


def test_settings_from_the_environment():
    s = Settings.from_env({"HUEY_NAME": "cluster_x", "TRUSTED_PROXIES": "1", "JOB_LEASE_S": "6"})
    assert (s.huey_name, s.trusted_proxies, s.job_lease_s) == ("cluster_x", 1, 6)
    assert Settings.from_env({}).trusted_proxies == 0


def test_a_lease_is_renewed_only_by_the_run_that_holds_it(svc, h5_session, clock):  # noqa: F811
    job = orphan_job(svc, h5_session, b"\x1a\x45\xdf\xa3 video", {"code": "1234"})   # run 1, running
    clock.advance(20)
    assert jobs.renew_lease(job.id, 1, clock.now(), 30)
    assert VideoJob.get_by_id(job.id).lease_until == utc_naive(clock.now()) + dt.timedelta(seconds=30)
    assert not jobs.renew_lease(job.id, 2, clock.now(), 30)          # another run's lease is not ours
    VideoJob.update(state="done").where(VideoJob.id == job.id).execute()
    assert not jobs.renew_lease(job.id, 1, clock.now(), 30)          # a finished job stays finished


@pytest.fixture
def settings(settings):
    return settings.replace(job_lease_s=1)


def test_the_lease_is_kept_while_the_job_runs(svc, h5_session, clock):  # noqa: F811
    """lease_kept renews on its own thread, every third of the lease, until the block ends."""
    job = orphan_job(svc, h5_session, b"\x1a\x45\xdf\xa3 video", {"code": "1234"})
    first = VideoJob.get_by_id(job.id).lease_until
    clock.advance(60)                      # far past the lease: only a renewal brings it back ahead
    with jobs.lease_kept(job.id, 1, svc):
        deadline = time.monotonic() + 10
        while VideoJob.get_by_id(job.id).lease_until == first and time.monotonic() < deadline:
            time.sleep(0.02)               # waiting for the renewal thread (it writes within ~0.33 s)
    renewed = VideoJob.get_by_id(job.id).lease_until
    assert renewed == utc_naive(clock.now()) + dt.timedelta(seconds=1)
    assert jobs.lost_jobs(clock.now()) == []


def test_queue_position_counts_the_videos_still_waiting(svc, h5_session, clock):  # noqa: F811
    from wx_backend.verification.status import job_progress
    from wx_backend.verification.models import Attempt

    running = orphan_job(svc, h5_session, b"v", {})                   # a worker has it
    assert VideoJob.get_by_id(running.id).state == RUNNING
    now = utc_naive(clock.now())
    waiting = []
    for _ in range(3):
        attempt = Attempt.create(session=h5_session, seq=10 + len(waiting), kind="video", state="pending",
                                 user_digest="u", created_at=now)
        waiting.append(VideoJob.create(attempt=attempt, state=QUEUED, created_at=now, updated_at=now))
    assert [job_progress(Attempt.get_by_id(j.attempt_id)) for j in waiting] == [
        {"job": "queued", "ahead": 0}, {"job": "queued", "ahead": 1}, {"job": "queued", "ahead": 2}]
    assert jobs.claim(waiting[0].id, clock.now(), 30)
    assert job_progress(Attempt.get_by_id(waiting[2].attempt_id)) == {"job": "queued", "ahead": 1}
