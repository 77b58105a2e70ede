"""Smoke test of the benchmark harness (``bench/run.py``) in its fast timing mode.

``--no-valgrind`` needs neither valgrind nor the per-variant venvs: it runs
``bare`` and ``ours`` (this repository's ``src/``) in the current environment
with tiny request counts.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# About half a minute: left out of the fast loop (pytest -m "not slow").
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"^\d[\d,]*(?: \([+-][\d,]+\))?$")


def _section(markdown: str, title_start: str) -> str:
    """Text of the ``## <title_start>...`` section of the report."""
    match = re.search(rf"^## {re.escape(title_start)}.*?(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"no section {title_start!r} in the report"
    return match.group(0)


def _row(section: str, variant: str) -> list[str]:
    """Cells (after the variant name) of *variant*'s row in the section's table."""
    match = re.search(rf"^\| {variant} \| (.*) \|$", section, re.M)
    assert match, f"no row for {variant!r} in:\n{section}"
    return [cell.strip() for cell in match.group(1).split(" | ")]


def test_bench_runs_and_reports_bare_and_ours(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--no-valgrind", "--quick"]
    proc = subprocess.run(
        [*command, "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    report = (tmp_path / "benchmarks.md").read_text()
    assert report.strip() in proc.stdout  # the same report is printed

    # Section 1: four measured request kinds for both variants, real numbers,
    # and every response was the one expected (no ⚠ sanity flags).
    costs = _section(report, "1. ")
    for variant in ("bare", "ours"):
        cells = _row(costs, variant)
        assert len(cells) == 4, cells
        assert all(NUMBER.match(cell) for cell in cells), cells
        assert all(int(cell.split()[0].replace(",", "")) > 0 for cell in cells), cells
    assert "⚠" not in costs, costs

    # Section 1b: the same with one application middleware in every app.
    realistic = _section(report, "1b. Realistic app")
    for variant in ("bare", "ours"):
        cells = _row(realistic, variant)
        assert len(cells) == 4, cells
        assert all(NUMBER.match(cell) for cell in cells), cells
    assert "⚠" not in realistic, realistic

    # Section 4: the hostile preflights reached both servers and got answers.
    hostile = _section(report, "4. ")
    for variant in ("bare", "ours"):
        cells = _row(hostile, variant)
        assert len(cells) == 3, cells
        assert all(re.match(r"^\d+\.\d{3} \[\d{3}\]$", cell) for cell in cells), cells

    # Targets are computed; instruction-count ones are skipped without callgrind.
    targets = _section(report, "Targets")
    assert re.search(r"^(PASS|FAIL)\s+ours hostile preflights", targets, re.M), targets
    assert re.search(r"^SKIP\s+GET allowed overhead", targets, re.M), targets
    assert re.search(r"^SKIP\s+GET allowed overhead.*\(realistic app\):", targets, re.M), targets
