"""POST / — the Cloud API 3.0 gateway: authenticate, limit, reserve quota, run the action, charge, record.

Order of checks (each failure answers HTTP 200 with ``{"Response": {"Error": ...}, "RequestId"}``, as the
cloud does): request shape -> signature and timestamp (AuthFailure.*) -> first use of the signature
(AuthFailure.RequestReplayed, see replay.py) -> merchant approved
(UnauthorizedOperation.Nonactivated) -> known action (InvalidAction) -> QPS (RequestLimitExceeded) ->
JSON body -> quota (UnauthorizedOperation.Arrears) -> the action -> charge by result code -> usage record.
Everything after authentication leaves a usage record; only billable verdicts are charged, once per key.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid

import peewee
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import db
from ..crypto import SealError
from ..errors import ServiceError
from ..merchants.models import APPROVED, ApiCredential, Merchant
from ..pipeline import charge
from ..pipeline.challenge import ChallengeStoreUnavailable
from ..registry.idcard import mask_id_number
from ..result_codes import SUCCESS, ResultCode, lookup
from ..services import Services, services
from . import replay, signing
from .ratelimit import RateLimiterUnavailable
from .registry import ActionContext, ActionSpec, get_action

log = logging.getLogger(__name__)

bp = Blueprint("cloudapi", __name__)

API_VERSION = "2018-03-01"


def _reply(body: dict, request_id: str) -> Response:
    body = dict(body)
    body["RequestId"] = request_id
    return jsonify({"Response": body})


def _error(result: ResultCode, request_id: str, message: str | None = None) -> Response:
    return _reply({"Error": {"Code": result.tencent, "Message": message or result.message}}, request_id)


# Every call's lookup, compiled once (db.Compiled): peewee's compiling of the 40-column Merchant cost more
# than the query itself. One query: the merchant, with its active credential's id and sealed key.
_CALLER = db.Compiled(lambda secret_id: (
    Merchant.select(Merchant, ApiCredential.id.alias("credential_id"),
                    ApiCredential.secret_key_sealed.alias("credential_sealed"))
    .join(ApiCredential)
    .where((ApiCredential.secret_id == secret_id) & (ApiCredential.active == True))), 1)  # noqa: E712


def _authenticate(svc: Services, headers: dict[str, str], payload: bytes) -> tuple[Merchant, str]:
    """The merchant whose SecretKey signed this request, and the signature; raises ServiceError(AuthFailure.*)."""
    try:
        auth = signing.parse_authorization(headers.get("authorization", ""))
    except signing.MalformedAuthorization as exc:
        raise ServiceError("AuthFailure.InvalidAuthorization", str(exc)) from None
    raw_ts = headers.get("x-tc-timestamp", "")
    if not (raw_ts.isascii() and raw_ts.isdigit()):
        raise ServiceError("MissingParameter", "X-TC-Timestamp is required (seconds since the epoch)")
    if len(raw_ts) > signing.MAX_TIMESTAMP_DIGITS:
        # Far outside the window whatever its value; not converted (a 400-digit int overflows a float).
        raise ServiceError("AuthFailure.SignatureExpire", "签名过期：X-TC-Timestamp 与服务器时间相差超过5分钟")
    timestamp = int(raw_ts)
    if not signing.timestamp_fresh(timestamp, svc.clock.now()):
        raise ServiceError("AuthFailure.SignatureExpire",
                           "签名过期：X-TC-Timestamp 与服务器时间相差超过5分钟")
    if auth.service != signing.SERVICE or auth.date != signing.scope_date(timestamp):
        raise ServiceError("AuthFailure.SignatureFailure", "credential scope does not match (date/service)")
    merchant = next(iter(_CALLER.rows(auth.secret_id)), None)
    if merchant is None:
        raise ServiceError("AuthFailure.SecretIdNotFound")
    sealed = vars(merchant).pop("credential_sealed")       # not carried on into the action's context
    try:
        secret_key = svc.sealer.open_text(bytes(sealed))
    except SealError:
        log.error("API credential %s cannot be opened with this data key", merchant.credential_id)
        raise ServiceError("InternalError") from None
    expected = signing.signature(
        secret_key, method="POST", uri="/", query="", headers=headers, signed_headers=auth.signed_headers,
        payload=payload, timestamp=raw_ts, date=auth.date,
        unsigned_payload=headers.get("x-tc-content-sha256") == signing.UNSIGNED_PAYLOAD)
    if not signing.signature_matches(expected, auth.signature):
        raise ServiceError("AuthFailure.SignatureFailure")
    return merchant, auth.signature


def _charge_key(merchant_id: int, spec: ActionSpec, headers: dict[str, str], payload: bytes,
                request_id: str) -> charge.ChargeKey:
    """A client that repeats a call with the same X-TC-TraceId and body pays once (the SDK re-sends the
    same TraceId on retries when the request's ``headers`` dict is reused); otherwise each call is its own."""
    trace = headers.get("x-tc-traceid", "").strip()
    if trace:
        raw = f"trace:{spec.name}:{trace}:{hashlib.sha256(payload).hexdigest()}"
    else:
        raw = f"request:{request_id}"
    return charge.charge_key(merchant_id, spec.product, raw)


def _result_of(body: dict) -> ResultCode:
    code = body.get("Result")
    if isinstance(code, str) and code:
        return lookup(code)
    return SUCCESS


@bp.post("/")
def cloud_api():
    request_id = str(uuid.uuid4())
    svc = services()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        payload = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _error(lookup("RequestSizeLimitExceeded"), request_id)
    action_name = headers.get("x-tc-action", "")
    if not action_name:
        return _error(lookup("MissingParameter"), request_id, "X-TC-Action is required")
    if headers.get("x-tc-version", API_VERSION) != API_VERSION:
        return _error(lookup("InvalidParameterValue"), request_id, f"X-TC-Version must be {API_VERSION}")
    try:
        merchant, signature = _authenticate(svc, headers, payload)
        first = replay.first_use(svc.rate_limiter, merchant.id, action_name, signature,
                                 int(svc.clock.now().timestamp() * 1000))
    except ServiceError as exc:
        return _error(exc.result, request_id, exc.message)
    except (peewee.PeeweeException, RateLimiterUnavailable):
        log.exception("credential lookup or replay claim failed")
        return _error(lookup("InternalError"), request_id)
    if not first:
        return _refuse(svc, merchant, action_name, lookup("AuthFailure.RequestReplayed"), request_id)
    if merchant.status != APPROVED:
        return _refuse(svc, merchant, action_name, lookup("UnauthorizedOperation.Nonactivated"), request_id)
    spec = get_action(action_name)
    if spec is None:
        return _refuse(svc, merchant, action_name, lookup("InvalidAction"), request_id,
                       f"接口不存在：{action_name}")
    return _run(svc, merchant, spec, headers, payload, request_id)


def _refuse(svc: Services, merchant: Merchant, action_name: str, result: ResultCode, request_id: str,
            message: str | None = None) -> Response:
    """An authenticated call refused before any action ran: recorded (free), then answered."""
    try:
        charge.record_usage(merchant.id, action_name[:64], None, result.tencent, False, "", request_id,
                            svc.clock.now())
    except peewee.PeeweeException:
        log.exception("usage write failed for request %s", request_id)
    return _error(result, request_id, message)


def _run(svc: Services, merchant: Merchant, spec: ActionSpec, headers: dict[str, str], payload: bytes,
         request_id: str) -> Response:
    """Admit, reserve, run the action, then charge by the result and record the call."""
    now = svc.clock.now()
    masked, key, hold = "", None, None
    body: dict | None = None
    message = None
    recorded = False
    try:
        _admit(svc, merchant, now)
        params = _params(payload)
        masked = mask_id_number(params["IdCard"]) if isinstance(params.get("IdCard"), str) else ""
        if spec.product:
            key = _charge_key(merchant.id, spec, headers, payload, request_id)
            hold = charge.reserve(key, now)
        # A quick action's writes (a challenge) and its usage record commit together: one write-lock hold
        # on SQLite instead of two, no wait for the WAL flush on PostgreSQL (db.quick_atomic). A failure
        # inside rolls both back; the failure's record is written below.
        with db.quick_atomic() if spec.quick else contextlib.nullcontext():
            answer = spec.handler(ActionContext(merchant=merchant, request_id=request_id, clock=svc.clock,
                                                services=svc, settings=svc.settings), params)
            result = _result_of(answer)      # before ``body`` is set: an unknown Result code is our bug
            if spec.quick:
                charge.record_usage(merchant.id, spec.name, None, result.tencent, False, masked, request_id,
                                    now)
        recorded = spec.quick
        body = answer
    except ServiceError as exc:
        result, message = exc.result, exc.message
    except (RateLimiterUnavailable, ChallengeStoreUnavailable, peewee.PeeweeException) as exc:
        log.error("action %s: store unavailable: %s", spec.name, exc)
        result = lookup("InternalError")
    except Exception:  # the one catch-all: any handler bug becomes InternalError, never a 500 page
        log.exception("action %s failed", spec.name)
        result = lookup("InternalError")
    if not recorded:
        _close(svc, merchant, spec, key, hold, result, masked, request_id, now)
    if body is not None:
        return _reply(body, request_id)
    return _error(result, request_id, message)


def _admit(svc: Services, merchant: Merchant, now) -> None:
    if not svc.rate_limiter.hit(f"merchant:{merchant.id}", merchant.qps_limit, int(now.timestamp() * 1000)):
        raise ServiceError("RequestLimitExceeded")


def _params(payload: bytes) -> dict:
    try:
        params = json.loads(payload or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ServiceError("InvalidParameter", "the body is not JSON") from None
    except RecursionError:        # "[[[[..." thousands deep: found by tests/api/test_fuzz_cloud_api.py
        raise ServiceError("InvalidParameter", "the body nests too deeply") from None
    if not isinstance(params, dict):
        raise ServiceError("InvalidParameter", "the body must be a JSON object")
    return params


def _close(svc: Services, merchant: Merchant, spec: ActionSpec, key: charge.ChargeKey | None,
           hold: charge.Hold | None, result: ResultCode, masked: str, request_id: str, started) -> None:
    """Charge a billable result once (the reserved unit; otherwise it goes back) and record the call."""
    try:
        # One transaction: a charge and the usage record that says so commit together (and one commit
        # instead of two on the photo path).
        with db.write_atomic():
            charged = charge.charge(key, result, svc.clock.now(), hold=hold) if hold is not None else False
            charge.record_usage(merchant.id, spec.name, spec.product, result.tencent, charged, masked,
                                request_id, started)
    except peewee.PeeweeException:
        # The verdict is already computed; losing its record must not lose the answer. Logged for audit.
        log.exception("billing/usage write failed for request %s", request_id)
