"""A session's way through the pipeline, in one order for every endpoint:

    open_session   token known -> usable (not finished / exhausted / expired) -> bound to this WeChat
                   user -> the channel takes this kind of capture -> consent given
    precheck       failures of this user in the window -> the merchant's quota -> the challenge's nonce
                   names an unused challenge of this session (looked at, not spent): all before a byte
                   of the capture is decoded, so a made-up nonce costs the sender an upload, not us a
                   decode
    (the view's intake: frames or video, bounded, before any state changes)
    admit          the same checks again (another request may have changed them meanwhile)
    challenge      issued (counted, at most MAX_CHALLENGES a session), or taken once for an attempt
    verify         frames: now (verdicts.evaluate); video: in the background job (jobs.process_video)
    record         attempts.record_verdict: the verdict, the session's state and the charge, once

Functions take the application's Services and plain values; none touches Flask.
"""
from __future__ import annotations

from typing import Callable

from ..errors import BadRequest, Refused
from ..pipeline import intake
from ..pipeline.challenge import SessionChallenge, has_session, issue_session, take_session
from ..services import Services
from . import attempts, jobs, sessions, verdicts
from .models import Attempt, VerificationSession
from .sessions import WeChatUser

# Which endpoint takes which channels' captures.
FRAME_CHANNELS = ("native_h5", "miniprogram")
VIDEO_CHANNELS = ("h5",)


def open_session(svc: Services, biz_token: str, user_of: Callable[[str], WeChatUser | None], *,
                 capture: str = "", consented: bool = True) -> tuple[VerificationSession, str]:
    """The session and the user's digest, if this user may act on it now (``capture``: "frames",
    "video", or "" for a challenge or the consent itself; ``consented``: consent must be given)."""
    session = sessions.find_session(biz_token)
    sessions.check_usable(session, svc.clock)
    digest = sessions.bind_user(session, user_of(session.channel), svc.sealer)
    if capture == "frames" and session.channel not in FRAME_CHANNELS:
        raise BadRequest("UnsupportedOperation", "普通 H5 请上传视频（/video）")
    if capture == "video" and session.channel not in VIDEO_CHANNELS:
        raise BadRequest("UnsupportedOperation", "原生 H5 与小程序请上传帧（/frames）")
    if consented:
        sessions.require_consent(session)
    return session, digest


def issue_challenge(svc: Services, session: VerificationSession, digest: str) -> SessionChallenge:
    attempts.check_failure_rate(digest, svc.clock)
    sessions.count_challenge(session)
    return issue_session(svc.challenges, session.id, session.liveness_mode, svc.clock.now())


def precheck(svc: Services, session: VerificationSession, digest: str, nonce: str) -> None:
    """The cheap checks of a capture, before any of it is decoded: failure rate, quota, and a nonce that
    names an unused, unexpired challenge of this session (nothing is spent here)."""
    if not nonce:
        raise BadRequest("MissingParameter", "缺少挑战 nonce")
    attempts.check_failure_rate(digest, svc.clock)
    attempts.check_quota(session, svc.clock)
    if not has_session(svc.challenges, session.id, session.liveness_mode, nonce, svc.clock.now()):
        raise Refused("ChallengeExpired")


def _admit(svc: Services, session: VerificationSession, digest: str, nonce: str) -> dict:
    """Failure rate, quota, then the challenge (taken once): its JSON."""
    attempts.check_failure_rate(digest, svc.clock)
    attempts.check_quota(session, svc.clock)
    payload = take_session(svc.challenges, session.id, session.liveness_mode, nonce, svc.clock.now())
    if payload is None:
        raise Refused("ChallengeExpired")
    return payload


def frames_attempt(svc: Services, session: VerificationSession, digest: str,
                   upload: intake.FrameUpload) -> attempts.AttemptOutcome:
    """Live frames (native H5, mini-program): the verdict now."""
    challenge = _admit(svc, session, digest, upload.nonce)
    return attempts.run_attempt(session, digest, lambda: verdicts.evaluate(svc, session, challenge, upload.capture),
                                sealer=svc.sealer, clock=svc.clock)


def video_attempt(svc: Services, session: VerificationSession, digest: str, nonce: str,
                  video: intake.Video) -> Attempt:
    """A recorded video (ordinary H5): counted and queued; the verdict comes from the job."""
    challenge = _admit(svc, session, digest, nonce)
    return jobs.submit_video(session, digest, challenge, video, svc)
