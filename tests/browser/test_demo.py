"""The demo page (``python -m aiohttp_cors demo``) in a real browser, and its CLI.

The browser test starts the demo's two applications in-process on free ports
(the page on ``http://demo.test:<port>``, mapped to 127.0.0.1 by the browser's
resolver rule; the API on ``http://127.0.0.1:<port>``, as the CLI does), waits
for the page's matrix to finish and checks that every row's actual outcome is
its expected one.  With ``AIOHTTP_CORS_SCREENSHOT=1`` it also saves a
screenshot of the finished page to ``docs/demo.png``.
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
from typing import TYPE_CHECKING, Any

import pytest

import aiohttp_cors
from aiohttp_cors._demo import DEMO_CASES, DemoServers, start_demo

from ._servers import BackgroundLoop

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_PATH = REPO_ROOT / "docs" / "demo.png"
DEMO_PAGE_HOST = "demo.test"


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


@pytest.mark.browser
def test_demo_page_matrix_all_rows_as_expected(browser: Browser, demo: DemoServers) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    console: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
        page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
        page.goto(demo.page_url, wait_until="load", timeout=20_000)
        # Every row has its own 10 s fetch timeout; the whole matrix takes ~1 s.
        page.wait_for_selector("body[data-state=done]", timeout=60_000)

        results: list[dict[str, Any]] = page.evaluate("window.demoResults")
        explain = "\n".join(console[-30:])
        assert [r["key"] for r in results] == [c.key for c in DEMO_CASES], explain
        rows = page.locator("#rows tr")
        assert rows.count() == len(DEMO_CASES)
        assert page.locator("#rows tr.pass").count() == len(DEMO_CASES), explain
        for case, result in zip(DEMO_CASES, results):
            expected = "allowed" if case.expect_allowed else "blocked"
            assert result["actual"] == expected, (case.key, result, explain)
            assert result["pass"] is True, (case.key, result, explain)
            # The server-side column got the API's own record of the exchange.
            assert result["server"], (case.key, "no debug log entries", result)
        summary = page.locator("#summary").inner_text()
        assert summary == f"{len(DEMO_CASES)} of {len(DEMO_CASES)} requests behaved as expected"

        by_key = {r["key"]: r for r in results}
        # The credentialed row really carried the cookie the sign-in row set.
        assert "session cookie arrived" in by_key["credentials-allowed"]["result"]["body"]
        # Refused preflights kept the actual request away from the server.
        for key in ("preflight-origin-refused", "preflight-method-refused"):
            assert [e["method"] for e in by_key[key]["server"]] == ["OPTIONS"], by_key[key]

        if os.environ.get("AIOHTTP_CORS_SCREENSHOT") == "1":
            SCREENSHOT_PATH.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT_PATH), full_page=True)
    finally:
        context.close()


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
