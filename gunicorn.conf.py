"""gunicorn settings for `make run` (override any of them on the command line)."""
import multiprocessing

bind = "127.0.0.1:8000"
# Face work is CPU-bound: one sync worker per core, a couple of threads each for the light requests
# (challenges, status polls) that would otherwise queue behind a verification.
workers = max(2, multiprocessing.cpu_count())
threads = 2
timeout = 60
graceful_timeout = 10
accesslog = "-"
# Query strings can carry OAuth codes and states: log the path only, with BizTokens cut short.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
logger_class = "wx_backend.access_log.RedactingLogger"


def post_fork(server, worker):
    """Two malloc arenas per worker, before its threads start (wx_backend/memory.py)."""
    from wx_backend import memory
    from wx_backend.settings import load_settings

    memory.limit_arenas(load_settings().malloc_arena_max)


def post_worker_init(worker):
    """Load the face models once per worker process, after the fork, before the first request."""
    from wx_backend import memory
    from wx_backend.services import EXTENSION_KEY

    svc = worker.wsgi.extensions[EXTENSION_KEY]
    svc.engine.warm()
    svc.liveness.warm()
    memory.settle()


def post_request(worker, req, environ, resp):
    """After the answer is sent: give the heap a large request freed back to the system (wx_backend/memory.py)."""
    from wx_backend import memory

    memory.TRIMMER.after_request()
