"""Rendering of benchmark results: Markdown report, target checks, PNG plot."""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from client import BASE_KINDS, hostile_kinds
from venvs import ROOT

if TYPE_CHECKING:
    from run import Outcome, Results

PACKAGE_NAMES = {
    "bare": "aiohttp only",
    "ours": "aiohttp-cors (this repo)",
    "cors081": "aiohttp-cors",
    "middlewares": "aiohttp-middlewares",
}
DIMENSION_TITLES = {
    "origins": "exact origins in `defaults` (request Origin is the last one added)",
    "routes": "CORS-enabled routes `/r{i}` (request hits the last one)",
    "globs": "origin patterns `https://*.t{i}.example.com` (request matches the last one)",
}


@dataclass
class Target:
    """One acceptance target computed from the measured figures."""

    status: str  # PASS, FAIL or SKIP
    name: str
    detail: str

    def line(self) -> str:
        """``STATUS  name: detail``."""
        return f"{self.status:<4}  {self.name}: {self.detail}"


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


#: Tables of section 1: name -> (suffix of its target lines, plot title).
TABLES = {
    "base": ("", "bare app"),
    "realistic": (" (realistic app)", "realistic app (one application middleware)"),
}


def table_outcomes(results: Results, table: str) -> dict[str, Outcome]:
    """Outcomes of section 1 (``base``) or 1b (``realistic``), by variant."""
    return results.realistic if table == "realistic" else results.base


def per_request(results: Results, variant: str, kind: str, table: str = "base") -> float | None:
    """Section-1 (or 1b) cost per request of *kind* on *variant*, if measured."""
    outcome = table_outcomes(results, table).get(variant)
    if outcome is None or outcome.job is None or kind not in outcome.job.kinds:
        return None
    return outcome.job.kinds[kind].per_request


def overhead(results: Results, variant: str, kind: str, table: str = "base") -> float | None:
    """Cost per request of *kind* on *variant* minus the same on ``bare`` (same table)."""
    value = per_request(results, variant, kind, table)
    bare = per_request(results, "bare", kind, table)
    return None if value is None or bare is None else value - bare


def scaling_value(results: Results, dimension: str, variant: str, size: int) -> float | None:
    """Section-3 cost per request, if measured."""
    outcome = results.scaling.get((dimension, variant, size))
    if outcome is None or outcome.job is None:
        return None
    return next(iter(outcome.job.kinds.values())).per_request


def _sizes(results: Results, dimension: str) -> list[int]:
    return sorted({size for dim, _, size in results.scaling if dim == dimension})


def _ratio_target(
    results: Results, table: str, kind: str, factor: float, what: str, use_overhead: bool
) -> Target:
    """``ours`` against 0.8.1 on one request kind of one section-1 (``base``) or 1b table."""
    name = f"{what} <= {factor} x 0.8.1's{TABLES[table][0]}"
    if not results.settings.valgrind:
        return Target("SKIP", name, "instruction-count target: needs the callgrind run")
    unit = results.settings.unit
    getter = overhead if use_overhead else per_request
    ours, old = getter(results, "ours", kind, table), getter(results, "cors081", kind, table)
    if ours is None or old is None:
        return Target("SKIP", name, "ours or cors081 not measured")
    ok = ours <= factor * old
    ratio = f"{ours / old:.2f}" if old else "inf"
    detail = f"ours {_fmt(ours)} {unit} vs 0.8.1 {_fmt(old)} {unit} (ratio {ratio})"
    return Target("PASS" if ok else "FAIL", name, detail)


def evaluate_targets(results: Results) -> list[Target]:
    """The project's performance targets, as PASS/FAIL/SKIP from the measured figures."""
    targets: list[Target] = []
    unit = results.settings.unit
    instr_only = not results.settings.valgrind
    ratio_targets = (
        ("get_allowed", 0.5, "GET allowed overhead", True),
        ("get_no_origin", 0.75, "GET without Origin overhead", True),
        ("plain", 1.25, "non-CORS route overhead", True),
        ("preflight", 0.8, "preflight total", False),
    )
    for table in TABLES:  # the bare-app targets (the official worst case), then 1b's
        for kind, factor, what, use_overhead in ratio_targets:
            targets.append(_ratio_target(results, table, kind, factor, what, use_overhead))
    for dimension, label in (("origins", "origins"), ("globs", "patterns")):
        sizes = _sizes(results, dimension)
        name = f"ours per-request change 1 -> {sizes[-1]:,} {label} <= 5 %" if sizes else label
        if instr_only:
            targets.append(
                Target("SKIP", name, "instruction-count target: needs the callgrind run")
            )
            continue
        first = scaling_value(results, dimension, "ours", sizes[0]) if sizes else None
        last = scaling_value(results, dimension, "ours", sizes[-1]) if sizes else None
        if first is None or last is None:
            why = next(
                (
                    o.error
                    for (d, v, _), o in results.scaling.items()
                    if d == dimension and v == "ours" and o.error
                ),
                "not measured",
            )
            targets.append(Target("SKIP", name, why or "not measured"))
            continue
        change = (last - first) / first
        detail = f"{_fmt(first)} -> {_fmt(last)} {unit} ({change:+.1%})"
        targets.append(Target("PASS" if abs(change) <= 0.05 else "FAIL", name, detail))
    name = "ours hostile preflights < 1 ms CPU each (median)"
    hostile = results.hostile.get("ours")
    if not hostile:
        targets.append(Target("SKIP", name, results.hostile_errors.get("ours", "not measured")))
    else:
        worst = max(hostile.values(), key=lambda r: r.median_ms)
        detail = ", ".join(f"{k} {r.median_ms:.3f} ms" for k, r in hostile.items())
        targets.append(Target("PASS" if worst.median_ms < 1.0 else "FAIL", name, detail))
    return targets


def target_lines(results: Results) -> list[str]:
    """Targets as printable lines."""
    return [t.line() for t in evaluate_targets(results)]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def _git_state() -> str:
    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    rev = git("rev-parse", "--short", "HEAD") or "no commit yet"
    dirty = git("status", "--porcelain", "--", "src")
    return f"{rev}{' + uncommitted changes in src/' if dirty else ''}"


def _valgrind_version() -> str:
    try:
        return subprocess.run(
            ["valgrind", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "valgrind ?"


def _package_version(results: Results, variant: str) -> str:
    outcome = results.base.get(variant)
    if outcome is not None and outcome.job is not None:
        version = str(outcome.job.info.get("package", "?"))
    else:
        version = "?"
    if variant == "bare":
        return PACKAGE_NAMES[variant]
    return f"{PACKAGE_NAMES[variant]} {version}"


def _header(results: Results) -> list[str]:
    s = results.settings
    mode = (
        f"callgrind instruction counts ({_valgrind_version()}), each variant in its own venv"
        if s.valgrind
        else "plain timing (server CPU time from /proc/<pid>/task/*/schedstat), current environment"
    )
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        ("Command", f"`{s.command}`"),
        ("Date", f"{now} (run took {results.elapsed / 60:.1f} min)"),
        ("CPU", f"{_cpu_model()}, {_cores()} cores"),
        ("Python", platform.python_version()),
        ("aiohttp", f"{metadata.version('aiohttp')} (same version pinned in every venv)"),
        ("Variants", "; ".join(f"`{v}`: {_package_version(results, v)}" for v in s.variants)),
        ("`ours` source", f"working tree of this repository, git {_git_state()}"),
        ("Mode", mode),
        (
            "N",
            f"{s.n:,} measured requests per kind (in {s.rounds} interleaved rounds) after "
            f"{s.warmup:,} warm-up, one keep-alive connection per kind",
        ),
    ]
    lines = ["# aiohttp-cors benchmarks", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    for variant, error in results.setup_errors.items():
        lines.append(f"| setup error `{variant}` | {error} |")
    return lines


def _section_base(results: Results) -> list[str]:
    s = results.settings
    what = (
        "Instructions executed by the whole server process (callgrind `Ir`) per request"
        if s.valgrind
        else "Server CPU nanoseconds per request (timing mode: noisy)"
    )
    intro = [
        "",
        f"## 1. Cost per request ({s.unit})",
        "",
        f"{what}; in parentheses, the overhead against `bare`. Same app everywhere: "
        "`/api` (GET, POST; CORS-enabled) and `/plain` (GET; not CORS-enabled). "
        "`bare` has no OPTIONS handler and answers the preflight with 405, so that "
        "column's overhead is against an error path (the preflight target compares totals).",
    ]
    return intro + _cost_table(results, "base")


def _section_realistic(results: Results) -> list[str]:
    s = results.settings
    if not results.realistic:
        return []
    lines = [
        "",
        "## 1b. Realistic app (one application middleware)",
        "",
        f"As section 1 ({s.unit} per request; in parentheses, the overhead against `bare`), "
        "but every variant's app also has one no-op application middleware "
        "(`@web.middleware async def app_middleware(request, handler): "
        "return await handler(request)`, placed after any CORS middleware): aiohttp charges a "
        "fixed per-request cost for an app's *first* middleware (it then wraps the handlers "
        "and adds its own current-app middleware), which a middleware-based CORS package pays "
        "alone in a bare app but real applications (error pages, sessions, auth) have already "
        "paid, so this table is the comparison their users see.",
    ]
    lines += _cost_table(results, "realistic")
    first = [
        (
            kind.label,
            per_request(results, "bare", kind.name, "realistic"),
            per_request(results, "bare", kind.name),
        )
        for kind in BASE_KINDS
    ]
    costs = [
        f"{_signed(a - b)} on {label}" for label, a, b in first if a is not None and b is not None
    ]
    if costs:
        lines += [
            "",
            f"That first middleware alone, in {s.unit} per request "
            f"(`bare` here minus `bare` in section 1): {'; '.join(costs)}.",
        ]
    return lines


def _cost_table(results: Results, table: str) -> list[str]:
    """The table of section 1 (``base``) or 1b (``realistic``), spread note and notes."""
    s = results.settings
    outcomes = table_outcomes(results, table)
    lines = [
        "",
        "| variant | " + " | ".join(k.label for k in BASE_KINDS) + " |",
        "|---|" + "---:|" * len(BASE_KINDS),
    ]
    notes: list[str] = []
    for variant in s.variants:
        outcome = outcomes.get(variant)
        if outcome is None or outcome.job is None:
            reason = results.setup_errors.get(variant) or (outcome.error if outcome else "not run")
            lines.append(f"| {variant} | " + " | ".join(["n/a"] * len(BASE_KINDS)) + " |")
            notes.append(f"- `{variant}`: {reason}")
            continue
        cells = []
        for kind in BASE_KINDS:
            result = outcome.job.kinds[kind.name]
            cell = _fmt(result.per_request)
            extra = overhead(results, variant, kind.name, table)
            if variant != "bare" and extra is not None:
                cell += f" ({_signed(extra)})"
            if result.problems:
                cell += " ⚠"
                notes.append(f"- ⚠ `{variant}` {kind.label}: {'; '.join(result.problems)}")
            cells.append(cell)
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += ["", _spread_note(results, [(table, v) for v in s.variants])]
    if notes:
        lines += ["", *notes]
    return lines


def _spread_note(results: Results, which: list[tuple[str, str]]) -> str:
    """A sentence giving the largest round-to-round spread among *which* jobs."""
    worst: tuple[float, str] | None = None
    for section, variant in which:
        if section in TABLES:
            outcomes = [(variant, table_outcomes(results, section).get(variant))]
        else:
            outcomes = [
                (f"{variant} {section}={size:,}", o)
                for (dim, v, size), o in results.scaling.items()
                if dim == section and v == variant
            ]
        for name, outcome in outcomes:
            if outcome is None or outcome.job is None:
                continue
            for kind, result in outcome.job.kinds.items():
                if worst is None or result.spread > worst[0]:
                    worst = (result.spread, f"{name}, {kind}")
    if worst is None:
        return ""
    return (
        f"Largest difference between the {results.settings.rounds} round means of one figure: "
        f"{worst[0]:.1%} ({worst[1]})."
    )


def _section_wrk(results: Results) -> list[str]:
    s = results.settings
    lines = [
        "",
        "## 2. Throughput (wrk, secondary and noisy)",
        "",
        f"`wrk -t1 -c10 -d{s.wrk_seconds}s` GET /api with the allowed Origin, "
        f"server not under valgrind; median of {s.wrk_rounds} round(s), variants interleaved. "
        "CPU = server on-CPU time / requests.",
        "",
    ]
    if not results.wrk:
        return [*lines, results.wrk_note or "not run"]
    lines += [
        "| variant | requests/s | vs bare | server CPU µs/request | vs bare |",
        "|---|---:|---:|---:|---:|",
    ]
    bare_runs = results.wrk.get("bare")
    bare_rps = statistics.median(r.rps for r in bare_runs) if bare_runs else None
    bare_cpu = statistics.median(r.cpu_us_per_request for r in bare_runs) if bare_runs else None
    for variant in s.variants:
        runs = results.wrk.get(variant)
        if not runs:
            lines.append(f"| {variant} | n/a | | n/a | |")
            continue
        rps = statistics.median(r.rps for r in runs)
        cpu = statistics.median(r.cpu_us_per_request for r in runs)
        rps_ratio = f"{rps / bare_rps:.2f}" if bare_rps else "-"
        cpu_ratio = f"{cpu / bare_cpu:.2f}" if bare_cpu else "-"
        bad = sum(r.non_2xx for r in runs)
        flag = f" ⚠ {bad} non-2xx" if bad else ""
        lines.append(f"| {variant} | {rps:,.0f}{flag} | {rps_ratio} | {cpu:.1f} | {cpu_ratio} |")
    if results.wrk_note:
        lines += ["", results.wrk_note]
    return lines


def _section_scaling(results: Results) -> list[str]:
    s = results.settings
    lines = [
        "",
        f"## 3. Scaling ({s.unit} per request, GET with an allowed Origin)",
        "",
        "Change = last size against the first. "
        "`bare` in the routes table is aiohttp's own router cost.",
    ]
    dimensions = [d for d in DIMENSION_TITLES if _sizes(results, d)]
    if not dimensions:
        return [*lines, "", "not run"]
    for dimension in dimensions:
        sizes = _sizes(results, dimension)
        variants = [v for v in s.variants if any(k[:2] == (dimension, v) for k in results.scaling)]
        lines += [
            "",
            f"**{DIMENSION_TITLES[dimension]}**",
            "",
            "| variant | " + " | ".join(f"{n:,}" for n in sizes) + " | change |",
            "|---|" + "---:|" * (len(sizes) + 1),
        ]
        notes: list[str] = []
        for variant in variants:
            values = [scaling_value(results, dimension, variant, n) for n in sizes]
            cells = []
            for n, value in zip(sizes, values):
                outcome = results.scaling[(dimension, variant, n)]
                cells.append(_fmt(value) if value is not None else _short(outcome.error))
                if outcome.error:
                    notes.append(f"- `{variant}` {dimension}={n:,}: {outcome.error}")
            first, last = values[0], values[-1]
            change = f"{(last - first) / first:+.1%}" if first and last is not None else "-"
            lines.append(f"| {variant} | " + " | ".join(cells) + f" | {change} |")
        lines += ["", _spread_note(results, [(dimension, v) for v in variants])]
        if notes:
            lines += ["", *notes]
    return lines


def _short(error: str | None) -> str:
    if not error:
        return "n/a"
    return "n/a" if error.startswith("n/a") else "error"


def _section_hostile(results: Results) -> list[str]:
    s = results.settings
    kinds = hostile_kinds()
    lines = [
        "",
        "## 4. Hostile preflights (server CPU ms per request)",
        "",
        "OPTIONS /api with `Access-Control-Request-Method: POST`, "
        "header limits raised to 1 MiB so "
        f"the request reaches the CORS layer; median of {s.hostile_reps} (after 3 warm-up), "
        "status received in brackets. `bare` (no CORS, 405) shows aiohttp's own parsing cost.",
        "",
    ]
    if not results.hostile and not results.hostile_errors:
        return [*lines, "not run"]
    lines += [
        "| variant | " + " | ".join(k.label for k in kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    for variant in (v for v in s.variants if v in results.hostile or v in results.hostile_errors):
        measured = results.hostile.get(variant)
        if measured is None:
            lines.append(f"| {variant} | " + " | ".join(["error"] * len(kinds)) + " |")
            continue
        cells = [f"{measured[k.name].median_ms:.3f} [{measured[k.name].status}]" for k in kinds]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    for variant, error in results.hostile_errors.items():
        lines.append(f"\n- `{variant}`: {error}")
    return lines


def render_markdown(results: Results) -> str:
    """The whole report as Markdown."""
    lines = _header(results)
    lines += _section_base(results)
    lines += _section_realistic(results)
    lines += _section_wrk(results)
    lines += _section_scaling(results)
    lines += _section_hostile(results)
    lines += ["", "## Targets", "", "```", *target_lines(results), "```", ""]
    return "\n".join(lines)


def render_plot(results: Results, path: Path) -> str:
    """Bar charts of section-1 and 1b overhead per request kind and variant; returns a note."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return "matplotlib not installed (pip install -e '.[bench]'): no plot"
    panels: dict[str, dict[str, list[float | None]]] = {}
    for table in TABLES:
        outcomes = table_outcomes(results, table)
        variants = [v for v in results.settings.variants if v != "bare" and v in outcomes]
        series = {
            v: [overhead(results, v, k.name, table) for k in BASE_KINDS]
            for v in variants
            if any(overhead(results, v, k.name, table) is not None for k in BASE_KINDS)
        }
        if series:
            panels[table] = series
    if not panels:
        return "nothing to plot"
    unit = results.settings.unit
    mode = "callgrind" if results.settings.valgrind else "timing"
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, 4.4 * len(panels)), dpi=110, sharey=True, squeeze=False
    )
    colours = {
        v: f"C{i}" for i, v in enumerate(v for v in results.settings.variants if v != "bare")
    }
    ticks = [k.label.replace(", ", ",\n", 1) for k in BASE_KINDS]
    ticks = [t + "\n(bare: 405)" if t.startswith("preflight") else t for t in ticks]
    for ax, (table, series) in zip(axes[:, 0], panels.items()):
        width = 0.8 / len(series)
        for i, (variant, values) in enumerate(series.items()):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(BASE_KINDS))]
            heights = [v if v is not None else 0.0 for v in values]
            bars = ax.bar(xs, heights, width, label=variant, color=colours[variant])
            ax.bar_label(
                bars,
                labels=[_fmt(h) if v is not None else "n/a" for h, v in zip(heights, values)],
                fontsize=7,
            )
        ax.axhline(0, color="black", linewidth=0.6)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))
        ax.set_xticks(range(len(BASE_KINDS)), ticks, fontsize=8)
        ax.set_ylabel(f"overhead vs bare aiohttp\n({unit} per request)")
        ax.set_title(
            f"CORS overhead per request, {TABLES[table][1]} ({mode}, N={results.settings.n:,})",
            fontsize=10,
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)
