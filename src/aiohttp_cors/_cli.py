"""``python -m aiohttp_cors routes`` and ``explain``: an application's CORS policy, offline.

``routes`` lists every route of an application with the CORS options each
origin key gets there after layering, and the configuration warnings raised
while the application was built. ``explain`` answers "why does my browser
block this request?" without a browser: it starts the application in-process
on a loopback port (aiohttp's test server, so the real middlewares and
routing run), sends the preflight a browser would send (Fetch §4.8
"CORS-preflight fetch") and the actual request, applies the browser's checks
(Fetch §4.10 "CORS check") to the responses, and names the refusal reason,
the configuration layer and origin key that decided it, and the fix.

Targets are written as for ``python -m aiohttp.web``: ``package.module:name``,
where ``name`` is an application or a callable (sync or async) returning one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import importlib
import inspect
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import hdrs, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute, MatchedSubAppResource

from ._errors import CorsConfigurationError, CorsConfigurationWarning, CorsSecurityWarning
from ._headers import (
    ACAPN,
    ACRPN,
    FORBIDDEN_METHODS,
    FORBIDDEN_REQUEST_HEADERS,
    FORBIDDEN_REQUEST_PREFIXES,
    SAFELISTED_METHODS,
)
from ._layer import mounted_applications
from ._origins import (
    GlobIndex,
    OriginGlob,
    normalize_configured_origin,
    parse_glob,
    parse_request_origin,
)
from ._policy import LOOPBACK_HOSTS, Layer, RefusalReason
from ._predicates import PredicateFailed, PredicateRunner, predicate_name, qualified_name
from ._routing import REFUSAL_PREFIX, CorsRouting
from .cors_config import APP_CONFIG_KEY, CorsConfig
from .resource_options import ResourceOptions

__all__ = [
    "add_explain_parser",
    "add_routes_parser",
    "discard_output",
    "run_explain",
    "run_routes",
]

#: Exit statuses of ``explain`` (and of both commands' usage errors).
EXIT_ALLOWED = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2

_CORS_WARNINGS = (CorsConfigurationWarning, CorsSecurityWarning)
#: Fetch "normalize a method": these are upper-cased, every other method is sent as written.
_NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
#: Fetch "CORS non-wildcard request-header name": ``Access-Control-Allow-Headers: *`` never
#: covers it, it must be listed by name.
_NON_WILDCARD_HEADERS = frozenset({"authorization"})
#: Fetch §2.2.2: bytes that make an Accept, Accept-Language, ... value unsafe.
_UNSAFE_BYTES = frozenset(b'"():<>?@[\\]{}\x7f') | frozenset(set(range(0x20)) - {0x09})
_LANGUAGE_BYTES = frozenset(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;="
)
_SAFELISTED_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
_SIMPLE_RANGE = re.compile(r"bytes=(?:[0-9]+-[0-9]*)")
_SHOWN_RESPONSE_HEADERS = ("Vary", "Allow", "Location")


class UsageError(Exception):
    """A bad target or request: reported on stderr with exit status 2."""


# -- loading the application -------------------------------------------------------------


@dataclass
class LoadedApp:
    """An application and the CORS configuration warnings raised while it was built."""

    app: web.Application
    warnings: list[warnings.WarningMessage] = field(default_factory=list)


def _import_target(target: str) -> Any:
    """The object ``package.module:name`` names (``python -m aiohttp.web``'s syntax)."""
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise UsageError(f"target {target!r} is not in 'package.module:name' syntax")
    if module_name.startswith("."):
        raise UsageError(f"target {target!r}: relative module names are not supported")
    # As with `python -m aiohttp.web`: modules of the current directory are importable.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise UsageError(
            f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    found: Any = module
    for part in name.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {name!r}") from None
    return found


async def _make_app(target: str, found: Any) -> web.Application:
    if isinstance(found, web.Application):
        return found
    if not callable(found):
        raise UsageError(
            f"{target} is {type(found).__name__}, not an aiohttp.web.Application "
            "or a callable returning one"
        )
    # python -m aiohttp.web calls its factory with the extra command line arguments;
    # factories written for it take that one argument (always empty here).
    try:
        takes_argv = _takes_one_argument(found)
        made = found([]) if takes_argv else found()
        if inspect.isawaitable(made):
            made = await made
    except CorsConfigurationError as exc:
        raise UsageError(f"{target}: invalid CORS configuration: {exc}") from exc
    except Exception as exc:
        raise UsageError(f"{target} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(made, web.Application):
        raise UsageError(f"{target} returned {type(made).__name__}, not an aiohttp.web.Application")
    return made


def _takes_one_argument(function: Any) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in parameters
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) == 1


@contextlib.asynccontextmanager
async def _running(target: str) -> Any:
    """Build the target's application, start it on a loopback port, yield (loaded, client).

    Warnings raised while building and starting it (``setup()``, ``add()`` and
    the start-up checks of views) are recorded, not shown.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = _import_target(target)
        app = await _make_app(target, found)
        if not any(APP_CONFIG_KEY in each for each in _applications(app)):
            raise UsageError(f"{target}: no application in it calls aiohttp_cors.setup()")
        client = TestClient(TestServer(app, host="127.0.0.1"))
        try:
            await client.start_server()
        except CorsConfigurationError as exc:
            await client.close()
            raise UsageError(f"{target}: invalid CORS configuration: {exc}") from exc
    loaded = LoadedApp(app, [w for w in caught if issubclass(w.category, _CORS_WARNINGS)])
    for other in caught:
        if not issubclass(other.category, _CORS_WARNINGS):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    try:
        yield loaded, client
    finally:
        await client.close()


async def explain_application(app: web.Application, spec: ExplainRequest) -> Explanation:
    """Explain ``spec`` against an application the caller built (the browser suite does)."""
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        return await explain(LoadedApp(app), client, spec)
    finally:
        await client.close()


def _applications(app: web.Application) -> Iterator[web.Application]:
    yield app
    for _, sub in mounted_applications(app):
        yield sub


# -- the registry, read-only ---------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One configuration layer: a short name for tables, where it was written, its keys."""

    name: str
    where: str
    layer: Layer


@dataclass(frozen=True)
class KeyOptions:
    """An origin key, the options it gets and the layer that gave them."""

    key: Any
    options: ResourceOptions
    source: Source


@dataclass
class Coverage:
    """The aiohttp_cors configuration that serves one route, and its layers for one method."""

    routing: CorsRouting
    config_label: str
    view: type | None
    #: The layers of an actual request's policy, highest precedence first; ``None``
    #: when a view does not implement the method.
    sources: list[Source] | None
    #: The layers a plain resource's preflight method check reads (resource, defaults).
    resource_sources: list[Source]
    app_wide: bool


def describe_key(key: Any) -> str:
    """An origin key as the user wrote it."""
    if isinstance(key, str):
        return repr(key)
    if isinstance(key, OriginGlob):
        return repr(key.source)
    if isinstance(key, re.Pattern):
        return f"re.compile({key.pattern!r})"
    return f"predicate {predicate_name(key)}"


def _config_label(app: web.Application, chain: Sequence[web.Application], prefix: str) -> str:
    return (
        "setup() of the root application"
        if app is chain[0]
        else (f"setup() of the sub-application at {prefix or '(domain)'}")
    )


def _coverage(
    chain: Sequence[tuple[web.Application, str]],
    resource: AbstractResource | None,
    route: AbstractRoute | None,
    method: str,
    path: str,
) -> Coverage | None:
    """The first configuration of the application chain (outermost first, whose
    middleware sees the request first) that serves ``resource``, with its layers."""
    apps = [app for app, _ in chain]
    for app, prefix in chain:
        cors: CorsConfig | None = app.get(APP_CONFIG_KEY)
        if cors is None:
            continue
        routing = cors._routing
        entry = routing.entries.get(resource) if resource is not None else None
        if entry is None and not routing.all_routes:
            continue
        label = _config_label(app, apps, prefix)
        defaults = [
            Source("defaults", "the defaults of setup()", layer)
            for layer in routing.defaults_layers
        ]
        resource_layers: tuple[Layer, ...] = entry.resource_layers if entry is not None else ()
        resource_sources = [
            Source("resource", f"the config given to cors.add() for the resource {path}", layer)
            for layer in resource_layers
        ] + defaults
        method_layers = entry.method_layers if entry is not None else {}
        view = routing.mixin_view(route) if route is not None else None
        sources: list[Source] | None
        if view is None:
            own = [
                Source(
                    "route",
                    f"the config given to cors.add() for the {method} route of {path}",
                    layer,
                )
                for layer in method_layers.get(method, ())
            ]
            sources = own + resource_sources
        else:
            sources = _view_sources(routing, view, method, path, defaults)
            if sources is not None:
                sources += resource_sources
        return Coverage(routing, label, view, sources, resource_sources, app_wide=entry is None)
    return None


def _view_sources(
    routing: CorsRouting, view: type, method: str, path: str, defaults: list[Source]
) -> list[Source] | None:
    name = view.__name__
    if routing.overrides(view, "get_request_config"):
        # Decided per request by the view's own code, as 0.8.1 did: ask it.
        request = make_mocked_request(method, path)
        try:
            found = view.get_request_config(request, method)  # type: ignore[attr-defined]
        except KeyError:
            return None
        except Exception:
            return []
        maps = found.maps if hasattr(found, "maps") else [found]
        return [
            Source(
                f"{name}.get_request_config()",
                f"what {name}.get_request_config() returns",
                dict(_parsed(each)),
            )
            for each in maps
        ]
    layers = routing.view_layers_by_source(view, method)
    if layers is None:
        return None
    own, class_layers = layers
    return (
        [
            Source(
                f"@custom_cors {name}.{method.lower()}",
                f"@custom_cors on {name}.{method.lower()}()",
                layer,
            )
            for layer in own
        ]
        + [Source(f"{name}.cors_config", f"{name}.cors_config", layer) for layer in class_layers]
        + defaults
    )


def _parsed(config: Mapping[Any, Any]) -> Iterator[tuple[Any, ResourceOptions]]:
    for key, value in config.items():
        if isinstance(value, ResourceOptions):
            yield key, value
        elif isinstance(value, Mapping):
            with contextlib.suppress(ValueError, TypeError):
                yield key, ResourceOptions.from_mapping(value)


def effective_keys(sources: Sequence[Source]) -> list[KeyOptions]:
    """Every origin key of a layer stack with the options it gets: the first layer
    naming a key wins (keys are never merged field by field, as in 0.8.1)."""
    seen: dict[Any, KeyOptions] = {}
    for source in sources:
        for key, options in source.layer.items():
            if key not in seen:
                seen[key] = KeyOptions(key, options, source)
    return list(seen.values())


async def deciding_key(
    sources: Sequence[Source], origin: str, runner: PredicateRunner
) -> tuple[KeyOptions | None, KeyOptions | None]:
    """The key whose options a valid ``origin`` gets, and a predicate key that failed.

    The package's lookup order: the exact origin through every layer, then
    patterns (globs, regexes, predicates) layer by layer, then ``"*"``
    (never for ``null``).
    """
    keys = effective_keys(sources)
    for each in keys:
        if isinstance(each.key, str) and each.key == origin and each.key != "*":
            return each, None
    for each in keys:
        key = each.key
        if isinstance(key, str):
            continue
        if isinstance(key, OriginGlob):
            matched = GlobIndex([(key, True)]).match(origin) is not None
        elif isinstance(key, re.Pattern):
            matched = key.fullmatch(origin) is not None
        else:
            try:
                matched = await runner.ask(key, origin)
            except PredicateFailed:
                return None, each
        if matched:
            return each, None
    if origin != "null":
        for each in keys:
            if each.key == "*":
                return each, None
    return None, None


# -- routes -------------------------------------------------------------------------------


@dataclass
class RouteRow:
    method: str
    path: str
    handler: str
    cors: str
    config: str | None
    keys: list[KeyOptions]
    note: str | None = None


def _walk(
    app: web.Application, chain: tuple[tuple[web.Application, str], ...]
) -> Iterator[tuple[tuple[tuple[web.Application, str], ...], AbstractResource]]:
    for resource in app.router.resources():
        if isinstance(resource, (web.PrefixedSubAppResource, MatchedSubAppResource)):
            info = resource.get_info()
            prefix = str(info.get("prefix", ""))
            yield from _walk(info["app"], (*chain, (info["app"], prefix)))
        else:
            yield chain, resource


def route_rows(app: web.Application) -> list[RouteRow]:
    """One row per route of ``app`` and its sub-applications (our OPTIONS routes left out)."""
    rows: list[RouteRow] = []
    ours = set()
    for each in _applications(app):
        cors = each.get(APP_CONFIG_KEY)
        if cors is not None:
            ours |= cors._routing.preflight_routes
    for chain, resource in _walk(app, ((app, ""),)):
        path = resource.canonical
        for route in resource:
            if route in ours:
                continue
            method = route.method
            handler = qualified_name(route.handler)
            coverage = _coverage(chain, resource, route, method, path)
            if coverage is None:
                rows.append(RouteRow(method, path, handler, "no", None, []))
                continue
            cors_state = "app-wide" if coverage.app_wide else "yes"
            if coverage.view is not None and method == hdrs.METH_ANY:
                # One row per method the view implements.
                for name in sorted(hdrs.METH_ALL):
                    if (
                        name == hdrs.METH_OPTIONS
                        or getattr(coverage.view, name.lower(), None) is None
                    ):
                        continue  # the mixin's options() answers preflights
                    sub = _coverage(chain, resource, route, name, path)
                    keys = effective_keys(sub.sources or []) if sub is not None else []
                    rows.append(
                        RouteRow(name, path, handler, cors_state, coverage.config_label, keys)
                    )
                continue
            keys = effective_keys(coverage.sources or [])
            rows.append(RouteRow(method, path, handler, cors_state, coverage.config_label, keys))
    return rows


def _names(value: Any) -> str:
    if value is None:
        return "-"
    if value == "*":
        return "*"
    return ",".join(sorted(value)) or "-"


def options_dict(options: ResourceOptions) -> dict[str, Any]:
    """The options as JSON values."""

    def names(value: Any) -> Any:
        return value if value is None or value == "*" else sorted(value)

    return {
        "allow_credentials": options.allow_credentials,
        "expose_headers": names(options.expose_headers),
        "allow_headers": names(options.allow_headers),
        "allow_methods": names(options.allow_methods),
        "max_age": options.max_age,
        "allow_private_network": options.allow_private_network,
    }


def _warning_lines(caught: Sequence[warnings.WarningMessage]) -> list[dict[str, Any]]:
    return [
        {
            "category": w.category.__name__,
            "message": str(w.message),
            "file": w.filename,
            "line": w.lineno,
        }
        for w in caught
    ]


def format_routes(target: str, rows: Sequence[RouteRow], caught: list[dict[str, Any]]) -> str:
    """The human-readable ``routes`` table."""
    lines = [
        f"Routes of {target}: {len(rows)} routes, {sum(r.cors != 'no' for r in rows)} with CORS",
        "",
    ]
    header = ("METHOD", "PATH", "CORS", "HANDLER")
    table = [header] + [(r.method, r.path, r.cors, r.handler) for r in rows]
    configs = sorted({r.config for r in rows if r.config})
    if len(configs) > 1:
        table = [header] + [
            (r.method, r.path, r.cors if not r.config else f"{r.cors} ({r.config})", r.handler)
            for r in rows
        ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    option_header = (
        "origin key",
        "from",
        "credentials",
        "expose_headers",
        "allow_headers",
        "allow_methods",
        "max_age",
        "private_network",
    )

    def line(cells: Sequence[str], indent: str = "") -> str:
        return indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths)) + "  " + cells[-1]

    lines.append(line(header).rstrip())
    for row in rows:
        state = row.cors if len(configs) <= 1 or not row.config else f"{row.cors} ({row.config})"
        lines.append(line((row.method, row.path, state, row.handler)).rstrip())
        if row.cors == "no":
            continue
        if not row.keys:
            lines.append("    (no origin key: every cross-origin request is refused)")
            continue
        cells = [option_header] + [
            (
                describe_key(k.key),
                k.source.name,
                "yes" if k.options.allow_credentials else "no",
                _names(k.options.expose_headers),
                _names(k.options.allow_headers),
                _names(k.options.allow_methods),
                "-" if k.options.max_age is None else str(k.options.max_age),
                "yes" if k.options.allow_private_network else "no",
            )
            for k in row.keys
        ]
        option_widths = [max(len(c[i]) for c in cells) for i in range(len(option_header))]
        for c in cells:
            lines.append("    " + "  ".join(v.ljust(w) for v, w in zip(c, option_widths)).rstrip())
    lines.append("")
    if caught:
        lines.append(f"Configuration warnings ({len(caught)}):")
        for w in caught:
            lines.append(f"  {w['category']} ({os.path.basename(w['file'])}:{w['line']}):")
            lines.append(f"    {w['message']}")
    else:
        lines.append("Configuration warnings: none")
    return "\n".join(lines)


def routes_json(target: str, rows: Sequence[RouteRow], caught: list[dict[str, Any]]) -> str:
    """The ``routes --json`` document."""
    return json.dumps(
        {
            "target": target,
            "routes": [
                {
                    "method": r.method,
                    "path": r.path,
                    "handler": r.handler,
                    "cors": r.cors,
                    "config": r.config,
                    "origins": [
                        {
                            "key": describe_key(k.key),
                            "from": k.source.name,
                            **options_dict(k.options),
                        }
                        for k in r.keys
                    ],
                }
                for r in rows
            ],
            "warnings": caught,
        },
        indent=2,
    )


async def _routes(target: str, as_json: bool) -> str:
    async with _running(target) as (loaded, _):
        rows = route_rows(loaded.app)
        caught = _warning_lines(loaded.warnings)
    return routes_json(target, rows, caught) if as_json else format_routes(target, rows, caught)


# -- Fetch: what the browser sends and checks ----------------------------------------------


def normalize_method(method: str) -> str:
    """Fetch "normalize a method": the six common methods are upper-cased, others kept."""
    return method.upper() if method.upper() in _NORMALIZED_METHODS else method


def is_forbidden_request_header(name: str) -> bool:
    """Fetch "forbidden request-header": a page can never set it (the browser does)."""
    upper = name.upper()
    return upper in FORBIDDEN_REQUEST_HEADERS or upper.startswith(FORBIDDEN_REQUEST_PREFIXES)


def is_safelisted_header(name: str, value: str) -> bool:
    """Fetch §2.2.2 "CORS-safelisted request-header" (without the 1024-byte total)."""
    raw = value.encode("latin-1", "replace")
    if len(raw) > 128:
        return False
    lower = name.lower()
    if lower == "accept":
        return not any(b in _UNSAFE_BYTES for b in raw)
    if lower in ("accept-language", "content-language"):
        return all(b in _LANGUAGE_BYTES for b in raw)
    if lower == "content-type":
        if any(b in _UNSAFE_BYTES for b in raw):
            return False
        essence = value.split(";", 1)[0].strip(" \t").lower()
        return essence in _SAFELISTED_CONTENT_TYPES
    if lower == "range":
        return _SIMPLE_RANGE.fullmatch(value.strip(" \t")) is not None
    return False


def unsafe_header_names(headers: Sequence[tuple[str, str]]) -> list[str]:
    """Fetch "CORS-unsafe request-header names": sorted, lower-cased, no duplicates."""
    unsafe: set[str] = set()
    safelisted_size = 0
    safelisted: list[str] = []
    for name, value in headers:
        if is_safelisted_header(name, value):
            safelisted.append(name)
            safelisted_size += len(value.encode("latin-1", "replace"))
        else:
            unsafe.add(name.lower())
    if safelisted_size > 1024:
        unsafe.update(name.lower() for name in safelisted)
    return sorted(unsafe)


def _header_list(headers: Any, name: str) -> list[str] | None:
    """Fetch "extract header list values" of a comma-separated list; ``None`` when absent."""
    lines = headers.getall(name, ())
    if not lines:
        return None
    return [item.strip(" \t") for item in ",".join(lines).split(",") if item.strip(" \t")]


@dataclass
class BrowserFailure:
    """A check the browser applies that the response failed."""

    code: str
    message: str


def cors_check(headers: Any, origin: str, credentials: bool) -> BrowserFailure | None:
    """Fetch §4.10 "CORS check" of a response for a request from ``origin``."""
    values = headers.getall("Access-Control-Allow-Origin", ())
    if not values:
        return BrowserFailure(
            "no_allow_origin", "the response has no Access-Control-Allow-Origin header"
        )
    allowed = ", ".join(values)
    if allowed == "*" and not credentials:
        return None
    if allowed == "*":
        return BrowserFailure(
            "wildcard_with_credentials",
            "Access-Control-Allow-Origin is '*', which a credentialed request never accepts",
        )
    if allowed != origin:
        return BrowserFailure(
            "allow_origin_mismatch",
            f"Access-Control-Allow-Origin is {allowed!r}, not the page's origin {origin!r}",
        )
    if not credentials:
        return None
    if ", ".join(headers.getall("Access-Control-Allow-Credentials", ())) != "true":
        return BrowserFailure(
            "credentials_not_allowed",
            "the request includes credentials but the response lacks "
            "'Access-Control-Allow-Credentials: true'",
        )
    return None


def preflight_check(
    status: int,
    headers: Any,
    origin: str,
    credentials: bool,
    method: str,
    unsafe: Sequence[str],
    private_network: bool,
) -> BrowserFailure | None:
    """Fetch §4.8 "CORS-preflight fetch": what the browser requires of a preflight's response."""
    failure = cors_check(headers, origin, credentials)
    if failure is not None:
        return failure
    if not 200 <= status <= 299:
        return BrowserFailure(
            "preflight_status", f"the preflight's response status {status} is not an ok status"
        )
    methods = _header_list(headers, "Access-Control-Allow-Methods") or []
    names = [n.lower() for n in _header_list(headers, "Access-Control-Allow-Headers") or []]
    if (
        method not in methods
        and method not in SAFELISTED_METHODS
        and (credentials or "*" not in methods)
    ):
        return BrowserFailure(
            "method_not_in_allow_methods",
            f"{method} is not in Access-Control-Allow-Methods ({', '.join(methods) or 'absent'})",
        )
    for name in unsafe:
        if name in names:
            continue
        if name in _NON_WILDCARD_HEADERS or credentials or "*" not in names:
            return BrowserFailure(
                "header_not_in_allow_headers",
                f"request header {name!r} is not in Access-Control-Allow-Headers "
                f"({', '.join(names) or 'absent'})",
            )
    if private_network and ", ".join(headers.getall(ACAPN, ())) != "true":
        return BrowserFailure("private_network_not_allowed", f"the response lacks '{ACAPN}: true'")
    return None


# -- suggesting origin keys -----------------------------------------------------------------

#: The Public Suffix List as Linux distributions ship it (Debian's and Fedora's
#: ``publicsuffix`` package); without it, _FALLBACK_SUFFIXES below is used.
_PSL_PATH = "/usr/share/publicsuffix/public_suffix_list.dat"
#: Suffixes under which anyone can register a name, for machines without the list:
#: the common second-level ones of country domains and shared hosting domains.
_FALLBACK_SECOND_LEVEL = frozenset(
    ("ac", "co", "com", "edu", "gov", "ltd", "me", "mil", "ne", "net", "nom", "or", "org", "sch")
)
_FALLBACK_SUFFIXES = frozenset(
    {
        "appspot.com",
        "azurewebsites.net",
        "blogspot.com",
        "cloudfront.net",
        "firebaseapp.com",
        "fly.dev",
        "github.io",
        "gitlab.io",
        "herokuapp.com",
        "netlify.app",
        "ngrok-free.app",
        "ngrok.io",
        "onrender.com",
        "pages.dev",
        "vercel.app",
        "web.app",
        "workers.dev",
    }
)


@functools.lru_cache(maxsize=1)
def _public_suffix_rules() -> frozenset[str] | None:
    """The Public Suffix List's rules (``*.x`` and ``!x`` as written), punycode, or None."""
    try:
        with open(_PSL_PATH, encoding="utf-8") as text:
            lines = text.read().splitlines()
    except OSError:
        return None
    rules = set()
    for line in lines:
        rule = line.strip().split(" ", 1)[0].lower()
        if not rule or rule.startswith("//"):
            continue
        if not rule.isascii():
            try:
                rule = ".".join(
                    label
                    if label in ("*", "!") or label.isascii()
                    else label.encode("idna").decode()
                    for label in rule.split(".")
                )
            except UnicodeError:
                continue
        rules.add(rule)
    return frozenset(rules)


def is_public_suffix(name: str) -> bool:
    """Whether anyone can register a site directly under ``name`` (``com``, ``co.uk``,
    ``github.io``): a glob ``*.name`` would then let in sites of other owners.

    The Public Suffix List (https://publicsuffix.org) decides where the system
    has it; otherwise a short built-in list of the commonest such suffixes.
    """
    labels = name.split(".")
    if len(labels) < 2:
        return True  # a top-level domain, listed or not ("the implicit '*' rule")
    rules = _public_suffix_rules()
    if rules is None:
        return name in _FALLBACK_SUFFIXES or (
            len(labels) == 2 and len(labels[1]) == 2 and labels[0] in _FALLBACK_SECOND_LEVEL
        )
    if "!" + name in rules:
        return False
    return name in rules or "*." + ".".join(labels[1:]) in rules


def suggest_glob(origin: str) -> str | None:
    """A glob derived from ``origin``'s own host that matches it, or None.

    Any port of a loopback host (a development server); else every host next
    to this one: ``https://*.preview.example.net`` for
    ``https://pr-12.preview.example.net``, never one under a public suffix.
    """
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in ("http", "https") or parse_request_origin(origin) is None:
        return None
    host, _, port = (
        rest.rpartition(":") if not rest.endswith("]") and ":" in rest else (rest, "", "")
    )
    if host in LOOPBACK_HOSTS:
        glob = f"{scheme}://{host}:*" if port else None
    elif host.startswith("[") or host.replace(".", "").isdigit():
        glob = None  # an IP address: no subdomains
    else:
        parent = host.partition(".")[2]
        if not parent or is_public_suffix(parent):
            return None
        glob = f"{scheme}://*.{parent}" + (f":{port}" if port else "")
    if glob is None:
        return None
    try:
        return glob if GlobIndex([(parse_glob(glob), True)]).match(origin) else None
    except ValueError:
        return None


# -- explain ------------------------------------------------------------------------------


@dataclass
class Exchange:
    """One request the browser sends and what the application answered."""

    kind: str
    method: str
    path: str
    request_headers: list[tuple[str, str]]
    #: The request's body (``--data``/``--data-json``); a preflight never has one.
    request_body: str | None = None
    status: int = 0
    reason: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    refusals: list[str] = field(default_factory=list)
    #: What the ``aiohttp_cors`` logger said while the request was answered: (level, line).
    log: list[tuple[int, str]] = field(default_factory=list)
    failure: BrowserFailure | None = None
    #: The response's headers, for the browser checks.
    headers: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "request": {
                "method": self.method,
                "path": self.path,
                "headers": [list(h) for h in self.request_headers],
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "reason": self.reason,
                "headers": [list(h) for h in self.response_headers],
                "body": self.body,
            },
            "server_refusals": self.refusals,
            "server_log": [
                {"level": logging.getLevelName(level), "message": line} for level, line in self.log
            ],
            "browser_check": None
            if self.failure is None
            else {"code": self.failure.code, "message": self.failure.message},
        }


@dataclass
class Explanation:
    """What a browser does for one request, and why."""

    method: str
    path: str
    origin: str | None
    credentials: bool
    route: str
    config: str | None
    notes: list[str]
    preflight_reasons: list[str]
    exchanges: list[Exchange]
    allowed: bool
    code: str | None = None
    decided_by: str | None = None
    fix: str | None = None
    #: The refusal code the server counted and its 403 text, when ``code`` names
    #: another, real cause (the server checks the method before the origin).
    server_code: str | None = None
    server_text: str | None = None
    #: Where the final response's status came from, when it is not what one expects.
    status_note: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "request": {
                "method": self.method,
                "path": self.path,
                "origin": self.origin,
                "credentials": self.credentials,
            },
            "route": self.route,
            "config": self.config,
            "notes": self.notes,
            "preflight": {
                "required": bool(self.preflight_reasons),
                "reasons": self.preflight_reasons,
            },
            "exchanges": [e.to_json() for e in self.exchanges],
            "verdict": "allowed" if self.allowed else "refused",
            "reason": self.code,
            "server_reason": self.server_code,
            "status_note": self.status_note,
            "decided_by": self.decided_by,
            "fix": self.fix,
            "warnings": self.warnings,
        }


@dataclass
class ExplainRequest:
    """The request to explain, as the command line gave it."""

    method: str
    path: str
    origin: str | None
    headers: list[tuple[str, str]]
    credentials: bool = False
    private_network: bool = False
    #: The actual request's body, as the page passes it to ``fetch()``.
    body: str | None = None


class _LogRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage().splitlines()[0]
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line += f" ({type(error).__name__}: {error})"
        self.lines.append((record.levelno, line))


@contextlib.contextmanager
def _recording_log() -> Iterator[_LogRecorder]:
    """The ``aiohttp_cors`` logger's lines (refusals are logged at DEBUG) and aiohttp's
    errors (a handler that raised), kept off stderr: the report shows them."""
    recorder = _LogRecorder()
    saved = []
    for name, level in (("aiohttp_cors", logging.DEBUG), ("aiohttp.server", None)):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(recorder)
        if level is not None:
            logger.setLevel(level)
        logger.propagate = False
    try:
        yield recorder
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(recorder)
            logger.setLevel(level)
            logger.propagate = propagate


def _refusal_counts(app: web.Application) -> dict[str, int]:
    counts: dict[str, int] = {}
    for each in _applications(app):
        cors = each.get(APP_CONFIG_KEY)
        if cors is not None:
            for code, count in cors.stats()["refusals"].items():
                counts[code] = counts.get(code, 0) + count
    return counts


async def _send(
    client: TestClient[web.Request, web.Application], app: web.Application, exchange: Exchange
) -> None:
    before = _refusal_counts(app)
    with _recording_log() as recorder:
        async with client.request(
            exchange.method,
            exchange.path,
            headers=exchange.request_headers,
            data=None if exchange.request_body is None else exchange.request_body.encode(),
            allow_redirects=False,
        ) as response:
            text = await response.text(errors="replace")
            exchange.status = response.status
            exchange.reason = response.reason or ""
            exchange.response_headers = [
                (name, value)
                for name, value in response.headers.items()
                if name.lower().startswith("access-control-")
                or name.title() in _SHOWN_RESPONSE_HEADERS
            ]
            if response.status == 403 or text.startswith(REFUSAL_PREFIX):
                exchange.body = text[:300]
            exchange.headers = response.headers
    exchange.log = recorder.lines
    after = _refusal_counts(app)
    exchange.refusals = [code for code in after if after[code] > before.get(code, 0)]


async def _resolve(
    app: web.Application, method: str, path: str
) -> tuple[AbstractResource | None, AbstractRoute | None, list[tuple[web.Application, str]]]:
    """The resource (and the route for ``method``) that serve ``path``, with the app chain.

    The resource is ``None`` for a path no route serves when an application on
    the way runs ``setup(..., all_routes=True)``: its 404 gets CORS headers, so
    a page may read it.
    """
    bare = path.split("?", 1)[0]
    match = await app.router.resolve(make_mocked_request(method, bare, app=app))
    error = match.http_exception
    resource: AbstractResource | None
    route: AbstractRoute | None = None
    if error is not None:
        allowed = sorted(getattr(error, "allowed_methods", ()) or ())
        if error.status == 405 and allowed:
            match = await app.router.resolve(make_mocked_request(allowed[0], bare, app=app))
            resource = match.route.resource
        else:
            resource = None
    else:
        route = match.route
        resource = route.resource
    if route is not None and route.method not in (method, hdrs.METH_ANY):
        route = None
    # The router adds the sub-applications it went through; aiohttp adds the root later.
    chain: list[tuple[web.Application, str]] = [(app, "")]
    for each in match.apps:
        if each is app:
            continue
        prefix = ""
        for parent_resource in chain[-1][0].router.resources():
            info = parent_resource.get_info()
            if info.get("app") is each:
                prefix = str(info.get("prefix", ""))
        chain.append((each, prefix))
    if resource is None and not any(_all_routes(each) for each, _ in chain):
        status = error.status if error is not None else 404
        raise UsageError(f"no route of the application matches {bare!r} ({status})")
    return resource, route, chain


def _all_routes(app: web.Application) -> bool:
    cors: CorsConfig | None = app.get(APP_CONFIG_KEY)
    return cors is not None and cors._routing.all_routes


async def explain(
    loaded: LoadedApp, client: TestClient[web.Request, web.Application], spec: ExplainRequest
) -> Explanation:
    """Run ``spec`` as a browser would against the running application and judge it."""
    app = loaded.app
    method, path, origin = spec.method, spec.path, spec.origin
    notes: list[str] = []
    sent: list[tuple[str, str]] = []
    for name, value in spec.headers:
        if is_forbidden_request_header(name):
            hint = " (use --credentials for cookies)" if name.lower() == "cookie" else ""
            notes.append(f"ignored header {name}: browsers never let a page set it{hint}")
        else:
            sent.append((name, value))
    resource, route, chain = await _resolve(app, method, path)
    bare = path.split("?", 1)[0]
    canonical = resource.canonical if resource is not None else bare
    coverage = _coverage(chain, resource, route, method, canonical)
    ours = coverage is not None and route in coverage.routing.preflight_routes
    route_label = (
        f"{method} {canonical} -> aiohttp_cors's preflight route"
        if ours
        else f"{method} {canonical} -> {qualified_name(route.handler)}"
        if route is not None
        else f"{method} {canonical} (no route for {method}: aiohttp answers 405)"
        if resource is not None
        else f"{method} {canonical} (no route: aiohttp answers 404, with CORS headers since "
        "setup(..., all_routes=True))"
    )
    if origin is not None and parse_request_origin(origin) is None:
        notes.append(
            f"{origin!r} is not a serialized origin: browsers never send it "
            "(it comes from a non-browser client or a proxy)"
        )
    reasons: list[str] = []
    unsafe = unsafe_header_names(sent)
    if origin is not None:
        if method not in SAFELISTED_METHODS:
            reasons.append(
                f"{method} is not a CORS-safelisted method (GET, HEAD, POST; Fetch §2.2.1)"
            )
        reasons.extend(
            f"{name} is not a CORS-safelisted request-header (Fetch §2.2.2)" for name in unsafe
        )
        if spec.private_network:
            reasons.append("the page asks for private network access (Private Network Access)")
        if spec.credentials:
            notes.append(
                "credentials alone never require a preflight, but the response must then "
                "echo the origin (no '*') and send Access-Control-Allow-Credentials: true"
            )
    else:
        notes.append(
            "no --origin: a request without Origin is same-origin or from a non-browser "
            "client, so the browser applies no CORS check"
        )
    exchanges: list[Exchange] = []
    failure: BrowserFailure | None = None
    if reasons and origin is not None:
        request_headers = [
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
        ]
        if unsafe:
            request_headers.append(("Access-Control-Request-Headers", ",".join(unsafe)))
        if spec.private_network:
            request_headers.append((ACRPN, "true"))
        preflight = Exchange("preflight", "OPTIONS", path, request_headers)
        await _send(client, app, preflight)
        preflight.failure = preflight_check(
            preflight.status,
            preflight.headers,
            origin,
            spec.credentials,
            method,
            unsafe,
            spec.private_network,
        )
        exchanges.append(preflight)
        failure = preflight.failure
    if failure is None:
        request_headers = [] if origin is None else [("Origin", origin)]
        actual = Exchange("actual", method, path, request_headers + sent, spec.body)
        await _send(client, app, actual)
        if origin is not None:
            actual.failure = cors_check(
                actual.headers,
                origin,
                spec.credentials,
            )
        exchanges.append(actual)
        failure = actual.failure
    last = exchanges[-1]
    if 300 <= last.status <= 399 and failure is None:
        notes.append(
            "a browser follows the redirect and applies the same checks to the next response; "
            "explain the Location path too"
        )
    refused_by_server = bool(last.refusals) and (origin is None or failure is not None)
    status_note = None
    if last.kind == "actual" and resource is None and last.status == 404:
        status_note = (
            f"404 from aiohttp's router: no route serves {bare}; setup(..., all_routes=True) "
            "gives that 404 CORS headers, so the verdict says whether the page can read the 404"
        )
    elif last.kind == "actual" and last.status >= 500:
        status_note = (
            f"{last.status} came from the application (its handler or a middleware), not from "
            "aiohttp_cors: CORS decides whether the page may read a response, not whether the "
            "request succeeded"
        )
        if spec.body is None and method not in ("GET", "HEAD"):
            status_note += (
                "; the request was sent without a body: if the handler reads one, give it with "
                "--data or --data-json"
            )
    result = Explanation(
        method=method,
        path=path,
        origin=origin,
        credentials=spec.credentials,
        route=route_label,
        config=coverage.config_label if coverage is not None else None,
        notes=notes,
        preflight_reasons=reasons,
        exchanges=exchanges,
        allowed=failure is None and not refused_by_server,
        status_note=status_note,
        warnings=_warning_lines(loaded.warnings),
    )
    if not result.allowed:
        code = last.refusals[0] if last.refusals else (failure.code if failure else "refused")
        if coverage is None and not last.refusals:
            code = "cors_not_enabled"
        with _recording_log():  # predicates asked again here log what the server logged
            if code == RefusalReason.METHOD_NOT_ALLOWED.value and coverage is not None:
                real = await _origin_cause(coverage, resource, origin)
                if real is not None:
                    result.server_code, result.server_text = code, last.body
                    code = real
            result.code = code
            result.decided_by, result.fix = await _diagnose(
                code, spec, coverage, canonical, resource, route, unsafe, last, loaded.warnings
            )
    return result


async def _origin_cause(
    coverage: Coverage, resource: AbstractResource | None, origin: str | None
) -> str | None:
    """The origin's refusal code when the origin, not the method, is why a preflight fails.

    The package checks the preflight's method before its origin, as
    aiohttp-cors 0.8.1 did, so a preflight from an origin that no layer gives
    any options is refused for its method. Fixing the method would only lead
    to a refusal for the origin: name that one.
    """
    if coverage.sources is None or origin is None:
        return None
    if parse_request_origin(origin) is None:
        return RefusalReason.ORIGIN_MALFORMED.value
    entry = coverage.routing.entries.get(resource) if resource is not None else None
    every = list(coverage.sources)
    if entry is not None and resource is not None:
        every += [
            Source(
                "route",
                f"the config given to cors.add() for the {each} route of {resource.canonical}",
                layer,
            )
            for each, layers in entry.method_layers.items()
            for layer in layers
        ]
    every += coverage.resource_sources
    runner = PredicateRunner(timeout=coverage.routing.predicates.timeout)
    found, failed = await deciding_key(every, origin, runner)
    if found is None and failed is None:
        return RefusalReason.ORIGIN_NOT_ALLOWED.value
    return None


async def _diagnose(
    code: str,
    spec: ExplainRequest,
    coverage: Coverage | None,
    path: str,
    resource: AbstractResource | None,
    route: AbstractRoute | None,
    unsafe: Sequence[str],
    last: Exchange,
    caught: Sequence[warnings.WarningMessage] = (),
) -> tuple[str, str]:
    """The layer and origin key behind a refusal, and a concrete fix."""
    method, origin = spec.method, spec.origin or ""
    where = f"{method} {path}"
    if code == "cors_not_enabled" or coverage is None:
        return (
            f"no aiohttp_cors configuration serves {path}: its responses get no CORS headers",
            f"pass the route to cors.add() (e.g. cors.add(route, {{{origin!r}: "
            "ResourceOptions()})), or use setup(app, defaults=..., all_routes=True)",
        )
    label = coverage.config_label
    if route is None and code == "no_allow_origin":
        return (
            f"no route of {path} serves {method}: aiohttp's 405 response is not "
            f"CORS-enabled ({label})",
            f"add a {method} route to {path} and pass it to cors.add(), or use "
            "setup(..., all_routes=True), which also gives 404 and 405 responses CORS headers",
        )
    runner = PredicateRunner(timeout=coverage.routing.predicates.timeout)
    if code == RefusalReason.ORIGIN_MISSING.value:
        return (
            "the request has no Origin header, and aiohttp_cors answers OPTIONS requests "
            f"on {path} (its preflight route, {label})",
            "browsers send Origin on every cross-origin request: pass --origin to explain a "
            "browser's request; if a non-browser client sends plain OPTIONS, give the resource "
            "an OPTIONS handler of your own (it gets the OPTIONS requests that are not preflights)",
        )
    if code == RefusalReason.METHOD_MISSING.value:
        return (
            "an OPTIONS request with Origin but no Access-Control-Request-Method is not a "
            f"preflight; aiohttp_cors's preflight route on {path} refuses it "
            f"({label})",
            "a page's fetch(url, {method: 'OPTIONS'}) sends exactly this: add an OPTIONS handler "
            f"of your own to {path} and pass it to cors.add() (preflights are still "
            "answered before it), or do not send OPTIONS from the page",
        )
    if code == RefusalReason.ORIGIN_MALFORMED.value:
        try:
            canonical = normalize_configured_origin(origin)
        except ValueError:
            canonical = None
        shown = f"; a browser would send {canonical!r}" if canonical and canonical != origin else ""
        return (
            f"Origin {origin!r} is not one serialized origin (scheme://host[:port], lower case, "
            "no default port, no path): aiohttp_cors never matches or echoes it",
            "send the origin exactly as browsers serialize it" + shown + "; if a proxy rewrites "
            "Origin, fix the proxy",
        )
    sources = coverage.sources
    if sources is None:  # a view without the method
        view = coverage.view.__name__ if coverage.view is not None else "the view"
        return (
            f"{view} does not implement {method.lower()}() ({label})",
            f"add an 'async def {method.lower()}(self)' method to {view}",
        )
    if code == RefusalReason.METHOD_NOT_ALLOWED.value and resource is not None:
        return await _diagnose_method(spec, coverage, resource, runner)
    found, failed = await deciding_key(sources, origin, runner)
    if failed is not None or code == RefusalReason.PREDICATE_FAILED.value:
        key = failed or found
        shown = describe_key(key.key) if key is not None else "an origin predicate"
        source = key.source.where if key is not None else label
        return (
            f"{shown} in {source} ({label}) raised or did not answer in time for {origin!r}",
            "make the predicate return True or False for every origin (catch its errors), or "
            "give it longer with OriginPredicate(function, timeout=...) or "
            "setup(..., predicate_timeout=...); the traceback is logged on 'aiohttp_cors'",
        )
    if found is None:
        keys = ", ".join(describe_key(k.key) for k in effective_keys(sources)) or "none"
        hint = " ('*' never matches the origin 'null'; list \"null\")" if origin == "null" else ""
        decided = f"no origin key for {where} matches {origin!r} (keys: {keys}){hint}; {label}"
        if last.refusals and last.refusals[0] != code:
            decided = (
                f"{decided}. The server reports {last.refusals[0]} because it checks the "
                "method before the origin (as aiohttp-cors 0.8.1 did), but no layer gives this "
                "origin any options, so every method is refused for it"
            )
        state = "added"
        entry = coverage.routing.entries.get(resource) if resource is not None else None
        if resource is not None and not any(r.method in (method, hdrs.METH_ANY) for r in resource):
            state = "unserved"
        elif entry is not None and coverage.view is None and method not in entry.method_layers:
            state = "not added"
        fix = _origin_fix(origin, where, coverage, effective_keys(sources), caught, state)
        return decided, fix
    decided = f"the options for {describe_key(found.key)} in {found.source.where} ({label})"
    options = found.options
    if code == RefusalReason.HEADERS_NOT_ALLOWED.value or code == "header_not_in_allow_headers":
        allowed = options.allow_headers
        missing = [n for n in unsafe if allowed != "*" and n.upper() not in allowed]
        if allowed == "*" and spec.credentials:
            missing = list(unsafe)
        missing_shown = ", ".join(repr(_title(n)) for n in missing) or ", ".join(
            repr(_title(n)) for n in unsafe
        )
        current = _shown(allowed)
        return (
            f"{decided}: allow_headers={current}",
            f"add {missing_shown} to allow_headers of those options, e.g. "
            f"ResourceOptions(allow_headers={_tuple_of(allowed, missing or list(unsafe))})",
        )
    if code in (RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED.value, "private_network_not_allowed"):
        return (
            f"{decided}: allow_private_network=False",
            "set allow_private_network=True in those options (only for origins you trust to "
            "reach your private network)",
        )
    if code in ("credentials_not_allowed", "wildcard_with_credentials"):
        fix = "set allow_credentials=True in those options"
        if found.key == "*":
            fix += (
                ", under the exact origin rather than '*' (any site could then read "
                "credentialed responses)"
            )
        return (f"{decided}: allow_credentials=False", fix)
    if code == RefusalReason.ORIGIN_NOT_ALLOWED.value:
        return (
            f"no origin key is configured for {where} ({label})",
            _origin_fix(origin, where, coverage, [], caught),
        )
    return (
        f"{decided}; the browser refused: {last.failure.message if last.failure else code}",
        "compare the response headers above with what Fetch requires (see the browser check)",
    )


def _origin_fix(
    origin: str,
    where: str,
    coverage: Coverage,
    keys: Sequence[KeyOptions],
    caught: Sequence[warnings.WarningMessage],
    state: str = "added",
) -> str:
    """How to let ``origin`` in: its exact key, a glob only where one really matches it,
    and first the configured keys that start-up warned can never match."""
    method, _, path = where.partition(" ")
    if coverage.app_wide:
        place = "to the defaults of setup()"
    elif state == "not added":
        place = (
            f"to the config you give cors.add() with the {method} route of {path} (never "
            "passed to it yet; passing it also lets the method through), or to the defaults of "
            "setup() (every route)"
        )
    elif state == "unserved":
        place = (
            f"to the defaults of setup() (every route), or to the config you give cors.add() "
            f"with a {method} route of {path}, which has none yet (resource.add_route("
            f"{method!r}, handler))"
        )
    else:
        place = (
            f"to the config given to cors.add() for {where}, or to the defaults of setup() "
            "(every route)"
        )
    fix = f"add the key {origin!r} {place}, e.g. {{{origin!r}: ResourceOptions()}}"
    glob = suggest_glob(origin)
    if glob is not None:
        if glob.startswith("*.", glob.index("://") + 3):
            parent = glob.partition("*.")[2]
            fix += f"; the glob {glob!r} matches it too, as every other host under {parent}"
        else:
            fix += f"; the glob {glob!r} matches it too, on any port"
    suspects = []
    for each in keys:
        if not isinstance(each.key, str) or each.key == "*":
            continue
        for warning in caught:
            message = str(warning.message)
            if repr(each.key) in message and "never match" in message:
                suspects.append(
                    f"the key {describe_key(each.key)} in {each.source.where} never matches, "
                    f"as a {warning.category.__name__} said at start-up ({message.rstrip('.')})"
                )
                break
    if suspects:
        fix = "; ".join(suspects) + f"; fix that key, or {fix}"
    return fix


async def _diagnose_method(
    spec: ExplainRequest, coverage: Coverage, resource: AbstractResource, runner: PredicateRunner
) -> tuple[str, str]:
    method, origin = spec.method, spec.origin or ""
    label = coverage.config_label
    path = resource.canonical
    if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", method) or method == "*":
        return (f"{method!r} is not a method name ({label})", "send a valid method name")
    served = any(r.method in (method, hdrs.METH_ANY) for r in resource)
    found, _ = await deciding_key(coverage.resource_sources, origin, runner)
    if found is None:
        decided = (
            f"no origin key of the resource config or the defaults matches {origin!r}, and no "
            f"{method} route of {path} was passed to cors.add() ({label})"
        )
    else:
        decided = (
            f"the options for {describe_key(found.key)} in {found.source.where} ({label}): "
            f"allow_methods={_shown(found.options.allow_methods)}, and no {method} route of "
            f"{path} was passed to cors.add()"
        )
    if not served:
        fix = (
            f"no route of {path} serves {method}: add one "
            f"(resource.add_route({method!r}, handler)) and pass it to cors.add()"
        )
        if found is None:
            fix += f" with a config for {origin!r}"
    else:
        fix = (
            f"pass the {method} route of {path} to cors.add() with a config for {origin!r} "
            "(routes passed to cors.add() pass the method check)"
        )
    if found is not None and served:
        fix += (
            f", or add {method!r} to allow_methods of the options for {describe_key(found.key)} "
            f"in {found.source.where}"
        )
    return decided, fix


def _shown(value: Any) -> str:
    """An option's value as it would be written in Python."""
    if value is None or value == "*":
        return repr(value)
    return "(" + "".join(f"{name!r}, " for name in sorted(value)).rstrip(" ") + ")"


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _tuple_of(current: Any, extra: Sequence[str]) -> str:
    names = [] if current in ("*", None) else sorted(_title(n.lower()) for n in current)
    names += [_title(n) for n in extra if _title(n) not in names]
    return "(" + ", ".join(repr(n) for n in names) + ("," if len(names) == 1 else "") + ")"


def format_explanation(result: Explanation) -> str:
    """The human-readable ``explain`` report."""
    cred = "include" if result.credentials else "same-origin, fetch's default"
    lines = [
        f"Request: {result.method} {result.path} from origin "
        f"{result.origin if result.origin is not None else '(none)'} (credentials: {cred})",
        f"Route:   {result.route}",
        f"CORS:    {result.config or 'not enabled for this route'}",
    ]
    lines.extend(f"Note:    {note}" for note in result.notes)
    lines.append("")
    if result.preflight_reasons:
        lines.append("Preflight required:")
        lines.extend(f"  - {reason}" for reason in result.preflight_reasons)
    elif result.origin is not None:
        lines.append(
            "No preflight: the method is CORS-safelisted and every header is a "
            "CORS-safelisted request-header (Fetch §2.2)"
        )
    for exchange in result.exchanges:
        lines.append("")
        title = "Preflight request" if exchange.kind == "preflight" else "Actual request"
        lines.append(f"{title}:")
        lines.append(f"  > {exchange.method} {exchange.path} HTTP/1.1")
        lines.extend(f"  > {name}: {value}" for name, value in exchange.request_headers)
        if exchange.request_body is not None:
            shown = exchange.request_body
            if len(shown) > 300:
                shown = shown[:300] + f"... ({len(exchange.request_body)} characters)"
            lines.append(f"  > (body) {shown}")
        lines.append(f"  < {exchange.status} {exchange.reason}")
        lines.extend(f"  < {name}: {value}" for name, value in exchange.response_headers)
        if exchange.body is not None:
            lines.append(f"  < (body) {exchange.body}")
        for code in exchange.refusals:
            lines.append(f"  server refusal code: {code}")
        for level, line in exchange.log:
            if level >= logging.WARNING:
                lines.append(f"  server log ({logging.getLevelName(level)}): {line}")
        if result.origin is not None:
            section = (
                "§4.8 CORS-preflight fetch"
                if exchange.kind == "preflight"
                else ("§4.10 CORS check")
            )
            verdict = (
                "passed"
                if exchange.failure is None
                else (f"FAILED ({exchange.failure.code}): {exchange.failure.message}")
            )
            lines.append(f"  browser check (Fetch {section}): {verdict}")
    if result.exchanges and result.exchanges[0].kind == "preflight" and len(result.exchanges) == 1:
        lines.append("")
        lines.append("Actual request: not sent (the browser stops at a failed preflight)")
    lines.append("")
    if result.allowed:
        status = result.exchanges[-1].status
        lines.append(f"Verdict: ALLOWED: the page can read the response (status {status})")
    else:
        lines.append(f"Verdict: REFUSED ({result.code})")
        if result.server_code is not None:
            text = f": {result.server_text}" if result.server_text else ""
            lines.append(f"  server refusal: {result.server_code}{text}")
        lines.append(f"  decided by: {result.decided_by}")
        lines.append(f"  fix: {result.fix}")
    if result.status_note is not None:
        lines.append(f"  status: {result.status_note}")
    if result.warnings:
        lines.append("")
        lines.append(f"Configuration warnings ({len(result.warnings)}):")
        lines.extend(f"  {w['category']}: {w['message']}" for w in result.warnings)
    return "\n".join(lines)


def parse_header(text: str) -> tuple[str, str]:
    """``NAME: VALUE`` or ``NAME`` (value ``1``) from the command line."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
        raise UsageError(f"--header {text!r}: {name!r} is not a header name")
    value = value.strip() if sep else "1"
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"--header {text!r}: the value has a line break or NUL")
    return name, value


async def _explain(args: argparse.Namespace) -> tuple[str, int]:
    method = normalize_method(args.method)
    if method.upper() in FORBIDDEN_METHODS:
        raise UsageError(f"browsers refuse to send {method} from a page (Fetch forbidden method)")
    if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", method):
        raise UsageError(f"{args.method!r} is not a method name")
    if not args.path.startswith("/"):
        raise UsageError(f"path {args.path!r} must start with '/'")
    headers = [parse_header(h) for h in args.header or ()]
    body = args.data if args.data is not None else args.data_json
    if body is not None:
        if method in ("GET", "HEAD"):
            raise UsageError(f"fetch() refuses a body for {method} (Fetch: new Request())")
        if args.data_json is not None:
            try:
                json.loads(body)
            except ValueError as exc:
                raise UsageError(f"--data-json is not JSON: {exc}") from None
        if not any(name.lower() == "content-type" for name, _ in headers):
            # What fetch() sends for a string body without a Content-Type of the page's
            # (Fetch "extract a body"); --data-json stands for the usual JSON call.
            headers.append(
                ("Content-Type", "application/json")
                if args.data_json is not None
                else ("Content-Type", "text/plain;charset=UTF-8")
            )
    spec = ExplainRequest(
        method=method,
        path=args.path,
        origin=args.origin,
        headers=headers,
        credentials=args.credentials,
        private_network=args.private_network,
        body=body,
    )
    async with _running(args.target) as (loaded, client):
        result = await explain(loaded, client, spec)
    text = json.dumps(result.to_json(), indent=2) if args.json else format_explanation(result)
    return text, EXIT_ALLOWED if result.allowed else EXIT_REFUSED


# -- command line -------------------------------------------------------------------------

_TARGET_HELP = (
    "the application: package.module:name, where name is an aiohttp.web.Application or a "
    "callable (sync or async) returning one, as for python -m aiohttp.web"
)


def add_routes_parser(commands: Any) -> None:
    """The ``routes`` subcommand."""
    routes = commands.add_parser(
        "routes",
        help="list every route with its effective CORS options per origin key",
        description=(
            "Build the application, start it in-process on a loopback port, and list every "
            "route: method, path, whether CORS is enabled and, per origin key, the options it "
            "gets after layering (route, resource, defaults; view methods and classes), then "
            "the configuration warnings raised while building it."
        ),
    )
    routes.add_argument("target", help=_TARGET_HELP)
    routes.add_argument("--json", action="store_true", help="print JSON instead of a table")


def add_explain_parser(commands: Any) -> None:
    """The ``explain`` subcommand."""
    parser = commands.add_parser(
        "explain",
        help="show what a browser does for one cross-origin request, and why",
        description=(
            "Run the application in-process, send the preflight a browser would send (if Fetch "
            "requires one) and the actual request, apply the browser's CORS checks and print "
            "both exchanges and the verdict. Exit status: 0 allowed, 1 refused, 2 usage error."
        ),
    )
    parser.add_argument("target", help=_TARGET_HELP)
    parser.add_argument("method", help="the request's method, e.g. PUT")
    parser.add_argument("path", help="the request's path (and query), e.g. /api/items?id=1")
    parser.add_argument(
        "--origin", help="origin of the page making the request, e.g. https://app.example.com"
    )
    parser.add_argument(
        "--header",
        action="append",
        metavar="'NAME[: VALUE]'",
        help="a header the page sets (repeatable); whether Accept, Accept-Language, "
        "Content-Language, Content-Type and Range need a preflight depends on the value",
    )
    parser.add_argument(
        "--credentials",
        action="store_true",
        help="the page sends credentials (fetch credentials: 'include')",
    )
    parser.add_argument(
        "--private-network",
        action="store_true",
        help="the page is on a less private network than the server (Private Network Access "
        "preflight)",
    )
    body = parser.add_mutually_exclusive_group()
    body.add_argument(
        "--data",
        metavar="TEXT",
        help="the actual request's body, as fetch(url, {body: TEXT}) sends it: with "
        "'Content-Type: text/plain;charset=UTF-8' unless a --header sets Content-Type",
    )
    body.add_argument(
        "--data-json",
        metavar="JSON",
        help="a JSON body, sent with 'Content-Type: application/json' (which needs a "
        "preflight) unless a --header sets Content-Type",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def discard_output(stream: Any) -> None:
    """After a BrokenPipeError (the reader, say ``head``, has gone): send the rest of
    ``stream`` to the null device, so that Python's final flush does not raise again,
    as the Python documentation's "Note on SIGPIPE" (signal module) recommends."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)


def write_report(text: str, status: int) -> int:
    """Print a command's report (stderr for a usage error) and return its exit status.

    If the reader of the output goes away early (``| head``), the command
    stops quietly with the status it already decided: for ``explain`` that
    is the verdict, which does not depend on who read the report.
    """
    stream = sys.stderr if status == EXIT_USAGE else sys.stdout
    try:
        print(text, file=stream)
        stream.flush()
    except BrokenPipeError:
        discard_output(stream)
    return status


def _run(coroutine: Any) -> tuple[str, int]:
    try:
        return asyncio.run(coroutine)  # type: ignore[no-any-return]
    except UsageError as exc:
        return f"error: {exc}", EXIT_USAGE


def run_routes(args: argparse.Namespace) -> int:
    """``python -m aiohttp_cors routes``."""

    async def routes() -> tuple[str, int]:
        return await _routes(args.target, args.json), 0

    return write_report(*_run(routes()))


def run_explain(args: argparse.Namespace) -> int:
    """``python -m aiohttp_cors explain``."""
    return write_report(*_run(_explain(args)))
