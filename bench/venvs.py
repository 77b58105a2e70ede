"""Per-variant virtual environments for the benchmark.

aiohttp-cors 0.8.1 and this repository's package share the import name
``aiohttp_cors``, so every variant that is measured under callgrind runs in its
own virtual environment under ``.bench-venvs/``.  All of them get exactly the
aiohttp stack (aiohttp and its dependencies, same versions) of the environment
that runs ``bench/run.py``, so the only difference between two variants is the
CORS package.

A venv is (re)built only when its requested specification changes; the
specification is stored in ``bench-stamp.json`` inside the venv.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS_DIR = ROOT / ".bench-venvs"

#: Extra packages installed in each variant's venv (besides the aiohttp stack).
VARIANT_PACKAGES: dict[str, list[str]] = {
    "bare": [],
    "ours": ["-e", str(ROOT)],
    "cors081": ["aiohttp-cors==0.8.1"],
    "middlewares": ["aiohttp-middlewares"],
}

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def aiohttp_stack_pins(root_dist: str = "aiohttp") -> dict[str, str]:
    """Return ``{name: version}`` for *root_dist* and its installed dependencies.

    Requirements that only apply to an extra are skipped; any other requirement
    whose distribution is installed here is pinned to the installed version
    (pinning one that a venv would not need is harmless: the pins are used as
    pip constraints).
    """
    pins: dict[str, str] = {}
    todo = [root_dist]
    while todo:
        name = todo.pop()
        key = _canonical(name)
        if key in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        pins[key] = dist.version
        for req in dist.requires or []:
            marker = req.split(";", 1)[1] if ";" in req else ""
            if "extra" in marker:
                continue
            match = _REQ_NAME.match(req)
            if match:
                todo.append(match.group(1))
    return pins


def venv_python(name: str) -> Path:
    """Path of the interpreter of the venv for variant *name*."""
    return VENVS_DIR / name / "bin" / "python"


def _stamp(name: str, pins: dict[str, str]) -> str:
    spec = {
        "python": sys.version,
        "base": getattr(sys, "_base_executable", sys.executable),
        "pins": pins,
        "packages": VARIANT_PACKAGES[name],
    }
    if name == "ours":
        # An editable install follows the working tree, but re-install when the
        # project metadata (dependencies, version, entry points) changes.
        spec["pyproject"] = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return json.dumps(spec, sort_keys=True)


def ensure_venv(name: str, *, rebuild: bool = False, log: bool = True) -> Path:
    """Create or update the venv for variant *name* and return its interpreter.

    Raises :class:`subprocess.CalledProcessError` when an install fails.
    """
    pins = aiohttp_stack_pins()
    target = VENVS_DIR / name
    stamp_file = target / "bench-stamp.json"
    stamp = _stamp(name, pins)
    python = venv_python(name)
    if not rebuild and python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return python
    if log:
        print(f"[venv] building {target} ...", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    _run_logged([base, "-m", "venv", "--clear", str(target)])
    constraints = target / "constraints.txt"
    constraints.write_text("".join(f"{k}=={v}\n" for k, v in sorted(pins.items())))
    cmd = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-c",
        str(constraints),
        f"aiohttp=={pins['aiohttp']}",
        *VARIANT_PACKAGES[name],
    ]
    _run_logged(cmd)
    stamp_file.write_text(stamp)
    return python


def _run_logged(cmd: list[str]) -> None:
    """Run *cmd*; on failure print its output and raise CalledProcessError."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
        raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)


def installed_version(python: Path, dist: str) -> str:
    """Version of distribution *dist* in the environment of *python* (or ``"-"``)."""
    code = (
        "import importlib.metadata as m, sys\n"
        "try: print(m.version(sys.argv[1]))\n"
        "except m.PackageNotFoundError: print('-')\n"
    )
    out = subprocess.run(
        [str(python), "-c", code, dist], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "-"
