"""Shows the outcome of the upstream-suite harness in pytest's terminal summary.

The harness's verdict (how many of 0.8.1's tests passed, which failed on purpose, which
modules were left out and why) is worth seeing on every run, not only when it fails or
with ``-s``: the test records its lines through the ``compat_summary`` fixture and
``pytest_terminal_summary`` prints them at the end of the run.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

_SUMMARY_LINES = pytest.StashKey[list[str]]()


@pytest.fixture
def compat_summary(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """A function recording one line for the terminal summary."""
    return request.config.stash.setdefault(_SUMMARY_LINES, []).append


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the lines the compatibility harness recorded, if it ran."""
    lines = config.stash.get(_SUMMARY_LINES, [])
    if not lines:
        return
    terminalreporter.write_sep("-", "aiohttp-cors 0.8.1 compatibility")
    for line in lines:
        terminalreporter.write_line(line)
