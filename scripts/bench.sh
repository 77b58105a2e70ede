#!/usr/bin/env bash
# Install what the benchmark needs (valgrind, wrk, matplotlib) and run it.
# Writes docs/benchmarks.md and docs/benchmarks.png. Usage: bash scripts/bench.sh [run.py options]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v callgrind_control >/dev/null 2>&1 || missing+=(valgrind)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})) && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== installing ${missing[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[dev]'
exec .venv/bin/python bench/run.py "$@"
