"""Every kind of response on a CORS-enabled route carries the CORS headers.

Streamed responses, files, WebSocket handshakes, redirects, raised HTTP exceptions and
the 500 of an unhandled exception all go through ``prepare()``, where the package adds
its headers, as aiohttp-cors 0.8.1 did; static resources are covered too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, TraceConfig, TraceRequestEndParams, WSMsgType, web
from cors_names import (
    ACAC,
    ACAM,
    ACAO,
    ACEH,
    ACRM,
    EVIL,
    ORIGIN,
    PREFIX,
    access_control_headers,
    method_not_allowed,
)

import aiohttp_cors
from aiohttp_cors import ResourceOptions

CONFIG = {ORIGIN: ResourceOptions(allow_credentials=True, expose_headers=("X-Exposed",))}


def assert_decorated(headers: Any) -> None:
    assert headers.getall(ACAO) == [ORIGIN]
    assert headers.getall(ACAC) == ["true"]
    assert headers.getall(ACEH) == ["X-Exposed"]
    assert "Origin" in [v.strip() for v in headers["Vary"].split(",")]


def app_for(handler: Any, path: str = "/r", method: str = "GET") -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_route(method, path, handler), CONFIG)
    return app


# --------------------------------------------------------------------------
# Stream and file responses
# --------------------------------------------------------------------------


async def stream_handler(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"X-Exposed": "1"})
    resp.content_type = "text/plain"
    await resp.prepare(request)
    await resp.write(b"chunk-1;")
    await resp.write(b"chunk-2")
    await resp.write_eof()
    return resp


async def test_stream_response_prepared_in_handler_gets_cors_headers(aiohttp_client):
    client = await aiohttp_client(app_for(stream_handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.read() == b"chunk-1;chunk-2"
    assert_decorated(resp.headers)


async def test_stream_response_disallowed_origin_has_no_cors_headers(aiohttp_client):
    client = await aiohttp_client(app_for(stream_handler))
    resp = await client.get("/r", headers={"Origin": EVIL})
    assert await resp.read() == b"chunk-1;chunk-2"
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_stream_response_with_expose_star_lists_its_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"X-Stream": "1"})
        await resp.prepare(request)
        await resp.write(b"x")
        return resp

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/r", handler), {ORIGIN: ResourceOptions(expose_headers="*")})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert await resp.read() == b"x"
    assert "X-Stream" in resp.headers[ACEH].split(",")


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.txt"
    path.write_bytes(b"file contents\n")
    return path


async def test_file_response_gets_cors_headers(aiohttp_client, data_file):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(data_file, headers={"X-Exposed": "f"})

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.read() == b"file contents\n"
    assert_decorated(resp.headers)


async def test_file_response_304_gets_cors_headers(aiohttp_client, data_file):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(data_file)

    client = await aiohttp_client(app_for(handler))
    first = await client.get("/r", headers={"Origin": ORIGIN})
    etag = first.headers["ETag"]
    resp = await client.get("/r", headers={"Origin": ORIGIN, "If-None-Match": etag})
    assert resp.status == 304
    assert_decorated(resp.headers)


async def test_file_response_range_request_gets_cors_headers(aiohttp_client, data_file):
    async def handler(request: web.Request) -> web.FileResponse:
        return web.FileResponse(data_file)

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN, "Range": "bytes=0-3"})
    assert resp.status == 206
    assert await resp.read() == b"file"
    assert_decorated(resp.headers)


# --------------------------------------------------------------------------
# WebSocket handshakes
# --------------------------------------------------------------------------


async def ws_handler(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str("hi")
    await ws.close()
    return ws


async def handshake_client(aiohttp_client: Any) -> tuple[Any, list[ClientResponse]]:
    """A client whose HTTP responses, the WebSocket handshake's included, are recorded.

    aiohttp's ``ws_connect`` keeps the handshake response to itself; client tracing
    (``TraceConfig.on_request_end``) is its public view of it.
    """
    responses: list[ClientResponse] = []

    async def record(session: Any, context: Any, params: TraceRequestEndParams) -> None:
        responses.append(params.response)

    trace = TraceConfig()
    trace.on_request_end.append(record)
    client = await aiohttp_client(app_for(ws_handler, "/ws"), trace_configs=[trace])
    return client, responses


async def test_websocket_handshake_gets_cors_headers(aiohttp_client):
    client, responses = await handshake_client(aiohttp_client)
    ws = await client.ws_connect("/ws", headers={"Origin": ORIGIN})
    try:
        [handshake] = responses
        assert handshake.status == 101
        assert_decorated(handshake.headers)
        message = await ws.receive()
        assert message.type == WSMsgType.TEXT
        assert message.data == "hi"
    finally:
        await ws.close()


async def test_websocket_handshake_for_disallowed_origin_has_no_cors_headers(aiohttp_client):
    client, responses = await handshake_client(aiohttp_client)
    ws = await client.ws_connect("/ws", headers={"Origin": EVIL})
    try:
        [handshake] = responses
        assert handshake.status == 101
        assert access_control_headers(handshake.headers) == []
        assert (await ws.receive()).data == "hi"
    finally:
        await ws.close()


# --------------------------------------------------------------------------
# Redirects, raised HTTP exceptions, unhandled exceptions
# --------------------------------------------------------------------------


async def test_redirect_gets_cors_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere", headers={"X-Exposed": "r"})

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN}, allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/elsewhere"
    assert_decorated(resp.headers)


async def test_redirect_for_disallowed_origin_has_no_cors_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": EVIL}, allow_redirects=False)
    assert resp.status == 302
    assert access_control_headers(resp.headers) == []


@pytest.mark.parametrize(
    ("exception", "status", "text"),
    [
        (web.HTTPForbidden, 403, "403: Forbidden"),
        (web.HTTPNotFound, 404, "404: Not Found"),
        (web.HTTPBadRequest, 400, "400: Bad Request"),
        (web.HTTPServiceUnavailable, 503, "503: Service Unavailable"),
    ],
)
async def test_raised_http_exception_gets_cors_headers(aiohttp_client, exception, status, text):
    async def handler(request: web.Request) -> web.Response:
        raise exception()

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == status
    assert await resp.text() == text
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAC) == ["true"]
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_raised_forbidden_is_not_mistaken_for_preflight_refusal(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPForbidden(text="nope")

    client = await aiohttp_client(app_for(handler, method="OPTIONS"))
    resp = await client.options("/r", headers={"Origin": ORIGIN})
    assert resp.status == 403
    assert await resp.text() == "nope"
    assert resp.headers.getall(ACAO) == [ORIGIN]


async def test_unhandled_exception_500_gets_cors_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 500
    assert (await resp.text()).startswith("500 Internal Server Error")
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAC) == ["true"]


async def test_unhandled_exception_500_for_disallowed_origin_has_no_cors(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": EVIL})
    assert resp.status == 500
    assert access_control_headers(resp.headers) == []


async def test_json_response_gets_cors_headers(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, headers={"X-Exposed": "j"})

    client = await aiohttp_client(app_for(handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert await resp.json() == {"ok": True}
    assert_decorated(resp.headers)


async def test_response_with_set_cookie_keeps_it_and_lists_it_like_0_8_1(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        resp = web.Response(text="c", headers={"X-Visible": "1"})
        resp.set_cookie("session", "abc")
        return resp

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    options = ResourceOptions(allow_credentials=True, expose_headers="*")
    cors.add(app.router.add_get("/r", handler), {ORIGIN: options})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.cookies["session"].value == "abc"
    # expose_headers="*" names every header the response has (0.8.1 listed
    # Set-Cookie too); Fetch never lets a script read Set-Cookie whatever is exposed.
    exposed = resp.headers[ACEH].split(",")
    assert exposed[0] == "X-Visible"  # the handler's headers first, in its order
    assert sorted(exposed) == ["Content-Length", "Date", "Server", "Set-Cookie", "X-Visible"]


# --------------------------------------------------------------------------
# Static resources
# --------------------------------------------------------------------------


def static_app(directory: Path) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_static("/static", directory)
    assert isinstance(resource, web.StaticResource)
    assert cors.add(resource, CONFIG) is resource
    return app


async def test_static_file_gets_cors_headers(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.get("/static/data.txt", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.read() == b"file contents\n"
    assert_decorated(resp.headers)


async def test_static_file_head_gets_cors_headers(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.head("/static/data.txt", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers.getall(ACAO) == [ORIGIN]


async def test_static_file_for_disallowed_origin_has_no_cors(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.get("/static/data.txt", headers={"Origin": EVIL})
    assert resp.status == 200
    assert await resp.read() == b"file contents\n"
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_static_missing_file_404_gets_cors_headers(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.get("/static/missing.txt", headers={"Origin": ORIGIN})
    assert resp.status == 404
    assert resp.headers.getall(ACAO) == [ORIGIN]


async def test_static_preflight_is_answered(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.options("/static/data.txt", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAM] == "GET"
    refused = await client.options("/static/data.txt", headers={"Origin": EVIL, ACRM: "GET"})
    assert refused.status == 403
    assert await refused.text() == PREFIX + f"origin '{EVIL}' is not allowed"


async def test_static_preflight_for_unserved_method_is_refused(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.options("/static/data.txt", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + method_not_allowed("PUT")
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_static_preflight_for_method_allowed_by_allow_methods(aiohttp_client, data_file):
    # Nothing but GET/HEAD serves a static resource; allow_methods still decides.
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_static("/static", data_file.parent)
    cors.add(resource, {ORIGIN: ResourceOptions(allow_methods=["PUT"])})
    client = await aiohttp_client(app)
    resp = await client.options("/static/data.txt", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"


async def test_static_plain_options_gets_0_8_1_refusal(aiohttp_client, data_file):
    client = await aiohttp_client(static_app(data_file.parent))
    resp = await client.options("/static/data.txt")
    assert resp.status == 403
    assert await resp.text() == PREFIX + "origin header is not specified in the request"
    assert access_control_headers(resp.headers) == []


async def test_static_without_cors_is_untouched(aiohttp_client, data_file):
    app = web.Application()
    aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    app.router.add_static("/static", data_file.parent)
    client = await aiohttp_client(app)
    resp = await client.get("/static/data.txt", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert access_control_headers(resp.headers) == []
    assert "Vary" not in resp.headers
