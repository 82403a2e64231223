"""The production shape on one machine: nginx (Debian's package, deploy/nginx/) in front of two service
instances (gunicorn with deploy/gunicorn.conf.py) and two job workers, on the machine's PostgreSQL and
Redis, with the WeChat emulator.

    make cluster                      # = .venv/bin/python -m deploy.cluster; Ctrl-C stops everything
    .venv/bin/python -m deploy.cluster --keep --pg postgresql://postgres@127.0.0.1:5432/test

Everything it starts is its own and goes when it stops: a fresh PostgreSQL schema (dropped at the end
unless --keep), a Huey queue named after that schema, a temporary directory with nginx's configuration,
pid file, logs and temp paths, and ephemeral ports. Ports never race: each listening socket is bound
here first and handed to its server (gunicorn ``--bind fd://N``; nginx inherits it through the ``NGINX``
variable it uses for binary upgrades), so requests sent before a server is up wait in the backlog instead
of failing. Readiness is signalled, not guessed: job workers say READY=1 on $NOTIFY_SOCKET as systemd's
Type=notify expects, and each gunicorn worker reports once it has loaded the models (a hook added to the
production settings for the cluster only), so a started cluster has no worker still warming up.

tests/cluster/ and bench/cluster.py drive the same ``Cluster`` class.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 180      # model loading on a busy 2-core machine


class ClusterUnavailable(Exception):
    """nginx, PostgreSQL or Redis is not there: the message says which and why."""


class ClusterFailed(Exception):
    """A process of the cluster did not start; the message carries the end of its log."""


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if os.access(p, os.X_OK)), None)


def missing_services(pg_dsn: str, redis_url: str) -> list[str]:
    """Why the cluster cannot run here (empty when it can)."""
    reasons = []
    if find_nginx() is None:
        reasons.append("nginx is not installed (Debian: apt-get install nginx)")
    try:
        import psycopg2
        psycopg2.connect(pg_dsn, connect_timeout=3).close()
    except Exception as exc:  # any failure is a reason to give
        reasons.append(f"PostgreSQL not reachable at {pg_dsn}: {str(exc).strip()}")
    try:
        import redis
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure is a reason to give
        reasons.append(f"Redis not reachable at {redis_url}: {exc}")
    return reasons


@dataclass(frozen=True)
class ClusterSpec:
    pg_dsn: str = PG_DSN                 # a database where a schema may be created and dropped
    redis_url: str = REDIS_URL           # a Redis database for this cluster alone (rate limits, tokens)
    instances: int = 2
    web_workers: int = 2                 # gunicorn workers per instance
    job_workers: int = 2
    job_lease_s: int = 30
    env: Mapping[str, str] = field(default_factory=dict)   # more settings for every process
    keep: bool = False                   # keep the schema and the logs after stopping
    pin_instances: bool = False          # instance i on CPU i only: an instance stands for a one-core host


def _listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@dataclass
class Proc:
    name: str
    cmd: list[str]
    log: Path
    popen: subprocess.Popen | None = None
    notify: socket.socket | None = None      # where a job worker says READY=1

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def stop(self, timeout_s: float = 40) -> None:
        if self.popen is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


@dataclass
class Instance(Proc):
    url: str = ""
    access_log: Path | None = None


class Cluster:
    """Start with ``with Cluster(spec) as c:`` (or start()/stop()); ``c.front`` is nginx's URL."""

    def __init__(self, spec: ClusterSpec = ClusterSpec(), workdir: Path | None = None):
        self.spec = spec
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wxf-cluster-"))
        self.schema = f"wxc_{secrets.token_hex(6)}"
        self.huey_name = self.schema
        self.database_url = (spec.pg_dsn.replace("postgresql://", "postgresql+pool://", 1)
                             + ("&" if "?" in spec.pg_dsn else "?")
                             + f"max_connections=8&options={quote(f'-csearch_path={self.schema}')}")
        self.instances: list[Instance] = []
        self.workers: list[Proc] = []
        self.nginx: Proc | None = None
        self.front = ""
        self.emulator = None
        self._stack = contextlib.ExitStack()
        self._secret_key = secrets.token_urlsafe(32)
        self._data_key = secrets.token_urlsafe(32)
        self._schema_created = False

    # -- settings: the same for every process, and for the caller's in-process app -------------------------
    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID")}
        env.update({
            "WXF_ENV": "development", "DATABASE_URL": self.database_url, "REDIS_URL": self.spec.redis_url,
            "HUEY_NAME": self.huey_name, "HUEY_SQLITE_PATH": str(self.workdir / "huey-unused.db"),
            "SECRET_KEY": self._secret_key, "DATA_KEY": self._data_key,
            "WECHAT_API_BASE": self.emulator.base_url, "WECHAT_OAUTH_BASE": self.emulator.base_url,
            "PUBLIC_BASE_URL": self.front, "TRUSTED_PROXIES": "1",
            "JOB_LEASE_S": str(self.spec.job_lease_s), "PYTHONUNBUFFERED": "1",
        })
        env.update(self.spec.env)
        return env

    def settings(self):
        """Settings equal to the cluster processes' (for seeding and checking from this process)."""
        from wx_backend.settings import Settings
        return Settings.from_env(self.environ())

    def app(self):
        """An application on the cluster's database and Redis, in this process (binds wx_backend.db)."""
        from wx_backend import create_app
        return create_app(self.settings())

    # -- start and stop --------------------------------------------------------------------------------------
    def __enter__(self) -> "Cluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        reasons = missing_services(self.spec.pg_dsn, self.spec.redis_url)
        if reasons:
            raise ClusterUnavailable("; ".join(reasons))
        if os.geteuid() == 0:
            self.workdir.chmod(0o755)     # nginx's workers run as nobody and use temp paths in here
        self._create_schema()
        self._start_emulator()
        front_sock = _listener()
        self.front = f"http://127.0.0.1:{front_sock.getsockname()[1]}"
        self._init_db()
        for i in range(self.spec.instances):
            self._spawn_instance(chr(ord("a") + i))
        for i in range(self.spec.job_workers):
            self.start_worker(i, wait=False)
        self._spawn_nginx(front_sock)
        self._wait_ready()

    def stop(self) -> None:
        procs = ([self.nginx] if self.nginx else []) + self.instances + self.workers
        for p in procs:
            p.signal(signal.SIGTERM)
        for p in procs:
            p.stop()
        self._stack.close()
        if self._schema_created and not self.spec.keep:
            self._drop_schema()
        self._forget_redis_keys()
        if self._own_workdir and not self.spec.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _create_schema(self) -> None:
        import psycopg2
        with contextlib.closing(psycopg2.connect(self.spec.pg_dsn)) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"CREATE SCHEMA {self.schema}")
        self._schema_created = True

    def _drop_schema(self) -> None:
        import psycopg2
        with contextlib.closing(psycopg2.connect(self.spec.pg_dsn)) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        self._schema_created = False

    def _forget_redis_keys(self) -> None:
        """The queue's keys (named after this cluster) and the WeChat tokens of this cluster's emulator."""
        import redis
        from wx_backend.wechat.adapter import TOKEN_PREFIX
        try:
            r = redis.Redis.from_url(self.spec.redis_url, socket_connect_timeout=2)
            keys = [k for pattern in (f"huey.*.{self.huey_name}*", f"{TOKEN_PREFIX}*")
                    for k in r.scan_iter(match=pattern)]
            if keys:
                r.delete(*keys)
        except redis.RedisError:
            pass

    def _start_emulator(self) -> None:
        from miniprogram_stub.emulator import running_emulator
        from wx_backend.settings import Settings
        dev = Settings()
        self.emulator = self._stack.enter_context(running_emulator(
            mp_apps=[(dev.mp_appid, dev.mp_secret)], oa_apps=[(dev.oa_appid, dev.oa_secret)]))

    def _init_db(self) -> None:
        """What an operator runs before a rollout: `flask --app app init-db` (idempotent, additive)."""
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "init-db"], cwd=ROOT,
                             env=self.environ(), capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise ClusterFailed(f"init-db failed:\n{out.stderr[-3000:]}")

    def _spawn(self, proc: Proc, env: dict[str, str], pass_fds=()) -> None:
        with proc.log.open("ab") as log:
            proc.popen = subprocess.Popen(proc.cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          pass_fds=pass_fds, start_new_session=True)

    def _spawn_instance(self, name: str) -> None:
        sock = _listener()
        fd = sock.fileno()
        notify_path = self.workdir / f"web-{name}.notify"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        self._stack.callback(notify.close)
        conf = self.workdir / f"web-{name}.gunicorn.conf.py"
        conf.write_text(_GUNICORN_READY_HOOK.format(production=str(DEPLOY / "gunicorn.conf.py"),
                                                     notify=str(notify_path)))
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(conf), "--bind", f"fd://{fd}",
               "--workers", str(self.spec.web_workers),
               "--access-logfile", str(self.workdir / f"web-{name}.access.log"), "app:app"]
        if self.spec.pin_instances:
            cmd = ["taskset", "--cpu-list", str(len(self.instances) % os.cpu_count()), *cmd]
        inst = Instance(name=f"web-{name}", log=self.workdir / f"web-{name}.log",
                        access_log=self.workdir / f"web-{name}.access.log",
                        url=f"http://127.0.0.1:{sock.getsockname()[1]}", cmd=cmd, notify=notify)
        self._spawn(inst, self.environ(), pass_fds=(fd,))
        sock.close()       # gunicorn holds it now; if gunicorn dies, connections are refused, not hung
        self.instances.append(inst)

    def start_worker(self, index: int, wait: bool = True) -> Proc:
        """Start job worker ``index`` (again, after it was killed); with ``wait``, until it says READY."""
        notify_path = self.workdir / f"worker-{index}.notify"
        notify_path.unlink(missing_ok=True)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        self._stack.callback(notify.close)
        proc = Proc(name=f"worker-{index}", log=self.workdir / f"worker-{index}.log",
                    cmd=[sys.executable, "-m", "wx_backend.jobs", "worker"], notify=notify)
        self._spawn(proc, {**self.environ(), "NOTIFY_SOCKET": str(notify_path)})
        if index < len(self.workers):
            self.workers[index] = proc
        else:
            self.workers.append(proc)
        if wait:
            self._wait_notified(proc)
        return proc

    def _spawn_nginx(self, sock: socket.socket) -> None:
        conf = self.workdir / "nginx" / "nginx.conf"
        conf.parent.mkdir(exist_ok=True)
        conf.write_text(self.nginx_conf(sock.getsockname()[1]))
        nginx = find_nginx()
        self.nginx = Proc(name="nginx", log=self.workdir / "nginx" / "error.log",
                          cmd=[nginx, "-p", f"{conf.parent}/", "-c", str(conf), "-e", str(self.workdir / "nginx" / "error.log")])
        fd = sock.fileno()
        self._spawn(self.nginx, {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/bin"), "NGINX": f"{fd};"},
                    pass_fds=(fd,))
        sock.close()

    def nginx_conf(self, port: int) -> str:
        """nginx's main file for this cluster: its own pid, logs and temp paths; the production snippets."""
        d = self.workdir / "nginx"
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        servers = "\n".join(f"        server {i.url.removeprefix('http://')} max_fails=3 fail_timeout=10s;"
                            for i in self.instances)
        return f"""# generated by deploy/cluster.py
{user}
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {DEPLOY}/nginx/wxfaceid-http.conf;
    access_log {d}/access.log wxfaceid;
    upstream wxfaceid {{
        least_conn;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        include {DEPLOY}/nginx/wxfaceid-server.conf;
    }}
}}
"""

    # -- readiness -------------------------------------------------------------------------------------------
    def _wait_ready(self) -> None:
        errors: list[str] = []
        waits = [threading.Thread(target=self._guard, args=(fn, errors))
                 for fn in [lambda i=i: self._wait_notified(i, self.spec.web_workers) for i in self.instances]
                 + [lambda w=w: self._wait_notified(w) for w in self.workers]
                 + [lambda: self._wait_http(self.nginx, self.front)]]
        for t in waits:
            t.start()
        for t in waits:
            t.join()
        if errors:
            raise ClusterFailed("\n\n".join(errors))

    @staticmethod
    def _guard(fn, errors: list[str]) -> None:
        try:
            fn()
        except ClusterFailed as exc:
            errors.append(str(exc))

    def _wait_http(self, proc: Proc, url: str) -> None:
        """The socket exists before the server: a request waits in the backlog until a worker answers."""
        import requests
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not proc.alive():
                raise ClusterFailed(f"{proc.name} exited ({proc.popen.returncode}):\n{_tail(proc.log)}")
            try:
                if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
        raise ClusterFailed(f"{proc.name} did not answer {url}/healthz in {START_TIMEOUT_S} s:\n{_tail(proc.log)}")

    def _wait_notified(self, proc: Proc, count: int = 1) -> None:
        """Until ``count`` READY=1 datagrams came from the process (a job worker; each gunicorn worker)."""
        proc.notify.settimeout(1.0)
        deadline = time.monotonic() + START_TIMEOUT_S
        while count and time.monotonic() < deadline:
            try:
                count -= b"READY=1" in proc.notify.recv(256)
            except socket.timeout:
                if not proc.alive():
                    raise ClusterFailed(f"{proc.name} exited ({proc.popen.returncode}):\n{_tail(proc.log)}")
        if count:
            raise ClusterFailed(f"{proc.name} not ready in {START_TIMEOUT_S} s:\n{_tail(proc.log)}")

    def describe(self) -> dict:
        return {"front": self.front, "instances": [i.url for i in self.instances],
                "workers": [w.pid for w in self.workers], "emulator": self.emulator.base_url,
                "database": f"{self.spec.pg_dsn} schema {self.schema}", "redis": self.spec.redis_url,
                "queue": self.huey_name, "logs": str(self.workdir)}


# The production settings plus one hook for the cluster: each worker reports once its models are loaded.
_GUNICORN_READY_HOOK = """import runpy, socket
globals().update({{k: v for k, v in runpy.run_path({production!r}).items() if not k.startswith("__")}})
_load_models = post_worker_init


def post_worker_init(worker):
    _load_models(worker)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"READY=1", {notify!r})
"""


def _seed_demo(cluster: Cluster) -> dict:
    """The demo merchant and Grace Hopper in the registry, as `make run` seeds them."""
    from wx_backend.devrun import DEMO_ID_CARD, DEMO_NAME, demo_photo_path

    def flask(*args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                             env=cluster.environ(), capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise ClusterFailed(f"flask {' '.join(args)} failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout)

    demo = flask("demo", "seed")
    flask("authority", "add", "--id-card", DEMO_ID_CARD, "--name", DEMO_NAME, "--photo", demo_photo_path())
    return demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default=PG_DSN, help=f"PostgreSQL database to make a schema in ({PG_DSN})")
    parser.add_argument("--redis", default=REDIS_URL, help=f"Redis database for the cluster ({REDIS_URL})")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="job workers")
    parser.add_argument("--keep", action="store_true", help="keep the schema and the logs when stopping")
    args = parser.parse_args(argv)

    spec = ClusterSpec(pg_dsn=args.pg, redis_url=args.redis, instances=args.instances,
                       job_workers=args.workers, keep=args.keep)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with Cluster(spec) as cluster:
            demo = _seed_demo(cluster)
            print("\n" + "=" * 72)
            print(" wxfaceid cluster is running; front door (nginx):", cluster.front)
            print(json.dumps(cluster.describe(), indent=2))
            print(" Demo merchant (development only):")
            print(json.dumps(demo, ensure_ascii=False, indent=2))
            print(f" Cloud API: tencentcloud SDK HttpProfile(protocol='http', "
                  f"endpoint='{cluster.front.removeprefix('http://')}')")
            print(" Ctrl-C stops everything this command started.")
            print("=" * 72 + "\n", flush=True)
            while not stop.wait(1.0):
                dead = [p.name for p in [cluster.nginx, *cluster.instances, *cluster.workers] if not p.alive()]
                if dead:
                    print(f"{', '.join(dead)} exited; stopping (logs in {cluster.workdir})", file=sys.stderr)
                    return 1
    except ClusterUnavailable as exc:
        print(f"cannot start the cluster: {exc}", file=sys.stderr)
        return 2
    except ClusterFailed as exc:
        print(f"the cluster did not start:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
