#!/usr/bin/env bash
# Regenerate the pinned lock files from pyproject.toml: one clean venv per set (runtime; runtime +
# [test]; runtime + [bench]), the set's packages installed, then frozen. Without arguments every
# version pinned in any of the lock files is kept (a new package resolves fresh); pass --upgrade to let
# every version move. (pip-tools would do the same; this needs nothing but pip.)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
UPGRADE=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
deps() {
  "$PYTHON" - "$@" <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
names = list(project["dependencies"])
for extra in sys.argv[1:]:
    names += project["optional-dependencies"][extra]
print("\n".join(names))
PY
}
for set in run test bench; do
  case $set in
    run) lock=requirements.txt; deps > "$work/in.txt" ;;
    test) lock=requirements-test.txt; deps test > "$work/in.txt" ;;
    bench) lock=requirements-bench.txt; deps bench > "$work/in.txt" ;;
  esac
  constraint=()
  if [ "$UPGRADE" != "--upgrade" ]; then
    for pinned in requirements.txt requirements-test.txt requirements-bench.txt; do
      if [ -f "$pinned" ]; then cp "$pinned" "$work/pinned-$pinned"; constraint+=(-c "$work/pinned-$pinned"); fi
    done
  fi
  "$PYTHON" -m venv "$work/$set"
  "$work/$set/bin/pip" install --quiet "${constraint[@]}" -r "$work/in.txt"
  { echo "# Pinned by tools/lock_requirements.sh from pyproject.toml ($set set); do not edit by hand."
    "$work/$set/bin/pip" freeze; } > "$lock"
  echo "$lock: $(grep -vc '^#' "$lock") packages"
done
