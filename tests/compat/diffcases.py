"""Seeded differential cases: build CORS applications from plain specs and record raw HTTP answers.

Run it under any Python that has aiohttp and *some* ``aiohttp_cors`` (this package or the
published 0.8.1)::

    python diffcases.py --seed 1 --count 2000 --out ours.json
    python diffcases.py --seed 1 --count 2000 --out ours.json --case 17   # one case only

Generation depends only on ``random.Random(seed)``: both installations get the same cases, so
``test_differential.py`` can compare their answers request by request. Each case is an
application spec (plain JSON data: routes, views, sub-application, static files, middleware,
CORS configuration) and a list of requests, sent as raw HTTP/1.1 bytes so that duplicate header
lines, odd whitespace and malformed values reach the server exactly as written.

Some requests are *references*: the same request sent to a twin resource (or with an
``Authorization`` header) that 0.8.1 handles without crashing, so the comparison can show what
0.8.1 would have answered where a deliberate deviation changes the answer. They are generated
for every case alike, whichever package is installed.

Imports only the standard library, aiohttp and aiohttp_cors (no pytest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import warnings
from typing import Any

from aiohttp import web

import aiohttp_cors

#: Seconds to wait for a connection, and then for a whole answer.
TIMEOUT = 5.0
#: The sub-application's prefix and the static resource's prefix.
SUB_PREFIX = "/sub"
STATIC_PREFIX = "/static"
STATIC_FILE = "hello.txt"
#: A fixed modification time, so Last-Modified and ETag of the static file match across runs.
STATIC_MTIME = 1_600_000_000
#: The header the header-adding middleware sets; the 401 marker of the auth middleware.
MIDDLEWARE_HEADER = "X-Mw"
AUTH_REFUSAL_BODY = "auth required"
#: Response headers not recorded: they change from run to run.
UNRECORDED_HEADERS = frozenset({"date", "server"})

# ---------------------------------------------------------------------------------------------
# Generation: everything below depends on the ``random.Random`` passed in, nothing else.
# ---------------------------------------------------------------------------------------------

#: Canonical origins (as browsers send them) that configurations are built around.
CANONICAL_ORIGINS = (
    "https://a.example",
    "https://b.example",
    "http://localhost:8080",
    "http://127.0.0.1:3000",
    "https://api.example.com",
    "https://xn--bcher-kva.example",
)
#: Non-canonical spellings of a configured key (0.8.1 takes any string as a literal key).
KEY_SPELLINGS = {
    "https://a.example": ("https://A.example", "HTTPS://A.EXAMPLE", "https://a.example:443",
                          "https://a.example/"),
    "https://b.example": ("https://B.Example", "https://b.example:443/"),
    "http://localhost:8080": ("http://LOCALHOST:8080", "http://localhost:8080/"),
    "http://127.0.0.1:3000": ("http://127.0.0.1:3000/",),
    "https://api.example.com": ("https://API.example.com", "https://api.example.com:443"),
    "https://xn--bcher-kva.example": ("https://bücher.example", "https://BÜCHER.example/"),
}
#: Glob-looking keys: 1.x syntax, literal strings to 0.8.1.
GLOB_KEYS = ("https://*.example.com", "http://localhost:*", "https://*.example.com:*")
#: Keys 0.8.1 accepts and 1.x refuses at configuration time: the single-label glob is a
#: documented deviation, the others are not.
RARE_KEYS = ("https://*.com", "https://a*.example.com", "https://a.example/api")
#: Origins that match one of GLOB_KEYS, or nearly do.
GLOB_PROBES = (
    "https://x.example.com",
    "https://a.b.example.com",
    "https://example.com",
    "https://x.example.com:8443",
    "http://localhost:5000",
    "http://localhost",
    "https://evil-example.com",
)
#: Well-formed origins that are never configured as exact keys.
OTHER_ORIGINS = ("https://other.example", "http://a.example", "https://a.example:8443")
#: Origins that are not serialized origins (the request's raw value).
MALFORMED_ORIGINS = (
    "https://a.example/",
    "https://a.example/path",
    "HTTPS://A.EXAMPLE",
    "https://A.example",
    "https://a.example:443",
    "http://localhost:80",
    "https://a .example",
    "https://user@a.example",
    "*",
    "https://a.example, https://b.example",
    "https://a.example https://b.example",
    "",
    "https://bücher.example",
    "https://*.example.com",
    "a.example",
)
#: Header names requests ask for and configurations allow.
HEADER_NAMES = ("X-Token", "Content-Type", "Authorization", "X-Requested-With", "X-Unknown")
#: Values of allow_methods (ResourceOptions only: 0.8.1's mapping form refuses the key).
ALLOW_METHODS = (None, "*", ["GET"], ["PUT", "patch"], ["get", "POST", "DELETE"], ["PATCH"])
ALLOW_HEADERS = ("*", [], ["X-Token"], ["x-token", "Content-Type"],
                 ["AUTHORIZATION", "X-Token", "X-Requested-With"])
EXPOSE_HEADERS = ("*", [], ["X-Custom"], ["X-Custom", "X-Mw", "Content-Length"], ["x-handler"])
MAX_AGES = (None, 0, 600, 86400)
ACTUAL_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")
ROUTE_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
VIEW_METHODS = ("get", "post", "put", "delete", "patch")
#: Access-Control-Request-Method values: tokens in several cases, '*', a list, nothing.
REQUESTED_METHODS = ("GET", "PUT", "patch", "Patch", "PATCH", "POST", "DELETE", "HEAD", "*",
                     "GET POST", "GET,PUT", "", "OPTIONS", "FOO")
#: Extra response headers handlers set; the CORS ones make 0.8.1 fail an assertion.
HANDLER_HEADERS = (("X-Custom", "1"), ("Vary", "Accept-Encoding"), ("Cache-Control", "no-cache"),
                   ("Vary", "*"))
HANDLER_CORS_HEADERS = (("Access-Control-Allow-Origin", "https://handler.example"),
                        ("Access-Control-Allow-Credentials", "true"),
                        ("Access-Control-Expose-Headers", "X-Handler"))
CORS_HEADER_NAMES = frozenset(name.lower() for name, _ in HANDLER_CORS_HEADERS)


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _options(rng: random.Random, form: str) -> dict[str, Any]:
    """Options for one origin key, in ResourceOptions form ("ro") or mapping form ("map")."""
    kw: dict[str, Any] = {}
    if _chance(rng, 0.5):
        kw["allow_credentials"] = _chance(rng, 0.5)
    if _chance(rng, 0.5):
        kw["expose_headers"] = rng.choice(EXPOSE_HEADERS)
    if _chance(rng, 0.6):
        kw["allow_headers"] = rng.choice(ALLOW_HEADERS)
    if _chance(rng, 0.4):
        kw["max_age"] = rng.choice(MAX_AGES)
    if form == "ro" and _chance(rng, 0.6):
        kw["allow_methods"] = rng.choice(ALLOW_METHODS)
    # Rarely, values 0.8.1 refuses: such cases are skipped by the comparison, but keep the
    # config_error path exercised.
    if _chance(rng, 0.002):
        kw["allow_headers"] = "X-Token"
    if form == "map" and _chance(rng, 0.005):
        kw["allow_methods"] = ["GET"]
    return {"form": form, "kw": kw}


class _Keys:
    """The origin keys of one case: each canonical origin is spelled one way in the whole case.

    One spelling per origin keeps 1.x's canonical keys unique within every mapping and layer.
    """

    def __init__(self, rng: random.Random) -> None:
        self.spelling = {
            origin: (rng.choice(KEY_SPELLINGS[origin]) if _chance(rng, 0.25) else origin)
            for origin in CANONICAL_ORIGINS
        }
        self.rare = rng.choice(RARE_KEYS) if _chance(rng, 0.04) else None

    def pick(self, rng: random.Random) -> str:
        roll = rng.random()
        if roll < 0.55:
            return self.spelling[rng.choice(CANONICAL_ORIGINS)]
        if roll < 0.75:
            return "*"
        if roll < 0.83:
            return "null"
        if roll < 0.97 or self.rare is None:
            return rng.choice(GLOB_KEYS)
        return self.rare


def _config(rng: random.Random, keys: _Keys) -> dict[str, Any]:
    """A mapping origin key -> options (JSON object: key order is kept)."""
    config: dict[str, Any] = {}
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        key = keys.pick(rng)
        config[key] = _options(rng, "map" if _chance(rng, 0.25) else "ro")
    return config


def _maybe_config(rng: random.Random, keys: _Keys, none_chance: float = 0.3) -> Any:
    return None if _chance(rng, none_chance) else _config(rng, keys)


def _handler(rng: random.Random, label: str) -> dict[str, Any]:
    """What a plain handler answers: a body kind, a body and extra response headers."""
    kind = rng.choices(("text", "empty204", "notfound", "stream"), (70, 10, 10, 10))[0]
    headers = [list(pair) for pair in HANDLER_HEADERS[:3] if _chance(rng, 0.3)]
    if _chance(rng, 0.03):
        headers.append(list(HANDLER_HEADERS[3]))
    if _chance(rng, 0.12):
        chosen = [list(pair) for pair in HANDLER_CORS_HEADERS if _chance(rng, 0.6)]
        headers.extend(chosen or [list(HANDLER_CORS_HEADERS[0])])
    return {"kind": kind, "body": f"ok-{label}", "headers": headers}


def _without_cors_headers(handler: dict[str, Any]) -> dict[str, Any]:
    kept = [pair for pair in handler["headers"] if pair[0].lower() not in CORS_HEADER_NAMES]
    return {**handler, "headers": kept}


def handler_sets_cors_headers(handler: dict[str, Any]) -> bool:
    """Whether a handler spec sets Access-Control-Allow-Origin/-Credentials/-Expose-Headers."""
    return any(name.lower() in CORS_HEADER_NAMES for name, _ in handler["headers"])


def route_methods(resource: dict[str, Any]) -> list[str]:
    """The methods of a plain resource's routes, in registration order.

    add_get() registers its HEAD route before the GET route it returns.
    """
    if resource["kind"] in ("get", "static"):
        return ["HEAD", "GET"]
    return list(resource["methods"])


def first_route_method(resource: dict[str, Any]) -> str:
    """The method of the route the registering call returns (what "first_route" adds)."""
    return "GET" if resource["kind"] == "get" else route_methods(resource)[0]


def _plain_cors(rng: random.Random, keys: _Keys, resource: dict[str, Any]) -> dict[str, Any]:
    """How a plain resource is passed to ``cors.add()`` (0.8.1 idioms)."""
    methods = route_methods(resource)
    mode = rng.choices(
        ("none", "resource", "first_route", "each_route", "some_routes", "resource_then_routes"),
        (8, 25, 20, 27, 10, 10),
    )[0]
    cors: dict[str, Any] = {"mode": mode, "config": None, "route_configs": {}}
    if mode in ("resource", "first_route", "resource_then_routes"):
        cors["config"] = _maybe_config(rng, keys)
    if mode == "each_route":
        shared = _maybe_config(rng, keys)
        cors["route_configs"] = {
            m: (shared if _chance(rng, 0.7) else _maybe_config(rng, keys)) for m in methods
        }
    elif mode in ("some_routes", "resource_then_routes"):
        chosen = [m for m in methods if _chance(rng, 0.5)] or [methods[-1]]
        cors["route_configs"] = {m: _maybe_config(rng, keys) for m in chosen}
    return cors


def _resource(rng: random.Random, keys: _Keys, index: int, app: str, cors_possible: bool
              ) -> dict[str, Any]:
    """One resource of the root or sub application."""
    # A view needs a setup() in its application's chain (0.8.1 reads it on every request).
    kind = rng.choices(("get", "routes", "resource", "view", "own_options", "star"),
                       (30, 22, 15, 23 if cors_possible else 0, 3, 3))[0]
    variable = _chance(rng, 0.15)
    path = f"/r{index}" + ("/{tail}" if variable else "")
    resource: dict[str, Any] = {
        "id": f"r{index}",
        "app": app,
        "kind": kind,
        "path": path,
        "probe": f"/r{index}" + ("/x" if variable else ""),
    }
    if kind == "view":
        methods = [m for m in VIEW_METHODS if _chance(rng, 0.7 if m == "get" else 0.4)] or ["get"]
        resource["view"] = {
            "methods": methods,
            "registration": rng.choice(("add_route", "add_view")),
            "cors_config": _maybe_config(rng, keys, none_chance=0.25),
            "custom": {m: _config(rng, keys) for m in methods if _chance(rng, 0.25)},
            "body": f"view-{index}",
        }
        mode = rng.choices(("none", "route", "resource"), (8, 62, 30))[0]
        resource["cors"] = {
            "mode": mode if cors_possible else "none",
            "config": _maybe_config(rng, keys, none_chance=0.5),
            "route_configs": {},
        }
        return resource
    if kind == "get":
        resource["methods"] = ["GET"]
    elif kind == "own_options":
        resource["methods"] = ["GET", "OPTIONS"]
    elif kind == "star":
        resource["methods"] = ["*"]
    else:
        resource["methods"] = rng.sample(ROUTE_METHODS, rng.choice((1, 1, 2, 3)))
    resource["handler"] = _handler(rng, str(index))
    if kind in ("own_options", "star"):
        # 0.8.1 refuses cors.add() here (a configuration error), so mostly leave them alone.
        mode = "resource" if cors_possible and _chance(rng, 0.25) else "none"
        resource["cors"] = {"mode": mode, "config": _maybe_config(rng, keys), "route_configs": {}}
    else:
        resource["cors"] = (_plain_cors(rng, keys, resource) if cors_possible
                            else {"mode": "none", "config": None, "route_configs": {}})
    return resource


def _is_mapping_form(config: Any) -> bool:
    """Whether a mapping has plain-mapping options (0.8.1's views crash on them)."""
    return bool(config) and any(opts["form"] == "map" for opts in config.values())


def _as_resource_options(config: Any) -> Any:
    """The same mapping in ResourceOptions form, which 0.8.1's views can read."""
    if not config:
        return config
    return {key: {"form": "ro", "kw": opts["kw"]} for key, opts in config.items()}


def configuring_app(case: dict[str, Any], resource: dict[str, Any]) -> str | None:
    """The application whose ``setup()`` configures ``resource`` ("root", "sub" or None)."""
    if resource["cors"]["mode"] == "none":
        return None
    if resource["app"] == "root":
        return "root"
    return "root" if case["subapp"]["mode"] == "parent" else "sub"


def view_home_app(case: dict[str, Any], resource: dict[str, Any]) -> str:
    """The application whose setup() a view's configuration comes from.

    0.8.1 reads it from the view's own application only; a view in a sub-application whose
    parent holds the setup() finds it in 1.x.
    """
    if resource["app"] == "sub" and case["subapp"]["mode"] == "parent":
        return "root"
    return str(resource["app"])


def view_crash_reasons(case: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    """Why 0.8.1 crashes where 1.x answers for this view (fix 4 in docs/migration.md), if it does.

    - "subapp": a view in a sub-application configured by the parent's setup();
    - "mapping": mapping-form options in cors_config or @custom_cors.
    """
    if resource["kind"] != "view":
        return []
    view = resource["view"]
    reasons = []
    if view_home_app(case, resource) != resource["app"]:
        reasons.append("subapp")
    if _is_mapping_form(view["cors_config"]) or any(
        _is_mapping_form(config) for config in view["custom"].values()
    ):
        reasons.append("mapping")
    return reasons


def view_adds_config(resource: dict[str, Any]) -> bool:
    """Whether cors.add() gave this view a config (0.8.1 ignores it; 1.x may apply it)."""
    return (resource["kind"] == "view" and resource["cors"]["mode"] != "none"
            and bool(resource["cors"]["config"]))


def _twins(case: dict[str, Any], resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Reference resources for ``resource``: what 0.8.1 answers where 1.x deliberately differs.

    - "handler": the same routes and CORS set-up, the handler without its own CORS headers
      (fix 3 in docs/migration.md: 1.x sends the library's values where 0.8.1 fails an assertion);
    - "fixed": the view in ResourceOptions form, in the application whose setup() it reads
      (fix 4 in docs/migration.md: 0.8.1 crashes on the original);
    - "reference": the same with the cors.add() config as a layer under the class's
      (fix 4: 0.8.1 ignores that config for views);
    - "plain": the same view not passed to cors.add(), for aiohttp's 405 on the methods the
      view lacks (fix 4: 0.8.1 crashes on them).
    """
    twins = []
    if resource["kind"] in ("get", "routes", "resource") and handler_sets_cors_headers(
        resource["handler"]
    ):
        twin = {**resource, "handler": _without_cors_headers(resource["handler"])}
        twins.append(("handler", twin))
    if resource["kind"] == "view":
        view = resource["view"]
        added = resource["cors"]["mode"] != "none"
        layers = {}
        if view_crash_reasons(case, resource):
            layers["fixed"] = view["cors_config"] or {}
        if view_adds_config(resource):
            layers["reference"] = {**resource["cors"]["config"], **(view["cors_config"] or {})}
        for kind, class_config in layers.items():
            twin_view = {
                **view,
                "registration": "add_route",
                "cors_config": _as_resource_options(class_config) or None,
                "custom": {m: _as_resource_options(c) for m, c in view["custom"].items()},
            }
            twins.append((kind, {
                **resource,
                "app": view_home_app(case, resource),
                "view": twin_view,
                "cors": {"mode": "route" if added else "none", "config": None,
                         "route_configs": {}},
            }))
        if added:
            twins.append(("plain", {**resource, "cors": {"mode": "none", "config": None,
                                                          "route_configs": {}}}))
    stem = "/" + resource["id"]
    return [
        {
            **twin,
            "id": f"{resource['id']}-{kind}",
            "path": f"{stem}-{kind}{resource['path'][len(stem):]}",
            "probe": f"{stem}-{kind}{resource['probe'][len(stem):]}",
            "twin_of": resource["id"],
            "twin_kind": kind,
        }
        for kind, twin in twins
    ]


def resource_url(case: dict[str, Any], resource: dict[str, Any]) -> str:
    """The request path of a resource's probe (the sub-application's prefix included)."""
    return (SUB_PREFIX if resource["app"] == "sub" else "") + resource["probe"]


def _header_line(rng: random.Random, name: str, value: str) -> str:
    """One header line, sometimes with odd (but valid) spacing or a lower-case name."""
    roll = rng.random()
    if roll < 0.06:
        return f"{name}:{value}"
    if roll < 0.10:
        return f"{name}:  {value}\t"
    if roll < 0.16:
        return f"{name.lower()}: {value}"
    return f"{name}: {value}"


def _request_origin(rng: random.Random, configured: list[str]) -> list[str]:
    """The Origin header values of one request (none, one, or rarely two lines)."""
    roll = rng.random()
    if roll < 0.12:
        return []
    if roll < 0.42 and configured:
        return [rng.choice(configured)]
    if roll < 0.60:
        return [rng.choice(CANONICAL_ORIGINS)]
    if roll < 0.68:
        return [rng.choice(GLOB_PROBES)]
    if roll < 0.74:
        return [rng.choice(OTHER_ORIGINS)]
    if roll < 0.81:
        return ["null"]
    if roll < 0.96:
        return [rng.choice(MALFORMED_ORIGINS)]
    return [rng.choice(CANONICAL_ORIGINS), rng.choice(CANONICAL_ORIGINS + OTHER_ORIGINS)]


def _requested_headers(rng: random.Random) -> list[str]:
    """Access-Control-Request-Headers values: mixed case, duplicates, blanks, '*', two lines."""
    roll = rng.random()
    if roll < 0.01:
        return [",".join(f"X-H{i}" for i in range(300))]
    if roll < 0.015:
        return ["X-Token" + "," * 1100]
    names = [rng.choice(HEADER_NAMES) for _ in range(rng.choice((1, 1, 2, 3)))]
    names = [n.lower() if _chance(rng, 0.3) else (n.upper() if _chance(rng, 0.2) else n)
             for n in names]
    if _chance(rng, 0.1):
        names.append(names[0].swapcase())
    if _chance(rng, 0.08):
        names.insert(rng.randrange(len(names) + 1), "*")
    if _chance(rng, 0.03):
        names.append("X Bad")
    separator = rng.choice((",", ", ", " , "))
    if _chance(rng, 0.1):
        names.insert(rng.randrange(len(names) + 1), "")
    if len(names) > 1 and _chance(rng, 0.12):
        cut = rng.randrange(1, len(names))
        return [separator.join(names[:cut]), separator.join(names[cut:])]
    return [separator.join(names)]


def _primary_request(rng: random.Random, case: dict[str, Any], configured: list[str]
                     ) -> dict[str, Any]:
    """One request as a client would send it (not a reference)."""
    targets = [r for r in case["resources"] if "twin_of" not in r]
    target = None
    if targets and _chance(rng, 0.88):
        target = rng.choice(targets)
    if target is None:
        path = rng.choice(["/nope"] + ([SUB_PREFIX + "/nope"] if case["subapp"] else []))
    elif target["kind"] == "static":
        path = STATIC_PREFIX + "/" + (STATIC_FILE if _chance(rng, 0.8) else "missing.txt")
    else:
        path = resource_url(case, target)
    origins = _request_origin(rng, configured)
    headers: list[tuple[str, str]] = [("Origin", value) for value in origins]
    kind = rng.choices(("actual", "preflight", "options"), (40, 50, 10))[0]
    if kind == "actual":
        served = (
            [m.upper() for m in target["view"]["methods"]] if target and target["kind"] == "view"
            else [m for m in route_methods(target) if m != "OPTIONS"] if target
            else []
        )
        served = [m for m in served if m != "*"]
        method = (rng.choice(served) if served and _chance(rng, 0.7)
                  else rng.choice(ACTUAL_METHODS))
    else:
        method = "OPTIONS"
    if kind == "options" and origins and _chance(rng, 0.3):
        # Not a preflight either: Access-Control-Request-Method without Origin.
        headers = [("Access-Control-Request-Method", "GET")]
    if kind == "preflight":
        headers.append(("Access-Control-Request-Method", rng.choice(REQUESTED_METHODS)))
        if _chance(rng, 0.6):
            headers.extend(("Access-Control-Request-Headers", v) for v in _requested_headers(rng))
        if _chance(rng, 0.08):
            headers.append(("Access-Control-Request-Private-Network", "true"))
    if _chance(rng, 0.15):
        headers.append(("Authorization", "Bearer t"))
    rng.shuffle(headers)
    return {
        "method": method,
        "path": path,
        "lines": [_header_line(rng, name, value) for name, value in headers],
        "target": target["id"] if target else None,
    }


def is_preflight_lines(method: str, lines: list[str]) -> bool:
    """OPTIONS with at least one Origin and one Access-Control-Request-Method line."""
    names = {line.split(":", 1)[0].strip().lower() for line in lines}
    return method == "OPTIONS" and "origin" in names and "access-control-request-method" in names


def has_authorization(lines: list[str]) -> bool:
    return any(line.split(":", 1)[0].strip().lower() == "authorization" for line in lines)


def _with_references(case: dict[str, Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    """``request`` followed by its references: to the target's twin and/or with Authorization.

    Each request of the group gets ``refs``: the offsets of the group's other requests that
    differ from it by more changes, keyed by those changes joined with "+" (a twin's kind,
    "auth"). Which twins depend only on the request: a view's "plain" twin for an actual
    method the view lacks, else its "fixed" and "reference" twins, or a "handler" twin.
    """
    by_id = {r["id"]: r for r in case["resources"]}
    target = by_id.get(request["target"]) if request["target"] else None
    twins = []
    if target is not None:
        lacks_method = (target["kind"] == "view" and request["method"] != "OPTIONS"
                        and request["method"].lower() not in target["view"]["methods"])
        kinds = ("plain",) if lacks_method else ("fixed", "reference", "handler")
        twins = [r for r in case["resources"]
                 if r.get("twin_of") == target["id"] and r["twin_kind"] in kinds]
    needs_auth = (case["middleware"] == "auth" and target is not None
                  and is_preflight_lines(request["method"], request["lines"])
                  and not has_authorization(request["lines"]))
    variants: dict[frozenset[str], dict[str, Any]] = {frozenset(): request}
    for twin in twins:
        variants[frozenset({twin["twin_kind"]})] = {
            **request, "path": resource_url(case, twin), "target": twin["id"]}
    if needs_auth:
        for changes, variant in list(variants.items()):
            variants[changes | {"auth"}] = {
                **variant, "lines": [*variant["lines"], "Authorization: Bearer t"]}
    order = list(variants)
    group = []
    for position, changes in enumerate(order):
        refs = {
            "+".join(sorted(other - changes)): offset - position
            for offset, other in enumerate(order) if other > changes
        }
        member = {**variants[changes], **({"refs": refs} if refs else {})}
        group.append({**member, "reference": True} if changes else member)
    return group


def generate_case(rng: random.Random, index: int) -> dict[str, Any]:
    """One application spec with its requests (JSON-able)."""
    keys = _Keys(rng)
    subapp = None
    if _chance(rng, 0.25):
        subapp = {"mode": rng.choices(("parent", "sub", "both"), (50, 25, 25))[0]}
        subapp["defaults"] = (_maybe_config(rng, keys, none_chance=0.4)
                              if subapp["mode"] != "parent" else None)
    root_setup = subapp is None or subapp["mode"] != "sub"
    defaults_roll = rng.random()
    defaults = (None if defaults_roll < 0.25 else {} if defaults_roll < 0.35
                else _config(rng, keys))
    case: dict[str, Any] = {
        "id": index,
        "root_setup": root_setup,
        "defaults": defaults if root_setup else None,
        "middleware": rng.choices((None, "auth", "header"), (60, 20, 20))[0],
        "subapp": subapp,
        "resources": [],
    }
    count = 0
    for _ in range(rng.choice((1, 2, 2, 3, 4))):
        count += 1
        case["resources"].append(_resource(rng, keys, count, "root", root_setup))
    if subapp is not None:
        for _ in range(rng.choice((1, 2))):
            count += 1
            case["resources"].append(_resource(rng, keys, count, "sub", True))
    if _chance(rng, 0.15):
        static = {"id": "static", "app": "root", "kind": "static", "path": STATIC_PREFIX,
                  "probe": STATIC_PREFIX + "/" + STATIC_FILE}
        mode = "resource" if root_setup and _chance(rng, 0.8) else "none"
        static["cors"] = {"mode": mode, "config": _maybe_config(rng, keys), "route_configs": {}}
        case["resources"].append(static)
    for resource in list(case["resources"]):
        case["resources"].extend(_twins(case, resource))
    configured = sorted({key for config in all_configs(case) for key in config})
    requests: list[dict[str, Any]] = []
    for _ in range(rng.choice((4, 5, 6, 6, 7, 8))):
        primary = _primary_request(rng, case, configured)
        requests.extend(_with_references(case, primary))
    case["requests"] = requests
    return case


def all_configs(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Every non-empty configuration mapping of a case."""
    configs = [case["defaults"], (case["subapp"] or {}).get("defaults")]
    for resource in case["resources"]:
        configs.append(resource["cors"]["config"])
        configs.extend(resource["cors"]["route_configs"].values())
        if resource["kind"] == "view":
            configs.append(resource["view"]["cors_config"])
            configs.extend(resource["view"]["custom"].values())
    return [config for config in configs if config]


def generate_cases(seed: int, count: int) -> list[dict[str, Any]]:
    """Cases 0..count-1, all drawn in order from one ``random.Random(seed)``."""
    rng = random.Random(seed)
    return [generate_case(rng, index) for index in range(count)]


def raw_request(request: dict[str, Any]) -> bytes:
    """The exact bytes sent for a request spec (UTF-8, so non-ASCII origins go as sent)."""
    lines = [f"{request['method']} {request['path']} HTTP/1.1", "Host: localhost",
             *request["lines"], "Connection: close", "", ""]
    return "\r\n".join(lines).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Building an application from a spec, with whichever aiohttp_cors is installed.
# ---------------------------------------------------------------------------------------------


def _build_config(config: Any) -> Any:
    """A spec mapping as the user would write it: ResourceOptions or plain mappings."""
    if config is None:
        return None
    built: dict[str, Any] = {}
    for key, opts in config.items():
        if opts["form"] == "ro":
            kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in opts["kw"].items()}
            built[key] = aiohttp_cors.ResourceOptions(**kw)
        else:
            built[key] = dict(opts["kw"])
    return built


def _response(handler: dict[str, Any]) -> web.StreamResponse:
    """A plain handler's answer with its extra headers (duplicates kept, e.g. two Vary)."""
    if handler["kind"] == "empty204":
        response = web.Response(status=204)
    else:
        response = web.Response(text=handler["body"])
    for name, value in handler["headers"]:
        response.headers.add(name, value)
    return response


def _make_handler(handler: dict[str, Any]) -> Any:
    """A request handler answering as the spec says: text, 204, a raised 404 or a stream."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if handler["kind"] == "notfound":
            raise web.HTTPNotFound(text=handler["body"],
                                   headers=[tuple(pair) for pair in handler["headers"]])
        if handler["kind"] == "stream":
            response = web.StreamResponse()
            for name, value in handler["headers"]:
                response.headers.add(name, value)
            await response.prepare(request)
            await response.write(handler["body"].encode())
            await response.write_eof()
            return response
        return _response(handler)

    return handle


def _make_view(view: dict[str, Any]) -> type:
    """A ``web.View`` + ``CorsViewMixin`` class with the spec's methods and configs."""
    attrs: dict[str, Any] = {"cors_config": _build_config(view["cors_config"])}
    for method in view["methods"]:
        body = f"{view['body']}-{method}"

        async def handle(self: web.View, _body: str = body) -> web.Response:
            return web.Response(text=_body)

        handle.__name__ = method
        if method in view["custom"]:
            handle = aiohttp_cors.custom_cors(_build_config(view["custom"][method]))(handle)
        attrs[method] = handle
    return type("SpecView", (web.View, aiohttp_cors.CorsViewMixin), attrs)


def _register(app: web.Application, resource: dict[str, Any], static_dir: str) -> tuple[Any, list]:
    """Register a resource's routes; returns (resource object, its routes in registration
    order)."""
    router = app.router
    kind = resource["kind"]
    if kind == "static":
        static = router.add_static(resource["path"], static_dir)
        return static, list(static)
    if kind == "view":
        view = _make_view(resource["view"])
        if resource["view"]["registration"] == "add_view":
            route = router.add_view(resource["path"], view)
        else:
            route = router.add_route("*", resource["path"], view)
        return route.resource, [route]
    handler = _make_handler(resource["handler"])
    if kind == "get":
        route = router.add_get(resource["path"], handler)
        return route.resource, list(route.resource)
    if kind == "resource":
        res = router.add_resource(resource["path"])
        for method in resource["methods"]:
            res.add_route(method, handler)
        return res, list(res)
    routes = [router.add_route(method, resource["path"], handler)
              for method in resource["methods"]]
    return routes[0].resource, routes


def _add_to_cors(cors: Any, resource: dict[str, Any], res: Any, routes: list) -> None:
    """Pass a resource to ``cors.add()`` the way the spec says (0.8.1 idioms)."""
    spec = resource["cors"]
    mode = spec["mode"]
    if mode in ("resource", "resource_then_routes"):
        cors.add(res, _build_config(spec["config"]))
    elif mode == "route":  # a view's single "*" route
        cors.add(routes[0], _build_config(spec["config"]))
    elif mode == "first_route":
        first = next(r for r in routes if r.method == first_route_method(resource))
        cors.add(first, _build_config(spec["config"]))
    if mode in ("each_route", "some_routes", "resource_then_routes"):
        for route in routes:
            if route.method in spec["route_configs"]:
                cors.add(route, _build_config(spec["route_configs"][route.method]))


def _middlewares(kind: str | None) -> list:
    """The application middleware of a case: none, an authentication check (401 without an
    Authorization header, as preflights never have one) or one that adds a header."""

    @web.middleware
    async def require_authorization(request: web.Request, handler: Any) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return web.Response(status=401, text=AUTH_REFUSAL_BODY,
                                headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    @web.middleware
    async def add_header(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers[MIDDLEWARE_HEADER] = "1"
            raise
        if not response.prepared:
            response.headers[MIDDLEWARE_HEADER] = "1"
        return response

    return {None: [], "auth": [require_authorization], "header": [add_header]}[kind]


def build_application(case: dict[str, Any], static_dir: str) -> web.Application:
    """The case's application, configured with the installed aiohttp_cors (may raise)."""
    root = web.Application(middlewares=_middlewares(case["middleware"]))
    sub = web.Application() if case["subapp"] else None
    apps = {"root": root, "sub": sub}
    registered = [(r, *_register(apps[r["app"]], r, static_dir)) for r in case["resources"]]
    cors = {}
    if case["root_setup"]:
        cors["root"] = aiohttp_cors.setup(root, defaults=_build_config(case["defaults"]))
    if case["subapp"] and case["subapp"]["mode"] in ("sub", "both"):
        cors["sub"] = aiohttp_cors.setup(sub, defaults=_build_config(case["subapp"]["defaults"]))
    for resource, res, routes in registered:
        app_name = configuring_app(case, resource)
        if app_name is not None:
            _add_to_cors(cors[app_name], resource, res, routes)
    if sub is not None:
        root.add_subapp(SUB_PREFIX + "/", sub)
    return root


# ---------------------------------------------------------------------------------------------
# Running: one server per case, raw requests, raw answers.
# ---------------------------------------------------------------------------------------------


def parse_response(data: bytes) -> dict[str, Any]:
    """Status, header lines in order (minus Date/Server) and body (latin-1) of a raw answer."""
    if not data:
        return {"outcome": "dropped"}
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return {"outcome": "incomplete", "raw": data.decode("latin-1")}
    status_line, *lines = head.decode("latin-1").split("\r\n")
    _, status, reason = ([*status_line.split(" ", 2), ""])[:3]
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        if name.lower() not in UNRECORDED_HEADERS:
            headers.append([name, value.strip(" \t")])
    return {"outcome": "response", "status": int(status), "reason": reason,
            "headers": headers, "body": body.decode("latin-1")}


async def exchange(port: int, raw: bytes) -> dict[str, Any]:
    """Send raw bytes on a fresh connection and read the answer until the server closes."""
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                                TIMEOUT)
        writer.write(raw)
        data = await asyncio.wait_for(reader.read(), TIMEOUT)
    except asyncio.TimeoutError:
        return {"outcome": "timeout"}
    except ConnectionError as exc:
        return {"outcome": "reset", "error": type(exc).__name__}
    finally:
        if writer is not None:
            writer.close()
    return parse_response(data)


def _warning_records(caught: list[warnings.WarningMessage]) -> list[list[str]]:
    return [[w.category.__name__, str(w.message)] for w in caught]


async def run_case(case: dict[str, Any], static_dir: str) -> dict[str, Any]:
    """Build, start, query and stop one case's application."""
    result: dict[str, Any] = {"id": case["id"], "config_error": None, "warnings": [],
                              "responses": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            app = build_application(case, static_dir)
        except Exception as exc:  # a configuration 0.8.1 or 1.x does not accept
            result["config_error"] = {"phase": "configure", "type": type(exc).__name__,
                                      "message": str(exc)}
            result["warnings"] = _warning_records(caught)
            return result
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=TIMEOUT)
        try:
            await runner.setup()
        except Exception as exc:  # start-up hooks can refuse a configuration too
            result["config_error"] = {"phase": "startup", "type": type(exc).__name__,
                                      "message": str(exc)}
            result["warnings"] = _warning_records(caught)
            return result
    result["warnings"] = _warning_records(caught)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        for request in case["requests"]:
            result["responses"].append(await exchange(port, raw_request(request)))
    finally:
        await runner.cleanup()
    return result


async def run_cases(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the cases one after the other, with one static directory for all of them."""
    with tempfile.TemporaryDirectory() as static_dir:
        path = os.path.join(static_dir, STATIC_FILE)
        with open(path, "w") as file:
            file.write("static file\n")
        os.utime(path, (STATIC_MTIME, STATIC_MTIME))
        return [await run_case(case, static_dir) for case in cases]


def main(argv: list[str] | None = None) -> int:
    """Generate, run and record the cases; the JSON has the specs next to the answers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    parser.add_argument("--case", type=int, help="run only this case (0 <= CASE < COUNT)")
    args = parser.parse_args(argv)
    if args.case is not None and not 0 <= args.case < args.count:
        parser.error("--case must be in range(--count)")
    # Crashes are recorded as answers (500, dropped connections), not logged.
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    logging.getLogger("aiohttp_cors").setLevel(logging.CRITICAL)
    cases = generate_cases(args.seed, args.count if args.case is None else args.case + 1)
    if args.case is not None:
        cases = cases[args.case:]
    results = asyncio.run(run_cases(cases))
    import aiohttp

    output = {
        "meta": {"seed": args.seed, "count": args.count, "case": args.case,
                 "aiohttp": aiohttp.__version__,
                 "aiohttp_cors": getattr(aiohttp_cors, "__version__", "?"),
                 "aiohttp_cors_file": aiohttp_cors.__file__,
                 "python": sys.version.split()[0]},
        "cases": [{"spec": case, **result} for case, result in zip(cases, results)],
    }
    with open(args.out, "w") as file:
        json.dump(output, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
