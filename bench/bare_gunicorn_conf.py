"""gunicorn settings for the bare-Flask baseline: the service's config file (WXF_BENCH_GUNICORN_CONFIG),
every setting as it is, less ``post_worker_init`` (it warms the face engine the bare app does not have)."""
import os
import runpy
import types

_base = runpy.run_path(os.environ["WXF_BENCH_GUNICORN_CONFIG"])
globals().update({name: value for name, value in _base.items()
                  if not name.startswith("_") and name != "post_worker_init"
                  and not isinstance(value, types.ModuleType)})
