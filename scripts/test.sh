#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it: unit, HTTP, compatibility
# (aiohttp-cors 0.8.1's own suite and the differential test against it) and browser tests,
# then the unit and HTTP tests again on the oldest and the newest supported Python + aiohttp.
# Usage: bash scripts/test.sh [extra pytest arguments for the main run]
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser suite runs in three engines, all from Debian's packages (nothing is
# ever downloaded by Playwright or a driver manager): Chromium (through Playwright),
# Firefox ESR (its built-in WebDriver BiDi), WebKitGTK (WebKitWebDriver + MiniBrowser
# under Xvfb, host names mapped by nss_wrapper); libfaketime moves a browser's clock
# for the Access-Control-Max-Age cap test.  On CI a missing engine is a failure.
BROWSER_PACKAGES="chromium firefox-esr webkit2gtk-driver xvfb libnss-wrapper libfaketime"
missing_packages=()
for package in $BROWSER_PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing_packages+=("$package")
done
if [ "${#missing_packages[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing_packages[*]} with apt-get"
    # Chromium with its recommended packages, as always; the others without theirs
    # (Firefox's and WebKit's recommendations add ~380 MB the suite does not use).
    others=()
    for package in "${missing_packages[@]}"; do
      [ "$package" = chromium ] || others+=("$package")
    done
    if ! { apt-get update -qq \
           && { [ "${#others[@]}" = "${#missing_packages[@]}" ] \
                || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
           && { [ "${#others[@]}" = 0 ] \
                || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                     --no-install-recommends "${others[@]}" >/dev/null; }; }; then
      if [ "${CI:-}" = true ]; then
        echo "!! ${missing_packages[*]} could not be installed: the browser suite cannot run" >&2
        exit 1
      fi
      echo "!! ${missing_packages[*]} could not be installed: those engines' tests will be skipped"
    fi
  elif [ "${CI:-}" = true ]; then
    echo "!! ${missing_packages[*]} missing and apt-get unusable: the browser suite cannot run" >&2
    exit 1
  else
    echo "!! ${missing_packages[*]} missing (install them as root): those tests will be skipped"
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  # Debian's own python3 makes venvs only with python3-venv installed.
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null && command -v apt-get >/dev/null 2>&1 \
     && [ "$(id -u)" = 0 ]; then
    echo "== installing python3-venv with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "== installing the package with its test and dev extras"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'

run_pytest() {  # run_pytest PYTHON ARGS...: pytest's exit 5 (no test ran) is a failure
  local python=$1
  shift
  set +e
  "$python" -m pytest -ra "$@"
  local status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "!! pytest collected no tests: that is a failure" >&2
    return 1
  fi
  return "$status"
}

echo "== pytest (Python $(.venv/bin/python -c 'import sys; print(sys.version.split()[0])'))"
run_pytest .venv/bin/python "$@"

# The version matrix: the oldest supported Python with the oldest supported aiohttp, and
# the newest Python with the newest aiohttp. pyenv provides the interpreters here.
find_python() {  # find_python 3.9 -> path of an installed CPython 3.9, if any
  local found
  found=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python 2>/dev/null | sort -V | tail -1)
  if [ -z "$found" ]; then
    found=$(command -v "python$1" || true)
  fi
  echo "$found"
}

matrix_run() {  # matrix_run PYTHON_VERSION REQUIREMENT...
  local version=$1 interpreter venv
  shift
  interpreter=$(find_python "$version")
  venv=".venv-py$version"
  if [ -z "$interpreter" ]; then
    if [ "${CI:-}" = true ]; then
      echo "!! Python $version not found: the version matrix cannot run" >&2
      return 1
    fi
    echo "!! Python $version not found: skipping its run"
    return 0
  fi
  echo "== Python $version with $*"
  [ -x "$venv/bin/python" ] || "$interpreter" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q "$@" -e '.[test]'
  "$venv/bin/python" -c 'import aiohttp, sys; print("   aiohttp", aiohttp.__version__, "on Python", sys.version.split()[0])'
  run_pytest "$venv/bin/python" -q -p no:cacheprovider tests \
    --ignore tests/browser --ignore tests/compat/test_differential.py
}

matrix_run 3.9 "aiohttp==3.9.5" "yarl<1.10"
matrix_run 3.13 "aiohttp>=3.14"
