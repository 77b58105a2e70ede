"""The demo page (``python -m aiohttp_cors demo``) in real browsers, and its CLI.

The browser test (run in each engine of ``_engines.py``) starts the demo's two
applications in-process on free ports (the page on ``http://demo.test:<port>``,
which every engine resolves to 127.0.0.1; the API on ``http://127.0.0.1:<port>``,
as the CLI does), waits for the page's matrix to finish and checks that every
row's actual outcome is its expected one.  With ``AIOHTTP_CORS_SCREENSHOT=1`` it also saves a
screenshot of the finished page (Chromium) to ``docs/demo.png``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aiohttp_cors
from aiohttp_cors._demo import DEMO_CASES, DemoServers, start_demo

from ._engines import ChromiumTab, Engine
from ._servers import DEMO_PAGE_HOST, BackgroundLoop

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_PATH = REPO_ROOT / "docs" / "demo.png"


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServers]:
    background = BackgroundLoop()
    try:
        servers: DemoServers = background.call(
            start_demo(
                host="127.0.0.1",
                api_port=0,
                page_port=0,
                page_host=DEMO_PAGE_HOST,
                access_log=False,
            )
        )
        try:
            yield servers
        finally:
            background.call(servers.close())
    finally:
        background.close()


# Waits (bounded) for the page's matrix to finish, then reports what a
# person would see: the rows, which of them pass, and the summary line.
DEMO_RESULTS_JS = """
async ({timeoutMs}) => {
  const deadline = Date.now() + timeoutMs;
  while (document.body.dataset.state !== "done") {
    if (Date.now() > deadline) return {done: false};
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    done: true,
    results: window.demoResults,
    rows: document.querySelectorAll("#rows tr").length,
    passRows: document.querySelectorAll("#rows tr.pass").length,
    summary: document.querySelector("#summary").innerText,
  };
}
"""


@pytest.mark.browser
def test_demo_page_matrix_all_rows_as_expected(browser_engine: Engine, demo: DemoServers) -> None:
    tab = browser_engine.open(demo.page_url)
    try:
        # Every row has its own 10 s fetch timeout; the whole matrix takes ~1 s.
        page = tab.call(DEMO_RESULTS_JS, {"timeoutMs": 60_000}, timeout=70)
        explain = "\n".join([f"engine: {browser_engine.name}", *tab.console[-30:]])
        assert page["done"], f"the demo matrix did not finish\n{explain}"
        results: list[dict[str, Any]] = page["results"]
        assert [r["key"] for r in results] == [c.key for c in DEMO_CASES], explain
        assert page["rows"] == len(DEMO_CASES)
        assert page["passRows"] == len(DEMO_CASES), (results, explain)
        for case, result in zip(DEMO_CASES, results):
            expected = "allowed" if case.expect_allowed else "blocked"
            assert result["actual"] == expected, (case.key, result, explain)
            assert result["pass"] is True, (case.key, result, explain)
            # The server-side column got the API's own record of the exchange.
            assert result["server"], (case.key, "no debug log entries", result)
        summary = page["summary"]
        assert summary == f"{len(DEMO_CASES)} of {len(DEMO_CASES)} requests behaved as expected"

        by_key = {r["key"]: r for r in results}
        # The credentialed row really carried the cookie the sign-in row set.
        assert "session cookie arrived" in by_key["credentials-allowed"]["result"]["body"]
        # Refused preflights kept the actual request away from the server.
        for key in ("preflight-origin-refused", "preflight-method-refused"):
            assert [e["method"] for e in by_key[key]["server"]] == ["OPTIONS"], by_key[key]

        if os.environ.get("AIOHTTP_CORS_SCREENSHOT") == "1" and isinstance(tab, ChromiumTab):
            tab.page.set_viewport_size({"width": 1400, "height": 900})
            SCREENSHOT_PATH.parent.mkdir(exist_ok=True)
            tab.page.screenshot(path=str(SCREENSHOT_PATH), full_page=True)
    finally:
        tab.close()


def _read_until(stream: Any, pattern: str, deadline: float) -> list[str]:
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError(f"{pattern!r} not printed; got {lines!r}")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_cli_serves_and_stops_cleanly(signum: int) -> None:
    # Make the child import the same aiohttp_cors as this test run.
    package_parent = str(Path(aiohttp_cors.__file__).resolve().parents[1])
    pythonpath = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "aiohttp_cors", "demo", "--api-port", "0", "--page-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": pythonpath},
    )
    try:
        lines = _read_until(process.stdout, r"Press Ctrl-C", time.monotonic() + 30)
        output = "".join(lines)
        page_url = re.search(r"Open (http://localhost:\d+/) in your browser", output)
        api = re.search(r"API server.*?(http://127\.0\.0\.1:\d+)", output)
        assert page_url and api, output
        # Fetch over 127.0.0.1: "localhost" may resolve to ::1 first here.
        page_port = page_url.group(1).rsplit(":", 1)[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{page_port}", timeout=10) as response:
            html = response.read().decode()
        assert api.group(1) in html
        assert "demo-config" in html
        request = urllib.request.Request(
            api.group(1) + "/hello?id=cli", headers={"Origin": page_url.group(1).rstrip("/")}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Access-Control-Allow-Origin"] == page_url.group(1).rstrip("/")

        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "Demo stopped." in stdout
