"""Verification sessions (BizToken), their attempts and background video jobs (challenges are the
pipeline's: wx_backend/pipeline/challenge.py).

Identity data (ID number, name) and biometric data (the merchant's reference photo, best frames, raw
video) are sealed with ``Sealer`` and live in their own columns; the WeChat user a session is bound to
is kept as a keyed digest, never as a clear openid. Times are naive UTC.
"""
from __future__ import annotations

import peewee

from ..db import BaseModel
from ..merchants.models import Merchant

# Session states. "open" accepts attempts; the others are terminal for the user (the merchant can
# still pull the result until ``purge_after``); "purged" keeps a tombstone with no personal data.
OPEN, FINISHED, EXHAUSTED, PURGED = "open", "finished", "exhausted", "purged"

# Attempt states: "pending" (video accepted, verdict in the background), "done" (a verdict exists),
# "void" (could not be evaluated: bad media or engine failure; it does not count and is not charged).
PENDING, DONE, VOID = "pending", "done", "void"

# Job states (the database's view of a Huey task, so that a task lost with its worker is found).
QUEUED, RUNNING, JOB_DONE = "queued", "running", "done"

# Kinds of WeChat identity a session can be bound to.
USER_MP, USER_H5 = "mp", "h5"

MAX_ATTEMPTS = 3
MAX_CHALLENGES = 10    # per session: 3 attempts plus room for camera trouble and reloads


class VerificationSession(BaseModel):
    biz_token = peewee.CharField(max_length=64, unique=True)
    merchant = peewee.ForeignKeyField(Merchant, backref="verification_sessions", on_delete="CASCADE")
    rule_id = peewee.CharField(max_length=32)
    channel = peewee.CharField(max_length=16)          # h5 | native_h5 | miniprogram
    liveness_mode = peewee.CharField(max_length=16)    # light | lip | action | silent
    id_card_sealed = peewee.BlobField(null=True)
    name_sealed = peewee.BlobField(null=True)
    ref_image_sealed = peewee.BlobField(null=True)     # the merchant's ImageBase64, decoded then sealed
    redirect_url = peewee.TextField(default="")
    extra = peewee.TextField(default="")
    state = peewee.CharField(max_length=16, default=OPEN, index=True)
    attempts_used = peewee.IntegerField(default=0)     # attempts that count (pending or done)
    attempts_started = peewee.IntegerField(default=0)  # every attempt ever started (numbers them)
    challenges_issued = peewee.IntegerField(default=0)  # capped: each one costs randomness and a row
    user_kind = peewee.CharField(max_length=4, default="")
    user_digest = peewee.CharField(max_length=64, null=True, index=True)
    consent_at = peewee.DateTimeField(null=True)
    consent_version = peewee.CharField(max_length=32, default="")
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()                # the user may verify until then (7,200 s)
    finished_at = peewee.DateTimeField(null=True)
    purge_after = peewee.DateTimeField(index=True)     # the merchant may pull the result until then
    request_id = peewee.CharField(max_length=64, default="")   # DetectAuth's RequestId (its usage records)
    deleted_at = peewee.DateTimeField(null=True)        # the merchant deleted it before the purge
    deleted_via = peewee.CharField(max_length=16, default="")   # console | cli | api


class Attempt(BaseModel):
    session = peewee.ForeignKeyField(VerificationSession, backref="attempts", on_delete="CASCADE")
    seq = peewee.IntegerField()                        # 1, 2, ... per session; billing key part
    kind = peewee.CharField(max_length=8)              # frames | video
    state = peewee.CharField(max_length=8, default=PENDING, index=True)
    code = peewee.CharField(max_length=64, default="")         # overall result (Tencent string)
    live_code = peewee.CharField(max_length=64, default="")    # liveness result
    compare_code = peewee.CharField(max_length=64, default="")  # comparison result ("" = not run)
    sim = peewee.FloatField(null=True)
    liveness_score = peewee.FloatField(null=True)
    best_frame_sealed = peewee.BlobField(null=True)    # JPEG, sealed; purged with the session
    # The capture's next best frames (up to 2; with best_frame: GetDetectInfoEnhanced's BestFrames),
    # a sealed JSON list of base64 JPEGs; purged and deleted with the session like best_frame.
    more_frames_sealed = peewee.BlobField(null=True)
    is_need_charge = peewee.BooleanField(default=False)
    user_digest = peewee.CharField(max_length=64, null=True, index=True)
    created_at = peewee.DateTimeField(index=True)
    finished_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("session", "seq"), True),)


class VideoJob(BaseModel):
    """A recorded video waiting for (or having had) its verdict. The video is deleted at the verdict."""

    attempt = peewee.ForeignKeyField(Attempt, backref="jobs", unique=True, on_delete="CASCADE")
    challenge_payload = peewee.TextField(default="{}")
    video_sealed = peewee.BlobField(null=True)
    video_suffix = peewee.CharField(max_length=8, default=".webm")
    state = peewee.CharField(max_length=8, default=QUEUED, index=True)
    lease_until = peewee.DateTimeField(null=True)      # a running job whose lease passed is lost
    runs = peewee.IntegerField(default=0)
    created_at = peewee.DateTimeField()
    updated_at = peewee.DateTimeField()
    error = peewee.CharField(max_length=200, default="")
