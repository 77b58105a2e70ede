"""Fixtures for the real-browser suite.

* ``servers`` (package): page origin + API origin (see ``_servers.py``).
* ``browser`` (package): Debian's Chromium driven by the synchronous
  Playwright API.  Package scope, not session: while sync Playwright is
  running it owns an event loop in the main thread, which would make every
  later pytest-asyncio / pytest-aiohttp test fail with "cannot be called from a
  running event loop"; it is stopped when the last browser test is done.
  The browser tests are skipped, with the exact reason, when Playwright is
  not importable or the Chromium binary is missing; nothing else in the test
  suite depends on them.
* ``probe`` (function): a fresh browser context with a page loaded from the
  page origin, plus helpers to run ``fetch()`` from it and to explain failures.

Chromium is never downloaded: ``playwright install`` is not used, the system
binary is (``AIOHTTP_CORS_CHROMIUM`` overrides its path).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._servers import API_HOST, PAGE_HOST, Servers, running_servers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Frame, Page

CHROMIUM_PATH = os.environ.get("AIOHTTP_CORS_CHROMIUM", "/usr/bin/chromium")
LAUNCH_TIMEOUT_MS = 60_000
FETCH_TIMEOUT_MS = 10_000
PAGE_TIMEOUT_MS = 20_000

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
    # Spec behaviour: "Access-Control-Allow-Headers: *" does not cover
    # Authorization (Chromium 156 still needs the flag to enforce it).
    "--enable-features=CorsNonWildcardRequestHeadersSupport",
]

# One async function, evaluated in the page: a cross-origin fetch with a
# timeout covering both the headers and the body, reporting what the page
# can read, or the error the browser gave it.
FETCH_JS = """
async ({url, method, headers, credentials, body, readHeaders, timeoutMs}) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const init = {method, headers, credentials, signal: controller.signal};
    if (body !== null) init.body = body;
    const response = await fetch(url, init);
    const text = await response.text();
    const read = {};
    for (const name of readHeaders) read[name] = response.headers.get(name);
    return {
      outcome: "allowed", status: response.status, body: text, headers: read,
      headerNames: [...response.headers.keys()], redirected: response.redirected,
      url: response.url, type: response.type,
    };
  } catch (error) {
    return {
      outcome: "blocked", errorName: error.name, error: String(error),
      timedOut: controller.signal.aborted,
    };
  } finally {
    clearTimeout(timer);
  }
}
"""


def _browser_unavailable_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright is not importable ({exc}); pip install playwright"
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        return (
            f"Chromium binary {CHROMIUM_PATH} is missing (apt-get install -y chromium, "
            "or point AIOHTTP_CORS_CHROMIUM at one); `playwright install` is never used"
        )
    return None


_browser_outcomes: dict[str, int] = {}
_browser_test_ids: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Remember which collected tests carry the ``browser`` marker."""
    _browser_test_ids.update(i.nodeid for i in items if i.get_closest_marker("browser"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count what happened to the browser tests (for the terminal summary)."""
    if report.nodeid not in _browser_test_ids:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _browser_outcomes[report.outcome] = _browser_outcomes.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying how many real-browser tests ran, passed, failed and were skipped."""
    if not _browser_outcomes:
        return
    ran = _browser_outcomes.get("passed", 0) + _browser_outcomes.get("failed", 0)
    terminalreporter.write_line(
        f"browser tests (Chromium): {ran} ran, {_browser_outcomes.get('passed', 0)} passed, "
        f"{_browser_outcomes.get('failed', 0)} failed, "
        f"{_browser_outcomes.get('skipped', 0)} skipped"
    )


@pytest.fixture(scope="package")
def servers() -> Iterator[Servers]:
    with running_servers() as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    reason = _browser_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Fresh, throw-away profile and download dirs for this session.
    scratch = tempfile.mkdtemp(prefix="aiohttp-cors-browser-")
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM_PATH,
                args=CHROMIUM_ARGS,
                timeout=LAUNCH_TIMEOUT_MS,
                downloads_path=scratch,
                env={**os.environ, "HOME": scratch, "XDG_CONFIG_HOME": scratch},
            )
            try:
                yield launched
            finally:
                launched.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


_case_ids = itertools.count(1)


class Probe:
    """A page on the page origin that runs fetch() against the API origin."""

    def __init__(self, servers: Servers, context: BrowserContext, page: Page) -> None:
        self.servers = servers
        self.context = context
        self.page = page
        self.console: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console.append(f"[pageerror] {exc}"))
        self.cases: list[str] = []

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"[{message.type}] {message.text}")

    def goto(self, host: str = PAGE_HOST) -> None:
        """(Re)load the probe page from ``http://<host>:<page port>/``."""
        self.page.goto(self.servers.page_origin(host) + "/", wait_until="load")

    @property
    def page_origin(self) -> str:
        return str(self.page.evaluate("location.origin"))

    def url(self, path: str, *, host: str = API_HOST, **params: str) -> tuple[str, str]:
        """A never-used-before URL for ``path`` (defeats the preflight cache).

        Returns ``(url, case_id)``; the case id is the ``case`` query parameter
        the API uses to record what it served.
        """
        case = f"c{next(_case_ids)}"
        self.cases.append(case)
        query = "&".join([f"case={case}", *(f"{k}={v}" for k, v in params.items())])
        return f"{self.servers.api_origin(host)}{path}?{query}", case

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        credentials: str = "same-origin",
        body: str | None = None,
        read_headers: tuple[str, ...] = (),
        frame: Frame | None = None,
    ) -> dict[str, Any]:
        """Run fetch() in the page (or one of its frames); returns what it could observe."""
        target = self.page if frame is None else frame
        result: dict[str, Any] = target.evaluate(
            FETCH_JS,
            {
                "url": url,
                "method": method,
                "headers": headers or {},
                "credentials": credentials,
                "body": body,
                "readHeaders": list(read_headers),
                "timeoutMs": FETCH_TIMEOUT_MS,
            },
        )
        assert not result.get("timedOut"), f"fetch {method} {url} timed out\n{self.explain()}"
        return result

    def explain(self, case: str | None = None, result: Any = None) -> str:
        """Context for an assertion message: console output + server records."""
        lines = []
        if result is not None:
            lines.append("page saw: " + json.dumps(result, indent=None, default=str)[:2000])
        lines.append("browser console:")
        lines.extend(f"  {line}" for line in self.console[-20:])
        if not self.console:
            lines.append("  (nothing)")
        cases = [case] if case else self.cases[-3:]
        state = self.servers.api_state
        for c in cases:
            lines.append(f"server exchanges for case {c}:")
            exchanges = state.exchanges_for(c)
            lines.extend(f"  {e}" for e in exchanges)
            if not exchanges:
                lines.append("  (none)")
            hits = state.hits_for(c)
            lines.append(f"handler/middleware hits for case {c}: {hits or '(none)'}")
        return "\n".join(lines)

    def assert_allowed(self, result: dict[str, Any], case: str) -> None:
        assert result["outcome"] == "allowed", (
            f"expected the page to read the response, the browser blocked it\n"
            f"{self.explain(case, result)}"
        )

    def assert_blocked(self, result: dict[str, Any], case: str) -> None:
        assert result["outcome"] == "blocked", (
            f"expected the browser to refuse the response to the page, it was readable\n"
            f"{self.explain(case, result)}"
        )
        assert result["errorName"] == "TypeError", self.explain(case, result)

    def sandboxed_frame(self) -> Frame:
        """A sandboxed iframe (scripts, no same-origin): its fetches say ``Origin: null``."""
        self.page.evaluate(
            """() => new Promise((resolve, reject) => {
                const frame = document.createElement("iframe");
                frame.name = "sandboxed";
                frame.sandbox = "allow-scripts";
                frame.srcdoc = "<!doctype html><p>sandboxed</p>";
                const timer = setTimeout(() => reject(new Error("iframe load timed out")), 10000);
                frame.onload = () => { clearTimeout(timer); resolve(null); };
                document.body.append(frame);
            })"""
        )
        frame = self.page.locator("iframe[name=sandboxed]").element_handle().content_frame()
        assert frame is not None, "the sandboxed iframe has no frame"
        frame.wait_for_load_state("load")
        return frame

    def actual_requests(self, case: str) -> list[Any]:
        """Requests of ``case`` that reached a handler or middleware, preflights excluded."""
        return [h for h in self.servers.api_state.hits_for(case) if h.method != "OPTIONS"]


@pytest.fixture
def probe(browser: Browser, servers: Servers) -> Iterator[Probe]:
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    try:
        page = context.new_page()
        helper = Probe(servers, context, page)
        helper.goto(PAGE_HOST)
        yield helper
    finally:
        context.close()
