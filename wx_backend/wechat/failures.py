"""WeChat's errcodes, mapped onto our result codes (one place, used by every WeChat flow)."""
from __future__ import annotations

from ..errors import ServiceError
from .adapter import WeChatError

# errcode -> result code; anything not listed (and "no answer") is WeChatUnavailable.
_BY_ERRCODE = {
    40029: "FailedOperation.WeChatCodeInvalid",      # invalid (or expired) code
    40163: "FailedOperation.WeChatCodeInvalid",      # code been used
    41008: "FailedOperation.WeChatCodeInvalid",      # missing code
    45011: "FailedOperation.WeChatRateLimited",      # api minute-quota reach limit
    40001: "FailedOperation.WeChatCredentialInvalid",
    40002: "FailedOperation.WeChatCredentialInvalid",
    40013: "FailedOperation.WeChatCredentialInvalid",
    40125: "FailedOperation.WeChatCredentialInvalid",
    40164: "FailedOperation.WeChatCredentialInvalid",  # caller IP not whitelisted
    41002: "FailedOperation.WeChatCredentialInvalid",
    41004: "FailedOperation.WeChatCredentialInvalid",
}

_WHY = {40029: "登录凭证无效或已过期", 40163: "登录凭证已被使用", 45011: "调用过于频繁"}


def as_service_error(err: WeChatError) -> ServiceError:
    code = _BY_ERRCODE.get(err.errcode, "FailedOperation.WeChatUnavailable")
    if err.errcode is None:
        return ServiceError(code)
    error = ServiceError(code, extra={"errcode": err.errcode})
    why = _WHY.get(err.errcode)
    error.message = f"{error.result.message}（{why + '，' if why else ''}微信 errcode {err.errcode}）"
    return error
