"""Fixtures for the real-browser suite, run in three engines.

* ``servers`` (package): page origin + API origin (see ``_servers.py``).
* ``browser_engine`` (package, parametrized): one running engine of
  ``_engines.ENGINE_NAMES`` (Chromium, Firefox ESR, WebKitGTK).  Every test
  that uses it, directly or through ``probe``, runs once per engine; pytest
  groups the tests by engine, so one browser runs at a time.  Package scope,
  not session: while sync Playwright runs it owns an event loop in the main
  thread, which would break every later pytest-aiohttp test; each engine is
  stopped when its last browser test is done.
* ``probe`` (function): a fresh isolated page (own cookie jar) loaded from
  the page origin, with helpers to run ``fetch()`` from it and explain failures.
* ``browser`` (package): the Playwright ``Browser`` of the Chromium engine,
  for Chromium-only tests that need Playwright itself.

``@pytest.mark.engines("chromium")`` (on a test, class or module) restricts
a test to the engines named; a test using ``browser`` runs in Chromium only.

An engine that cannot run here (binary or library missing) makes its tests
fail when ``CI=true`` (a missing engine is never a silent skip there) and
skips them, with the install command, elsewhere.  No browser is ever
downloaded: Debian's packages are used (``scripts/test.sh`` installs them).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ._engines import (
    ENGINE_NAMES,
    ChromiumTab,
    Engine,
    Tab,
    start_engine,
    unavailable_reason,
)
from ._servers import API_HOST, PAGE_HOST, TEST_HOSTS, Servers, running_servers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Frame, Page

FETCH_TIMEOUT_MS = 10_000

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

# A sandboxed iframe (scripts, no same-origin: an opaque origin, so its
# fetches say "Origin: null") that runs FETCH_JS for its parent on request.
# postMessage is the one channel every engine's driver supports alike.
SANDBOX_SRCDOC = (
    "<!doctype html><p>sandboxed</p><script>"
    f"const run = {FETCH_JS};"
    'addEventListener("message", async (event) => {'
    "  const reply = await run(event.data.args);"
    '  event.source.postMessage({id: event.data.id, reply}, "*");'
    "});</script>"
)

ADD_SANDBOX_JS = """
async ({name, srcdoc}) => new Promise((resolve, reject) => {
  const frame = document.createElement("iframe");
  frame.name = name;
  frame.sandbox = "allow-scripts";
  frame.srcdoc = srcdoc;
  const timer = setTimeout(() => reject(new Error("iframe load timed out")), 10000);
  frame.onload = () => { clearTimeout(timer); resolve(null); };
  document.body.append(frame);
})
"""

FETCH_IN_FRAME_JS = """
async ({name, id, args}) => new Promise((resolve, reject) => {
  const frame = document.querySelector(`iframe[name="${name}"]`);
  const timer = setTimeout(() => reject(new Error("no answer from the iframe")), 20000);
  addEventListener("message", function listener(event) {
    if (!event.data || event.data.id !== id) return;
    removeEventListener("message", listener);
    clearTimeout(timer);
    resolve(event.data.reply);
  });
  frame.contentWindow.postMessage({id, args}, "*");
})
"""


# --------------------------------------------------------------------------
# engine selection and the per-engine summary line
# --------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "engines(*names): run this browser test only in the engines named"
    )


def _engines_for(node: Any, fixturenames: list[str]) -> list[str]:
    marker = node.get_closest_marker("engines")
    engines = list(marker.args) if marker is not None else list(ENGINE_NAMES)
    unknown = set(engines) - set(ENGINE_NAMES)
    if unknown:
        raise pytest.UsageError(f"unknown engine(s) {sorted(unknown)} in @pytest.mark.engines")
    if "browser" in fixturenames:  # the Playwright Browser exists in Chromium only
        engines = [e for e in engines if e == "chromium"]
    return engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that needs a browser once per engine (grouped by engine)."""
    if "browser_engine" in metafunc.fixturenames:
        engines = _engines_for(metafunc.definition, metafunc.fixturenames)
        metafunc.parametrize("browser_engine", engines, indirect=True, scope="package")


_engine_of_test: dict[str, str] = {}
_outcomes: dict[str, dict[str, int]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Remember which engine each collected browser test runs in."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "browser_engine" in callspec.params:
            _engine_of_test[item.nodeid] = callspec.params["browser_engine"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count what happened to the browser tests, per engine (for the terminal summary)."""
    engine = _engine_of_test.get(report.nodeid)
    if engine is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        counts = _outcomes.setdefault(engine, {})
        counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per engine saying how many real-browser tests ran, passed, failed, skipped."""
    if not _engine_of_test:
        return
    collected = set(_engine_of_test.values())
    for engine in ENGINE_NAMES:
        if engine not in collected:
            continue
        counts = _outcomes.get(engine, {})
        passed, failed = counts.get("passed", 0), counts.get("failed", 0)
        terminalreporter.write_line(
            f"browser tests ({engine}): {passed + failed} ran, {passed} passed, "
            f"{failed} failed, {counts.get('skipped', 0)} skipped"
        )


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="package")
def servers() -> Iterator[Servers]:
    with running_servers() as running:
        yield running


@pytest.fixture(scope="package")
def browser_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    name: str = request.param
    reason = unavailable_reason(name)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser engine {name} is missing on CI: {reason}", pytrace=False)
        pytest.skip(reason)
    engine = start_engine(name, TEST_HOSTS)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="package")
def browser(browser_engine: Engine) -> Browser:
    """Chromium's Playwright ``Browser`` (a test using it runs in Chromium only)."""
    found: Browser = browser_engine.browser  # type: ignore[attr-defined]
    return found


_case_ids = itertools.count(1)
_frame_ids = itertools.count(1)


class SandboxedFrame:
    """Handle of a sandboxed iframe in the probe page (see ``Probe.sandboxed_frame``)."""

    def __init__(self, name: str) -> None:
        self.name = name


class Probe:
    """A page on the page origin that runs fetch() against the API origin."""

    def __init__(self, servers: Servers, tab: Tab) -> None:
        self.servers = servers
        self.tab = tab
        self.engine = tab.engine
        self.console = tab.console
        self.cases: list[str] = []

    # Chromium-only escape hatches (Playwright objects), for Chromium-only tests.
    @property
    def context(self) -> BrowserContext:
        if not isinstance(self.tab, ChromiumTab):
            raise AttributeError(f"probe.context is Playwright's: Chromium only, not {self.engine}")
        return self.tab.context

    @property
    def page(self) -> Page:
        if not isinstance(self.tab, ChromiumTab):
            raise AttributeError(f"probe.page is Playwright's: Chromium only, not {self.engine}")
        return self.tab.page

    def goto(self, host: str = PAGE_HOST, path: str = "/") -> None:
        """(Re)load the probe page from ``http://<host>:<page port><path>``."""
        self.tab.goto(self.servers.page_origin(host) + path)

    @property
    def page_origin(self) -> str:
        return str(self.tab.call("async () => location.origin"))

    def url(self, path: str, *, host: str = API_HOST, **params: str) -> tuple[str, str]:
        """A never-used-before URL for ``path`` (defeats the preflight cache).

        Returns ``(url, case_id)``; the case id is the ``case`` query parameter
        the API uses to record what it served.
        """
        return self._case_url(self.servers.api_origin(host), path, params)

    def raw_url(self, path: str, **params: str) -> tuple[str, str]:
        """Like ``url``, on the server without aiohttp_cors (``_servers.build_raw_app``)."""
        return self._case_url(self.servers.raw_origin(), path, params)

    def _case_url(self, base: str, path: str, params: dict[str, str]) -> tuple[str, str]:
        case = f"c{next(_case_ids)}"
        self.cases.append(case)
        query = "&".join([f"case={case}", *(f"{k}={v}" for k, v in params.items())])
        return f"{base}{path}?{query}", case

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        credentials: str = "same-origin",
        body: str | None = None,
        read_headers: tuple[str, ...] = (),
        frame: SandboxedFrame | Frame | None = None,
    ) -> dict[str, Any]:
        """Run fetch() in the page (or one of its frames); returns what it could observe."""
        args = {
            "url": url,
            "method": method,
            "headers": headers or {},
            "credentials": credentials,
            "body": body,
            "readHeaders": list(read_headers),
            "timeoutMs": FETCH_TIMEOUT_MS,
        }
        result: dict[str, Any]
        if frame is None:
            result = self.tab.call(FETCH_JS, args)
        elif isinstance(frame, SandboxedFrame):
            request = {"name": frame.name, "id": f"f{next(_frame_ids)}", "args": args}
            result = self.tab.call(FETCH_IN_FRAME_JS, request)
        else:  # a Playwright Frame (Chromium only)
            result = frame.evaluate(FETCH_JS, args)
        assert not result.get("timedOut"), f"fetch {method} {url} timed out\n{self.explain()}"
        return result

    def add_cookie(self, name: str, value: str, host: str, same_site: str = "Lax") -> None:
        """Put a cookie (path ``/``) for the API on ``host`` into this page's cookie jar."""
        self.tab.add_cookie(name, value, self.servers.api_origin(host) + "/", same_site)

    def explain(self, case: str | None = None, result: Any = None) -> str:
        """Context for an assertion message: console output + server records."""
        lines = [f"engine: {self.engine}"]
        if result is not None:
            lines.append("page saw: " + json.dumps(result, indent=None, default=str)[:2000])
        lines.append("browser console:")
        lines.extend(f"  {line}" for line in self.console[-20:])
        if not self.console:
            available = self.tab.console_available
            lines.append("  (nothing)" if available else "  (not available in this engine)")
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
        # Fetch: a CORS failure is a network error, which rejects with a TypeError.
        assert result["errorName"] == "TypeError", self.explain(case, result)

    def sandboxed_frame(self) -> SandboxedFrame:
        """A sandboxed iframe (scripts, no same-origin): its fetches say ``Origin: null``.

        Pass it as ``fetch(..., frame=...)``.
        """
        frame = SandboxedFrame(f"sandboxed{next(_frame_ids)}")
        self.tab.call(ADD_SANDBOX_JS, {"name": frame.name, "srcdoc": SANDBOX_SRCDOC})
        return frame

    def actual_requests(self, case: str) -> list[Any]:
        """Requests of ``case`` that reached a handler or middleware, preflights excluded."""
        return [h for h in self.servers.api_state.hits_for(case) if h.method != "OPTIONS"]


def open_probe(engine: Engine, servers: Servers) -> Probe:
    """The probe page in a new tab of ``engine`` (the caller closes ``.tab``)."""
    return Probe(servers, engine.open(servers.page_origin(PAGE_HOST) + "/"))


@pytest.fixture
def probe(browser_engine: Engine, servers: Servers) -> Iterator[Probe]:
    helper = open_probe(browser_engine, servers)
    try:
        yield helper
    finally:
        helper.tab.close()
