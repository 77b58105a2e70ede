"""What a new user meets when a configuration is wrong: each message names the fix.

Every configuration message has one shape (problem, then "Hint:" and the fix);
errors show the public module path; refusals logged at DEBUG say which origin
was refused and why; the public signatures are typed so a type checker catches
a wrong options value.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import (
    CorsConfigurationError,
    CorsConfigurationWarning,
    CorsSecurityWarning,
    ResourceOptions,
)

ORIGIN = "https://app.example.com"


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def setup_warnings(defaults: dict) -> list[str]:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        aiohttp_cors.setup(web.Application(), defaults=defaults)
    return [str(w.message) for w in record if issubclass(w.category, CorsConfigurationWarning)]


@pytest.mark.parametrize(
    "key",
    [
        r"https://.*\.example\.com",
        r"^https://(a|b)\.example\.com$",
        r"https://[a-z]+\.example\.com",
    ],
)
def test_a_regex_written_as_a_string_points_to_re_compile(key: str) -> None:
    [text] = setup_warnings({key: ResourceOptions()})
    assert "looks like a regular expression" in text
    assert f"Hint: to match origins with a regular expression, pass re.compile(r'{key}')." in text
    # Not the misleading advice meant for origins mistyped by hand.
    assert "backslash" not in text
    assert "no scheme" not in text


def test_the_suggested_re_compile_call_is_valid_python_that_matches() -> None:
    key = r"^https://(a|b)\.example\.com$"
    [text] = setup_warnings({key: ResourceOptions()})
    call = re.search(r"pass (re\.compile\(.*\))\.$", text)
    assert call is not None
    compiled = eval(call.group(1), {"re": re})
    assert compiled.fullmatch("https://b.example.com")


@pytest.mark.parametrize(
    ("defaults", "fix"),
    [
        ({"example.com": {}}, "Hint: write it as a browser sends it, e.g. 'https://example.com'."),
        ({"https://example.com/api": {}}, "Hint: remove it: an origin is only"),
        ({"https://*.example.com/": {}}, "Hint: remove everything after the host and port"),
        ({ORIGIN: ResourceOptions(allow_headers=("Cookie",))}, "use allow_credentials=True"),
        ({ORIGIN: ResourceOptions(allow_headers=("Host",))}, "Hint: remove it."),
        ({ORIGIN: ResourceOptions(expose_headers=("X-A", "*"))}, "Hint: write expose_headers='*'"),
    ],
)
def test_every_configuration_warning_ends_with_one_hint(defaults: dict, fix: str) -> None:
    [text] = setup_warnings(defaults)
    assert text.count(". Hint: ") == 1
    assert text.endswith(".")
    assert fix in text


def test_cookie_in_allow_headers_points_to_allow_credentials() -> None:
    [text] = setup_warnings({ORIGIN: ResourceOptions(allow_headers=("X-Token", "Cookie"))})
    assert "'Cookie'" in text
    assert "allow_credentials=True" in text


def test_security_warnings_have_the_same_shape() -> None:
    with pytest.warns(CorsSecurityWarning) as record:
        aiohttp_cors.setup(
            web.Application(), defaults={"*": ResourceOptions(allow_credentials=True)}
        )
    assert str(record[0].message).endswith(". Hint: list the trusted origins instead.")


def test_errors_and_warnings_show_the_public_module_path() -> None:
    for cls in (CorsConfigurationError, CorsConfigurationWarning, CorsSecurityWarning):
        assert cls.__module__ == "aiohttp_cors"
        assert getattr(aiohttp_cors, cls.__name__) is cls
    result = subprocess.run(
        [sys.executable, "-c", "import aiohttp_cors\n"
         "aiohttp_cors.setup(__import__('aiohttp').web.Application(), defaults={1: {}})"],
        capture_output=True, text=True, check=False,
    )
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == "aiohttp_cors.CorsConfigurationError: Origin must be string, got 1 (int)"


def test_adding_a_resource_twice_says_how_to_configure_one_route() -> None:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/items")
    resource.add_route("GET", handler)
    cors.add(resource)
    with pytest.raises(ValueError, match="already configured") as caught:
        cors.add(resource)
    assert "Hint: pass each resource to cors.add() once" in str(caught.value)
    assert "cors.add(route, config)" in str(caught.value)


def test_adding_a_route_twice_has_a_hint() -> None:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    route = app.router.add_get("/items", handler)
    cors.add(route)
    with pytest.raises(ValueError, match="already configured") as caught:
        cors.add(route)
    assert "Hint: pass each route to cors.add() once." in str(caught.value)


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "aiohttp_cors" and r.getMessage().startswith("CORS refused (")
    ]


async def test_a_preflight_to_a_sibling_route_not_added_says_so_in_the_log(
    aiohttp_client, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    resource = app.router.add_resource("/items")
    cors.add(resource.add_route("GET", handler))
    resource.add_route("PUT", handler)  # never passed to cors.add()
    client = await aiohttp_client(app)
    response = await client.options(
        "/items", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    )
    assert response.status == 403
    # The 403 body stays aiohttp-cors 0.8.1's text.
    assert await response.text() == (
        f"CORS preflight request failed: request method 'PUT' is not allowed for {ORIGIN!r} origin"
    )
    [line] = refusal_lines(caplog)
    assert line.startswith(
        f"CORS refused (method_not_allowed): 'OPTIONS' '/items' from origin {ORIGIN!r}: "
    )
    assert "has a PUT route that was not passed to cors.add()" in line


async def test_a_method_no_route_serves_gets_no_sibling_hint(aiohttp_client, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_get("/items", handler))
    client = await aiohttp_client(app)
    response = await client.options(
        "/items", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}
    )
    assert response.status == 403
    [line] = refusal_lines(caplog)
    assert "request method 'DELETE' is not allowed" in line
    assert "was not passed to cors.add()" not in line


async def test_a_refused_preflight_logs_the_origin_and_the_refused_header(
    aiohttp_client, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_post("/items", handler))
    client = await aiohttp_client(app)
    await client.options(
        "/items",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    [line] = refusal_lines(caplog)
    assert f"from origin {ORIGIN!r}" in line
    assert line.endswith("headers are not allowed: CONTENT-TYPE")


MYPY_BAD = """
    import aiohttp_cors
    from aiohttp import web

    app = web.Application()
    aiohttp_cors.setup(app, defaults={"https://x.example": "yes"})
"""

MYPY_GOOD = """
    import re

    import aiohttp_cors
    from aiohttp import web

    async def is_tenant(origin: str) -> bool:
        return origin.endswith(".tenant.example")

    app = web.Application()
    plain = {"https://app.example.com": aiohttp_cors.ResourceOptions(allow_credentials=True)}
    cors = aiohttp_cors.setup(app, defaults=plain)
    mixed: dict[aiohttp_cors.OriginKey, aiohttp_cors.OriginOptions] = {
        "https://a.example": {"max_age": 600},
        re.compile(r"https://[a-z]+\\.example\\.com"): aiohttp_cors.ResourceOptions(),
        is_tenant: aiohttp_cors.ResourceOptions(),
        aiohttp_cors.OriginPredicate(is_tenant, timeout=0.5): aiohttp_cors.ResourceOptions(),
    }

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    cors.add(app.router.add_get("/", handler), mixed)
    cors.add(app.router.add_get("/inline", handler), {
        "https://b.example": aiohttp_cors.ResourceOptions(),
        re.compile(r"https://c\\.example"): {"allow_credentials": True},
    })

    class View(web.View, aiohttp_cors.CorsViewMixin):
        cors_config = plain

        @aiohttp_cors.custom_cors({"https://d.example": aiohttp_cors.ResourceOptions()})
        async def get(self) -> web.Response:
            return web.Response()
"""


def run_mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    checked = tmp_path / "checked.py"
    checked.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), str(checked)],
        capture_output=True,
        text=True,
        check=False,
    )


needs_mypy = pytest.mark.skipif(
    importlib.util.find_spec("mypy") is None,
    reason="mypy is installed by the dev extra only (the version-matrix runs lack it)",
)


@needs_mypy
@pytest.mark.slow  # a fresh mypy run (no cache) takes seconds
def test_mypy_refuses_a_string_as_options(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, MYPY_BAD)
    assert result.returncode == 1, result.stdout
    assert 'Dict entry 0 has incompatible type "str": "str"' in result.stdout
    assert "checked.py:6: error" in result.stdout


@needs_mypy
@pytest.mark.slow  # a fresh mypy run (no cache) takes seconds
def test_mypy_accepts_every_kind_of_origin_key(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, MYPY_GOOD)
    assert result.returncode == 0, result.stdout


# -- the demo ----------------------------------------------------------------------------

PAGE = "http://localhost:8080"


async def test_the_demo_api_root_points_to_the_page(aiohttp_client) -> None:
    from aiohttp_cors._demo import build_api_app

    client = await aiohttp_client(build_api_app(PAGE))
    response = await client.get("/")
    assert response.status == 200
    assert f"open {PAGE}/ in your browser" in await response.text()


async def test_the_demo_log_keeps_the_reason_of_a_refused_preflight(aiohttp_client) -> None:
    from aiohttp_cors._demo import build_api_app

    client = await aiohttp_client(build_api_app(PAGE))
    response = await client.options(
        "/limited?id=row",
        headers={"Origin": PAGE, "Access-Control-Request-Method": "PATCH"},
    )
    assert response.status == 403
    [entry] = await (await client.get("/_debug/log?id=row")).json()
    assert entry["reason"] == await response.text()
    assert "request method 'PATCH' is not allowed" in entry["reason"]


def test_the_demo_page_shows_the_configuration_behind_each_row() -> None:
    from aiohttp_cors._demo import DEMO_CASES, build_api_app, describe_configs, render_page

    configs = describe_configs(build_api_app(PAGE))
    for case in DEMO_CASES:
        assert f"{case.method} {case.path}" in configs, case.key
    assert configs["PUT /items"] == (
        f"cors.add(route, {{{PAGE!r}: ResourceOptions(allow_headers=('X-TOKEN',))}})"
    )
    assert configs["PATCH /limited"].startswith("cors.add(resource, ")
    html = render_page("http://127.0.0.1:8081", page_origin=PAGE, configs=configs)
    assert '"page": "http://localhost:8080"' in html
    assert "allow_credentials=True" in html


async def test_a_busy_demo_port_names_the_option_to_change() -> None:
    import socket

    from aiohttp_cors._demo import start_demo

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is already in use") as caught:
            await start_demo(api_port=0, page_port=port, access_log=False)
    assert "Hint: choose another port with --page-port" in str(caught.value)
