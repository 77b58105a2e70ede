"""Benchmark aiohttp-cors (this repository) against plain aiohttp, aiohttp-cors 0.8.1
and aiohttp-middlewares, side by side, on the same application.

Usage::

    python bench/run.py                 # full run, writes docs/benchmarks.{md,png}
    python bench/run.py --aiohttp 3.9.5 --aiohttp 3.14.5   # both versions, one report
    python bench/run.py --quick         # small N, writes to a temporary directory
    python bench/run.py --no-valgrind --quick --out DIR   # timing only, bare + ours (smoke test)

Sections, measured for each aiohttp version in turn:

1. instructions per request under callgrind for four request kinds (timing
   mode: server CPU nanoseconds per request instead);
1b. the same in a realistic app, which also has one no-op application
   middleware (``server.py --with-app-middleware``);
2. wrk throughput and server CPU per request, as ratios to ``bare``;
3. scaling with the number of origins, routes and origin patterns;
4. hostile preflights: server CPU milliseconds per request;
5. floors: what aiohttp itself charges for the mechanisms (``floors.py``);

and once, on the environment's aiohttp version:

6. memory: server RSS under floods of oversized preflights (``hostile.py``,
   both of its configurations, ``ours`` and ``cors081``).

Each variant runs in its own venv under ``.bench-venvs/aiohttp-<version>/``
(see ``venvs.py``): without ``--aiohttp``, those of the environment's aiohttp
version; ``--aiohttp VERSION`` (repeatable) builds them for that version.
``--no-valgrind`` without ``--aiohttp`` runs ``bare`` and ``ours`` in the
current environment and skips sections 5 and 6.  The Markdown report goes to
stdout and to ``<out>/benchmarks.md``, the plot to ``<out>/benchmarks.png``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from client import BASE_KINDS, GET_ALLOWED, RequestKind, glob_kind, hostile_kinds, route_kind
from floors import Floors, measure_floors
from hostile import CONFIGS, MemoryRun, existing_blocks, run_memory
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
from report import TABLES, render_markdown, render_plot
from venvs import (
    ensure_venv,
    environment_aiohttp,
    report_dir,
    snapshot_source,
    source_state,
    venv_stack,
)

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
#: Variants of section 6 (``hostile.py``), and its time budget per configuration (s).
MEMORY_VARIANTS = ("ours", "cors081")
MEMORY_BUDGET = 240.0
SECTIONS = ("callgrind", "wrk", "scaling", "hostile", "floors", "memory")


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
    #: aiohttp versions measured, in order (``None``: the current environment, no venvs).
    aiohttp_versions: tuple[str | None, ...] = (None,)
    #: Measured requests per job of section 3, halved for the routes dimension (aiohttp
    #: 3.9's router is linear in the number of routes: at 5,000 routes one request costs
    #: about 75 times a request of the small app).
    scaling_n: int = 200
    floors_n: int = 1000
    memory_scale: float = 1.0
    rebuild_venvs: bool = False
    keep_dumps: Path | None = None

    @property
    def unit(self) -> str:
        """Unit of sections 1 and 3."""
        return "Ir" if self.valgrind else "ns"

    @property
    def use_venvs(self) -> bool:
        """Whether the variants run in per-version venvs (else in this environment)."""
        return self.aiohttp_versions != (None,)


@dataclass
class Outcome:
    """Result of one server job, or why there is none (``n/a: ...``/``error: ...``)."""

    job: JobResult | None = None
    error: str | None = None


@dataclass
class Results:
    """Everything measured for one aiohttp version."""

    settings: Settings
    #: The aiohttp version measured (the environment's when no venvs are used).
    aiohttp: str = ""
    #: Where its stack comes from: ``environment`` (venvs pinned to this environment's),
    #: ``resolved`` (what pip resolved for that version) or ``current`` (no venvs).
    source: str = "current"
    #: The aiohttp stack installed for it (``{distribution: version}``).
    stack: dict[str, str] = field(default_factory=dict)
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
    floors: Floors | None = None
    floors_error: str | None = None
    elapsed: float = 0.0


@dataclass
class Report:
    """Everything one invocation measured: one :class:`Results` per aiohttp version."""

    settings: Settings
    runs: list[Results] = field(default_factory=list)
    #: Section 6 as measured by this run (one per ``hostile.py`` configuration) ...
    memory: list[MemoryRun] = field(default_factory=list)
    #: ... or kept from the previous report in the output directory (``--config`` -> block).
    memory_carried: dict[str, str] = field(default_factory=dict)
    memory_note: str | None = None
    elapsed: float = 0.0
    #: ``source_state()`` of the snapshot of ``src/`` that every ``ours`` server imports,
    #: and of ``src/`` itself when the run ended.
    source: str = ""
    source_at_end: str = ""


@dataclass(frozen=True)
class Job:
    """One server process to start and measure."""

    key: tuple[str, str, int]  # (dimension, "base" or "realistic"; variant; size)
    spec: ServerSpec
    kinds: tuple[RequestKind, ...]
    weight: float  # rough relative duration, to schedule long jobs first
    n: int
    warmup: int
    aiohttp: str = ""  # the version the server must report


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    """Build :class:`Settings` from the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small N (about 2 minutes)")
    parser.add_argument(
        "--no-valgrind",
        action="store_true",
        help="plain timing, bare and ours only, current environment unless --aiohttp",
    )
    parser.add_argument(
        "--aiohttp",
        action="append",
        metavar="VERSION",
        help="measure on this aiohttp version, in venvs built for it; repeat it for one "
        "report with several versions (default: the environment's version)",
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
        help=f"comma-separated sections to skip: {','.join(SECTIONS)}",
    )
    parser.add_argument("--rebuild-venvs", action="store_true", help="recreate the venvs used")
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
    unknown = skip - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections in --skip: {sorted(unknown)}")
    if not valgrind:
        skip |= {"floors", "memory"}  # floors need callgrind; the floods take minutes
    versions: tuple[str | None, ...] = (None,)
    if args.aiohttp:
        versions = tuple(dict.fromkeys(args.aiohttp))
    elif valgrind:
        versions = (environment_aiohttp(),)
    out = report_dir(args.out, quick=args.quick)
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
        sections=frozenset(set(SECTIONS) - skip),
        command=shlex.join(["python", "bench/run.py", *argv_list]),
        aiohttp_versions=versions,
        scaling_n=max((args.n or n) // 10, min(args.n or n, 50)),
        floors_n=min(args.n or n, 500),
        memory_scale=0.1 if args.quick else 1.0,
        rebuild_venvs=args.rebuild_venvs,
        keep_dumps=args.keep_dumps,
    )


def prepare_pythons(settings: Settings, results: Results) -> None:
    """Find or build the interpreter of every variant; record the aiohttp stack."""
    for variant in settings.variants:
        if not settings.use_venvs:
            results.pythons[variant] = Path(sys.executable)
            continue
        try:
            results.pythons[variant] = ensure_venv(
                variant, aiohttp=results.aiohttp, rebuild=settings.rebuild_venvs
            )
        except Exception as exc:
            log(f"venv for {variant} (aiohttp {results.aiohttp}) failed: {exc}")
            results.setup_errors[variant] = f"venv setup failed: {exc}"
    python = results.pythons.get("bare", Path(sys.executable))
    try:
        results.stack = venv_stack(python)
    except Exception as exc:
        log(f"could not read the aiohttp stack of {python}: {exc}")
    installed = results.stack.get("aiohttp", results.aiohttp)
    if installed != results.aiohttp:
        raise SystemExit(f"{python} has aiohttp {installed}, not {results.aiohttp}")
    log(f"aiohttp stack: {', '.join(f'{k} {v}' for k, v in sorted(results.stack.items()))}")


def scaling_n(settings: Settings, dimension: str) -> int:
    """Measured requests per job of section 3 (half of them for the routes dimension)."""
    return max(settings.scaling_n // 2, 20) if dimension == "routes" else settings.scaling_n


def plan_jobs(settings: Settings, results: Results) -> list[Job]:
    """Server jobs of sections 1, 1b and 3."""
    jobs: list[Job] = []

    def job(
        key: tuple[str, str, int],
        args: Sequence[str],
        kinds: tuple[RequestKind, ...],
        weight: float,
    ) -> Job:
        variant = key[1]
        spec = ServerSpec(variant, results.pythons[variant], tuple(args), settings.valgrind)
        if key[0] in TABLES:
            n, warmup = settings.n, settings.warmup
        else:
            n, warmup = scaling_n(settings, key[0]), min(settings.warmup, 20)
        return Job(key, spec, kinds, weight, n, warmup, results.aiohttp)

    if "callgrind" in settings.sections:
        for table, args in (("base", ()), ("realistic", ("--with-app-middleware",))):
            for variant in settings.variants:
                if variant in results.pythons:
                    jobs.append(job((table, variant, 0), args, BASE_KINDS, len(BASE_KINDS)))
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
                    args = (f"--{dimension}", str(size))
                    jobs.append(job((dimension, variant, size), args, (kind,), weight))
    return sorted(jobs, key=lambda j: -j.weight)


def run_job(job: Job, settings: Settings, workdir: Path) -> Outcome:
    """Run one job, turning failures into an :class:`Outcome` with an error."""
    started = time.monotonic()
    try:
        result = run_server_job(
            job.spec,
            job.kinds,
            job.n,
            job.warmup,
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
    reported = str(result.info.get("aiohttp", "?"))
    if job.aiohttp and reported != job.aiohttp:
        log(f"{job.spec.label}: the server ran aiohttp {reported}, not {job.aiohttp}")
        return Outcome(error=f"error: the server ran aiohttp {reported}, not {job.aiohttp}")
    source = os.environ.get("BENCH_OURS_SRC")
    if job.spec.variant == "ours" and source and result.info.get("source") != source:
        log(f"{job.spec.label}: imported {result.info.get('source')}, not {source}")
        return Outcome(error=f"error: ours imported {result.info.get('source')}, not {source}")
    if job.key[0] == "globs" and any(r.problems for r in result.kinds.values()):
        problems = "; ".join(p for r in result.kinds.values() for p in r.problems)
        log(f"{job.spec.label}: pattern origin not honoured ({problems})")
        return Outcome(error=f"n/a: pattern origin not allowed ({problems})")
    log(f"{job.spec.label} (aiohttp {reported}): done in {time.monotonic() - started:.0f}s")
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


def run_floors_section(settings: Settings, results: Results, workdir: Path) -> None:
    """Section 5: ``floors.py``'s apps, in the ``bare`` venv of this aiohttp version."""
    python = results.pythons.get("bare")
    if python is None:
        results.floors_error = "not run: no bare venv"
        return
    log(f"floors (aiohttp {results.aiohttp}): N={settings.floors_n}")
    started = time.monotonic()
    floors = measure_floors(
        python,
        settings.floors_n,
        min(settings.warmup, 100),
        settings.jobs,
        workdir / f"floors-{results.aiohttp}",
    )
    for variant, error in floors.errors.items():
        log(f"floor {variant} failed: {error}")
    if floors.aiohttp - {results.aiohttp}:
        results.floors_error = f"error: the floor servers ran aiohttp {sorted(floors.aiohttp)}"
        log(results.floors_error)
        return
    results.floors = floors
    log(f"floors done in {time.monotonic() - started:.0f}s")


def run_memory_section(settings: Settings, report: Report) -> None:
    """Section 6: ``hostile.py``'s floods, both configurations, on the environment's aiohttp."""
    variants = [v for v in MEMORY_VARIANTS if v in settings.variants]
    if not variants:
        report.memory_note = "not run: needs ours or cors081"
        return
    for config in CONFIGS:
        command = ["python", "bench/hostile.py", "--variants", *variants]
        if config != "allow-all":
            command += ["--config", config]
        if settings.quick:
            command.append("--quick")
        log(f"memory: hostile.py --config {config} (aiohttp {environment_aiohttp()})")
        report.memory.append(
            run_memory(
                config,
                variants,
                scale=settings.memory_scale,
                budget=MEMORY_BUDGET * (0.5 if settings.quick else 1.0),
                command=shlex.join(command),
                source=report.source,
            )
        )


def check_tools(settings: Settings) -> str | None:
    """Why this run cannot proceed, or ``None``."""
    if settings.valgrind and not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        return "valgrind/callgrind_control not found: install valgrind or use --no-valgrind"
    return None


def measure_version(settings: Settings, version: str | None, workdir: Path) -> Results:
    """Sections 1-5 on one aiohttp version (``None``: the current environment)."""
    started = time.monotonic()
    results = Results(settings, aiohttp=version or environment_aiohttp())
    if version is not None:
        results.source = "environment" if version == environment_aiohttp() else "resolved"
    log(f"== aiohttp {results.aiohttp}")
    prepare_pythons(settings, results)
    steps: list[tuple[frozenset[str], Callable[[Settings, Results, Path], None]]] = [
        # Timing-sensitive sections first, alone on the machine.
        (frozenset({"wrk"}), run_wrk_section),
        (frozenset({"hostile"}), run_hostile_section),
        (frozenset({"callgrind", "scaling"}), run_server_jobs),
        (frozenset({"floors"}), run_floors_section),
    ]
    for names, step in steps:
        if names & settings.sections:
            step(settings, results, workdir)
    results.elapsed = time.monotonic() - started
    log(f"aiohttp {results.aiohttp} done in {results.elapsed / 60:.1f} min")
    return results


def _version_key(version: str) -> tuple[int, ...]:
    """Sort key of a version string such as ``3.9.5`` (its numbers)."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    settings = parse_args(argv)
    problem = check_tools(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    started = time.monotonic()
    report = Report(settings)
    workdir = new_workdir()
    # Every ``ours`` server of this run imports the same copy of src/ (server.py checks
    # it), so that commits landing in src/ during the run do not mix two states.
    snapshot = workdir / "ours-src"
    report.source = snapshot_source(snapshot)
    os.environ["BENCH_OURS_SRC"] = str(snapshot)
    log(f"measuring src/ as of {report.source} (copied to {snapshot})")
    versions = ", ".join(v or "current environment" for v in settings.aiohttp_versions)
    log(
        f"mode={'callgrind' if settings.valgrind else 'timing'} "
        f"variants={','.join(settings.variants)} aiohttp={versions}"
    )
    for version in settings.aiohttp_versions:
        report.runs.append(measure_version(settings, version, workdir))
    report.runs.sort(key=lambda r: _version_key(r.aiohttp))
    previous = settings.out / "benchmarks.md"
    if "memory" in settings.sections:
        run_memory_section(settings, report)
    elif previous.exists():
        report.memory_carried = existing_blocks(previous.read_text())
    report.source_at_end = source_state()
    report.elapsed = time.monotonic() - started

    settings.out.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(report)
    previous.write_text(markdown)
    plot_note = render_plot(report, settings.out / "benchmarks.png")
    print(markdown)
    log(f"report: {previous}; plot: {plot_note}; total {report.elapsed / 60:.1f} min")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
