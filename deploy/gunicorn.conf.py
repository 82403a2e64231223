"""gunicorn in production, behind nginx (deploy/nginx/): `gunicorn -c deploy/gunicorn.conf.py --bind HOST:PORT
app:app` (the systemd unit wxfaceid-web.service does this). Everything of the development file
(gunicorn.conf.py at the top: the face models loaded once per worker after the fork, the access log without
query strings and with BizTokens cut short), then what production changes.

Why these values:
- nginx reads every request whole and buffers every response, so a worker is busy only while it computes,
  never while a client sends or reads slowly: gunicorn's sync/gthread workers are right behind it (and
  wrong without it). Face work is CPU-bound: one worker per core.
- gthread with 2 threads: a light request (challenge, status poll, /healthz) is not queued behind a
  verification running in the same worker.
- timeout: a worker whose main loop stays silent this long is killed and replaced (a hung native call);
  nginx stops waiting for a response at its proxy_read_timeout (60 s) as well.
- graceful_timeout: on reload/stop, requests in flight (a verification takes up to a few seconds) finish.
- max_requests (+ jitter, so that the workers are not replaced together): a safety net only. A worker is
  replaced (models loaded again, ~2 s of one core) after about this many requests, which bounds growth
  nobody has found yet. The remedy for the heap a large request leaves behind is wx_backend/memory.py
  (two malloc arenas, malloc_trim after a request that grew the worker: post_fork/post_request hooks of
  gunicorn.conf.py): see docs/deploy.md, Memory of the workers.
"""
import multiprocessing
import runpy
from pathlib import Path

_dev = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({k: v for k, v in _dev.items() if not k.startswith("__")})

bind = "127.0.0.1:8000"            # the systemd unit passes --bind ${WXF_BIND}
proc_name = "wxfaceid-web"
workers = multiprocessing.cpu_count()
worker_class = "gthread"
threads = 2
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# The workers' heartbeat files: tmpfs, so a slow disk cannot make the master think a worker hung.
worker_tmp_dir = "/dev/shm"
