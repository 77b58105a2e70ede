"""Per-variant virtual environments for the benchmark, one set per aiohttp version.

aiohttp-cors 0.8.1 and this repository's package share the import name
``aiohttp_cors``, so every variant that is measured under callgrind runs in its
own virtual environment, under ``.bench-venvs/aiohttp-<version>/<variant>``.
All the venvs of one aiohttp version get exactly the same aiohttp stack
(aiohttp and its dependencies, same versions), so the only difference between
two variants is the CORS package:

* for the aiohttp version of the environment that runs ``bench/run.py``, that
  environment's stack (its installed versions are the pip constraints);
* for any other version, the stack pip resolves for ``aiohttp==<version>`` (plus
  :data:`ERA_REQUIREMENTS`, the same as ``scripts/test.sh``'s version matrix) in
  the ``bare`` venv, which is built first; its installed versions are then the
  constraints of the other variants.

A venv is (re)built only when its requested specification changes; the
specification is stored in ``bench-stamp.json`` inside the venv.

``python bench/venvs.py --pins`` prints the aiohttp stack of the interpreter
that runs it as JSON (used to read what pip resolved in a venv).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
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

#: aiohttp minor version -> requirements added when pip resolves its stack: the
#: dependencies of its time (aiohttp 3.9 predates yarl 1.10; ``scripts/test.sh``
#: tests the oldest supported aiohttp with the same pin).
ERA_REQUIREMENTS: dict[tuple[int, int], list[str]] = {(3, 9): ["yarl<1.10"]}

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
#: Stacks read from the ``bare`` venvs of other aiohttp versions by this process.
_RESOLVED: dict[str, dict[str, str]] = {}
#: Venvs (re)built by this process: ``--rebuild-venvs`` rebuilds each one once.
_BUILT: set[Path] = set()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def environment_aiohttp() -> str:
    """Version of aiohttp in the environment that runs the benchmark."""
    return metadata.version("aiohttp")


def era_requirements(aiohttp: str) -> list[str]:
    """Requirements added to ``aiohttp==<aiohttp>`` when pip resolves its stack."""
    match = re.match(r"(\d+)\.(\d+)", aiohttp)
    key = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return list(ERA_REQUIREMENTS.get(key, []))


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


def version_dir(aiohttp: str | None = None) -> Path:
    """Directory of the venvs of one aiohttp version (default: the environment's)."""
    return VENVS_DIR / f"aiohttp-{aiohttp or environment_aiohttp()}"


def venv_python(name: str, aiohttp: str | None = None) -> Path:
    """Path of the interpreter of the venv for variant *name* and aiohttp version *aiohttp*."""
    return version_dir(aiohttp) / name / "bin" / "python"


def venv_stack(python: Path) -> dict[str, str]:
    """The aiohttp stack installed in the environment of *python*."""
    out = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--pins"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return dict(json.loads(out.stdout))


def _stamp(name: str, requirements: list[str], pins: dict[str, str]) -> str:
    spec = {
        "python": sys.version,
        "base": getattr(sys, "_base_executable", sys.executable),
        "requirements": requirements,
        "pins": pins,
        "packages": VARIANT_PACKAGES[name],
    }
    if name == "ours":
        # An editable install follows the working tree, but re-install when the
        # project metadata (dependencies, version, entry points) changes.
        spec["pyproject"] = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return json.dumps(spec, sort_keys=True)


def _build(
    name: str,
    target: Path,
    requirements: list[str],
    pins: dict[str, str],
    rebuild: bool,
    log: bool,
) -> Path:
    """Create or update the venv *target*; *pins* (may be empty) are pip constraints."""
    stamp_file = target / "bench-stamp.json"
    stamp = _stamp(name, requirements, pins)
    python = target / "bin" / "python"
    rebuild = rebuild and target not in _BUILT
    if not rebuild and python.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
        return python
    if log:
        print(f"[venv] building {target} ...", file=sys.stderr, flush=True)
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
        *requirements,
        *VARIANT_PACKAGES[name],
    ]
    _run_logged(cmd)
    stamp_file.write_text(stamp)
    _BUILT.add(target)
    return python


def stack_pins(
    aiohttp: str | None = None, *, rebuild: bool = False, log: bool = True
) -> dict[str, str]:
    """The aiohttp stack that every venv of aiohttp version *aiohttp* gets.

    The environment's own stack for its aiohttp version; for another version,
    what pip resolved in that version's ``bare`` venv (built here if needed).
    """
    version = aiohttp or environment_aiohttp()
    if version == environment_aiohttp():
        return aiohttp_stack_pins()
    if version not in _RESOLVED:
        requirements = [f"aiohttp=={version}", *era_requirements(version)]
        python = _build("bare", version_dir(version) / "bare", requirements, {}, rebuild, log)
        _RESOLVED[version] = venv_stack(python)
    return _RESOLVED[version]


def ensure_venv(
    name: str, *, aiohttp: str | None = None, rebuild: bool = False, log: bool = True
) -> Path:
    """Create or update the venv for variant *name* and aiohttp *aiohttp*; return its python.

    *aiohttp* defaults to the environment's version.  Raises
    :class:`subprocess.CalledProcessError` when an install fails.
    """
    version = aiohttp or environment_aiohttp()
    pins = stack_pins(version, rebuild=rebuild, log=log)
    target = version_dir(version) / name
    if name == "bare" and version != environment_aiohttp():
        return target / "bin" / "python"  # built by stack_pins()
    requirements = [f"aiohttp=={version}"]
    if pins.get("aiohttp") != version:
        raise RuntimeError(f"the stack resolved for aiohttp {version} has {pins.get('aiohttp')}")
    return _build(name, target, requirements, pins, rebuild, log)


def git_state() -> str:
    """``git rev-parse --short HEAD``, plus a note when ``src/`` has uncommitted changes."""

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "no commit yet"
    dirty = git("status", "--porcelain", "--", "src")
    return f"{rev}{' + uncommitted changes in src/' if dirty else ''}"


def _measured_files(src: Path) -> list[Path]:
    return sorted(
        p
        for p in src.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.parts[-2].endswith(".egg-info")
    )


def source_digest(src: Path | None = None) -> str:
    """Short SHA-256 of the files under *src* (default ``src/``): names and contents."""
    src = src or ROOT / "src"
    digest = hashlib.sha256()
    for path in _measured_files(src):
        digest.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def source_state() -> str:
    """``git_state()`` and ``source_digest()`` in one string, for the report."""
    return f"{git_state()} (src/ sha256 {source_digest()})"


def report_dir(out: Path | None, *, quick: bool) -> Path:
    """Where a benchmark writes its report: ``--out``, else a fresh temporary directory
    for a ``--quick`` run (it must not replace the published figures), else ``docs/``."""
    if out is not None:
        return out
    if quick:
        return Path(tempfile.mkdtemp(prefix="aiohttp-cors-bench-out-"))
    return ROOT / "docs"


def snapshot_source(target: Path) -> str:
    """Copy ``src/`` to *target*; return its :func:`source_state` as of the copy.

    Raises :class:`RuntimeError` if ``src/`` changed while it was being copied.
    """
    for _ in range(3):  # a commit may land during the copy: try again
        state = source_state()
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
        if source_digest(target) == source_digest() and state == source_state():
            return state
    raise RuntimeError("src/ kept changing while it was copied")


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


if __name__ == "__main__":
    if sys.argv[1:] != ["--pins"]:
        sys.exit("usage: python bench/venvs.py --pins")
    print(json.dumps(aiohttp_stack_pins(), sort_keys=True))
