"""Servers for the browser suite: a page origin and a CORS-enabled API origin.

Both aiohttp applications run in a background thread with an event loop of
their own, so that the tests themselves can drive the browsers synchronously
(Playwright's sync API refuses to run inside a running loop).

Every API handler records the requests it actually served (method, case id,
a few headers) so that tests can assert that a refused preflight kept the
actual request away from the handler, and every response's CORS headers are
recorded by an ``on_response_prepare`` hook registered after
``aiohttp_cors.setup`` so that failing assertions can show what the server
answered.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import tempfile
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

import aiohttp_cors

PAGE_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CORS probe page</title></head>
<body><p id="probe">CORS probe page served by the page origin.</p></body></html>
"""

# Names every engine resolves to 127.0.0.1 (see TEST_HOSTS and _engines.py).
PAGE_HOST = "page.test"
SUB_PAGE_HOST = "sub.page.test"
APP1_PAGE_HOST = "app1.page.test"
APPX_PAGE_HOST = "appx.page.test"
DEFAULTS_PAGE_HOST = "defaults.page.test"
OTHER_HOST = "other.test"
API_HOST = "api.test"
# Same *site* as page.test but another origin.  Chromium blocks third-party
# cookies in Playwright's (incognito-like) contexts and refuses ``Secure``
# cookies over plain http on a non-loopback name, so a cross-*site* API could
# never receive a cookie here.  Cases that need a cookie to arrive use this
# host: the request is still cross-origin, so the full CORS algorithm applies.
SAME_SITE_API_HOST = "api.page.test"
# The demo page's host (test_demo.py).
DEMO_PAGE_HOST = "demo.test"
# Every name above: each engine resolves exactly these to 127.0.0.1
# ("elsewhere.test" is only ever a configured origin, never visited).
TEST_HOSTS = (
    PAGE_HOST,
    SUB_PAGE_HOST,
    APP1_PAGE_HOST,
    APPX_PAGE_HOST,
    DEFAULTS_PAGE_HOST,
    OTHER_HOST,
    API_HOST,
    SAME_SITE_API_HOST,
    DEMO_PAGE_HOST,
)

GLOB_ORIGIN_KEY = "http://*.page.test:*"
REGEX_ORIGIN_PATTERN = r"http://app[0-9]\.page\.test:\d+"

SESSION_COOKIE = "session"
LOGIN_COOKIE = "probe_login"


@dataclass
class Hit:
    """One request that reached an API handler or the auth middleware."""

    method: str
    path: str
    case: str | None
    origin: str | None
    cookies: dict[str, str]
    headers: dict[str, str]
    where: str = "handler"


@dataclass
class Exchange:
    """Request/response headers of one API response, as it was prepared."""

    method: str
    path_qs: str
    status: int
    request_headers: dict[str, str]
    response_headers: dict[str, str]

    def __str__(self) -> str:
        req = ", ".join(f"{k}: {v}" for k, v in self.request_headers.items())
        resp = ", ".join(f"{k}: {v}" for k, v in self.response_headers.items())
        return f"{self.method} {self.path_qs} -> {self.status} [req: {req}] [resp: {resp}]"


@dataclass
class ApiState:
    """What the API app recorded and which optional features it could configure."""

    hits: list[Hit] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # feature name -> repr of the ValueError/TypeError raised while configuring it
    unsupported: dict[str, str] = field(default_factory=dict)
    # case name -> repr of the exception raised while configuring it (the
    # case's tests fail with it; the other cases still run)
    config_errors: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def configuring(self, name: str) -> Iterator[None]:
        """Record (instead of raising) an error while configuring case ``name``."""
        try:
            yield
        except Exception as exc:
            self.config_errors[name] = repr(exc)

    def add_hit(self, hit: Hit) -> None:
        with self.lock:
            self.hits.append(hit)

    def hits_for(self, case: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.case == case]

    def exchanges_for(self, case: str) -> list[Exchange]:
        marker = f"case={case}"
        with self.lock:
            return [
                e
                for e in self.exchanges
                if re.search(rf"[?&]{re.escape(marker)}(?:&|$)", e.path_qs)
            ]


STATE_KEY = web.AppKey("browser_suite_state", ApiState)

_RECORDED_REQUEST_HEADERS = (
    "Origin",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
    "Cookie",
    "Authorization",
    "X-Token",
    "Access-Control-Request-Private-Network",
)


def _is_cors_header(name: str) -> bool:
    lname = name.lower()
    return lname.startswith("access-control-") or lname == "vary"


def _record_hit(request: web.Request, where: str = "handler") -> None:
    state = request.config_dict[STATE_KEY]
    state.add_hit(
        Hit(
            method=request.method,
            path=request.path,
            case=request.query.get("case"),
            origin=request.headers.get("Origin"),
            cookies=dict(request.cookies),
            headers={
                k: v
                for k, v in request.headers.items()
                if k.lower() in ("x-token", "x-other", "authorization", "content-type")
            },
            where=where,
        )
    )


async def _record_exchange(request: web.Request, response: web.StreamResponse) -> None:
    state = request.config_dict[STATE_KEY]
    exchange = Exchange(
        method=request.method,
        path_qs=request.path_qs,
        status=response.status,
        request_headers={
            k: request.headers[k] for k in _RECORDED_REQUEST_HEADERS if k in request.headers
        },
        response_headers={k: v for k, v in response.headers.items() if _is_cors_header(k)},
    )
    with state.lock:
        state.exchanges.append(exchange)


def origin(host: str, port: int) -> str:
    """Serialize an http origin."""
    return f"http://{host}:{port}"


# The page at this path asks to be treated as if it came from the public
# internet (CSP "treat-as-public-address", from the Private Network Access
# draft), while every server here is on loopback: the set-up of a public page
# reaching a local server, without leaving 127.0.0.1.
PUBLIC_PAGE_PATH = "/public"


def build_page_app() -> web.Application:
    """The page origin: serves one tiny HTML document at every path."""

    async def page(request: web.Request) -> web.Response:
        headers = {}
        if request.path == PUBLIC_PAGE_PATH:
            headers["Content-Security-Policy"] = "treat-as-public-address"
        return web.Response(text=PAGE_HTML, content_type="text/html", headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    return app


def build_api_app(page_port: int, static_dir: str) -> web.Application:
    """The API origin with one route (or resource) per conformance case.

    The suite deliberately uses plain-http origins with credentials (it runs
    on loopback); the package's security warning about that is silenced here.
    """
    security_warning = getattr(aiohttp_cors, "CorsSecurityWarning", UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", security_warning)
        return _build_api_app(page_port, static_dir)


def _build_api_app(page_port: int, static_dir: str) -> web.Application:
    page_origin = origin(PAGE_HOST, page_port)
    elsewhere = origin("elsewhere.test", page_port)
    ro = aiohttp_cors.ResourceOptions

    @web.middleware
    async def auth_middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        # A deliberately naive authentication middleware, as found in real
        # apps: everything under /auth/ needs the session cookie.  It knows
        # nothing about CORS (browsers never send cookies on preflights).
        # /auth/ answers 401 with a returned response, /auth-raise/ by raising.
        if request.path.startswith(("/auth/", "/auth-raise/")) and (
            request.cookies.get(SESSION_COOKIE) != "ok"
        ):
            _record_hit(request, where="auth-middleware-401")
            if request.path.startswith("/auth-raise/"):
                raise web.HTTPUnauthorized(
                    text='{"error": "login required"}', content_type="application/json"
                )
            return web.json_response({"error": "login required"}, status=401)
        return await handler(request)

    state = ApiState()
    app = web.Application(middlewares=[auth_middleware])
    app[STATE_KEY] = state
    # Defaults for an origin no route names explicitly (see /defaults-only).
    cors = aiohttp_cors.setup(
        app, defaults={origin(DEFAULTS_PAGE_HOST, page_port): ro(expose_headers=("X-Default",))}
    )

    def text_handler(text: str, **headers: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            _record_hit(request)
            return web.Response(text=text, headers=headers)

        return handler

    async def echo(request: web.Request) -> web.Response:
        _record_hit(request)
        body = await request.text()
        return web.json_response(
            {
                "method": request.method,
                "x_token": request.headers.get("X-Token"),
                "authorization": request.headers.get("Authorization"),
                "cookies": dict(request.cookies),
                "body": body,
            }
        )

    # --- simple requests -------------------------------------------------
    cors.add(app.router.add_get("/simple", text_handler("simple-ok")), {page_origin: ro()})
    cors.add(app.router.add_get("/denied", text_handler("secret")), {elsewhere: ro()})
    cors.add(app.router.add_post("/simple-post", echo), {page_origin: ro()})
    cors.add(
        app.router.add_get("/defaults-only", text_handler("defaults-ok", **{"X-Default": "d1"}))
    )
    cors.add(app.router.add_get("/wildcard", text_handler("wild-ok")), {"*": ro()})
    cors.add(app.router.add_get("/wildcard-cred", echo), {"*": ro(allow_credentials=True)})

    # --- credentials -----------------------------------------------------
    async def login(request: web.Request) -> web.Response:
        _record_hit(request)
        response = web.Response(text="logged-in")
        value = request.query.get("value", "yes")
        response.set_cookie(LOGIN_COOKIE, value, path="/", samesite="Lax", httponly=True)
        return response

    cred_ok = {page_origin: ro(allow_credentials=True)}
    cors.add(app.router.add_get("/cred/login", login), cred_ok)
    cors.add(app.router.add_get("/cred/whoami", echo), cred_ok)
    cors.add(app.router.add_get("/cred/denied", echo), {page_origin: ro(allow_credentials=False)})

    # --- preflighted requests ---------------------------------------------
    # Route-level configuration (the common 0.8.1 idiom): each route says
    # which headers it accepts; its method passes the preflight because its
    # route was passed to cors.add().
    items = app.router.add_resource("/pf/items")
    for method in ("PUT", "DELETE", "PATCH"):
        cors.add(items.add_route(method, echo), {page_origin: ro(allow_headers=("X-Token",))})
    # Only configured for another origin.
    locked = app.router.add_resource("/pf/locked")
    for method in ("PUT", "DELETE", "PATCH"):
        cors.add(locked.add_route(method, echo), {elsewhere: ro(allow_headers=("X-Token",))})
    # Resource-level configuration with allow_methods: DELETE and PATCH are
    # served by the resource but not allowed cross-origin.  (Added before its
    # routes: every route of a configured resource is CORS-enabled.)
    limited = app.router.add_resource("/pf/limited")
    cors.add(limited, {page_origin: ro(allow_methods=("PUT",), allow_headers=("X-Token",))})
    for method in ("PUT", "DELETE", "PATCH"):
        limited.add_route(method, echo)

    # Resource-level configuration without allow_methods: only GET, HEAD and
    # POST pass the preflight's method check, although PUT is served too.
    plain = app.router.add_resource("/pf/resource-only")
    for method in ("GET", "PUT"):
        plain.add_route(method, echo)
    cors.add(plain, {page_origin: ro(allow_headers=("X-Token",))})

    # A sibling never passed to cors.add() shares its resource's config.
    sibling = app.router.add_resource("/sibling")
    cors.add(sibling.add_route("GET", echo), {page_origin: ro(expose_headers=("X-Sib",))})
    sibling.add_route("POST", text_handler("sibling-post", **{"X-Sib": "s1"}))

    # max_age=0 means "do not cache this preflight" (not "no header").
    nocache = app.router.add_resource("/pf/max-age-0")
    cors.add(
        nocache.add_route("PUT", echo), {page_origin: ro(allow_headers=("X-Token",), max_age=0)}
    )

    # --- class-based view ----------------------------------------------------
    class ItemView(web.View, aiohttp_cors.CorsViewMixin):
        cors_config: ClassVar[dict[str, Any]] = {page_origin: ro(allow_headers=("X-Token",))}

        async def get(self) -> web.Response:
            return await echo(self.request)

        async def put(self) -> web.Response:
            return await echo(self.request)

        @aiohttp_cors.custom_cors({page_origin: ro(allow_headers=("X-Token", "X-Extra"))})
        async def patch(self) -> web.Response:
            return await echo(self.request)

    cors.add(app.router.add_view("/view", ItemView))

    # JSON body: Content-Type must be allowed like any other header.
    cors.add(
        app.router.add_post("/pf/json", echo),
        {page_origin: ro(allow_headers=("X-Token", "Content-Type"))},
    )

    # --- sub-application with its own setup() -------------------------------
    sub = web.Application()
    sub_cors = aiohttp_cors.setup(sub)
    sub_cors.add(sub.router.add_get("/hello", text_handler("sub-hello")), {page_origin: ro()})
    sub_cors.add(sub.router.add_put("/thing", echo), {page_origin: ro(allow_headers=("X-Token",))})
    app.add_subapp("/sub/", sub)

    # --- the opaque "null" origin (sandboxed iframes, data: URLs, ...) ------
    cors.add(app.router.add_get("/null-listed", text_handler("null-ok")), {"null": ro()})

    # --- static files, own OPTIONS and "*" handlers, revalidation ----------
    cors.add(app.router.add_static("/static", static_dir), {page_origin: ro()})

    async def own_options(request: web.Request) -> web.Response:
        _record_hit(request)
        return web.Response(text="options-by-handler", headers={"Allow": "PUT, OPTIONS"})

    with state.configuring("own-options"):
        own = app.router.add_resource("/own-options")
        own_config = {page_origin: ro(allow_headers=("X-Token",))}
        cors.add(own.add_route("OPTIONS", own_options), own_config)
        cors.add(own.add_route("PUT", echo), own_config)

    # A "*" route is no route for PUT or DELETE in the preflight's method check:
    # allow_methods="*" lets them through; without it only GET/HEAD/POST pass.
    with state.configuring("any-method"):
        cors.add(
            app.router.add_route("*", "/any-method", echo),
            {page_origin: ro(allow_headers="*", allow_methods="*")},
        )
    with state.configuring("any-method-default"):
        cors.add(
            app.router.add_route("*", "/any-method-default", echo),
            {page_origin: ro(allow_headers="*")},
        )

    async def etagged(request: web.Request) -> web.Response:
        _record_hit(request)
        headers = {"ETag": '"v1"', "Cache-Control": "no-cache", "X-Version": "v1"}
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers=headers)
        return web.Response(text="cached-body", headers=headers)

    cors.add(app.router.add_get("/etag", etagged), {page_origin: ro(expose_headers=("X-Version",))})

    # --- exposed headers --------------------------------------------------
    exposing_handler = text_handler("exposed", **{"X-Exposed": "e1", "X-Hidden": "h1"})
    cors.add(
        app.router.add_get("/expose", exposing_handler),
        {page_origin: ro(expose_headers=("X-Exposed",))},
    )
    star_headers = {"X-Custom": "c1", "X-Other-Custom": "c2"}
    cors.add(
        app.router.add_get("/expose-star", text_handler("star", **star_headers)),
        {page_origin: ro(expose_headers="*")},
    )
    cors.add(
        app.router.add_get("/expose-star-cred", text_handler("star-cred", **star_headers)),
        {page_origin: ro(expose_headers="*", allow_credentials=True)},
    )

    # --- error responses ---------------------------------------------------
    async def returns_404(request: web.Request) -> web.Response:
        _record_hit(request)
        return web.Response(status=404, text="no such item (handler returned 404)")

    async def raises_403(request: web.Request) -> web.Response:
        _record_hit(request)
        raise web.HTTPForbidden(text="forbidden: raised HTTPForbidden")

    async def raises_500(request: web.Request) -> web.Response:
        _record_hit(request)
        raise RuntimeError("boom (expected by the browser suite)")

    cors.add(app.router.add_get("/err/404", returns_404), {page_origin: ro()})
    cors.add(app.router.add_get("/err/403", raises_403), {page_origin: ro()})
    cors.add(app.router.add_get("/err/500", raises_500), {page_origin: ro()})

    # --- redirect ------------------------------------------------------------
    async def redirect(request: web.Request) -> web.Response:
        _record_hit(request)
        raise web.HTTPFound(f"/redirect/target?{request.query_string}")

    cors.add(app.router.add_get("/redirect/start", redirect), {page_origin: ro()})
    cors.add(app.router.add_get("/redirect/target", text_handler("landed")), {page_origin: ro()})

    # --- streaming -------------------------------------------------------------
    async def stream(request: web.Request) -> web.StreamResponse:
        _record_hit(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain", "X-Stream": "s1"})
        await response.prepare(request)
        for i in range(4):
            await response.write(f"chunk{i}\n".encode())
            await asyncio.sleep(0.02)
        await response.write_eof()
        return response

    cors.add(app.router.add_get("/stream", stream), {page_origin: ro(expose_headers=("X-Stream",))})

    # --- authentication middleware ---------------------------------------------
    auth = app.router.add_resource("/auth/profile")
    cors.add(
        auth.add_route("PUT", echo),
        {page_origin: ro(allow_credentials=True, allow_headers=("X-Token",))},
    )
    for prefix in ("/auth", "/auth-raise"):
        cors.add(
            app.router.add_get(f"{prefix}/me", echo), {page_origin: ro(allow_credentials=True)}
        )
    cors.add(
        app.router.add_put("/auth-raise/profile", echo),
        {page_origin: ro(allow_credentials=True, allow_headers=("X-Token",))},
    )

    # --- Authorization with allow_headers="*" ------------------------------------
    cors.add(app.router.add_get("/authz", echo), {page_origin: ro(allow_headers="*")})
    cors.add(
        app.router.add_get("/authz-cred", echo),
        {page_origin: ro(allow_headers="*", allow_credentials=True)},
    )

    # --- origin patterns (optional feature) ----------------------------------------
    glob_route = app.router.add_get("/pattern/glob", text_handler("glob-ok"))
    try:
        cors.add(glob_route, {GLOB_ORIGIN_KEY: ro()})
    except (ValueError, TypeError) as exc:
        state.unsupported["glob"] = repr(exc)
    regex_route = app.router.add_get("/pattern/regex", text_handler("regex-ok"))
    try:
        cors.add(regex_route, {re.compile(REGEX_ORIGIN_PATTERN): ro()})
    except (ValueError, TypeError) as exc:
        state.unsupported["regex"] = repr(exc)

    # --- engine differences (test_engine_differences.py) ---------------------
    # A long Access-Control-Max-Age: each engine caps it (Chromium 7200 s,
    # Firefox 86400 s, WebKit 600 s).
    cors.add(
        app.router.add_put("/max-age-long", echo),
        {page_origin: ro(allow_headers=("X-Token",), max_age=LONG_MAX_AGE)},
    )
    # Private Network Access: the route answers PNA preflights, should an
    # engine send one.
    with state.configuring("private-network"):
        cors.add(
            app.router.add_get("/private-network", text_handler("pna-ok")),
            {page_origin: ro(allow_private_network=True)},
        )
    # "localhost" is an origin of its own, not an alias of 127.0.0.1.
    cors.add(
        app.router.add_get("/localhost-only", text_handler("localhost-ok")),
        {origin("localhost", page_port): ro()},
    )

    # Registered after aiohttp_cors.setup(): sees the headers the package added.
    app.on_response_prepare.append(_record_exchange)
    return app


LONG_MAX_AGE = 86400


def build_raw_app(state: ApiState) -> web.Application:
    """A server without aiohttp_cors whose CORS headers are written by hand.

    It pins down how each engine treats answers the package deliberately never
    gives (a literal ``Access-Control-Allow-Headers: *``), so the reasons for
    the package's choices stay checked against real browsers.  Its requests
    are recorded in the API's ``state``.
    """

    async def literal_star(request: web.Request) -> web.Response:
        _record_hit(request)
        headers = {"Access-Control-Allow-Origin": request.headers.get("Origin", "")}
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = "GET, PUT"
            headers["Access-Control-Allow-Headers"] = "*"
        return web.Response(text="raw-ok", headers=headers)

    app = web.Application()
    app[STATE_KEY] = state
    app.router.add_route("*", "/acah-star", literal_star)
    app.on_response_prepare.append(_record_exchange)
    return app


def bind_free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on a free port (bound now, so nobody can steal it)."""
    return socket.create_server((host, 0))


class BackgroundLoop:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="browser-suite-servers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Awaitable[Any], timeout: float = 30) -> Any:
        """Run a coroutine on the background loop and wait for its result."""

        async def wrapper() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


@dataclass
class Servers:
    """Addresses of the running page and API servers."""

    page_port: int
    api_port: int
    api_state: ApiState
    raw_port: int

    def page_origin(self, host: str = PAGE_HOST) -> str:
        return origin(host, self.page_port)

    def api_origin(self, host: str = API_HOST) -> str:
        return origin(host, self.api_port)

    def raw_origin(self, host: str = API_HOST) -> str:
        """The origin of the server without aiohttp_cors (``build_raw_app``)."""
        return origin(host, self.raw_port)


async def _start_site(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


@contextmanager
def running_servers() -> Iterator[Servers]:
    """Start page + API servers on free loopback ports for the duration."""
    page_sock = bind_free_socket()
    api_sock = bind_free_socket()
    raw_sock = bind_free_socket()
    page_port = page_sock.getsockname()[1]
    api_port = api_sock.getsockname()[1]
    raw_port = raw_sock.getsockname()[1]
    background = BackgroundLoop()
    runners: list[web.AppRunner] = []
    static_dir = tempfile.TemporaryDirectory(prefix="aiohttp-cors-static-")
    with open(os.path.join(static_dir.name, "hello.txt"), "w") as file:
        file.write("static-hello\n")
    try:

        async def start() -> ApiState:
            api_app = build_api_app(page_port, static_dir.name)
            runners.append(await _start_site(build_page_app(), page_sock))
            runners.append(await _start_site(api_app, api_sock))
            runners.append(await _start_site(build_raw_app(api_app[STATE_KEY]), raw_sock))
            return api_app[STATE_KEY]

        state = background.call(start())
        yield Servers(page_port=page_port, api_port=api_port, api_state=state, raw_port=raw_port)
    finally:

        async def stop() -> None:
            for runner in reversed(runners):
                await runner.cleanup()

        try:
            background.call(stop(), timeout=15)
        finally:
            background.close()
            static_dir.cleanup()
            page_sock.close()
            api_sock.close()
            raw_sock.close()
