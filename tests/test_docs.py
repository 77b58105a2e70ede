"""Every Python code block of the documentation runs, so no example can rot.

Each ```python block of ``docs/*.md`` and ``README.md`` is executed on its own,
as a user would paste it into a file (``__name__`` is not ``"__main__"``, so
``web.run_app(...)`` under the usual guard does not start a server). Warnings
are errors: an example must not trigger the configuration checks it teaches
to avoid. A block that defines an application (``app``, or a factory named
``make_app``) is then started with ``aiohttp_client``, and every CORS-enabled
GET route is asked for with an origin the configuration names; at least one
of them must be allowed, so a recipe that grants nothing fails.
"""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path

import pytest
from aiohttp import web

import aiohttp_cors

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A fence opening with "python" (MyST and GitHub both read it), up to its closing fence.
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[pytest.param]:
    params = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            name = f"{document.relative_to(ROOT)}:{line}"
            params.append(pytest.param(match.group(1), name, id=name))
    return params


BLOCKS = python_blocks()


def test_the_documentation_has_examples_to_run() -> None:
    names = {param.values[1].split(":")[0] for param in BLOCKS}
    assert {"README.md", "docs/quickstart.md", "docs/recipes.md"} <= names
    assert len(BLOCKS) >= 15


async def build_app(namespace: dict) -> web.Application | None:
    app = namespace.get("app")
    if isinstance(app, web.Application):
        return app
    factory = namespace.get("make_app")
    if factory is None:
        return None
    made = factory()
    return await made if inspect.isawaitable(made) else made


# Which routes an example enabled and which origins its configuration names is read from
# the router adapter: no public API lists them. ``_router_adapter`` and ``_resource_config``
# (resource -> ``default_config`` and ``method_config``) are 0.8.1's names, kept for code
# written against 0.8.1; only app-wide mode (new in 1.x) is read from ``routing``.


def named_origins(app: web.Application) -> list[str]:
    """The exact origins the application's configuration names, and one for ``"*"``."""
    cors = app[aiohttp_cors.APP_CONFIG_KEY]
    keys = list(cors.defaults)
    for entry in cors._router_adapter._resource_config.values():
        keys.extend(entry.default_config)
        for config in entry.method_config.values():
            keys.extend(config)
    for _, view in enabled_routes(app):
        if view is not None:
            keys.extend(view.cors_config or {})
    origins = [key for key in keys if isinstance(key, str) and "://" in key and "*" not in key]
    if "*" in keys:
        origins.append("https://any.example")
    return list(dict.fromkeys(origins))


def all_resources(app: web.Application) -> list:
    found = []
    for resource in app.router.resources():
        sub = resource.get_info().get("app")  # a sub-application's resource
        found.extend(all_resources(sub) if isinstance(sub, web.Application) else [resource])
    return found


def enabled_routes(app: web.Application) -> list[tuple[web.ResourceRoute, type | None]]:
    """The routes of CORS-enabled resources, with the view class of ``*`` routes."""
    adapter = app[aiohttp_cors.APP_CONFIG_KEY]._router_adapter
    routes = []
    for resource in all_resources(app):
        if not (adapter.routing.all_routes or resource in adapter._resource_config):
            continue
        for route in resource:
            handler = route.handler
            view = handler if isinstance(handler, type) and issubclass(
                handler, aiohttp_cors.CorsViewMixin
            ) else None
            if route.method not in ("HEAD", "OPTIONS"):
                routes.append((route, view))
    return routes


def request_methods(route: web.ResourceRoute, view: type | None) -> list[str]:
    if view is None:
        return [route.method]
    return [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if hasattr(view, m.lower())]


@pytest.mark.parametrize(("source", "name"), BLOCKS)
async def test_documentation_example_runs(aiohttp_client, source: str, name: str) -> None:
    namespace: dict = {"__name__": "docs_example"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(source, name, "exec"), namespace)
        app = await build_app(namespace)
        if app is None:
            return
        client = await aiohttp_client(app)
    if aiohttp_cors.APP_CONFIG_KEY not in app:
        return
    routes = enabled_routes(app)
    if not routes:
        return  # an example of configuration alone: building and starting it was the test
    origins = named_origins(app)
    assert origins, f"{name}: the example names no origin"
    allowed = []
    for route, view in routes:
        path = route.resource.canonical
        for method in request_methods(route, view):
            for origin in origins:
                response = await client.options(
                    path, headers={"Origin": origin, "Access-Control-Request-Method": method}
                )
                assert response.status in (200, 403), (name, path, method, origin)
                assert "Origin" in response.headers.get("Vary", ""), (name, path)
                if response.headers.get("Access-Control-Allow-Origin") == origin:
                    allowed.append((method, path, origin))
                if method == "GET":
                    response = await client.get(path, headers={"Origin": origin})
                    assert response.status < 500, (name, path, origin, await response.text())
                    assert "Origin" in response.headers.get("Vary", ""), (name, path)
    assert allowed, f"{name}: no named origin is allowed on any route"
