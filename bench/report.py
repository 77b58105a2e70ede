"""Rendering of benchmark results: Markdown report, target checks, PNG plot.

One report covers one or more aiohttp versions (``run.py --aiohttp A --aiohttp
B``): each section holds one subsection per version, the targets are checked
per version, and the plot has one column of panels per version.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from client import BASE_KINDS, hostile_kinds
from floors import floors_table
from hostile import CONFIGS, memory_intro
from hostile import render_markdown as render_memory_block
from venvs import era_requirements

if TYPE_CHECKING:
    from run import Outcome, Report, Results, Settings

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
#: The stack packages named in the header (besides aiohttp), in this order.
STACK_SHOWN = ("multidict", "yarl", "frozenlist", "aiosignal", "propcache")


@dataclass
class Target:
    """One acceptance target computed from the measured figures."""

    status: str  # PASS, FAIL, SKIP, or INFO (reported, not checked)
    name: str
    detail: str
    ratio: str = ""  # ours / 0.8.1, for the summary table

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
#: Ratio targets, ours against 0.8.1 in the same run: (kind, factor, what, on the overhead).
BARE_APP_TARGETS = (
    ("get_allowed", 0.4, "GET allowed overhead", True),
    ("get_no_origin", 0.5, "GET without Origin overhead", True),
    ("plain", 1.25, "non-CORS route overhead", True),
    ("preflight", 0.8, "preflight total", False),
)
#: In the realistic app the non-CORS route is reported with its floor instead (INFO).
REALISTIC_APP_TARGETS = tuple(t for t in BARE_APP_TARGETS if t[0] != "plain")
TABLE_TARGETS = {"base": BARE_APP_TARGETS, "realistic": REALISTIC_APP_TARGETS}
#: Floor apps (floors.py) whose GET cost difference is a mechanism's floor.
HOOK_FLOOR = ("noop-prepare-hook", "bare")
REALISTIC_FLOOR = ("app-middleware+passthrough+hook", "noop-middleware")
PREFLIGHT_FLOOR = "options-route+noop-hook"
#: The same floor answering with 0.8.1's exact preflight headers, then with ours (+ Vary).
ANSWER_FLOOR = "answer-route+noop-hook"
ANSWER_VARY_FLOOR = "answer-route+vary+noop-hook"


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


def floor_difference(results: Results, pair: tuple[str, str], request: str) -> float | None:
    """Floor app ``pair[0]`` minus floor app ``pair[1]`` on *request*, if both were measured."""
    floors = results.floors
    if floors is None:
        return None
    high, low = floors.get(pair[0], request), floors.get(pair[1], request)
    return None if high is None or low is None else high - low


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
    if kind == "plain" and table == "base":
        hook = floor_difference(results, HOOK_FLOOR, "GET /api")
        if hook is not None:
            detail += f"; floor of a do-nothing prepare receiver {_signed(hook)} {unit}"
    return Target("PASS" if ok else "FAIL", name, detail, ratio)


def _realistic_plain(results: Results) -> Target:
    """The realistic app's non-CORS route: reported (INFO) with the floors that explain it."""
    name = "non-CORS route overhead (realistic app), with aiohttp's floors"
    if not results.settings.valgrind:
        return Target("SKIP", name, "instruction-count figure: needs the callgrind run")
    unit = results.settings.unit
    ours = overhead(results, "ours", "plain", "realistic")
    old = overhead(results, "cors081", "plain", "realistic")
    if ours is None or old is None:
        return Target("SKIP", name, "ours or cors081 not measured")
    ratio = f"{ours / old:.2f}" if old else "inf"
    detail = f"ours {_signed(ours)} {unit} vs 0.8.1 {_signed(old)} {unit} (ratio {ratio})"
    ours_floor = floor_difference(results, REALISTIC_FLOOR, "GET /api")
    old_floor = floor_difference(results, HOOK_FLOOR, "GET /api")
    if ours_floor is None or old_floor is None:
        return Target("INFO", name, f"{detail}; floors not measured", ratio)
    above_ours, above_old = ours - ours_floor, old - old_floor
    detail += (
        f"; floors (floors.py): a second, pass-through middleware + a do-nothing prepare "
        f"receiver (ours' mechanisms) {_signed(ours_floor)} {unit}, a do-nothing receiver "
        f"(0.8.1's) {_signed(old_floor)} {unit}; above them: ours {_signed(above_ours)}, "
        f"0.8.1 {_signed(above_old)}"
    )
    return Target("INFO", name, detail, ratio)


def evaluate_targets(results: Results) -> list[Target]:
    """The project's performance targets, as PASS/FAIL/SKIP (INFO) from the measured figures."""
    targets: list[Target] = []
    unit = results.settings.unit
    instr_only = not results.settings.valgrind
    for table, table_targets in TABLE_TARGETS.items():  # bare app (the worst case), then 1b
        for kind, factor, what, use_overhead in table_targets:
            targets.append(_ratio_target(results, table, kind, factor, what, use_overhead))
    targets.append(_realistic_plain(results))
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
        targets.append(
            Target("PASS" if abs(change) <= 0.05 else "FAIL", name, detail, f"{change:+.1%}")
        )
    name = "ours hostile preflights < 1 ms CPU each (median)"
    hostile = results.hostile.get("ours")
    if not hostile:
        targets.append(Target("SKIP", name, results.hostile_errors.get("ours", "not measured")))
    else:
        worst = max(hostile.values(), key=lambda r: r.median_ms)
        detail = ", ".join(f"{k} {r.median_ms:.3f} ms" for k, r in hostile.items())
        status = "PASS" if worst.median_ms < 1.0 else "FAIL"
        targets.append(Target(status, name, detail, f"{worst.median_ms:.3f} ms"))
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


def _valgrind_version() -> str:
    try:
        return subprocess.run(
            ["valgrind", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "valgrind ?"


def _job_infos(results: Results) -> list[dict[str, object]]:
    outcomes = [*results.base.values(), *results.realistic.values(), *results.scaling.values()]
    return [o.job.info for o in outcomes if o.job is not None]


def reported_aiohttp(results: Results) -> list[str]:
    """aiohttp versions reported by the measured server processes (and floor servers)."""
    found = {str(info.get("aiohttp", "?")) for info in _job_infos(results)}
    if results.floors is not None:
        found |= results.floors.aiohttp
    return sorted(found)


def _package_version(results: Results, variant: str) -> str:
    for table in TABLES:
        outcome = table_outcomes(results, table).get(variant)
        if outcome is not None and outcome.job is not None:
            return str(outcome.job.info.get("package", "?"))
    return "?"


def _variants_row(report: Report) -> str:
    cells = []
    for variant in report.settings.variants:
        if variant == "bare":
            cells.append(f"`bare`: {PACKAGE_NAMES['bare']}")
            continue
        versions = {r.aiohttp: _package_version(r, variant) for r in report.runs}
        if len(set(versions.values())) == 1:
            shown = next(iter(versions.values()))
        else:
            shown = ", ".join(f"{v} (aiohttp {a})" for a, v in versions.items())
        cells.append(f"`{variant}`: {PACKAGE_NAMES[variant]} {shown}")
    return "; ".join(cells)


def _stack_text(results: Results) -> str:
    stack = results.stack
    shown = ", ".join(f"{name} {stack[name]}" for name in STACK_SHOWN if name in stack)
    if results.source == "environment":
        origin = "the stack of the environment running the benchmark"
    elif results.source == "resolved":
        requested = " ".join([f"aiohttp=={results.aiohttp}", *era_requirements(results.aiohttp)])
        origin = f"the stack pip resolved for `{requested}`"
    else:
        origin = "the current environment (no venvs)"
    reported = ", ".join(reported_aiohttp(results)) or "?"
    return (
        f"**{results.aiohttp}**: {shown or 'stack unknown'} ({origin}); "
        f"the measured servers reported aiohttp {reported}"
    )


def _source_text(report: Report) -> str:
    """The measured ``src/``: the snapshot's git state and digest, and any later change."""
    text = (
        f"this repository's `src/` as the run started: git {report.source}; every `ours` "
        "server imported that copy of it (checked by `server.py`)"
    )
    if report.source_at_end and report.source_at_end != report.source:
        text += f"; `src/` has changed since (now git {report.source_at_end}): not measured"
    return text


def _n_text(s: Settings) -> str:
    text = (
        f"{s.n:,} measured requests per kind (in {s.rounds} interleaved rounds) after "
        f"{s.warmup:,} warm-up, one keep-alive connection per kind"
    )
    if "scaling" in s.sections:
        text += (
            f"; section 3: {s.scaling_n:,} (routes: {max(s.scaling_n // 2, 20):,}) after "
            f"{min(s.warmup, 20):,}"
        )
    if "floors" in s.sections:
        text += f"; section 5: {s.floors_n:,} after {min(s.warmup, 100):,}"
    return text


def _header(report: Report) -> list[str]:
    s = report.settings
    mode = (
        f"callgrind instruction counts ({_valgrind_version()}), each variant in its own venv"
        if s.valgrind
        else "plain timing (server CPU time from /proc/<pid>/task/*/schedstat)"
        + (", each variant in its own venv" if s.use_venvs else ", current environment")
    )
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        ("Command", f"`{s.command}`"),
        ("Date", f"{now} (run took {report.elapsed / 60:.1f} min)"),
        ("CPU", f"{_cpu_model()}, {len(os.sched_getaffinity(0))} cores"),
        ("Python", platform.python_version()),
        (
            "aiohttp",
            "<br>".join(_stack_text(r) for r in report.runs)
            + "<br>(every variant of one aiohttp version runs on exactly that stack)",
        ),
        ("Variants", _variants_row(report)),
        ("`ours` source", _source_text(report)),
        ("Mode", mode),
        ("N", _n_text(s)),
    ]
    lines = ["# aiohttp-cors benchmarks", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    for results in report.runs:
        for variant, error in results.setup_errors.items():
            lines.append(f"| setup error `{variant}`, aiohttp {results.aiohttp} | {error} |")
    return lines


def _summary(report: Report) -> list[str]:
    """One table: every target per aiohttp version (status and ratio or change)."""
    evaluated = [evaluate_targets(r) for r in report.runs]
    lines = [
        "",
        "## Summary",
        "",
        "Targets (ratios are `ours` / 0.8.1 in the same run; lines as printed in "
        "[Targets](#targets); INFO is reported, not checked):",
        "",
        "| target | " + " | ".join(f"aiohttp {r.aiohttp}" for r in report.runs) + " |",
        "|---|" + "---|" * len(report.runs),
    ]
    for i, target in enumerate(evaluated[0] if evaluated else []):
        cells = []
        for targets in evaluated:
            other = targets[i] if i < len(targets) else None
            cells.append(f"{other.status} {other.ratio}".strip() if other else "-")
        lines.append(f"| {target.name} | " + " | ".join(cells) + " |")
    return lines


def _version_heading(results: Results) -> list[str]:
    return ["", f"### aiohttp {results.aiohttp}"]


def _section_base(report: Report) -> list[str]:
    s = report.settings
    what = (
        "Instructions executed by the whole server process (callgrind `Ir`) per request"
        if s.valgrind
        else "Server CPU nanoseconds per request (timing mode: noisy)"
    )
    lines = [
        "",
        f"## 1. Cost per request ({s.unit})",
        "",
        f"{what}; in parentheses, the overhead against `bare`. Same app everywhere: "
        "`/api` (GET, POST; CORS-enabled) and `/plain` (GET; not CORS-enabled). "
        "`bare` has no OPTIONS handler and answers the preflight with 405, so that "
        "column's overhead is against an error path (the preflight target compares totals).",
    ]
    for results in report.runs:
        lines += _version_heading(results) + _cost_table(results, "base")
    return lines


def _section_realistic(report: Report) -> list[str]:
    s = report.settings
    if not any(r.realistic for r in report.runs):
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
    for results in report.runs:
        lines += _version_heading(results) + _cost_table(results, "realistic")
        first = [
            (
                kind.label,
                per_request(results, "bare", kind.name, "realistic"),
                per_request(results, "bare", kind.name),
            )
            for kind in BASE_KINDS
        ]
        costs = [
            f"{_signed(a - b)} on {label}"
            for label, a, b in first
            if a is not None and b is not None
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
    spread = _spread_note(results, [(table, v) for v in s.variants])
    if spread:
        lines += ["", spread]
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


def _section_wrk(report: Report) -> list[str]:
    s = report.settings
    lines = [
        "",
        "## 2. Throughput (wrk, secondary and noisy)",
        "",
        f"`wrk -t1 -c10 -d{s.wrk_seconds}s` GET /api with the allowed Origin, "
        f"server not under valgrind; median of {s.wrk_rounds} round(s), variants interleaved. "
        "CPU = server on-CPU time / requests.",
    ]
    for results in report.runs:
        lines += [*_version_heading(results), "", *_wrk_table(results)]
    return lines


def _wrk_table(results: Results) -> list[str]:
    s = results.settings
    if not results.wrk:
        return [results.wrk_note or "not run"]
    lines = [
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


def _section_scaling(report: Report) -> list[str]:
    s = report.settings
    lines = [
        "",
        f"## 3. Scaling ({s.unit} per request, GET with an allowed Origin)",
        "",
        "Change = last size against the first. "
        "`bare` in the routes table is aiohttp's own router cost.",
    ]
    for results in report.runs:
        lines += _version_heading(results) + _scaling_tables(results)
    return lines


def _scaling_tables(results: Results) -> list[str]:
    s = results.settings
    dimensions = [d for d in DIMENSION_TITLES if _sizes(results, d)]
    if not dimensions:
        return ["", "not run"]
    lines: list[str] = []
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
        spread = _spread_note(results, [(dimension, v) for v in variants])
        if spread:
            lines += ["", spread]
        if notes:
            lines += ["", *notes]
    return lines


def _short(error: str | None) -> str:
    if not error:
        return "n/a"
    return "n/a" if error.startswith("n/a") else "error"


def _section_hostile(report: Report) -> list[str]:
    s = report.settings
    lines = [
        "",
        "## 4. Hostile preflights (server CPU ms per request)",
        "",
        "OPTIONS /api with `Access-Control-Request-Method: POST`, "
        "header limits raised to 1 MiB so "
        f"the request reaches the CORS layer; median of {s.hostile_reps} (after 3 warm-up), "
        "status received in brackets. `bare` (no CORS, 405) shows aiohttp's own parsing cost.",
    ]
    for results in report.runs:
        lines += [*_version_heading(results), "", *_hostile_table(results)]
    return lines


def _hostile_table(results: Results) -> list[str]:
    kinds = hostile_kinds()
    if not results.hostile and not results.hostile_errors:
        return ["not run"]
    lines = [
        "| variant | " + " | ".join(k.label for k in kinds) + " |",
        "|---|" + "---:|" * len(kinds),
    ]
    variants = results.settings.variants
    for variant in (v for v in variants if v in results.hostile or v in results.hostile_errors):
        measured = results.hostile.get(variant)
        if measured is None:
            lines.append(f"| {variant} | " + " | ".join(["error"] * len(kinds)) + " |")
            continue
        cells = [f"{measured[k.name].median_ms:.3f} [{measured[k.name].status}]" for k in kinds]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    for variant, error in results.hostile_errors.items():
        lines.append(f"\n- `{variant}`: {error}")
    return lines


def _section_floors(report: Report) -> list[str]:
    lines = [
        "",
        "## 5. What aiohttp itself charges (`bench/floors.py`)",
        "",
        "Small apps under callgrind, Ir per request of the same `GET /api` (allowed Origin) and "
        "preflight as in section 1; in parentheses, the difference to `bare` (whose OPTIONS is "
        "answered 405). Each app runs in its own server process, and figures repeat to about "
        "1 % between processes, so differences of 2,000-3,000 Ir are noise. "
        "These are the floors of the mechanisms a CORS layer can use: "
        "`options-route+noop-hook` is how `ours` answers preflights in an app without "
        "middleware (section 1), `app-middleware+passthrough+hook` what its mechanisms cost "
        "at least in an app with middleware (section 1b).",
    ]
    for results in report.runs:
        lines += _version_heading(results)
        floors = results.floors
        if floors is None:
            lines += ["", results.floors_error or "not run"]
            continue
        lines += ["", f"N={floors.n:,} per request kind.", "", *floors_table(floors)]
        lines += _floor_notes(results)
    return lines


def _floor_notes(results: Results) -> list[str]:
    """How close section 1's preflight and non-CORS figures are to the floors."""
    floors = results.floors
    assert floors is not None
    unit = results.settings.unit
    notes: list[str] = []
    route = floors.get(PREFLIGHT_FLOOR, "OPTIONS /api")
    ours = per_request(results, "ours", "preflight")
    old = per_request(results, "cors081", "preflight")
    if route is not None and ours is not None:
        text = (
            f"- Preflight, bare app: the route-answered floor is {_fmt(route)} {unit}; `ours` "
            f"{_fmt(ours)} {unit}, {_signed(ours - route)} above it ({ours / route - 1:+.1%})"
        )
        if old is not None:
            text += f"; 0.8.1 {_fmt(old)} {unit}, {_signed(old - route)} above it"
        notes.append(text + ".")
    answer = floors.get(ANSWER_FLOOR, "OPTIONS /api")
    answer_vary = floors.get(ANSWER_VARY_FLOOR, "OPTIONS /api")
    if answer is not None and answer_vary is not None and ours is not None and old is not None:
        notes.append(
            f"- Preflight, bare app, the same bytes: a route that only returns 0.8.1's answer "
            f"(five fixed headers) costs {_fmt(answer)} {unit}, with this package's `Vary` "
            f"{_fmt(answer_vary)} {unit}; the target, 0.8 x 0.8.1's total, is "
            f"{_fmt(0.8 * old)} {unit}, which leaves {_signed(0.8 * old - answer_vary)} {unit} "
            f"for finding the answer; `ours` spends {_signed(ours - answer_vary)} {unit}."
        )
    realistic_ours = per_request(results, "ours", "preflight", "realistic")
    middleware = floors.get("middleware-answers-options", "OPTIONS /api")
    if realistic_ours is not None and middleware is not None:
        notes.append(
            f"- Preflight, realistic app: `ours` answers in its middleware, before the "
            f"application's: {_fmt(realistic_ours)} {unit}; a middleware that answers every "
            f"OPTIONS at once (after the router's 405, no other middleware) costs "
            f"{_fmt(middleware)} {unit}."
        )
    hook = floor_difference(results, HOOK_FLOOR, "GET /api")
    plain = overhead(results, "ours", "plain")
    if hook is not None and plain is not None:
        notes.append(
            f"- Non-CORS route, bare app: `ours`' overhead {_signed(plain)} {unit}; a "
            f"do-nothing prepare receiver alone costs {_signed(hook)} {unit}."
        )
    realistic_floor = floor_difference(results, REALISTIC_FLOOR, "GET /api")
    plain_realistic = overhead(results, "ours", "plain", "realistic")
    if realistic_floor is not None and plain_realistic is not None:
        notes.append(
            f"- Non-CORS route, realistic app: `ours`' overhead {_signed(plain_realistic)} "
            f"{unit}; a second (pass-through) middleware and a do-nothing receiver in an app "
            f"with one middleware cost {_signed(realistic_floor)} {unit}."
        )
    return ["", *notes] if notes else []


def _section_memory(report: Report) -> list[str]:
    lines = ["", *memory_intro(), ""]
    if report.memory:
        for run in report.memory:
            lines.append(render_memory_block(run))
    elif report.memory_carried:
        lines += [
            "Not run this time (`--skip memory`): the blocks below are kept from the previous "
            "report in this directory, with their own command, date and commit.",
            "",
        ]
        lines += [report.memory_carried[c] for c in CONFIGS if c in report.memory_carried]
    else:
        lines.append(report.memory_note or "not run")
    return lines


def _section_targets(report: Report) -> list[str]:
    lines = ["", "## Targets"]
    for results in report.runs:
        lines += _version_heading(results)
        lines += ["", "```", *target_lines(results), "```"]
    return lines


def render_markdown(report: Report) -> str:
    """The whole report as Markdown."""
    lines = _header(report)
    lines += _summary(report)
    lines += _section_base(report)
    lines += _section_realistic(report)
    lines += _section_wrk(report)
    lines += _section_scaling(report)
    lines += _section_hostile(report)
    lines += _section_floors(report)
    lines += _section_memory(report)
    lines += _section_targets(report)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_plot(report: Report, path: Path) -> str:
    """Bar charts of sections 1 and 1b; returns a note.

    One row per table (bare app, realistic app), one pair of panels per aiohttp
    version: the overhead against ``bare`` of the three GET kinds, with the
    targets of ``ours`` (``factor x`` 0.8.1's overhead) as dashed marks, and the
    preflight *totals* (``bare`` answers it 405), with the 0.8 x 0.8.1 line.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        return "matplotlib not installed (pip install -e '.[bench]'): no plot"
    settings = report.settings
    get_kinds = [k for k in BASE_KINDS if k.method == "GET"]
    measured = [
        (table, results)
        for table in TABLES
        for results in report.runs
        if per_request(results, "bare", get_kinds[0].name, table) is not None
    ]
    if not measured:
        return "nothing to plot"
    tables = [t for t in TABLES if any(m[0] == t for m in measured)]
    runs = [r for r in report.runs if any(m[1] is r for m in measured)]
    fig = plt.figure(figsize=(7.5 * len(runs), 4.6 * len(tables)), dpi=100)
    grid = fig.add_gridspec(len(tables), 2 * len(runs), width_ratios=[3.2, 1.5] * len(runs))
    colours = {
        "bare": "0.6",
        **{v: f"C{i}" for i, v in enumerate(("ours", "cors081", "middlewares"))},
    }
    thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
    unit = settings.unit
    get_axes, preflight_axes = [], []
    for row, table in enumerate(tables):
        factors = {kind: factor for kind, factor, _, _ in TABLE_TARGETS[table]}
        for col, results in enumerate(runs):
            ax = fig.add_subplot(grid[row, 2 * col])
            pre = fig.add_subplot(grid[row, 2 * col + 1])
            get_axes.append(ax)
            preflight_axes.append(pre)
            ax.set_title(f"aiohttp {results.aiohttp}, {TABLES[table][1]}", fontsize=10)
            variants = [
                v
                for v in settings.variants
                if v != "bare" and per_request(results, v, get_kinds[0].name, table) is not None
            ]
            width = 0.8 / max(len(variants), 1)
            for i, variant in enumerate(variants):
                values = [overhead(results, variant, k.name, table) for k in get_kinds]
                xs = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(get_kinds))]
                heights = [v if v is not None else 0.0 for v in values]
                bars = ax.bar(xs, heights, width, label=variant, color=colours[variant])
                ax.bar_label(
                    bars,
                    labels=[_fmt(h) if v is not None else "n/a" for h, v in zip(heights, values)],
                    fontsize=7,
                )
                if variant != "ours":
                    continue
                for x, kind in zip(xs, get_kinds):
                    old = overhead(results, "cors081", kind.name, table)
                    if kind.name in factors and old is not None:
                        ax.hlines(
                            factors[kind.name] * old,
                            x - width / 2,
                            x + width / 2,
                            colors="black",
                            linestyles="--",
                            linewidth=1.2,
                            label="target of ours" if kind is get_kinds[0] else None,
                        )
            ax.axhline(0, color="black", linewidth=0.6)
            ax.yaxis.set_major_formatter(thousands)
            labels = [k.label.replace(", ", ",\n", 1) for k in get_kinds]
            ax.set_xticks(range(len(get_kinds)), labels, fontsize=8)
            if col == 0:
                ax.set_ylabel(f"overhead vs bare aiohttp\n({unit} per request)")
            ax.legend(fontsize=7, loc="upper right")

            totals = [
                (v, per_request(results, v, "preflight", table))
                for v in ("bare", *variants)
                if per_request(results, v, "preflight", table) is not None
            ]
            bars = pre.bar(
                range(len(totals)),
                [t for _, t in totals],
                0.7,
                color=[colours[v] for v, _ in totals],
            )
            pre.bar_label(bars, labels=[f"{t / 1000:,.0f}k" for _, t in totals], fontsize=7)
            old_total = per_request(results, "cors081", "preflight", table)
            if old_total is not None:
                pre.axhline(
                    0.8 * old_total,
                    color="black",
                    linestyle="--",
                    linewidth=1.2,
                    label="0.8 x 0.8.1",
                )
                pre.legend(fontsize=7, loc="upper left")
            names = [("bare (405)" if v == "bare" else v) for v, _ in totals]
            pre.set_xticks(range(len(totals)), names, fontsize=7, rotation=35, ha="right")
            pre.set_title(f"preflight total ({unit})", fontsize=9)
            pre.yaxis.set_major_formatter(
                FuncFormatter(lambda value, _pos: f"{value / 1000:,.0f}k")
            )
            pre.tick_params(axis="y", labelsize=7)
    for group in (get_axes, preflight_axes):  # one scale per kind of panel
        low = min(a.get_ylim()[0] for a in group)
        high = max(a.get_ylim()[1] for a in group)
        for a in group:
            a.set_ylim(low, high * 1.08)
    fig.suptitle(
        f"aiohttp-cors benchmarks: CORS cost per request "
        f"({'callgrind' if settings.valgrind else 'timing'}, N={settings.n:,})",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return str(path)
