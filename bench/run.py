"""Benchmark aiohttp-cors (this repository) against plain aiohttp, aiohttp-cors 0.8.1
and aiohttp-middlewares, side by side, on the same application.

Usage::

    python bench/run.py                 # full run, writes docs/benchmarks.{md,png}
    python bench/run.py --quick         # small N, writes to a temporary directory
    python bench/run.py --no-valgrind --quick --out DIR   # timing only, bare + ours (smoke test)

Sections:

1. instructions per request under callgrind for four request kinds (timing
   mode: server CPU nanoseconds per request instead);
1b. the same in a realistic app, which also has one no-op application
   middleware (``server.py --with-app-middleware``);
2. wrk throughput and server CPU per request, as ratios to ``bare``;
3. scaling with the number of origins, routes and origin patterns;
4. hostile preflights: server CPU milliseconds per request.

Each variant runs in its own venv under ``.bench-venvs/`` (see ``venvs.py``),
except in ``--no-valgrind`` mode, which runs ``bare`` and ``ours`` in the
current environment.  The Markdown report goes to stdout and to
``<out>/benchmarks.md``, the plot to ``<out>/benchmarks.png``.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from client import BASE_KINDS, GET_ALLOWED, RequestKind, glob_kind, hostile_kinds, route_kind
from measure import (
    HostileResult,
    JobResult,
    ServerError,
    ServerSpec,
    UnsupportedScenario,
    WrkResult,
    have_wrk,
    new_workdir,
    run_hostile,
    run_server_job,
    run_wrk,
)
from report import render_markdown, render_plot
from venvs import ROOT, ensure_venv

ALL_VARIANTS = ("bare", "ours", "cors081", "middlewares")
#: Scaling dimension -> sizes measured (the first one is the reference).
SCALING_SIZES: dict[str, tuple[int, ...]] = {
    "origins": (1, 100, 10_000),
    "routes": (1, 1_000, 5_000),
    "globs": (1, 100, 1_000),
}
#: Scaling dimension -> variants measured (bare shows the router's own cost).
SCALING_VARIANTS: dict[str, tuple[str, ...]] = {
    "origins": ("ours", "cors081"),
    "routes": ("bare", "ours", "cors081"),
    "globs": ("ours",),
}
HOSTILE_VARIANTS = ("bare", "ours", "cors081")


def log(message: str) -> None:
    """Progress message on stderr (stdout carries the report)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Settings:
    """What to run, derived from the command line."""

    valgrind: bool
    quick: bool
    n: int
    warmup: int
    rounds: int
    jobs: int
    out: Path
    wrk_seconds: int
    wrk_rounds: int
    hostile_reps: int
    variants: tuple[str, ...]
    sections: frozenset[str]
    command: str
    rebuild_venvs: bool = False
    keep_dumps: Path | None = None

    @property
    def unit(self) -> str:
        """Unit of sections 1 and 3."""
        return "Ir" if self.valgrind else "ns"


@dataclass
class Outcome:
    """Result of one server job, or why there is none (``n/a: ...``/``error: ...``)."""

    job: JobResult | None = None
    error: str | None = None


@dataclass
class Results:
    """Everything measured in one run."""

    settings: Settings
    pythons: dict[str, Path] = field(default_factory=dict)
    setup_errors: dict[str, str] = field(default_factory=dict)
    base: dict[str, Outcome] = field(default_factory=dict)
    #: Section 1b: the same apps with one application middleware.
    realistic: dict[str, Outcome] = field(default_factory=dict)
    scaling: dict[tuple[str, str, int], Outcome] = field(default_factory=dict)
    wrk: dict[str, list[WrkResult]] = field(default_factory=dict)
    wrk_note: str | None = None
    hostile: dict[str, dict[str, HostileResult]] = field(default_factory=dict)
    hostile_errors: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0


@dataclass(frozen=True)
class Job:
    """One server process to start and measure."""

    key: tuple[str, str, int]  # (dimension, "base" or "realistic"; variant; size)
    spec: ServerSpec
    kinds: tuple[RequestKind, ...]
    weight: float  # rough relative duration, to schedule long jobs first


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """Build :class:`Settings` from the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small N (about 2 minutes)")
    parser.add_argument(
        "--no-valgrind",
        action="store_true",
        help="plain timing, bare and ours only, current environment (no venvs)",
    )
    parser.add_argument("--out", type=Path, help="output directory (default: docs/, or a temp dir)")
    parser.add_argument("-n", type=int, help="measured requests per kind")
    parser.add_argument("--warmup", type=int, help="warm-up requests per kind")
    parser.add_argument(
        "--rounds", type=int, help="segments the N requests of a kind are split into (default 4)"
    )
    parser.add_argument("--jobs", type=int, help="servers measured in parallel under callgrind")
    parser.add_argument(
        "--variants",
        default=",".join(ALL_VARIANTS),
        help="comma-separated subset of %(default)s (bare is always included)",
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: callgrind,wrk,scaling,hostile",
    )
    parser.add_argument("--rebuild-venvs", action="store_true", help="recreate .bench-venvs/*")
    parser.add_argument(
        "--keep-dumps",
        type=Path,
        metavar="DIR",
        help="keep the first-round callgrind dump of every figure in DIR (for callgrind_annotate)",
    )
    args = parser.parse_args(argv)

    valgrind = not args.no_valgrind
    if valgrind:
        n, warmup = (50, 20) if args.quick else (2000, 200)
    else:
        n, warmup = (200, 50) if args.quick else (2000, 200)
    variants = tuple(v for v in ALL_VARIANTS if v in args.variants.split(",") or v == "bare")
    if not valgrind:
        variants = tuple(v for v in variants if v in ("bare", "ours"))
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"callgrind", "wrk", "scaling", "hostile"}
    if unknown:
        parser.error(f"unknown sections in --skip: {sorted(unknown)}")
    if args.out is not None:
        out = args.out
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="aiohttp-cors-bench-out-"))
    else:
        out = ROOT / "docs"
    argv_list = list(sys.argv[1:] if argv is None else argv)
    return Settings(
        valgrind=valgrind,
        quick=args.quick,
        n=args.n or n,
        warmup=args.warmup if args.warmup is not None else warmup,
        rounds=args.rounds or (2 if args.quick else 4),
        jobs=args.jobs or (2 if valgrind else 1),
        out=out,
        wrk_seconds=1 if args.quick else 5,
        wrk_rounds=1 if args.quick else 3,
        hostile_reps=5 if args.quick else 21,
        variants=variants,
        sections=frozenset({"callgrind", "wrk", "scaling", "hostile"} - skip),
        command=shlex.join(["python", "bench/run.py", *argv_list]),
        rebuild_venvs=args.rebuild_venvs,
        keep_dumps=args.keep_dumps,
    )


def prepare_pythons(settings: Settings, results: Results) -> None:
    """Find or build the interpreter of every variant."""
    for variant in settings.variants:
        if not settings.valgrind:
            results.pythons[variant] = Path(sys.executable)
            continue
        try:
            results.pythons[variant] = ensure_venv(variant, rebuild=settings.rebuild_venvs)
        except Exception as exc:
            log(f"venv for {variant} failed: {exc}")
            results.setup_errors[variant] = f"venv setup failed: {exc}"


def plan_jobs(settings: Settings, results: Results) -> list[Job]:
    """Server jobs of sections 1, 1b and 3."""
    jobs: list[Job] = []

    def spec(variant: str, *args: str) -> ServerSpec:
        return ServerSpec(variant, results.pythons[variant], tuple(args), settings.valgrind)

    if "callgrind" in settings.sections:
        for table, args in (("base", ()), ("realistic", ("--with-app-middleware",))):
            for variant in settings.variants:
                if variant in results.pythons:
                    jobs.append(
                        Job((table, variant, 0), spec(variant, *args), BASE_KINDS, len(BASE_KINDS))
                    )
    if "scaling" in settings.sections:
        for dimension, sizes in SCALING_SIZES.items():
            for variant in SCALING_VARIANTS[dimension]:
                if variant not in results.pythons:
                    continue
                for size in sizes:
                    kind = {"origins": GET_ALLOWED, "routes": route_kind(size)}.get(
                        dimension, glob_kind(size)
                    )
                    weight = 1 + size / 2000  # big configurations take long to set up
                    jobs.append(
                        Job(
                            (dimension, variant, size),
                            spec(variant, f"--{dimension}", str(size)),
                            (kind,),
                            weight,
                        )
                    )
    return sorted(jobs, key=lambda j: -j.weight)


def run_job(job: Job, settings: Settings, workdir: Path) -> Outcome:
    """Run one job, turning failures into an :class:`Outcome` with an error."""
    started = time.monotonic()
    try:
        result = run_server_job(
            job.spec,
            job.kinds,
            settings.n,
            settings.warmup,
            workdir,
            settings.rounds,
            settings.keep_dumps,
        )
    except UnsupportedScenario as exc:
        log(f"{job.spec.label}: not supported ({exc})")
        return Outcome(error=f"n/a: {exc}")
    except ServerError as exc:
        log(f"{job.spec.label}: server failed: {exc}")
        return Outcome(error=f"error: {_first_error_line(str(exc))}")
    except Exception as exc:
        log(f"{job.spec.label}: measurement failed:\n{traceback.format_exc()}")
        return Outcome(error=f"error: {type(exc).__name__}: {exc}")
    if job.key[0] == "globs" and any(r.problems for r in result.kinds.values()):
        problems = "; ".join(p for r in result.kinds.values() for p in r.problems)
        log(f"{job.spec.label}: pattern origin not honoured ({problems})")
        return Outcome(error=f"n/a: pattern origin not allowed ({problems})")
    log(f"{job.spec.label}: done in {time.monotonic() - started:.0f}s")
    return Outcome(job=result)


def _first_error_line(text: str) -> str:
    """The most telling line of a server's stderr (the exception line, if any)."""
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("==")
    ]
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return (errors or lines or ["unknown failure"])[-1][:200]


def run_server_jobs(settings: Settings, results: Results, workdir: Path) -> None:
    """Sections 1, 1b and 3 (in parallel under callgrind: counts do not depend on load)."""
    jobs = plan_jobs(settings, results)
    if not jobs:
        return
    log(
        f"{len(jobs)} server jobs, {settings.jobs} at a time, "
        f"N={settings.n}, warm-up={settings.warmup}"
    )
    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        outcomes = list(pool.map(lambda j: run_job(j, settings, workdir), jobs))
    for job, outcome in zip(jobs, outcomes):
        if job.key[0] == "base":
            results.base[job.key[1]] = outcome
        elif job.key[0] == "realistic":
            results.realistic[job.key[1]] = outcome
        else:
            results.scaling[job.key] = outcome


def run_wrk_section(settings: Settings, results: Results, workdir: Path) -> None:
    """Section 2: wrk rounds, variants interleaved; nothing else runs meanwhile."""
    if not have_wrk():
        results.wrk_note = "wrk is not installed (apt-get install -y wrk): section skipped"
        log(results.wrk_note)
        return
    for round_no in range(settings.wrk_rounds):
        for variant in settings.variants:
            if variant not in results.pythons:
                continue
            log(f"wrk round {round_no + 1}/{settings.wrk_rounds}: {variant}")
            spec = ServerSpec(variant, results.pythons[variant])
            try:
                results.wrk.setdefault(variant, []).append(
                    run_wrk(spec, settings.wrk_seconds, workdir)
                )
            except Exception as exc:
                log(f"wrk {variant} failed: {exc}")
                results.wrk_note = f"wrk failed for {variant}: {_first_error_line(str(exc))}"


def run_hostile_section(settings: Settings, results: Results, workdir: Path) -> None:
    """Section 4: hostile preflights against a server with 1 MiB header limits."""
    kinds = hostile_kinds()
    for variant in HOSTILE_VARIANTS:
        if variant not in results.pythons:
            continue
        log(f"hostile preflights: {variant}")
        spec = ServerSpec(variant, results.pythons[variant], ("--big-headers",))
        try:
            results.hostile[variant] = run_hostile(spec, kinds, settings.hostile_reps, workdir)
        except Exception as exc:
            log(f"hostile {variant} failed: {exc}")
            results.hostile_errors[variant] = _first_error_line(str(exc))


def check_tools(settings: Settings) -> str | None:
    """Why this run cannot proceed, or ``None``."""
    if settings.valgrind and not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        return "valgrind/callgrind_control not found: install valgrind or use --no-valgrind"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    settings = parse_args(argv)
    problem = check_tools(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    started = time.monotonic()
    results = Results(settings)
    workdir = new_workdir()
    log(
        f"mode={'callgrind' if settings.valgrind else 'timing'} "
        f"variants={','.join(settings.variants)}"
    )
    prepare_pythons(settings, results)
    sections: list[tuple[str, Callable[[Settings, Results, Path], None]]] = [
        # Timing-sensitive sections first, alone on the machine.
        ("wrk", run_wrk_section),
        ("hostile", run_hostile_section),
    ]
    for name, section in sections:
        if name in settings.sections:
            section(settings, results, workdir)
    run_server_jobs(settings, results, workdir)
    results.elapsed = time.monotonic() - started

    settings.out.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(results)
    (settings.out / "benchmarks.md").write_text(markdown)
    plot_note = render_plot(results, settings.out / "benchmarks.png")
    print(markdown)
    log(f"report: {settings.out / 'benchmarks.md'}; plot: {plot_note}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
