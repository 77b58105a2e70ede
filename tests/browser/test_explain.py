"""``python -m aiohttp_cors explain`` agrees with Chromium.

Each case runs the same cross-origin request twice: in Chromium, from the
probe page against the browser suite's API server, and through ``explain`` on a
freshly built instance of the same application (same page origin, same
configuration). The verdicts must agree (allowed or blocked), and ``explain``
must name the expected reason code. Origin predicates that fail are served by
a small extra application on another loopback port.

Reason codes no browser request produces against these servers
(``origin_missing``, ``origin_malformed``, ``method_missing`` and
``private_network_not_allowed``) are covered without a browser in
``tests/test_cli.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors._cli import ExplainRequest, Explanation, explain_application

from ._servers import (
    API_HOST,
    OTHER_HOST,
    PAGE_HOST,
    SUB_PAGE_HOST,
    BackgroundLoop,
    Servers,
    _start_site,
    bind_free_socket,
    build_api_app,
    origin,
)
from .conftest import Probe

pytestmark = [pytest.mark.browser, pytest.mark.engines("chromium")]

TOKEN = {"X-Token": "t1"}


@dataclass(frozen=True)
class Case:
    """One request, made from a page on ``page_host`` (``null``: a sandboxed frame)."""

    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    credentials: bool = False
    page_host: str | None = PAGE_HOST
    #: The reason ``explain`` must name; ``None`` when the request is allowed.
    code: str | None = None
    #: Served by the extra predicate application instead of the suite's API.
    predicate_app: bool = False


CASES = {
    "simple-allowed": Case("/simple"),
    "preflight-allowed": Case("/pf/items", "PUT", TOKEN),
    "view-custom-cors-allowed": Case("/view", "PATCH", {"X-Extra": "1"}),
    "subapp-allowed": Case("/sub/thing", "PUT", TOKEN),
    "glob-allowed": Case("/pattern/glob", page_host=SUB_PAGE_HOST),
    "authorization-listed-by-star": Case("/authz", headers={"Authorization": "Bearer t"}),
    "wildcard-with-credentials-echoes": Case("/wildcard-cred", credentials=True),
    "origin-not-allowed-simple": Case("/denied", code="origin_not_allowed"),
    "origin-not-allowed-preflight": Case("/pf/locked", "PUT", TOKEN, code="origin_not_allowed"),
    "origin-not-allowed-glob": Case(
        "/pattern/glob", page_host=OTHER_HOST, code="origin_not_allowed"
    ),
    "origin-not-allowed-null": Case("/wildcard", page_host=None, code="origin_not_allowed"),
    "method-not-allowed-allow-methods": Case(
        "/pf/limited", "DELETE", TOKEN, code="method_not_allowed"
    ),
    "method-not-allowed-resource-only": Case(
        "/pf/resource-only", "PUT", TOKEN, code="method_not_allowed"
    ),
    "headers-not-allowed": Case(
        "/pf/items", "PUT", {**TOKEN, "X-Other": "2"}, code="headers_not_allowed"
    ),
    "headers-not-allowed-view": Case("/view", "PUT", {"X-Extra": "1"}, code="headers_not_allowed"),
    "credentials-not-allowed": Case(
        "/cred/denied", credentials=True, code="credentials_not_allowed"
    ),
    "predicate-failed-simple": Case("/tenants", code="predicate_failed", predicate_app=True),
    "predicate-failed-preflight": Case(
        "/tenants", "PUT", TOKEN, code="predicate_failed", predicate_app=True
    ),
}


async def _tenant_store_down(origin: str) -> bool:
    raise RuntimeError("tenant store unreachable (expected by the browser suite)")


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def build_predicate_app() -> web.Application:
    """Routes whose only origin key is a predicate that always fails."""
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    options = aiohttp_cors.ResourceOptions(allow_headers=("X-Token",))
    cors.add(app.router.add_get("/tenants", _ok), {_tenant_store_down: options})
    cors.add(app.router.add_put("/tenants", _ok), {_tenant_store_down: options})
    return app


@dataclass
class Explainer:
    """Runs ``explain`` on fresh application instances, on a loop of its own."""

    loop: BackgroundLoop
    factories: dict[bool, Callable[[], web.Application]]

    def __call__(self, case: Case, page_origin: str) -> Explanation:
        async def run() -> Explanation:
            spec = ExplainRequest(
                method=case.method,
                path=case.path,
                origin=page_origin,
                headers=list(case.headers.items()),
                credentials=case.credentials,
            )
            return await explain_application(self.factories[case.predicate_app](), spec)

        result: Explanation = self.loop.call(run())
        return result


@pytest.fixture(scope="module")
def predicate_port() -> Iterator[int]:
    """The predicate application, served on a free loopback port for the module."""
    loop = BackgroundLoop()
    sock = bind_free_socket()
    try:
        runner = loop.call(_start_site(build_predicate_app(), sock))
        try:
            yield sock.getsockname()[1]
        finally:
            loop.call(runner.cleanup())
    finally:
        loop.close()
        sock.close()


@pytest.fixture(scope="module")
def explainer(servers: Servers) -> Iterator[Explainer]:
    loop = BackgroundLoop()
    static_dir = tempfile.TemporaryDirectory(prefix="aiohttp-cors-explain-")
    try:
        yield Explainer(
            loop,
            {
                False: lambda: build_api_app(servers.page_port, static_dir.name),
                True: build_predicate_app,
            },
        )
    finally:
        loop.close()
        static_dir.cleanup()


@pytest.mark.parametrize("name", list(CASES))
def test_explain_agrees_with_chromium(
    probe: Probe, explainer: Explainer, predicate_port: int, name: str
) -> None:
    case = CASES[name]
    frame: Any = None
    if case.page_host is None:
        frame = probe.sandboxed_frame()
        page_origin = "null"
    else:
        probe.goto(case.page_host)
        page_origin = probe.page_origin
    if case.predicate_app:
        url = f"{origin(API_HOST, predicate_port)}{case.path}"
        case_id = "(predicate app)"
    else:
        url, case_id = probe.url(case.path)
    result = probe.fetch(
        url,
        method=case.method,
        headers=case.headers,
        credentials="include" if case.credentials else "same-origin",
        body="x" if case.method in ("PUT", "PATCH") else None,
        frame=frame,
    )
    explanation = explainer(case, page_origin)
    browser_allowed = result["outcome"] == "allowed"
    context = f"{name}: Chromium saw {result}\nexplain said {explanation.to_json()}"
    assert explanation.allowed == browser_allowed, context
    assert browser_allowed == (case.code is None), context + "\n" + probe.explain(case_id, result)
    assert explanation.code == case.code, context
    if case.code is not None:
        assert explanation.fix, context
