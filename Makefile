# Two commands for a newcomer: `make run` and `make test`. Each installs its own pinned lock file into
# .venv when the venv is missing or older than the lock:
#   requirements.txt       runtime only (make run, make demo): no test or browser packages
#   requirements-test.txt  runtime + pytest, selenium, scikit-image (make test)
#   requirements-bench.txt runtime + what the benchmarks add (make bench)
# The lock files are generated from pyproject.toml by `make lock` (tools/lock_requirements.sh).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test bench demo lock clean-var cluster

ATTACK ?= none
MODE ?= light

define install_lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $<
	@touch $@
endef

$(VENV)/.installed-run: requirements.txt
	$(install_lock)

$(VENV)/.installed-test: requirements-test.txt
	$(install_lock)

$(VENV)/.installed-bench: requirements-bench.txt
	$(install_lock)

run: $(VENV)/.installed-run
	$(PY) -m wx_backend.devrun

test: $(VENV)/.installed-test
	$(PY) -m pytest

# One verification session against the service `make run` started (run it in another terminal).
demo: $(VENV)/.installed-run
	$(PY) -m miniprogram_stub.demo --mode $(MODE) --attack $(ATTACK)

# The production shape on this machine: nginx in front of two instances and two job workers, on the
# machine's PostgreSQL and Redis, with the WeChat emulator (deploy/cluster.py). Ctrl-C stops all of it.
# Another database or Redis: make cluster CLUSTER_ARGS="--pg postgresql://... --redis redis://.../3"
cluster: $(VENV)/.installed-run
	$(PY) -m deploy.cluster $(CLUSTER_ARGS)

bench: $(VENV)/.installed-bench
	$(PY) bench/face_verification.py
	$(PY) bench/liveness.py

lock:
	PYTHON=$(PYTHON) tools/lock_requirements.sh

clean-var:
	rm -rf var
