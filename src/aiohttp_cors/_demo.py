"""The applications behind ``python -m aiohttp_cors demo``.

Two aiohttp applications run in one process, on two different origins:

* the **API** (``http://127.0.0.1:8081`` by default) uses aiohttp_cors, with a
  few routes configured in different ways (allowed origin, other origin only,
  ``"*"``, credentials, custom request headers, ``allow_methods``, exposed
  headers, errors, a redirect, a streamed response);
* the **page** (``http://localhost:8080`` by default) serves one HTML document
  whose inline script runs a matrix of cross-origin requests against the API
  *in the visitor's own browser* and shows, for each one, what was asked, what
  the API answered, what was expected and what the browser allowed.

A page cannot read another origin's response headers itself, so the API
records the CORS headers of its recent responses, per ``?id=`` query value,
in an ``on_response_prepare`` hook registered *after* :func:`aiohttp_cors.setup`
(so it sees the headers the package added) and serves them back to the page
from ``/_debug/log?id=...``.

:data:`DEMO_CASES` is the single source of truth for the matrix: the page
receives it as JSON, and the browser test suite checks that every case's
actual outcome equals its expected outcome.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import secrets
import socket
import warnings
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from aiohttp import web

from ._errors import CorsSecurityWarning
from .cors_config import setup
from .resource_options import ResourceOptions

__all__ = [
    "DEMO_CASES",
    "DebugLog",
    "DemoCase",
    "DemoError",
    "DemoServers",
    "build_api_app",
    "build_page_app",
    "describe_configs",
    "render_page",
    "start_demo",
]

logger = logging.getLogger("aiohttp_cors.demo")

#: An origin that no browser will ever be on: routes configured only for it
#: refuse the demo page.
TRUSTED_ELSEWHERE = "https://trusted.example"

#: Name of the cookie set by ``/login`` and looked for by ``/whoami``.
SESSION_COOKIE = "demo_session"

DEBUG_LOG_PATH = "/_debug/log"

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class DemoError(RuntimeError):
    """Raised on purpose by ``/boom`` to show that a 500 stays readable."""


@dataclass(frozen=True)
class DemoCase:
    """One cross-origin request of the demo matrix and what should happen to it.

    ``expect_allowed`` says whether the browser should let the page read the
    response; when it should, ``expect_status``, ``expect_body`` (a substring)
    and ``expect_headers`` (header name -> value the page reads, ``None`` for a
    header the page must not see) are checked too.
    """

    key: str
    title: str
    method: str
    path: str
    expect_allowed: bool
    why: str
    headers: tuple[tuple[str, str], ...] = ()
    credentials: str = "same-origin"
    body: str | None = None
    expect_status: int | None = None
    expect_body: str | None = None
    expect_headers: tuple[tuple[str, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The case as the page's script consumes it."""
        return {
            "key": self.key,
            "title": self.title,
            "method": self.method,
            "path": self.path,
            "expect_allowed": self.expect_allowed,
            "why": self.why,
            "headers": [list(pair) for pair in self.headers],
            "credentials": self.credentials,
            "body": self.body,
            "expect_status": self.expect_status,
            "expect_body": self.expect_body,
            "expect_headers": [list(pair) for pair in self.expect_headers],
        }


_TOKEN = (("X-Token", "demo-token"),)

#: The matrix the demo page runs, in order (``login`` must precede ``whoami``).
DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase(
        key="login",
        title="Sign in (the API sets a cookie)",
        method="GET",
        path="/login",
        credentials="include",
        expect_allowed=True,
        expect_status=200,
        expect_body="signed in",
        why="allow_credentials=True for this origin; the response sets a cookie",
    ),
    DemoCase(
        key="simple-allowed",
        title="Simple GET, origin allowed",
        method="GET",
        path="/hello",
        expect_allowed=True,
        expect_status=200,
        expect_body="Hello",
        why="the page's origin is configured for /hello",
    ),
    DemoCase(
        key="simple-denied",
        title="Simple GET, origin not configured",
        method="GET",
        path="/private",
        expect_allowed=False,
        why=f"/private is configured for {TRUSTED_ELSEWHERE} only",
    ),
    DemoCase(
        key="wildcard",
        title='Simple GET, any origin ("*")',
        method="GET",
        path="/public",
        expect_allowed=True,
        expect_status=200,
        expect_body="public",
        why='/public is configured for "*"',
    ),
    DemoCase(
        key="credentials-allowed",
        title="Credentialed GET, credentials allowed",
        method="GET",
        path="/whoami",
        credentials="include",
        expect_allowed=True,
        expect_status=200,
        expect_body="cookie",
        why="allow_credentials=True: the cookie from the sign-in row is sent and readable",
    ),
    DemoCase(
        key="credentials-denied",
        title="Credentialed GET, credentials not allowed",
        method="GET",
        path="/no-credentials",
        credentials="include",
        expect_allowed=False,
        why="allow_credentials=False: no Access-Control-Allow-Credentials",
    ),
    DemoCase(
        key="put-allowed",
        title="Preflighted PUT with X-Token",
        method="PUT",
        path="/items",
        headers=_TOKEN,
        body="new item",
        expect_allowed=True,
        expect_status=200,
        expect_body="PUT",
        why='allow_headers=("X-Token",) on the PUT route',
    ),
    DemoCase(
        key="delete-allowed",
        title="Preflighted DELETE with X-Token",
        method="DELETE",
        path="/items",
        headers=_TOKEN,
        expect_allowed=True,
        expect_status=200,
        expect_body="DELETE",
        why='allow_headers=("X-Token",) on the DELETE route',
    ),
    DemoCase(
        key="patch-allowed",
        title="Preflighted PATCH with X-Token",
        method="PATCH",
        path="/items",
        headers=_TOKEN,
        body="changes",
        expect_allowed=True,
        expect_status=200,
        expect_body="PATCH",
        why='allow_headers=("X-Token",) on the PATCH route',
    ),
    DemoCase(
        key="preflight-origin-refused",
        title="Preflighted PUT, origin not allowed",
        method="PUT",
        path="/locked",
        headers=_TOKEN,
        body="new item",
        expect_allowed=False,
        why=f"/locked is configured for {TRUSTED_ELSEWHERE} only: the preflight fails",
    ),
    DemoCase(
        key="preflight-method-refused",
        title="Preflighted PATCH, method not allowed",
        method="PATCH",
        path="/limited",
        headers=_TOKEN,
        body="changes",
        expect_allowed=False,
        why='/limited has allow_methods=("GET", "PUT"): the preflight fails',
    ),
    DemoCase(
        key="preflight-header-refused",
        title="Preflighted PUT, header not allowed",
        method="PUT",
        path="/items",
        headers=(*_TOKEN, ("X-Unlisted", "1")),
        body="new item",
        expect_allowed=False,
        why="X-Unlisted is not in allow_headers: the preflight fails",
    ),
    DemoCase(
        key="header-exposed",
        title="Exposed response header",
        method="GET",
        path="/headers",
        expect_allowed=True,
        expect_status=200,
        expect_headers=(("X-Exposed", "visible"),),
        why='expose_headers=("X-Exposed",)',
    ),
    DemoCase(
        key="header-hidden",
        title="Unexposed response header",
        method="GET",
        path="/headers",
        expect_allowed=True,
        expect_status=200,
        expect_headers=(("X-Hidden", None),),
        why="X-Hidden is sent but not exposed: the page reads null",
    ),
    DemoCase(
        key="error-404",
        title="404 body",
        method="GET",
        path="/missing",
        expect_allowed=True,
        expect_status=404,
        expect_body="no such item",
        why="error responses of a CORS-enabled route carry CORS headers too",
    ),
    DemoCase(
        key="error-500",
        title="500 body (handler raised an exception)",
        method="GET",
        path="/boom",
        expect_allowed=True,
        expect_status=500,
        expect_body="Internal Server Error",
        why="even an unhandled exception's 500 stays readable",
    ),
    DemoCase(
        key="redirect",
        title="302 redirect to another CORS route",
        method="GET",
        path="/redirect",
        expect_allowed=True,
        expect_status=200,
        expect_body="Hello",
        why="both the redirect and its target are CORS-enabled",
    ),
    DemoCase(
        key="stream",
        title="Streamed response",
        method="GET",
        path="/stream",
        expect_allowed=True,
        expect_status=200,
        expect_body="chunk 5 of 5",
        why="CORS headers are added before a StreamResponse is prepared",
    ),
    DemoCase(
        key="authorization",
        title='Authorization header with allow_headers="*"',
        method="GET",
        path="/bearer",
        headers=(("Authorization", "Bearer demo-token"),),
        expect_allowed=True,
        expect_status=200,
        expect_body="Bearer demo-token",
        why='"*" does not cover Authorization in browsers: the API names it explicitly',
    ),
)


class DebugLog:
    """The CORS headers of the API's last responses, grouped by ``?id=``.

    Keeps at most ``max_ids`` ids (oldest forgotten first) and at most
    ``per_id`` responses per id.
    """

    def __init__(self, max_ids: int = 256, per_id: int = 8) -> None:
        """Create an empty log with the given bounds."""
        self._entries: OrderedDict[str, deque[dict[str, Any]]] = OrderedDict()
        self._max_ids = max_ids
        self._per_id = per_id

    def record(self, request_id: str, entry: dict[str, Any]) -> None:
        """Remember ``entry`` under ``request_id``."""
        entries = self._entries.get(request_id)
        if entries is None:
            entries = self._entries[request_id] = deque(maxlen=self._per_id)
            while len(self._entries) > self._max_ids:
                self._entries.popitem(last=False)
        entries.append(entry)

    def get(self, request_id: str) -> list[dict[str, Any]]:
        """Everything recorded under ``request_id``, oldest first."""
        return list(self._entries.get(request_id, ()))


DEBUG_LOG_KEY = web.AppKey("aiohttp_cors_demo_debug_log", DebugLog)

_LOGGED_REQUEST_HEADERS = (
    "Origin",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
)


def _is_cors_response_header(name: str) -> bool:
    """Whether a response header belongs in the debug log."""
    lower = name.lower()
    return lower.startswith("access-control-") or lower == "vary"


async def _record_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: log the CORS headers of responses with an ``id``."""
    request_id = request.query.get("id")
    if request_id is None or request.path == DEBUG_LOG_PATH:
        return
    request_headers = {
        name: request.headers[name] for name in _LOGGED_REQUEST_HEADERS if name in request.headers
    }
    if "Cookie" in request.headers:
        request_headers["Cookie"] = "(sent)"
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "status": response.status,
        "request": request_headers,
        "response": {k: v for k, v in response.headers.items() if _is_cors_response_header(k)},
    }
    refused_preflight = request.method == "OPTIONS" and response.status == 403
    if refused_preflight and isinstance(response, web.Response):
        # The browser hides a refused preflight's body from the page; the server's
        # reason is what a developer needs to fix the configuration.
        entry["reason"] = (response.text or "")[:300]
    request.app[DEBUG_LOG_KEY].record(request_id[:100], entry)


def _text(text: str) -> _Handler:
    """A handler answering ``text``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        """Answer the fixed text."""
        return web.Response(text=text)

    return handler


async def _debug_log(request: web.Request) -> web.StreamResponse:
    """``/_debug/log?id=...``: the CORS headers recorded for that id, as JSON."""
    request_id = request.query.get("id", "")
    return web.json_response(request.app[DEBUG_LOG_KEY].get(request_id))


async def _login(request: web.Request) -> web.StreamResponse:
    """``/login``: set the session cookie the credentialed rows send back."""
    response = web.Response(text="signed in: the API set a session cookie")
    # SameSite=None + Secure + Partitioned (CHIPS): the only kind of cookie a
    # cross-site API can still set from a fetch() in browsers that block
    # third-party cookies.  Browsers accept Secure over http on loopback.
    response.headers.add(
        "Set-Cookie",
        f"{SESSION_COOKIE}={secrets.token_hex(8)}; Path=/; HttpOnly; "
        "SameSite=None; Secure; Partitioned",
    )
    return response


async def _whoami(request: web.Request) -> web.StreamResponse:
    """``/whoami``: say whether the session cookie arrived."""
    session = request.cookies.get(SESSION_COOKIE)
    if session is None:
        text = "no session cookie arrived (your browser may block this third-party cookie)"
    else:
        text = f"session cookie arrived: {SESSION_COOKIE}={session[:4]}…"
    return web.Response(text=text)


async def _echo_method(request: web.Request) -> web.StreamResponse:
    """Echo the method, the ``X-Token`` header and the body."""
    body = await request.text()
    token = request.headers.get("X-Token", "-")
    return web.Response(text=f"{request.method} done (X-Token: {token}, body: {body!r})")


async def _headers(request: web.Request) -> web.StreamResponse:
    """``/headers``: one exposed and one unexposed custom header."""
    return web.Response(
        text="two custom headers in this response",
        headers={"X-Exposed": "visible", "X-Hidden": "secret"},
    )


async def _missing(request: web.Request) -> web.StreamResponse:
    """``/missing``: a 404 returned by the handler."""
    return web.Response(status=404, text="no such item: 404 returned by the handler")


async def _boom(request: web.Request) -> web.StreamResponse:
    """``/boom``: an unhandled exception, which aiohttp turns into a 500."""
    logger.info("/boom raises an exception on purpose: aiohttp answers 500")
    raise DemoError("raised on purpose by the demo's /boom route")


class _DropDemoErrors(logging.Filter):
    """Keep the intentional :class:`DemoError` tracebacks out of the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop records carrying a :class:`DemoError`."""
        exc_info = record.exc_info
        return not (exc_info and exc_info[0] is not None and issubclass(exc_info[0], DemoError))


def _quiet_demo_errors() -> None:
    """Install :class:`_DropDemoErrors` on aiohttp's server logger (once)."""
    server_logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _DropDemoErrors) for f in server_logger.filters):
        server_logger.addFilter(_DropDemoErrors())


async def _redirect(request: web.Request) -> web.StreamResponse:
    """``/redirect``: 302 to ``/hello``, keeping the query (and so the row id)."""
    target = request.app.router["hello"].url_for().with_query(request.query)
    raise web.HTTPFound(location=target)


async def _stream(request: web.Request) -> web.StreamResponse:
    """``/stream``: a ``StreamResponse`` written in five chunks."""
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    await response.prepare(request)
    for number in range(1, 6):
        await response.write(f"chunk {number} of 5\n".encode())
        await asyncio.sleep(0.05)
    await response.write_eof()
    return response


async def _bearer(request: web.Request) -> web.StreamResponse:
    """``/bearer``: echo the ``Authorization`` header."""
    authorization = request.headers.get("Authorization", "(none)")
    return web.Response(text=f"Authorization received: {authorization}")


def _api_root(page_origin: str) -> _Handler:
    """``/`` of the API: say what this origin is and where the page is (not a bare 404)."""
    text = (
        "This is the API of the aiohttp-cors demo. Its routes are called cross-origin by the "
        f"demo page: open {page_origin}/ in your browser.\n"
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        """The pointer to the page."""
        return web.Response(text=text)

    return handler


def build_api_app(page_origin: str) -> web.Application:
    """The API application, allowing ``page_origin`` in the ways the matrix expects."""
    app = web.Application()
    app[DEBUG_LOG_KEY] = DebugLog()
    app.router.add_get("/", _api_root(page_origin))  # not CORS-enabled: for people, not pages
    page = page_origin
    # The demo runs on plain http: silence the (correct) warning that http
    # origins with credentials can be impersonated on a hostile network.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorsSecurityWarning)
        cors = setup(app)
        router = app.router

        cors.add(router.add_get(DEBUG_LOG_PATH, _debug_log), {page: ResourceOptions()})
        cors.add(router.add_get("/login", _login), {page: ResourceOptions(allow_credentials=True)})
        cors.add(
            router.add_get("/hello", _text("Hello from the API!"), name="hello"),
            {page: ResourceOptions()},
        )
        cors.add(
            router.add_get("/private", _text("private data")),
            {TRUSTED_ELSEWHERE: ResourceOptions()},
        )
        cors.add(router.add_get("/public", _text("public data")), {"*": ResourceOptions()})
        cors.add(
            router.add_get("/whoami", _whoami), {page: ResourceOptions(allow_credentials=True)}
        )
        cors.add(
            router.add_get("/no-credentials", _whoami),
            {page: ResourceOptions(allow_credentials=False)},
        )

        items = router.add_resource("/items")
        for method in ("PUT", "DELETE", "PATCH"):
            cors.add(
                items.add_route(method, _echo_method),
                {page: ResourceOptions(allow_headers=("X-Token",))},
            )
        locked = router.add_resource("/locked")
        cors.add(
            locked.add_route("PUT", _echo_method),
            {TRUSTED_ELSEWHERE: ResourceOptions(allow_headers=("X-Token",))},
        )
        limited = router.add_resource("/limited")
        cors.add(
            limited,
            {page: ResourceOptions(allow_methods=("GET", "PUT"), allow_headers=("X-Token",))},
        )
        for method in ("GET", "PUT", "PATCH"):
            limited.add_route(method, _echo_method)

        cors.add(
            router.add_get("/headers", _headers),
            {page: ResourceOptions(expose_headers=("X-Exposed",))},
        )
        cors.add(router.add_get("/missing", _missing), {page: ResourceOptions()})
        cors.add(router.add_get("/boom", _boom), {page: ResourceOptions()})
        cors.add(router.add_get("/redirect", _redirect), {page: ResourceOptions()})
        cors.add(router.add_get("/stream", _stream), {page: ResourceOptions()})
        cors.add(router.add_get("/bearer", _bearer), {page: ResourceOptions(allow_headers="*")})

    # Registered after setup(): the package's own hook has run by then.
    app.on_response_prepare.append(_record_cors_headers)
    return app


def _options_source(options: ResourceOptions) -> str:
    """``ResourceOptions(...)`` as Python source, with the fields that differ from the defaults."""
    defaults = ResourceOptions()._arguments()
    arguments = options._arguments().items()
    changed = [f"{name}={value!r}" for name, value in arguments if value != defaults[name]]
    return f"ResourceOptions({', '.join(changed)})"


def describe_configs(api_app: web.Application) -> dict[str, str]:
    """The configuration answering each route of the API, as the Python that sets it.

    Keyed by ``"METHOD /path"``; read from the running configuration, so the page
    shows what the API really uses.
    """
    from .cors_config import APP_CONFIG_KEY

    routing = api_app[APP_CONFIG_KEY]._router_adapter.routing
    described: dict[str, str] = {}
    for resource, entry in routing.entries.items():
        path = resource.canonical
        for route in resource:
            config = entry.method_config.get(route.method, entry.default_config)
            items = ", ".join(
                f"{key!r}: {_options_source(options)}" for key, options in config.items()
            )
            what = "route" if route.method in entry.method_config else "resource"
            described[f"{route.method} {path}"] = f"cors.add({what}, {{{items}}})"
    return described


def _page_template() -> str:
    """The demo page's HTML template, shipped as package data."""
    return (
        resources.files(__package__ or "aiohttp_cors")
        .joinpath("_demo_page.html")
        .read_text(encoding="utf-8")
    )


def render_page(
    api_origin: str,
    cases: tuple[DemoCase, ...] = DEMO_CASES,
    *,
    page_origin: str | None = None,
    configs: dict[str, str] | None = None,
) -> str:
    """The demo page's HTML with its configuration embedded as JSON.

    ``page_origin`` is the origin the API allows: the page warns when it is
    opened on another one (every request would fail). ``configs`` is
    :func:`describe_configs`'s answer, shown under each row.
    """
    config = {
        "api": api_origin,
        "page": page_origin,
        "configs": configs or {},
        "cases": [case.to_json() for case in cases],
    }
    # Safe inside <script type="application/json">: no "<", ">" or "&" left.
    payload = (
        json.dumps(config, ensure_ascii=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return _page_template().replace("__DEMO_CONFIG__", payload)


def build_page_app(
    api_origin: str, *, page_origin: str | None = None, configs: dict[str, str] | None = None
) -> web.Application:
    """The page application: one HTML document that runs the matrix against ``api_origin``."""
    html = render_page(api_origin, page_origin=page_origin, configs=configs)

    async def index(request: web.Request) -> web.StreamResponse:
        """The page."""
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    async def no_favicon(request: web.Request) -> web.StreamResponse:
        """No favicon (avoids a 404 in the browser console)."""
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", no_favicon)
    return app


def _origin(host: str, port: int) -> str:
    """The http origin of ``host:port`` (unspecified addresses become loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def _listen_or_explain(host: str, port: int, server: str, option: str) -> socket.socket:
    """:func:`_listen`, with the command-line option to use when the port is taken."""
    try:
        return _listen(host, port)
    except OSError as exc:
        hint = f"choose another port with {option} (0 picks a free one)"
        if exc.errno == errno.EADDRINUSE:
            message = f"port {port} on {host} is already in use: the {server} server cannot start"
        else:
            message = f"the {server} server cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise OSError(exc.errno, f"{message}. Hint: {hint}.") from exc


@dataclass
class DemoServers:
    """The running demo: both origins and the runners to clean up."""

    page_origin: str
    api_origin: str
    runners: list[web.AppRunner] = field(default_factory=list)

    @property
    def page_url(self) -> str:
        """The URL to open in a browser."""
        return self.page_origin + "/"

    async def close(self) -> None:
        """Stop both servers."""
        while self.runners:
            await self.runners.pop().cleanup()


async def start_demo(
    *,
    host: str = "127.0.0.1",
    api_port: int = 8081,
    page_port: int = 8080,
    page_host: str = "localhost",
    access_log: bool = True,
) -> DemoServers:
    """Start the API and the page servers; port 0 picks a free port.

    Both listen on ``host``.  The API's origin is ``http://<host>:<api_port>``;
    the page's is ``http://<page_host>:<page_port>``: with the defaults the two
    differ even on one machine (``localhost`` vs ``127.0.0.1``).  Raises
    :class:`OSError` if a port cannot be bound.
    """
    api_sock = _listen_or_explain(host, api_port, "API", "--api-port")
    try:
        page_sock = _listen_or_explain(host, page_port, "page", "--page-port")
    except OSError:
        api_sock.close()
        raise
    servers = DemoServers(
        page_origin=_origin(page_host, page_sock.getsockname()[1]),
        api_origin=_origin(host, api_sock.getsockname()[1]),
    )
    api_app = build_api_app(servers.page_origin)
    page_app = build_page_app(
        servers.api_origin, page_origin=servers.page_origin, configs=describe_configs(api_app)
    )
    apps: list[tuple[web.Application, socket.socket]] = [(api_app, api_sock), (page_app, page_sock)]
    _quiet_demo_errors()
    try:
        for (app, sock), name in zip(apps, ("api", "page")):
            runner = web.AppRunner(
                app,
                handle_signals=False,
                access_log=logging.getLogger(f"aiohttp_cors.demo.{name}") if access_log else None,
                access_log_format=f'{name:<4} "%r" %s',
            )
            await runner.setup()
            servers.runners.append(runner)
            await web.SockSite(runner, sock).start()
    except BaseException:
        await servers.close()
        api_sock.close()
        page_sock.close()
        raise
    return servers
