"""Background work of verification sessions: recorded videos, the sweep for lost jobs, the purge.

A video job's state lives in ``VideoJob`` (queued -> running with a lease -> done). A worker claims a
job with a conditional UPDATE that also takes over a running job whose lease has passed, and renews the
lease while it works (``lease_kept``), so a lease runs out only when its worker is gone. Such a job is
run again by the next sweep (at worker start and every quarter of the lease), and the verdict is written
and charged once (``attempts.record_verdict``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading

import peewee
from huey import crontab

from .. import callbacks, db
from ..clock import utc_naive
from ..crypto import SealError
from ..errors import Rejected
from ..pipeline import intake
from ..pipeline.verify import Verdict
from . import attempts, purge, verdicts
from .models import JOB_DONE, PENDING, QUEUED, RUNNING, Attempt, VerificationSession, VideoJob

log = logging.getLogger(__name__)

PROCESS_VIDEO, PURGE = "verification.process_video", "verification.purge"
QUEUE_GRACE_S = 120      # a queued job untouched this long is re-enqueued (its queue entry was lost)
MAX_RUNS = 3


def claim(job_id: int, now: dt.datetime, lease_s: int) -> bool:
    """Take a queued job, or a running one whose lease has passed (its worker is gone)."""
    now = utc_naive(now)
    claimed = VideoJob.update(
        state=RUNNING, lease_until=now + dt.timedelta(seconds=lease_s), runs=VideoJob.runs + 1,
        updated_at=now,
    ).where((VideoJob.id == job_id) & (VideoJob.runs < MAX_RUNS) & (
        (VideoJob.state == QUEUED) | ((VideoJob.state == RUNNING) & (VideoJob.lease_until < now))
    )).execute()
    return claimed == 1


def renew_lease(job_id: int, run: int, now: dt.datetime, lease_s: int) -> bool:
    """Push the lease of run number ``run`` forward; False when that run no longer holds the job."""
    now = utc_naive(now)
    return VideoJob.update(lease_until=now + dt.timedelta(seconds=lease_s)).where(
        (VideoJob.id == job_id) & (VideoJob.state == RUNNING) & (VideoJob.runs == run)).execute() == 1


@contextlib.contextmanager
def lease_kept(job_id: int, run: int, svc):
    """Renew the job's lease every third of it, on a thread, for as long as the block runs: a long video
    on a busy host is not mistaken for a lost job and run a second time meanwhile."""
    lease_s = svc.settings.job_lease_s
    stop = threading.Event()

    def renew():
        while not stop.wait(lease_s / 3):
            try:
                with db.database.connection_context():
                    if not renew_lease(job_id, run, svc.clock.now(), lease_s):
                        log.warning("video job %s: run %s no longer holds the job", job_id, run)
                        return
            except peewee.PeeweeException as exc:
                log.warning("video job %s: lease not renewed (%s)", job_id, type(exc).__name__)

    thread = threading.Thread(target=renew, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _finish(job: VideoJob, error: str, now: dt.datetime) -> None:
    """The verdict exists (or never will): the raw video goes."""
    VideoJob.update(state=JOB_DONE, video_sealed=None, lease_until=None, error=error[:200],
                    updated_at=utc_naive(now)).where(VideoJob.id == job.id).execute()


def process_video(job_id: int, svc) -> str:
    """Run one video job; returns what happened (for logs and tests)."""
    clock = svc.clock
    if not claim(job_id, clock.now(), svc.settings.job_lease_s):
        return "skipped"
    job = VideoJob.get_by_id(job_id)
    attempt = Attempt.get_by_id(job.attempt_id)
    session = VerificationSession.get_by_id(attempt.session_id)
    if attempt.state != PENDING:          # a verdict was written by an earlier run
        _finish(job, "", clock.now())
        return "already-done"
    with lease_kept(job_id, job.runs, svc):
        return _run_claimed(job, attempt, session, svc)


def _run_claimed(job: VideoJob, attempt: Attempt, session: VerificationSession, svc) -> str:
    clock, sealer = svc.clock, svc.sealer
    try:
        video = sealer.open(job.video_sealed) if job.video_sealed is not None else None
    except SealError:
        video = None
    if video is None:
        attempts.void_attempt(attempt, "LivessSystemError", clock)
        _finish(job, "video missing", clock.now())
        return "void"
    try:
        capture = intake.read_capture(video, session.liveness_mode)     # from memory, never a file
    except Rejected as bad:
        verdict = Verdict(bad.result)
    else:
        verdict = verdicts.evaluate(svc, session, json.loads(job.challenge_payload), capture)
    del video
    with db.write_atomic():
        recorded = attempts.settle_attempt(attempt, verdict, sealer=sealer, clock=clock)
        _finish(job, "" if recorded else verdict.result.tencent, clock.now())
    if not recorded:
        return "void"
    callbacks.nudge(svc)           # after the commit: the session may have ended
    return "done"


def submit_video(session: VerificationSession, user_digest: str, challenge: dict, video: intake.Video,
                 svc) -> Attempt:
    """Count the attempt, store the video sealed with its job row, then enqueue the task.

    The row is committed before the task is enqueued, so a worker never sees a task without its row;
    a crash between the two leaves a queued row that the sweep finds.
    """
    now = utc_naive(svc.clock.now())
    with db.database.atomic():
        attempt = attempts.start_attempt(session, "video", user_digest, svc.clock)
        job = VideoJob.create(attempt=attempt, challenge_payload=json.dumps(challenge),
                              video_sealed=svc.sealer.seal(video.data), video_suffix=video.suffix, state=QUEUED,
                              created_at=now, updated_at=now)
    svc.jobs.tasks[PROCESS_VIDEO](job.id)
    return attempt


def give_up_exhausted_jobs(svc) -> int:
    """Jobs that failed MAX_RUNS times (a video that crashes the worker) end void, video deleted."""
    now = utc_naive(svc.clock.now())
    stuck = VideoJob.select().where((VideoJob.state != JOB_DONE) & (VideoJob.runs >= MAX_RUNS) & (
        (VideoJob.state == QUEUED) | (VideoJob.lease_until < now)))
    n = 0
    for job in stuck:
        attempts.void_attempt(Attempt.get_by_id(job.attempt_id), "LivessSystemError", svc.clock)
        _finish(job, "gave up", now)
        n += 1
    return n


def lost_jobs(now: dt.datetime) -> list[int]:
    now = utc_naive(now)
    rows = VideoJob.select(VideoJob.id).where((VideoJob.runs < MAX_RUNS) & (
        ((VideoJob.state == RUNNING) & (VideoJob.lease_until < now))
        | ((VideoJob.state == QUEUED) & (VideoJob.updated_at < now - dt.timedelta(seconds=QUEUE_GRACE_S)))))
    return [r.id for r in rows]


def sweep(svc) -> int:
    """Enqueue the video jobs that were lost again; end those that failed too often. Returns how many
    were enqueued."""
    now = svc.clock.now()
    found = lost_jobs(now)
    if found:
        # A queued job found here goes to the back of the queue once per grace period, not on every
        # sweep while a long queue drains.
        VideoJob.update(updated_at=utc_naive(now)).where(
            VideoJob.id.in_(found) & (VideoJob.state == QUEUED)).execute()
    for job_id in found:
        log.warning("video job %s was lost (worker gone or queue entry lost); running it again", job_id)
        svc.jobs.tasks[PROCESS_VIDEO](job_id)
    give_up_exhausted_jobs(svc)
    return len(found)


def register(queue, svc) -> None:
    """Register the tasks on the application's JobQueue (``queue.tasks[name]`` enqueues one)."""
    def sweep_lost() -> int:
        return sweep(svc)

    queue.task(PROCESS_VIDEO)(lambda job_id: process_video(job_id, svc))
    queue.every(max(1.0, svc.settings.job_lease_s / 4), sweep_lost)
    queue.periodic(PURGE, crontab(minute="17"))(lambda: purge.purge_expired(svc.clock.now(), svc.challenges, erasers=svc.session_erasers))
    queue.on_worker_start(sweep_lost)
