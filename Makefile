# Two commands for a newcomer: `make run` and `make test`. Both build .venv from the pinned
# requirements.txt when it is missing or older than requirements.txt.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test venv bench demo clean-var cluster

ATTACK ?= none
MODE ?= light

venv: $(STAMP)

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

run: venv
	$(PY) -m wx_backend.devrun

test: venv
	$(PY) -m pytest

# One verification session against the service `make run` started (run it in another terminal).
demo: venv
	$(PY) -m miniprogram_stub.demo --mode $(MODE) --attack $(ATTACK)

# The production shape on this machine: nginx in front of two instances and two job workers, on the
# machine's PostgreSQL and Redis, with the WeChat emulator (deploy/cluster.py). Ctrl-C stops all of it.
# Another database or Redis: make cluster CLUSTER_ARGS="--pg postgresql://... --redis redis://.../3"
cluster: venv
	$(PY) -m deploy.cluster $(CLUSTER_ARGS)

bench: venv
	$(PY) bench/face_verification.py
	$(PY) bench/liveness.py

clean-var:
	rm -rf var
