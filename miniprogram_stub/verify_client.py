"""The verification steps of our mini-program, in Python: what pages/verify/verify.js does.

    mp = MiniProgramClient(...); mp.login()
    flow = VerifyFlow(mp, biz_token)
    flow.consent()                       # the user tapped 同意 on the consent sheet
    ch = flow.challenge()                # {"nonce", "mode", "challenge": {...}, "expires_in"}
    result = flow.send_frames(ch["nonce"], [(t_ms, jpeg_bytes), ...], audio_wav=None)
    flow.status()

Frames go up in ONE multipart request (field ``frames``, filename ``<t_ms>.jpg``; ``nonce``;
optional ``audio`` WAV) right after the capture, as the mini-program builds it by hand
(wx.uploadFile carries a single file, so the page assembles the multipart body itself).
"""
from __future__ import annotations

from typing import Any, Iterable

from .client import MiniProgramClient, MiniProgramError, _body


class VerifyFlow:
    def __init__(self, mp: MiniProgramClient, biz_token: str):
        self.mp = mp
        self.biz_token = biz_token

    def _path(self, step: str) -> str:
        return f"/api/biz/{self.biz_token}/{step}"

    def _ok(self, step: str, resp, allowed=(200,)) -> Any:
        body = _body(resp)
        if resp.status_code not in allowed:
            raise MiniProgramError(step, resp.status_code, body)
        return body

    def consent(self, version: str = "2026-11-v1") -> dict:
        return self._ok("consent", self.mp.post(self._path("consent"),
                                                json={"agree": True, "version": version}))

    def challenge(self) -> dict:
        return self._ok("challenge", self.mp.get(self._path("challenge")))

    def send_frames(self, nonce: str, frames: Iterable[tuple[float, bytes]],
                    audio_wav: bytes | None = None) -> dict:
        """Upload the capture; returns the verdict body (raises MiniProgramError on refusal)."""
        files = [("frames", (f"{_ms(t)}.jpg", jpeg, "image/jpeg")) for t, jpeg in frames]
        if audio_wav is not None:
            files.append(("audio", ("audio.wav", audio_wav, "audio/wav")))
        return self._ok("frames", self.mp.post(self._path("frames"), data={"nonce": nonce},
                                               files=files))

    def status(self) -> dict:
        return self._ok("status", self.mp.get(self._path("status")))


def _ms(t: float) -> str:
    """Capture time as the page writes it: integer ms when whole, else one decimal."""
    return str(int(t)) if float(t).is_integer() else f"{t:.1f}"
