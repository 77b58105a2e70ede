"""Differential test: this package against the published aiohttp-cors 0.8.1, on seeded cases.

What docs/migration.md promises: for any configuration 0.8.1 accepts and any request, our answer is
byte-for-byte 0.8.1's, except these deliberate deviations, numbered as the fixes in
docs/migration.md (each rule in ``diffrules.py`` cites one):

1. ``Vary``: ``Origin`` on every response of a CORS-enabled resource; successful preflights
   also list the request headers they read. Merged into an existing ``Vary``.
2. Preflights to CORS-enabled resources are answered before application middleware.
3. Headers a handler set (Access-Control-Allow-Origin/-Credentials/-Expose-Headers) never crash
   the response: one line of each, the library's value.
4. Views: aiohttp's 405 for a method the view lacks; views in sub-applications; mapping-form
   options in ``cors_config``; the ``cors.add()`` config applies to the view.
5. A malformed Origin is never reflected (actual requests) and refused (preflights).
6. ``"*"`` never matches ``Origin: null``.
7. Byte-exact method matching; GET/HEAD/POST always pass; a method that is not a token, or
   ``*``, and ``*`` among the requested headers are refused.
8. Configured origins are normalised (case, IDNA, default port, trailing ``/``).
9. Several Access-Control-Request-Headers lines are joined; huge input is bounded.
10. Glob origin keys; a single-label glob is a configuration error; private network access
    is refused unless allowed.
11. CorsSecurityWarning (warnings only: recorded, not compared).

Not deviations, only normalisations: the item order of lists 0.8.1 builds from frozensets, and
the Date/Server headers (not recorded).

The test builds (or reuses) a side virtual environment with aiohttp-cors==0.8.1 and this
interpreter's aiohttp, runs ``diffcases.py`` under both interpreters in parallel and compares.
``CORS_DIFF_CASES`` (default 2000) and ``CORS_DIFF_SEED`` change the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import multidict
import pytest
import yarl

from . import diffcases, diffrules

pytestmark = [pytest.mark.compat, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SIDE_VENV = REPO / ".compat-venv"
SIDE_PYTHON = SIDE_VENV / "bin" / "python"
SCRIPT = HERE / "diffcases.py"
CASES = int(os.environ.get("CORS_DIFF_CASES", "2000"))
SEED = int(os.environ.get("CORS_DIFF_SEED", "81"))
#: How many unexplained differences the failure message reproduces in full.
SHOWN = 12
#: One compared request in this many also gets wrong answers planted (the harness self-test).
PLANT_EVERY = 20
#: The counts of the summary, in the order shown.
COUNTS = (
    "cases run",
    "config errors skipped (0.8.1 refused)",
    "cases refused by ours, explained",
    "cases refused by ours, unexplained",
    "cases compared",
    "requests compared",
    "requests identical",
    "requests explained by rules",
    "requests unexplained",
    "wrong answers planted (harness self-test)",
)
#: Seconds for pip, and for one run of diffcases.py.
INSTALL_TIMEOUT = 900
RUN_TIMEOUT = 900


def _clean_env() -> dict[str, str]:
    """The environment for the side interpreter: nothing that could import this checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _side_versions() -> dict[str, str] | None:
    """aiohttp's and aiohttp_cors's versions in the side venv, or None if it is unusable."""
    if not SIDE_PYTHON.exists():
        return None
    probe = ("import json, aiohttp, aiohttp_cors; print(json.dumps("
             "{'aiohttp': aiohttp.__version__, 'aiohttp_cors': aiohttp_cors.__version__}))")
    result = subprocess.run([str(SIDE_PYTHON), "-c", probe], capture_output=True, text=True,
                            env=_clean_env(), cwd="/")
    return json.loads(result.stdout) if result.returncode == 0 else None


def _pip_install(packages: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SIDE_PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q",
         *packages],
        capture_output=True, text=True, env=_clean_env(), timeout=INSTALL_TIMEOUT,
    )


def _make_side_venv() -> str | None:
    """Create the side venv with 0.8.1 and this interpreter's aiohttp; an error text, or None.

    multidict and yarl are pinned to the running versions too when pip can satisfy that, so
    the two runs parse and serialise HTTP with the same code.
    """
    wanted = {"aiohttp": aiohttp.__version__, "aiohttp_cors": "0.8.1"}
    if _side_versions() == wanted:
        return None
    created = subprocess.run([sys.executable, "-m", "venv", "--clear", str(SIDE_VENV)],
                             capture_output=True, text=True)
    if created.returncode != 0:
        return f"python -m venv failed: {created.stderr.strip()}"
    pins = ["aiohttp-cors==0.8.1", f"aiohttp=={aiohttp.__version__}"]
    installed = _pip_install([*pins, f"multidict=={multidict.__version__}",
                              f"yarl=={yarl.__version__}"])
    if installed.returncode != 0:
        installed = _pip_install(pins)
    if installed.returncode != 0:
        return f"pip install {' '.join(pins)} failed: {installed.stderr.strip()[-2000:]}"
    if _side_versions() != wanted:
        return f"side venv has {_side_versions()}, wanted {wanted}"
    return None


@pytest.fixture(scope="module")
def side_python() -> Path:
    """The side interpreter with aiohttp-cors 0.8.1 (fails in CI, skips elsewhere if absent)."""
    try:
        error = _make_side_venv()
    except (OSError, subprocess.SubprocessError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        message = f"cannot build the aiohttp-cors 0.8.1 side venv at {SIDE_VENV}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SIDE_PYTHON


def _run_both(side: Path, out_dir: Path) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Run diffcases.py under 0.8.1 and under this package in parallel; both JSON results.

    Their output goes to files, so that neither blocks on a full pipe while the other runs.
    """
    started = time.monotonic()
    runs = {}
    for name, python in (("old", side), ("new", Path(sys.executable))):
        out = out_dir / f"{name}.json"
        log = out_dir / f"{name}.log"
        command = [str(python), str(SCRIPT), "--seed", str(SEED), "--count", str(CASES),
                   "--out", str(out)]
        env = _clean_env() if name == "old" else os.environ.copy()
        with log.open("w") as log_file:
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                       env=env, cwd=str(HERE))
        runs[name] = (process, out, log)
    results = {}
    for name, (process, out, log) in runs.items():
        process.wait(timeout=RUN_TIMEOUT)
        assert process.returncode == 0, f"diffcases.py ({name}) failed:\n{log.read_text()[-5000:]}"
        results[name] = json.loads(out.read_text())
    return results["old"], results["new"], time.monotonic() - started


def _rerun_command(case_id: int) -> str:
    """The commands (from the repository root) that run just this case under each package."""
    script = SCRIPT.relative_to(REPO)
    args = f"{script} --seed {SEED} --count {CASES} --case {case_id}"
    return (f"{SIDE_PYTHON.relative_to(REPO)} {args} --out old.json   # 0.8.1\n"
            f"            .venv/bin/python {args} --out new.json   # this package")


def _app_spec(spec: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in spec.items() if k != "requests"}, ensure_ascii=False)


def _show_answer(answer: diffrules.Answer) -> str:
    if answer.outcome != "response":
        return f"<{answer.outcome}> {answer.body[:200]!r}"
    lines = [f"{answer.status} {answer.reason}"]
    lines += [f"{name}: {value}" for name, value in answer.headers]
    return "\n      ".join(lines) + f"\n      body={answer.body[:300]!r}"


def _reproduction(spec: dict[str, Any], index: int, verdict: diffrules.Verdict,
                  old: diffrules.Answer, ours: diffrules.Answer) -> str:
    """Everything needed to see and re-run one unexplained difference."""
    raw = diffcases.raw_request(spec["requests"][index])
    return "\n".join([
        f"case {spec['id']}, request {index}; rules applied: {verdict.rules or 'none'}",
        f"  app spec: {_app_spec(spec)}",
        f"  request bytes: {raw!r}",
        f"  0.8.1:    {_show_answer(old)}",
        f"  ours:     {_show_answer(ours)}",
        "  after the rules (what they allow, and ours normalised the same way):",
        f"  expected: {_show_answer(verdict.expected)}",
        f"  ours:     {_show_answer(verdict.actual)}",
        f"  re-run:   {_rerun_command(spec['id'])}",
    ])


def _planted(ours: diffrules.Answer) -> dict[str, diffrules.Answer]:
    """Wrong answers no deviation can explain, derived from ours: the rules must refuse them."""
    return {
        "extra header": ours.plus([("X-Planted", "1")]),
        "changed body": replace(ours, body=ours.body + "!"),
        "foreign origin": ours.without([diffrules.ACAO]).plus(
            [(diffrules.ACAO, "https://planted.invalid")]),
    }


class Tally:
    """The counts of one comparison, and the reproductions of what was left unexplained."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.by_rule: Counter[str] = Counter()
        self.left_out: Counter[str] = Counter()
        self.unexplained: list[str] = []
        self.harness_errors: list[str] = []
        self.warnings: Counter[str] = Counter()

    def compare_case(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        spec = old["spec"]
        assert new["spec"] == spec, f"case {spec['id']}: the two runs generated different specs"
        self.counts["cases run"] += 1
        self.warnings.update(f"ours: {w[0]}" for w in new["warnings"])
        self.warnings.update(f"0.8.1: {w[0]}" for w in old["warnings"])
        if old["config_error"] is not None:
            self.counts["config errors skipped (0.8.1 refused)"] += 1
            return
        if new["config_error"] is not None:
            rule = next((r for r in diffrules.CONFIG_RULES if r.applies(spec)), None)
            if rule is not None:
                self.by_rule[f"{rule.name} (dev. {rule.deviation})"] += 1
                self.counts["cases refused by ours, explained"] += 1
            else:
                self.counts["cases refused by ours, unexplained"] += 1
                self.unexplained.append(
                    f"case {spec['id']}: ours refused a configuration 0.8.1 accepts: "
                    f"{new['config_error']}\n  app spec: {_app_spec(spec)}"
                    f"\n  re-run:   {_rerun_command(spec['id'])}"
                )
            return
        self.counts["cases compared"] += 1
        model = diffrules.CaseModel(spec)
        old_answers = [diffrules.Answer.from_record(r) for r in old["responses"]]
        for index, record in enumerate(new["responses"]):
            ours = diffrules.Answer.from_record(record)
            verdict = diffrules.judge(model, index, spec["requests"], old_answers, ours)
            self.counts["requests compared"] += 1
            if ours.outcome == "response" and self.counts["requests compared"] % PLANT_EVERY == 0:
                self._plant(model, index, spec, old_answers, ours)
            self.harness_errors.extend(f"case {spec['id']} request {index}: {e}"
                                     for e in verdict.model_errors)
            self.left_out.update(verdict.left_out)
            if verdict.same:
                self.counts["requests identical"] += 1
            elif verdict.explained:
                self.counts["requests explained by rules"] += 1
                self.by_rule.update(verdict.rules)
            else:
                self.counts["requests unexplained"] += 1
                self.unexplained.append(
                    _reproduction(spec, index, verdict, old_answers[index], ours))

    def _plant(self, model: diffrules.CaseModel, index: int, spec: dict[str, Any],
               old_answers: list[diffrules.Answer], ours: diffrules.Answer) -> None:
        """Check that wrong answers in ours' place would be reported (rules do not
        over-explain)."""
        for what, wrong in _planted(ours).items():
            self.counts["wrong answers planted (harness self-test)"] += 1
            if diffrules.judge(model, index, spec["requests"], old_answers, wrong).explained:
                self.harness_errors.append(
                    f"case {spec['id']} request {index}: a planted wrong answer ({what}) was "
                    "explained by the rules: they over-explain")

    def summary(self, seconds: float) -> str:
        deviations = {rule.name: rule.deviation for rule in diffrules.RULES}
        lines = [f"differential vs aiohttp-cors 0.8.1: seed {SEED}, {CASES} cases, "
                 f"both runs in {seconds:.1f} s"]
        lines += [f"  {name}: {self.counts[name]}" for name in COUNTS]
        lines.append("  differences explained, per rule:")
        lines += [f"    {name} (dev. {deviations[name]}): {count}" if name in deviations
                  else f"    {name}: {count}" for name, count in self.by_rule.most_common()]
        lines.append("  deviations left out where they applied (ours kept 0.8.1's answer): "
                     + (", ".join(f"{k} x{v}" for k, v in self.left_out.most_common())
                        or "none"))
        lines.append(f"  unexplained: {len(self.unexplained)}")
        lines.append(f"  harness self-check errors (model or rules): {len(self.harness_errors)}")
        lines.append("  configuration warnings (not compared): "
                     + (", ".join(f"{k} x{v}" for k, v in sorted(self.warnings.items()))
                        or "none"))
        return "\n".join(lines)


def test_differential_against_0_8_1(side_python: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    old, new, seconds = _run_both(side_python, tmp_path)
    assert old["meta"]["aiohttp_cors"] == "0.8.1", old["meta"]
    assert Path(new["meta"]["aiohttp_cors_file"]).is_relative_to(REPO / "src"), new["meta"]
    assert old["meta"]["aiohttp"] == new["meta"]["aiohttp"], (old["meta"], new["meta"])
    tally = Tally()
    assert len(old["cases"]) == len(new["cases"]) == CASES
    for old_case, new_case in zip(old["cases"], new["cases"]):
        tally.compare_case(old_case, new_case)
    summary = tally.summary(seconds)
    report = tmp_path / "unexplained.txt"
    report.write_text("\n\n".join(tally.harness_errors + tally.unexplained))
    with capsys.disabled():
        print("\n" + summary + f"\n  full report: {report}")
    problems = tally.harness_errors[:SHOWN] + tally.unexplained[:SHOWN]
    if problems:
        pytest.fail(summary + "\n\n" + "\n\n".join(problems), pytrace=False)
