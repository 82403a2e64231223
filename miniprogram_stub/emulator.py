"""The WeChat emulator: a loopback HTTP server speaking WeChat's server APIs.

Run it::

    python -m miniprogram_stub.emulator --host 127.0.0.1 --port 8001 \\
        --mp-app wxdevminiprogram0001:dev-miniprogram-secret \\
        --oa-app wxdevofficialacct001:dev-official-account-secret

(``--mp-app`` / ``--oa-app`` are repeatable; without them the development credentials below are used.)
In tests, ``running_emulator(clock=...)`` starts it on an ephemeral port in a thread and yields a
``RunningEmulator`` with its ``base_url`` and its ``world`` (state, clock). See docs/wechat.md.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator

from werkzeug.serving import WSGIRequestHandler, make_server

from .emulator_http import EmulatorApp
from .emulator_state import DEFAULT_PER_USER_PER_MINUTE, MP, OA, App, ClockLike, WeChatWorld

log = logging.getLogger(__name__)

# The development credentials of wx_backend/settings.py, copied (WeChat does not import our code).
DEV_MP_APPS = (("wxdevminiprogram0001", "dev-miniprogram-secret"),)
DEV_OA_APPS = (("wxdevofficialacct001", "dev-official-account-secret"),)


def build_apps(mp_apps: Iterable[tuple[str, str]] = DEV_MP_APPS,
               oa_apps: Iterable[tuple[str, str]] = DEV_OA_APPS) -> dict[str, App]:
    apps = {appid: App(appid, secret, MP) for appid, secret in mp_apps}
    for appid, secret in oa_apps:
        if appid in apps:
            raise ValueError(f"appid {appid} given as both mini-program and official account")
        apps[appid] = App(appid, secret, OA)
    return apps


class _QuietHandler(WSGIRequestHandler):
    """Request log lines without query strings: they carry secrets, codes and tokens."""

    def log_request(self, code="-", size="-"):
        log.info("%s %s %s", self.command, self.path.split("?", 1)[0], code)


def _serve(host: str, port: int, world: WeChatWorld):
    return make_server(host, port, EmulatorApp(world), threaded=True, request_handler=_QuietHandler)


@dataclass
class RunningEmulator:
    base_url: str
    world: WeChatWorld


@contextlib.contextmanager
def running_emulator(*, mp_apps: Iterable[tuple[str, str]] = DEV_MP_APPS,
                     oa_apps: Iterable[tuple[str, str]] = DEV_OA_APPS, clock: ClockLike | None = None,
                     per_user_per_minute: int = DEFAULT_PER_USER_PER_MINUTE,
                     host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningEmulator]:
    """Serve the emulator in a background thread (port 0: an ephemeral port) until the block ends."""
    kwargs = {"clock": clock} if clock is not None else {}
    world = WeChatWorld(build_apps(mp_apps, oa_apps), per_user_per_minute=per_user_per_minute,
                        **kwargs)
    server = _serve(host, port, world)
    # A short poll interval: shutdown() waits up to one interval, once per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="wechat-emulator", daemon=True)
    thread.start()
    try:
        yield RunningEmulator(f"http://{host}:{server.server_port}", world)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _app_arg(text: str) -> tuple[str, str]:
    appid, sep, secret = text.partition(":")
    if not sep or not appid or not secret:
        raise argparse.ArgumentTypeError("expected APPID:SECRET")
    return appid, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m miniprogram_stub.emulator",
                                     description="Emulate WeChat's server APIs on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--mp-app", action="append", type=_app_arg, metavar="APPID:SECRET",
                        help="a mini-program known to the emulator (repeatable)")
    parser.add_argument("--oa-app", action="append", type=_app_arg, metavar="APPID:SECRET",
                        help="an official account known to the emulator (repeatable)")
    parser.add_argument("--per-user-per-minute", type=int, default=DEFAULT_PER_USER_PER_MINUTE,
                        help="code exchanges per (app, user) per minute before 45011")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s emulator %(levelname)s %(message)s")
    apps = build_apps(args.mp_app or DEV_MP_APPS, args.oa_app or DEV_OA_APPS)
    world = WeChatWorld(apps, per_user_per_minute=args.per_user_per_minute)
    try:
        server = _serve(args.host, args.port, world)
    except OSError as exc:
        print(json.dumps({"error": f"cannot listen on {args.host}:{args.port}: {exc}"}),
              file=sys.stderr)
        return 2
    print(json.dumps({"emulator": f"http://{args.host}:{server.server_port}",
                      "apps": {a.appid: a.kind for a in apps.values()}}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
