"""Errors of the web service and their one translation to responses.

    ServiceError            carries a ResultCode; rendered by the API family it was raised in
    ├── BadRequest          the input is malformed (InvalidParameter / InvalidParameterValue ...)
    ├── NotFound            a referenced object does not exist or is not the caller's
    └── Refused             the caller may not do this now (channel, quota, limits, state)
    Rejected                a pipeline step's short-circuit: the outcome is its ResultCode (a verdict,
                            or a bad-input / system code); each front door renders it its own way

Views of the JSON client API raise these; ``register_error_handlers`` turns them into
``{"error": {"code", "saas_code", "message"}}`` with the table's HTTP status. The Cloud API 3.0
blueprint renders its own ``{"Response": {"Error": ...}}`` shape from the same codes.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .result_codes import ResultCode, lookup

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """``extra``: further fields of the JSON error body (e.g. WeChat's ``errcode``)."""

    def __init__(self, code: str | ResultCode, message: str | None = None,
                 extra: dict | None = None):
        self.result = code if isinstance(code, ResultCode) else lookup(code)
        self.message = message or self.result.message
        self.extra = dict(extra or {})
        super().__init__(f"{self.result.tencent}: {self.message}")


class BadRequest(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class Refused(ServiceError):
    pass


class Rejected(Exception):
    """Raised inside the verification pipeline (intake, verify) when a step decides the outcome.

    Not an error of ours: the Cloud API puts ``result`` in the response's ``Result``; a session
    records it when it is a verdict and voids the attempt otherwise (``ResultCode.kind``).
    """

    def __init__(self, code: str | ResultCode, message: str | None = None):
        self.result = code if isinstance(code, ResultCode) else lookup(code)
        self.message = message or self.result.message
        super().__init__(self.result.tencent)

    def as_service_error(self) -> ServiceError:
        return ServiceError(self.result, self.message)


def error_body(result: ResultCode, message: str | None = None, extra: dict | None = None) -> dict:
    return {"error": {**(extra or {}), "code": result.tencent, "saas_code": result.saas,
                      "message": message or result.message}}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        return jsonify(error_body(exc.result, exc.message, exc.extra)), exc.result.http_status

    @app.errorhandler(Rejected)
    def _rejected(exc: Rejected):
        return jsonify(error_body(exc.result, exc.message)), exc.result.http_status

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc):
        result = lookup("RequestSizeLimitExceeded")
        if _wants_json():
            return jsonify(error_body(result)), 413
        return f"<h1>413</h1><p>{result.message}</p>", 413

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if _wants_json():
            return jsonify({"error": {"code": exc.name, "message": exc.description}}), exc.code
        return exc
