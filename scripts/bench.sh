#!/usr/bin/env bash
# Install what the benchmark needs (valgrind, wrk, matplotlib) and run all of it on the oldest and
# the newest supported aiohttp (AIOHTTP_VERSIONS, default "3.9.5 3.14.5"): sections 1-5 on each
# version in turn, then the hostile-input memory benchmark (section 6). Writes one
# docs/benchmarks.md and docs/benchmarks.png (about 20 minutes on 2 cores).
# Usage: bash scripts/bench.sh [more bench/run.py options]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v callgrind_control >/dev/null 2>&1 || missing+=(valgrind)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "!! ${missing[*]} missing and apt-get not usable here: install them first" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[dev]'

versions=()
for version in ${AIOHTTP_VERSIONS:-3.9.5 3.14.5}; do
  versions+=(--aiohttp "$version")
done
exec .venv/bin/python bench/run.py "${versions[@]}" "$@"
