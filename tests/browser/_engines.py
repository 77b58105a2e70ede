"""Three browser engines behind one small interface, so a case is written once.

* ``chromium``: Debian's Chromium through the synchronous Playwright API
  (``executable_path``; Playwright never downloads a browser here).
* ``firefox``: Debian's Firefox ESR through its built-in WebDriver BiDi
  server (``--remote-debugging-port=0``), spoken over a websocket with
  aiohttp's client from a background event loop.  Debian ships no
  geckodriver and Playwright cannot drive a stock Firefox.
* ``webkit``: WebKitGTK's ``WebKitWebDriver`` (package webkit2gtk-driver),
  which starts MiniBrowser; MiniBrowser has no headless mode, so it runs on an
  Xvfb display the engine starts.  Plain W3C WebDriver over HTTP (urllib).

Every engine resolves the suite's ``*.test`` host names to 127.0.0.1:
Chromium with ``--host-resolver-rules``, Firefox with the
``network.dns.localDomains`` preference, WebKit with nss_wrapper (an
``LD_PRELOAD`` library reading a hosts file of our own).

A :class:`Tab` is one isolated page (its own cookie jar) on which the tests
run JavaScript: :meth:`Tab.call` evaluates an async function with one
JSON-serializable argument and returns its JSON-serializable result.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from ._servers import BackgroundLoop

ENGINE_NAMES = ("chromium", "firefox", "webkit")

CHROMIUM_PATH = os.environ.get("AIOHTTP_CORS_CHROMIUM", "/usr/bin/chromium")
FIREFOX_PATH = os.environ.get("AIOHTTP_CORS_FIREFOX", "/usr/bin/firefox-esr")
WEBKIT_DRIVER_PATH = os.environ.get("AIOHTTP_CORS_WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
XVFB_PATH = "/usr/bin/Xvfb"
WEBKIT_OPTIONS = "webkitgtk:browserOptions"
NSS_WRAPPER_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so",
    "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
    "/usr/lib/libnss_wrapper.so",
)

# The Debian packages that provide each engine (installed by scripts/test.sh).
ENGINE_PACKAGES = {
    "chromium": "chromium",
    "firefox": "firefox-esr",
    "webkit": "webkit2gtk-driver xvfb libnss-wrapper",
}

LAUNCH_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 30.0
PAGE_TIMEOUT_S = 20.0
NAVIGATION_ATTEMPTS = 3
# Fresh sessions tried by Engine.open.  Now and then (about one session in
# 500 here) WebKitGTK 2.50's MiniBrowser aborts while a new session loads its
# first page ("double free or corruption" in the driver's log, and an
# "unknown error" with no message to the client), which says nothing about
# CORS.  A page that never loads still fails every attempt.
OPEN_ATTEMPTS = 2


class EngineError(RuntimeError):
    """The engine or its driver failed (not a CORS outcome)."""


class ScriptError(EngineError):
    """The evaluated JavaScript threw."""


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _nss_wrapper() -> str | None:
    return next((p for p in NSS_WRAPPER_CANDIDATES if os.path.isfile(p)), None)


def unavailable_reason(name: str) -> str | None:
    """Why engine ``name`` cannot run here, or None when it can."""
    install = f"apt-get install -y {ENGINE_PACKAGES[name]}"
    if name == "chromium":
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            return f"playwright is not importable ({exc}); pip install playwright"
        if not _executable(CHROMIUM_PATH):
            return (
                f"Chromium binary {CHROMIUM_PATH} is missing ({install}); "
                "`playwright install` is never used"
            )
    elif name == "firefox":
        if not _executable(FIREFOX_PATH):
            return f"Firefox binary {FIREFOX_PATH} is missing ({install})"
    elif name == "webkit":
        missing = [p for p in (WEBKIT_DRIVER_PATH, XVFB_PATH) if not _executable(p)]
        if _nss_wrapper() is None:
            missing.append("libnss_wrapper.so")
        if missing:
            return f"WebKitGTK needs {', '.join(missing)} ({install})"
    else:
        return f"unknown engine {name!r}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_process(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    """Stop one process we started, by its pid: SIGTERM, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


# One wrapper for every engine: the argument crosses as a JSON string and the
# result comes back as one, so no engine's value serialization is involved.
def _json_call(function: str) -> str:
    return f"async (argJson) => JSON.stringify(await ({function})(JSON.parse(argJson)))"


class Tab:
    """One isolated page of an engine (base class)."""

    engine = ""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.console_available = True

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def call(self, function: str, arg: Any = None, timeout: float = COMMAND_TIMEOUT_S) -> Any:
        """Evaluate ``async (arg) => ...`` in the page; returns its JSON result."""
        raise NotImplementedError

    def add_cookie(self, name: str, value: str, url: str, same_site: str = "Lax") -> None:
        """Store a cookie for ``url``'s host (path ``/``) in this tab's cookie jar."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Engine:
    """A running browser (base class)."""

    name = ""

    def __init__(self) -> None:
        self.version = "unknown"
        self.host_names: tuple[str, ...] = ()

    def new_tab(self) -> Tab:
        raise NotImplementedError

    def open(self, url: str) -> Tab:
        """A new tab showing ``url``; a session that fails to start or to load it
        is closed and a fresh one tried (``OPEN_ATTEMPTS`` in all)."""
        failures: list[str] = []
        while True:
            tab: Tab | None = None
            try:
                tab = self.new_tab()
                tab.goto(url)
            except EngineError as exc:
                if tab is not None:
                    with contextlib.suppress(EngineError, OSError):
                        tab.close()
                failures.append(str(exc))
                if len(failures) == OPEN_ATTEMPTS:
                    raise
                continue
            # Kept where a failing test's explanation shows it.
            tab.console.extend(f"[driver] a discarded session: {f}" for f in failures)
            return tab

    def spawn(self, env: dict[str, str]) -> Engine:
        """Start another, independent instance of this engine with ``env`` added."""
        return start_engine(self.name, self.host_names, env)

    def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------
# Chromium (Playwright)
# --------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    # Fetch: "Access-Control-Allow-Headers: *" does not cover Authorization.
    # Chromium 156 still ships that behind this feature (off by default); the
    # suite enables it so that one engine checks the package against the
    # standard's stricter rule (test_engine_differences.py shows both sides).
    "--enable-features=CorsNonWildcardRequestHeadersSupport",
]


class ChromiumTab(Tab):
    engine = "chromium"

    def __init__(self, browser: Any) -> None:
        super().__init__()
        self.context = browser.new_context()
        self.context.set_default_timeout(PAGE_TIMEOUT_S * 1000)
        self.context.set_default_navigation_timeout(PAGE_TIMEOUT_S * 1000)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda exc: self.console.append(f"[pageerror] {exc}"))

    def goto(self, url: str) -> None:
        self.page.goto(url, wait_until="load")

    def call(self, function: str, arg: Any = None, timeout: float = COMMAND_TIMEOUT_S) -> Any:
        return json.loads(self.page.evaluate(_json_call(function), json.dumps(arg)) or "null")

    def add_cookie(self, name: str, value: str, url: str, same_site: str = "Lax") -> None:
        cookie = {"name": name, "value": value, "url": url, "sameSite": same_site}
        self.context.add_cookies([cookie])

    def close(self) -> None:
        self.context.close()


class ChromiumEngine(Engine):
    name = "chromium"

    def __init__(
        self,
        host_names: Sequence[str],
        env: dict[str, str] | None = None,
        playwright: Any = None,
        args: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.host_names = tuple(host_names)
        self._extra_env = dict(env or {})
        from playwright.sync_api import sync_playwright

        self._scratch = tempfile.mkdtemp(prefix="aiohttp-cors-chromium-")
        # One sync Playwright per thread: a spawned instance shares its parent's.
        self._owns_playwright = playwright is None
        self._playwright = sync_playwright().start() if playwright is None else playwright
        playwright = self._playwright
        try:
            rules = ", ".join(f"MAP {host} 127.0.0.1" for host in host_names)
            self.browser = playwright.chromium.launch(
                executable_path=CHROMIUM_PATH,
                args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}", *args],
                timeout=LAUNCH_TIMEOUT_S * 1000,
                downloads_path=self._scratch,
                env={
                    **os.environ,
                    "HOME": self._scratch,
                    "XDG_CONFIG_HOME": self._scratch,
                    **self._extra_env,
                },
            )
            self.version = self.browser.version
        except BaseException:
            if self._owns_playwright:
                self._playwright.stop()
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    def new_tab(self) -> ChromiumTab:
        return ChromiumTab(self.browser)

    def spawn(self, env: dict[str, str]) -> ChromiumEngine:
        return ChromiumEngine(self.host_names, env, playwright=self._playwright)

    def spawn_with_args(self, args: Sequence[str]) -> ChromiumEngine:
        """Another instance with extra command-line switches."""
        return ChromiumEngine(self.host_names, None, playwright=self._playwright, args=args)

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            if self._owns_playwright:
                self._playwright.stop()
            shutil.rmtree(self._scratch, ignore_errors=True)


# --------------------------------------------------------------------------
# Firefox ESR (WebDriver BiDi)
# --------------------------------------------------------------------------


def firefox_prefs(host_names: Sequence[str]) -> dict[str, Any]:
    """The user.js of the throw-away profile."""
    return {
        # The suite's host names resolve to loopback.
        "network.dns.localDomains": ",".join(host_names),
        "network.proxy.type": 0,
        # Plain-http origins are the point of the suite: no HTTPS-First upgrade attempts.
        "dom.security.https_first": False,
        "dom.security.https_first_schemeless": False,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.reportingpolicy.firstRun": False,
        "browser.startup.page": 0,
        "browser.startup.homepage": "about:blank",
        "browser.newtabpage.enabled": False,
    }


class FirefoxTab(Tab):
    engine = "firefox"

    def __init__(self, engine: FirefoxEngine) -> None:
        super().__init__()
        self._engine = engine
        self.user_context = engine.command("browser.createUserContext", {})["userContext"]
        try:
            created = engine.command(
                "browsingContext.create", {"type": "tab", "userContext": self.user_context}
            )
        except BaseException:
            engine.command("browser.removeUserContext", {"userContext": self.user_context})
            raise
        self.context = created["context"]
        engine.consoles[self.context] = self.console

    def goto(self, url: str) -> None:
        self._engine.command(
            "browsingContext.navigate",
            {"context": self.context, "url": url, "wait": "complete"},
            timeout=PAGE_TIMEOUT_S,
        )

    def call(self, function: str, arg: Any = None, timeout: float = COMMAND_TIMEOUT_S) -> Any:
        answer = self._engine.command(
            "script.callFunction",
            {
                "functionDeclaration": _json_call(function),
                "arguments": [{"type": "string", "value": json.dumps(arg)}],
                "target": {"context": self.context},
                "awaitPromise": True,
            },
            timeout=timeout,
        )
        if answer.get("type") == "exception":
            details = answer.get("exceptionDetails", {})
            raise ScriptError(f"script threw: {details.get('text')}")
        result = answer.get("result", {})
        return json.loads(result["value"]) if result.get("type") == "string" else None

    def add_cookie(self, name: str, value: str, url: str, same_site: str = "Lax") -> None:
        host = urllib.parse.urlsplit(url).hostname
        self._engine.command(
            "storage.setCookie",
            {
                "cookie": {
                    "name": name,
                    "value": {"type": "string", "value": value},
                    "domain": host,
                    "path": "/",
                    "sameSite": same_site.lower(),
                    "httpOnly": False,
                    "secure": False,
                },
                "partition": {"type": "storageKey", "userContext": self.user_context},
            },
        )

    def close(self) -> None:
        self._engine.consoles.pop(self.context, None)
        try:
            self._engine.command("browsingContext.close", {"context": self.context})
        finally:
            self._engine.command("browser.removeUserContext", {"userContext": self.user_context})


class FirefoxEngine(Engine):
    name = "firefox"

    def __init__(self, host_names: Sequence[str], env: dict[str, str] | None = None) -> None:
        super().__init__()
        self.host_names = tuple(host_names)
        self._extra_env = dict(env or {})
        self._scratch = tempfile.mkdtemp(prefix="aiohttp-cors-firefox-")
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.consoles: dict[str, list[str]] = {}
        self._stderr_tail: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._background: BackgroundLoop | None = None
        self._session: Any = None
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        try:
            self._start(host_names)
        except BaseException:
            self.close()
            raise

    def _start(self, host_names: Sequence[str]) -> None:
        profile = os.path.join(self._scratch, "profile")
        os.mkdir(profile)
        with open(os.path.join(profile, "user.js"), "w") as file:
            for key, value in firefox_prefs(host_names).items():
                file.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
        env = {
            **os.environ,
            "HOME": self._scratch,
            "XDG_CONFIG_HOME": self._scratch,
            "XDG_CACHE_HOME": self._scratch,
            "MOZ_CRASHREPORTER_DISABLE": "1",
            **self._extra_env,
        }
        env.pop("DISPLAY", None)
        self._process = subprocess.Popen(
            [
                FIREFOX_PATH,
                "--headless",
                "--no-remote",
                "--profile",
                profile,
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(
            target=self._drain_stderr, args=(self._process, lines), daemon=True
        ).start()
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        ws_url = None
        while ws_url is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None or time.monotonic() > deadline:
                raise EngineError(
                    "Firefox did not start its WebDriver BiDi server:\n"
                    + "".join(self._stderr_tail[-20:])
                )
            found = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
            if found:
                ws_url = found.group(1)
        self._background = BackgroundLoop()
        self._background.call(self._connect(ws_url + "/session"))
        capabilities = self.command("session.new", {"capabilities": {}})["capabilities"]
        self.version = str(capabilities.get("browserVersion", "unknown"))
        self.command("session.subscribe", {"events": ["log.entryAdded"]})

    def _drain_stderr(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._stderr_tail.append(line)
            del self._stderr_tail[:-50]
            lines.put(line)
        lines.put(None)

    async def _connect(self, url: str) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                future = self._pending.pop(data["id"])
                if not future.done():
                    future.set_result(data)
            elif data.get("method") == "log.entryAdded":
                params = data.get("params", {})
                console = self.consoles.get(params.get("source", {}).get("context", ""))
                if console is not None:
                    console.append(f"[{params.get('level')}] {params.get('text')}")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(EngineError("the BiDi connection closed"))

    async def _send(self, method: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        await self._ws.send_str(json.dumps({"id": command_id, "method": method, "params": params}))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(command_id, None)

    def command(
        self, method: str, params: dict[str, Any], timeout: float = COMMAND_TIMEOUT_S
    ) -> dict[str, Any]:
        """Send one BiDi command and return its result (raises on an error answer)."""
        assert self._background is not None
        answer = self._background.call(self._send(method, params, timeout), timeout + 5)
        if answer.get("type") == "error":
            raise EngineError(f"{method}: {answer.get('error')}: {answer.get('message')}")
        result: dict[str, Any] = answer["result"]
        return result

    def new_tab(self) -> FirefoxTab:
        return FirefoxTab(self)

    async def _disconnect(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)
        if self._session is not None:
            await self._session.close()

    def close(self) -> None:
        try:
            if self._background is not None:
                if self._ws is not None and not self._ws.closed:
                    # The process is stopped below if this fails.
                    with contextlib.suppress(Exception):
                        self.command("browser.close", {}, timeout=10)
                self._background.call(self._disconnect(), 15)
        finally:
            if self._background is not None:
                self._background.close()
            if self._process is not None:
                try:
                    self._process.wait(15)
                except subprocess.TimeoutExpired:
                    _stop_process(self._process)
            shutil.rmtree(self._scratch, ignore_errors=True)


# --------------------------------------------------------------------------
# WebKitGTK (WebKitWebDriver + MiniBrowser under Xvfb)
# --------------------------------------------------------------------------


class WebKitTab(Tab):
    """One WebDriver session: its own MiniBrowser with an ephemeral cookie jar."""

    engine = "webkit"

    def __init__(self, engine: WebKitEngine) -> None:
        super().__init__()
        self.console_available = False  # classic WebDriver has no console log
        self._engine = engine
        answer = engine.request(
            "POST",
            "/session",
            {"capabilities": {"alwaysMatch": {WEBKIT_OPTIONS: {"args": ["--automation"]}}}},
            timeout=LAUNCH_TIMEOUT_S,
        )
        self.session = answer["sessionId"]
        engine.version = str(answer.get("capabilities", {}).get("browserVersion", engine.version))
        self.url = "about:blank"
        self._request(
            "POST",
            "/timeouts",
            {"script": int(COMMAND_TIMEOUT_S * 1000), "pageLoad": int(PAGE_TIMEOUT_S * 1000)},
        )

    def _request(
        self, method: str, path: str, body: Any = None, timeout: float = COMMAND_TIMEOUT_S
    ) -> Any:
        return self._engine.request(method, f"/session/{self.session}{path}", body, timeout)

    def goto(self, url: str) -> None:
        # WebKitWebDriver reports no error when a load fails: the tab then
        # shows an error page with an opaque origin, and a fetch from it would
        # say "Origin: null".  So check the origin, and load again (bounded).
        parts = urllib.parse.urlsplit(url)
        expected = f"{parts.scheme}://{parts.netloc}"
        seen = None
        for _ in range(NAVIGATION_ATTEMPTS):
            self._request("POST", "/url", {"url": url}, timeout=PAGE_TIMEOUT_S + 5)
            self.url = url
            seen = self.call("async () => location.origin")
            if seen == expected:
                return
            self.console.append(f"[driver] loading {url} gave origin {seen!r}; loading again")
        raise EngineError(f"WebKit did not load {url} (origin {seen!r})")

    def call(self, function: str, arg: Any = None, timeout: float = COMMAND_TIMEOUT_S) -> Any:
        script = (
            "const done = arguments[arguments.length - 1];"
            f"({_json_call(function)})(arguments[0]).then("
            "  (value) => done({value}),"
            "  (error) => done({error: String(error && error.stack || error)}));"
        )
        answer = self._request(
            "POST", "/execute/async", {"script": script, "args": [json.dumps(arg)]}, timeout + 5
        )
        if "error" in answer:
            raise ScriptError(f"script threw: {answer['error']}")
        value = answer.get("value")
        return json.loads(value) if isinstance(value, str) else None

    def add_cookie(self, name: str, value: str, url: str, same_site: str = "Lax") -> None:
        # Classic WebDriver adds cookies to the current document's host only.
        back = self.url
        self.goto(url)
        self._request(
            "POST",
            "/cookie",
            {"cookie": {"name": name, "value": value, "path": "/", "sameSite": same_site}},
        )
        self.goto(back)

    def close(self) -> None:
        self._engine.request("DELETE", f"/session/{self.session}", None, COMMAND_TIMEOUT_S)


class WebKitEngine(Engine):
    name = "webkit"

    def __init__(self, host_names: Sequence[str], env: dict[str, str] | None = None) -> None:
        super().__init__()
        self.host_names = tuple(host_names)
        self._extra_env = dict(env or {})
        self._scratch = tempfile.mkdtemp(prefix="aiohttp-cors-webkit-")
        self._xvfb: subprocess.Popen[bytes] | None = None
        self._driver: subprocess.Popen[bytes] | None = None
        self._log_path = os.path.join(self._scratch, "driver.log")
        try:
            self._start(host_names)
        except BaseException:
            self.close()
            raise

    def _start(self, host_names: Sequence[str]) -> None:
        hosts_file = os.path.join(self._scratch, "hosts")
        with open(hosts_file, "w") as file:
            file.write(f"127.0.0.1 localhost {' '.join(host_names)}\n")
        # Xvfb picks a free display itself and writes its number to a pipe.
        read_fd, write_fd = os.pipe()
        try:
            self._xvfb = subprocess.Popen(
                [
                    XVFB_PATH,
                    "-displayfd",
                    str(write_fd),
                    "-noreset",
                    "-nolisten",
                    "tcp",
                    "-screen",
                    "0",
                    "1280x1024x24",
                ],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.close(write_fd)
            write_fd = -1
            display = self._read_display(read_fd)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        self.port = _free_port()
        nss_wrapper = _nss_wrapper()
        assert nss_wrapper is not None
        env = {
            **os.environ,
            "DISPLAY": f":{display}",
            "HOME": self._scratch,
            "XDG_CONFIG_HOME": self._scratch,
            "XDG_CACHE_HOME": self._scratch,
            "XDG_DATA_HOME": self._scratch,
            "XDG_RUNTIME_DIR": self._scratch,
            "LD_PRELOAD": nss_wrapper,
            "NSS_WRAPPER_HOSTS": hosts_file,
            "NO_AT_BRIDGE": "1",
            **self._extra_env,
        }
        # nss_wrapper stays preloaded next to whatever the caller preloads.
        env["LD_PRELOAD"] = " ".join(filter(None, [nss_wrapper, self._extra_env.get("LD_PRELOAD")]))
        # The driver's and the browser's own output: the only account of an
        # "unknown error" answer, which WebKitWebDriver sends with no message.
        with open(self._log_path, "wb") as log:
            self._driver = subprocess.Popen(
                [WEBKIT_DRIVER_PATH, f"--port={self.port}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        while True:
            try:
                self.request("GET", "/status", None, timeout=5)
                break
            except (OSError, EngineError):
                if time.monotonic() > deadline or self._driver.poll() is not None:
                    raise EngineError("WebKitWebDriver did not start") from None
                time.sleep(0.1)

    def _read_display(self, read_fd: int) -> str:
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        data = b""
        os.set_blocking(read_fd, False)
        while not data.endswith(b"\n"):
            if time.monotonic() > deadline or (self._xvfb and self._xvfb.poll() is not None):
                raise EngineError("Xvfb did not report its display")
            try:
                chunk = os.read(read_fd, 16)
            except BlockingIOError:
                time.sleep(0.05)
                continue
            if not chunk:
                raise EngineError("Xvfb closed its display pipe")
            data += chunk
        return data.decode().strip()

    def request(self, method: str, path: str, body: Any, timeout: float) -> Any:
        """One W3C WebDriver command; returns its ``value`` (raises on an error answer)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        log_start = self._log_size()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")[:2000]
            raise EngineError(
                f"WebDriver {method} {path}: HTTP {exc.code}: {text}{self._log_since(log_start)}"
            ) from None
        return answer.get("value")

    def _log_size(self) -> int:
        try:
            return os.path.getsize(self._log_path)
        except OSError:
            return 0

    def _log_since(self, start: int) -> str:
        """What the driver and the browser wrote during one command (at most 4 kB)."""
        try:
            with open(self._log_path, "rb") as log:
                log.seek(start)
                text = log.read(4000).decode(errors="replace").strip()
        except OSError:
            return ""
        return f"\n[driver log]\n{text}" if text else ""

    def new_tab(self) -> WebKitTab:
        return WebKitTab(self)

    def close(self) -> None:
        try:
            _stop_process(self._driver)
        finally:
            _stop_process(self._xvfb)
            shutil.rmtree(self._scratch, ignore_errors=True)


def start_engine(name: str, host_names: Sequence[str], env: dict[str, str] | None = None) -> Engine:
    """Start engine ``name`` with ``host_names`` resolving to 127.0.0.1.

    ``env`` adds environment variables for the browser's processes.
    """
    if name == "chromium":
        return ChromiumEngine(host_names, env)
    if name == "firefox":
        return FirefoxEngine(host_names, env)
    if name == "webkit":
        return WebKitEngine(host_names, env)
    raise ValueError(f"unknown engine {name!r}")
