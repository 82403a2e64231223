"""The per-merchant QPS limit across gunicorn workers: a burst of 40 concurrent SDK calls, limit 20/s.

gunicorn runs as a subprocess with 2 sync workers on an ephemeral port and a SQLite file database (and,
in the second variant, Redis). Readiness is signalled by the workers themselves through a Unix datagram
socket (a gunicorn hook in a test config), so the test waits on events, not on sleeps.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wx_backend import create_app, db
from wx_backend.billing.models import UsageRecord
from wx_backend.settings import Settings

from ..conftest import REDIS_TEST_URL_2
from .conftest import assert_limit_held, live_code_burst, make_merchant, sdk_client

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
LIMIT = 20
BURST = 40

HOOKS = '''
import socket

def _tell(message):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(message.encode(), {path!r})
    s.close()

def when_ready(server):
    _tell("port %d" % server.LISTENERS[0].sock.getsockname()[1])

def post_worker_init(worker):
    _tell("worker %d" % worker.pid)
'''


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(params=["database", "redis"])
def gunicorn(request, tmp_path):
    redis_url = ""
    if request.param == "redis":
        if not _redis_up():
            pytest.skip("Redis at 127.0.0.1:6379 unreachable")
        redis_url = REDIS_TEST_URL_2
    db_url = f"sqlite:///{tmp_path / 'multi.db'}"
    app = create_app(Settings(env="testing", database_url=db_url, redis_url=redis_url,
                              huey_sqlite_path=str(tmp_path / "huey.db"), huey_immediate=True))
    with app.app_context():
        db.create_tables()
    svc = app.extensions["wxfaceid"]
    merchant = make_merchant(svc, secret_id="AKIDburstmerchant001", secret_key="burst-key", qps=LIMIT)

    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(60)
    conf = tmp_path / "gunicorn_test.conf.py"
    conf.write_text(HOOKS.format(path=notify_path))
    env = dict(os.environ, DATABASE_URL=db_url, WXF_ENV="testing", REDIS_URL=redis_url,
               HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    log = open(tmp_path / "gunicorn.log", "wb")
    access = tmp_path / "access.log"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(conf), "-w", str(WORKERS),
                             "-b", "127.0.0.1:0", "--access-logfile", str(access),
                             "--access-logformat", "%(p)s %(s)s", "app:app"],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        port, workers = None, set()
        while port is None or len(workers) < WORKERS:
            try:
                kind, value = notify.recv(256).decode().split()
            except socket.timeout:
                pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
            if kind == "port":
                port = int(value)
            else:
                workers.add(int(value))
        yield f"127.0.0.1:{port}", merchant, app, proc, access
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        notify.close()
        log.close()


def test_burst_is_limited_across_workers(gunicorn):
    endpoint, merchant, app, proc, access = gunicorn
    clients = [sdk_client(endpoint, "AKIDburstmerchant001", "burst-key") for _ in range(BURST)]
    outcomes, span_s = live_code_burst(clients)
    assert_limit_held(outcomes, span_s, LIMIT)
    limited = outcomes.count("RequestLimitExceeded")
    with app.app_context(), db.database.connection_context():
        usage = list(UsageRecord.select().where(UsageRecord.merchant == merchant.id))
    assert len(usage) == BURST
    assert sum(u.result_code == "RequestLimitExceeded" for u in usage) == limited
    assert not any(u.charged for u in usage)
    # Both workers served the burst. gunicorn logs a request just after answering it, so the log is read
    # once the server has stopped gracefully (workers finish and flush first).
    proc.terminate()
    proc.wait(timeout=30)
    pids = {line.split()[0] for line in access.read_text().splitlines() if line.strip()}
    assert len(pids) >= 2, pids
