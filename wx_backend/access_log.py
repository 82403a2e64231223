"""gunicorn's access log without bearer tokens in it.

Paths like ``/api/biz/<BizToken>/frames`` and ``/h5/biz/<BizToken>`` carry a BizToken, which lets its
holder act on a verification session; access logs are read by more people than the database. The
logger keeps the first four characters (enough to follow one session through the log) and drops the
rest. Query strings are never logged (``%(U)s`` is the path alone).
"""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

# The path segment after /biz/ is a BizToken (/api/biz/<token>/..., /h5/biz/<token>).
_TOKEN_AFTER = re.compile(r"(/biz/)([^/?#]{5,})")


def redact_path(path: str) -> str:
    return _TOKEN_AFTER.sub(lambda m: f"{m.group(1)}{m.group(2)[:4]}…", path)


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            if key in atoms and isinstance(atoms[key], str):
                atoms[key] = redact_path(atoms[key])
        atoms["q"] = ""   # query strings can carry OAuth codes and states
        return atoms
