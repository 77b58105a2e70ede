"""Comparing two runs of diffcases.py: 0.8.1's answers against this package's, request by request.

Every difference left after normalisation must be explained by a named :class:`Rule` tied to one
deliberate deviation, numbered as the fixes in docs/migration.md ("Fix N" below). There
are three kinds of rules, applied in this order:

1. *Substitutions* replace 0.8.1's answer by its answer to a reference request that diffcases.py
   sent for this purpose (the same request to a twin resource, or with ``Authorization``):
   what 0.8.1 would have answered without the crash or the middleware that the deviation is
   about.
2. *Decisions* re-predict the CORS part of the answer with a model of 0.8.1's decision in which
   the deviation is switched on. The model with every deviation off must reproduce 0.8.1's
   recorded answers exactly (``model_check``), which is what makes its predictions trustworthy.
3. *Normalisations* (``Vary``) remove a difference after checking it has exactly the allowed
   shape.

Each rule applies only where its deviation can: a precondition on the case and the request
(the Origin is malformed, the method is GET/HEAD/POST, a configured key is not canonical...).
Deviations are allowed, not required: when the rules that apply do not explain a difference
together, smaller sets of them are tried, since this package may keep 0.8.1's answer where a
deviation would allow another (those are reported as "left out"). Whatever still differs is
unexplained.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any, Callable, Optional, Union

from . import diffcases

PREFIX = "CORS preflight request failed: "
ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACEH = "Access-Control-Expose-Headers"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACMA = "Access-Control-Max-Age"
ACTUAL_CORS_HEADERS = frozenset(name.lower() for name in (ACAO, ACAC, ACEH))
#: 0.8.1's CORS-simple response headers, left out of ``expose_headers="*"`` (exact spelling).
SIMPLE_RESPONSE_HEADERS = frozenset(
    {"Cache-Control", "Content-Language", "Content-Type", "Expires", "Last-Modified", "Pragma"}
)
#: Headers diffcases.py does not record but aiohttp sends before the prepare hook runs.
UNRECORDED_HOOK_TIME_HEADERS = ("Date", "Server")
#: The answer of an aiohttp handler that raised.
SERVER_ERROR_BODY = "500 Internal Server Error\n\nServer got itself in trouble"
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SERIALIZED_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*)://"
    r"(?P<host>[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
)
ORIGIN_KEY = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<host>[^/:@\s\[\]]+|\[[^\]]*\])"
    r"(?::(?P<port>[0-9]+))?/?"
)
GLOB_KEY = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<wild>\*\.)?(?P<host>[a-z0-9.\-]+)"
    r"(?::(?P<port>\*|[0-9]+))?"
)
#: 1.x's documented bounds on Access-Control-Request-Headers (fix 9 in docs/migration.md).
MAX_REQUESTED_HEADERS = 256
MAX_REQUESTED_HEADER_COMMAS = 1024


def wire(text: str) -> str:
    """A Python string as it appears in a recorded answer (UTF-8 bytes read as latin-1)."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


# ---------------------------------------------------------------------------------------------
# Answers and requests
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One recorded answer: a response, or what happened instead (dropped, reset, timeout)."""

    outcome: str
    status: int | None = None
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Answer:
        if record["outcome"] != "response":
            return cls(outcome=record["outcome"], body=record.get("raw", ""))
        return cls(
            outcome="response",
            status=record["status"],
            reason=record["reason"],
            headers=tuple((name, value) for name, value in record["headers"]),
            body=record["body"],
        )

    def values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def without(self, names: Iterable[str]) -> Answer:
        lowered = {name.lower() for name in names}
        return replace(self, headers=tuple(h for h in self.headers if h[0].lower() not in lowered))

    def plus(self, headers: Iterable[tuple[str, str]]) -> Answer:
        return replace(self, headers=self.headers + tuple(headers))

    @property
    def crashed(self) -> bool:
        return self.outcome != "response" or (
            self.status == 500 and self.body == SERVER_ERROR_BODY
        )

    def comparable(self) -> tuple[Any, ...]:
        """What is compared: header lines as a multiset; frozenset-built lists as sets.

        0.8.1 joins Access-Control-Allow-Headers, Access-Control-Expose-Headers and the
        "headers are not allowed: ..." text from frozensets, so their item order is random.
        """
        headers = []
        for name, value in self.headers:
            if name.lower() in (ACAH.lower(), ACEH.lower()):
                value = ",".join(sorted(value.split(",")))
            headers.append((name.lower(), value))
        body = self.body
        refused_headers = PREFIX + "headers are not allowed: "
        if self.status == 403 and body.startswith(refused_headers):
            items = body[len(refused_headers):].split(", ")
            body = refused_headers + ", ".join(sorted(items))
        return (self.outcome, self.status, self.reason, tuple(sorted(headers)), body)


@dataclass(frozen=True)
class Request:
    """A request spec with its header lines parsed as aiohttp parses them."""

    index: int
    spec: dict[str, Any]

    @property
    def method(self) -> str:
        return str(self.spec["method"])

    @property
    def target(self) -> str | None:
        return self.spec["target"]

    def values(self, name: str) -> list[str]:
        lowered = name.lower()
        result = []
        for line in self.spec["lines"]:
            key, _, value = line.partition(":")
            if key.strip().lower() == lowered:
                result.append(value.strip(" \t"))
        return result

    @property
    def origins(self) -> list[str]:
        return self.values("Origin")

    @property
    def is_preflight(self) -> bool:
        return diffcases.is_preflight_lines(self.method, self.spec["lines"])

    @property
    def has_authorization(self) -> bool:
        return diffcases.has_authorization(self.spec["lines"])

    @property
    def asks_private_network(self) -> bool:
        return "true" in self.values("Access-Control-Request-Private-Network")


# ---------------------------------------------------------------------------------------------
# Origins and origin keys
# ---------------------------------------------------------------------------------------------


def is_serialized_origin(value: str) -> bool:
    """``scheme://host[:port]`` as browsers serialize it: lower case, ASCII, no default port."""
    match = SERIALIZED_ORIGIN.fullmatch(value)
    if match is None:
        return False
    port = match["port"]
    return port is None or (int(port) <= 65535 and DEFAULT_PORTS.get(match["scheme"]) != port)


def origin_is_malformed(origins: list[str]) -> bool:
    """"Malformed" as in fix 5 in docs/migration.md: several Origin lines, or one that is
    neither null nor a serialized origin."""
    if not origins:
        return False
    return len(origins) > 1 or (origins[0] != "null" and not is_serialized_origin(origins[0]))


def is_glob_key(key: str) -> bool:
    return "*" in key and key != "*"


def canonical_key(key: str) -> str | None:
    """An exact origin key as 1.x normalises it (fix 8 in docs/migration.md); None if no origin."""
    if key == "null":
        return key
    match = ORIGIN_KEY.fullmatch(key)
    if match is None or is_glob_key(key):
        return None
    scheme = match["scheme"].lower()
    host = match["host"]
    host = host.encode("idna").decode("ascii") if not host.isascii() else host.lower()
    port = match["port"]
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def glob_matches(key: str, origin: str) -> bool:
    """Whether a 1.x glob key (``scheme://*.host[:port|:*]``, ``scheme://host:*``) matches."""
    glob = GLOB_KEY.fullmatch(key)
    parsed = SERIALIZED_ORIGIN.fullmatch(origin)
    if glob is None or parsed is None or glob["scheme"] != parsed["scheme"]:
        return False
    host = parsed["host"]
    host_ok = host.endswith("." + glob["host"]) if glob["wild"] else host == glob["host"]
    port_ok = glob["port"] == "*" or glob["port"] == parsed["port"]
    return host_ok and port_ok


def is_single_label_glob(key: str) -> bool:
    """``https://*.com``: a glob whose fixed part is one label (a 1.x configuration error)."""
    glob = GLOB_KEY.fullmatch(key)
    return glob is not None and bool(glob["wild"]) and "." not in glob["host"]


# ---------------------------------------------------------------------------------------------
# A model of 0.8.1's CORS decisions, with the deliberate deviations as switches
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """ResourceOptions as 0.8.1 normalises them."""

    credentials: bool
    expose: str | frozenset[str]
    allow_headers: str | frozenset[str]
    max_age: int | None
    methods: str | frozenset[str] | None
    #: Mapping-form options 0.8.1 never turned into ResourceOptions (a view's own configs).
    unparsed_mapping: bool

    @classmethod
    def from_spec(cls, spec: dict[str, Any], parsed: bool) -> Options:
        kw = spec["kw"]
        expose = kw.get("expose_headers", [])
        allow = kw.get("allow_headers", [])
        methods = kw.get("allow_methods")
        return cls(
            credentials=kw.get("allow_credentials", False),
            expose=expose if expose == "*" else frozenset(expose),
            allow_headers=allow if allow == "*" else frozenset(h.upper() for h in allow),
            max_age=kw.get("max_age"),
            methods=methods if methods in (None, "*") else frozenset(m.upper() for m in methods),
            unparsed_mapping=spec["form"] == "map" and not parsed,
        )


Layer = dict[str, Options]


def layer(config: dict[str, Any] | None, parsed: bool = True) -> Layer:
    """A configuration mapping as 0.8.1 holds it: parsed by setup()/add(), raw in a view."""
    return {key: Options.from_spec(opts, parsed) for key, opts in (config or {}).items()}


class CaseModel:
    """What one case's spec means to 0.8.1: which resource, which layers, which options."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.resources = {r["id"]: r for r in spec["resources"]}
        self.keys = frozenset(key for config in diffcases.all_configs(spec) for key in config)
        self.defaults = {
            "root": layer(spec["defaults"]),
            "sub": layer((spec["subapp"] or {}).get("defaults")),
        }

    def resource(self, request: Request) -> dict[str, Any] | None:
        return self.resources.get(request.target) if request.target else None

    @staticmethod
    def cors_enabled(resource: dict[str, Any] | None) -> bool:
        """Passed to ``cors.add()`` (itself or one of its routes): CORS for the whole resource."""
        return resource is not None and resource["cors"]["mode"] != "none"

    def cors_app(self, resource: dict[str, Any]) -> str | None:
        return diffcases.configuring_app(self.spec, resource)

    def resource_layers(self, resource: dict[str, Any]) -> tuple[Layer, dict[str, Layer]]:
        """(resource config, method -> route config) as 0.8.1's cors.add() calls leave them.

        The first cors.add() of a route also sets the resource's config to that route's.
        """
        cors = resource["cors"]
        mode = cors["mode"]
        methods = diffcases.route_methods(resource)
        if mode in ("resource", "resource_then_routes"):
            default: Layer | None = layer(cors["config"])
        elif mode == "first_route":
            first = diffcases.first_route_method(resource)
            return layer(cors["config"]), {first: layer(cors["config"])}
        else:
            default = None
        by_method: dict[str, Layer] = {}
        for method in methods:
            if method in cors["route_configs"]:
                route_layer = layer(cors["route_configs"][method])
                if default is None:
                    default = route_layer
                by_method[method] = route_layer
        return default or {}, by_method

    def serves(self, resource: dict[str, Any], method: str) -> bool:
        """Whether the router finds a route (not its 405) for ``method`` on ``resource``."""
        if resource["kind"] == "view":
            return True
        methods = diffcases.route_methods(resource)
        return "*" in methods or method in methods


def lookup(layers: list[Layer], origin: str, switches: frozenset[str]) -> Options | None:
    """The options for ``origin``: exact keys through the layers, then (1.x) globs, then "*".

    Each kind of key is looked up through the layers as 0.8.1's ChainMap does: the most
    specific layer first, a layer's keys in configured order.
    """
    if "canonical-origin-keys" in switches:
        for current in layers:
            for key, options in current.items():
                if not is_glob_key(key) and key != "*" and canonical_key(key) == origin:
                    return options
    else:
        for current in layers:
            if origin in current:
                return current[origin]
    if "glob-origin-keys" in switches:
        for current in layers:
            for key, options in current.items():
                if is_glob_key(key) and glob_matches(key, origin):
                    return options
    if origin == "null" and "null-needs-listing" in switches:
        return None
    for current in layers:
        if "*" in current:
            return current["*"]
    return None


@dataclass(frozen=True)
class Lines:
    """The CORS header lines 0.8.1 adds to an actual response (possibly none)."""

    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Granted:
    """A successful preflight: its header lines."""

    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Refused:
    """A refused preflight: 0.8.1's reason (exact) and/or reasons 1.x may give instead."""

    reason: str | None
    patterns: tuple[str, ...] = ()

    def accepts(self, body: str) -> bool:
        if self.reason is not None and body == wire(PREFIX + self.reason):
            return True
        return any(re.fullmatch(wire(PREFIX) + p, body, re.S) for p in self.patterns)


@dataclass(frozen=True)
class Crash:
    """0.8.1 fails (assertion, AttributeError, KeyError, ValueError) instead of answering."""

    why: str


Prediction = Union[Lines, Granted, Refused, Crash]
#: (expected, actual): what a rule hands on, to be compared in the end.
Pair = tuple[Answer, Answer]


def requested_headers(request: Request, switches: frozenset[str]) -> tuple[list[str], str]:
    """The Access-Control-Request-Headers value 0.8.1 reads (first line) or 1.x (joined)."""
    lines = request.values("Access-Control-Request-Headers")
    if "request-headers-lines-joined" in switches:
        raw = ",".join(lines)
    else:
        raw = lines[0] if lines else ""
    return [h.strip(" \t") for h in raw.split(",")], raw


def new_refusals(request: Request, switches: frozenset[str]) -> tuple[str, ...]:
    """Reasons 1.x refuses a preflight for that 0.8.1 never had (their text is 1.x's choice)."""
    patterns = []
    method = request.values("Access-Control-Request-Method")[0]
    items, raw = requested_headers(request, switches)
    if "malformed-origin-refused" in switches and origin_is_malformed(request.origins):
        patterns.append(r"origin .* is not allowed.*")
    if "bad-method-or-star-header-refused" in switches:
        if method == "*" or not TOKEN.fullmatch(method):
            patterns.append(r"request method .* is not allowed.*")
        if "*" in items:
            patterns.append(r"headers are not allowed: .*")
    if "hostile-input-bounded" in switches and (
        len([i for i in items if i]) > MAX_REQUESTED_HEADERS
        or raw.count(",") > MAX_REQUESTED_HEADER_COMMAS
    ):
        patterns.append(r"headers are not allowed: .*")
    if "private-network-refused" in switches and request.asks_private_network:
        patterns.append(r"private network .*")
    return tuple(patterns)


def _method_allowed(options: Options, method: str, switches: frozenset[str]) -> bool:
    if options.methods is None:
        return False
    if options.methods == "*":
        return True
    return (method if "method-byte-exact" in switches else method.upper()) in options.methods


def _safelisted_passes(method: str, switches: frozenset[str]) -> bool:
    return "safelisted-methods-pass" in switches and method in ("GET", "HEAD", "POST")


def _preflight_layers(
    model: CaseModel, resource: dict[str, Any], origin: str | None, shown: str, method: str,
    switches: frozenset[str],
) -> list[Layer] | str:
    """The layers answering a preflight for ``method``, or 0.8.1's method refusal text.

    ``origin`` is what is looked up (None: matches nothing), ``shown`` the request's Origin.
    """
    refused = f"request method {method!r} is not allowed for {shown!r} origin"
    if resource["kind"] == "view":
        view = resource["view"]
        home = diffcases.view_home_app(model.spec, resource)
        if "method-byte-exact" in switches:
            found = method in {m.upper() for m in view["methods"]} | {"OPTIONS"}
            name = method.lower() if found else None
        else:
            name = method.lower() if method.lower() in [*view["methods"], "options"] else None
        if name is None and not _safelisted_passes(method, switches):
            return refused
        custom = layer(view["custom"].get(name), parsed=False) if name else {}
        return [custom, layer(view["cors_config"], parsed=False), model.defaults[home]]
    default, by_method = model.resource_layers(resource)
    app = model.cors_app(resource)
    assert app is not None
    base = [default, model.defaults[app]]
    options = lookup(base, origin, switches) if origin is not None else None
    if (options is not None and _method_allowed(options, method, switches)) or (
        _safelisted_passes(method, switches)
    ):
        return [by_method.get(method, {}), *base]
    if method not in by_method:
        return refused
    return [by_method[method], *base]


def predict_preflight(
    model: CaseModel, resource: dict[str, Any], request: Request, switches: frozenset[str]
) -> Prediction:
    """0.8.1's answer to an OPTIONS request its preflight handler gets, deviations switched."""
    origins = request.origins
    if not origins:
        return Refused("origin header is not specified in the request")
    methods = request.values("Access-Control-Request-Method")
    if not methods:
        return Refused("'Access-Control-Request-Method' header is not specified")
    method = methods[0]
    patterns = new_refusals(request, switches)
    origin: str | None = origins[0]
    if "malformed-origin-refused" in switches and origin_is_malformed(origins):
        origin = None  # never matches: only the refusal texts remain possible
    shown = origins[0]
    layers = _preflight_layers(model, resource, origin, shown, method, switches)
    if isinstance(layers, str):
        return Refused(layers, patterns)
    if not any(layers):
        return Refused("no origins are allowed", patterns)
    options = lookup(layers, origin, switches) if origin is not None else None
    if options is None:
        return Refused(f"origin '{shown}' is not allowed", patterns)
    if options.unparsed_mapping:
        return Crash("mapping-form options reach 0.8.1's preflight handler")
    items, _ = requested_headers(request, switches)
    asked = frozenset(h.upper() for h in items if h)
    if options.allow_headers != "*":
        disallowed = asked - options.allow_headers
        if disallowed:
            return Refused("headers are not allowed: " + ", ".join(sorted(disallowed)), patterns)
    if patterns:
        return Refused(None, patterns)
    headers = [(ACAO, shown)]
    if options.credentials:
        headers.append((ACAC, "true"))
    if options.max_age is not None:
        headers.append((ACMA, str(options.max_age)))
    headers.append((ACAM, method))
    if asked:
        headers.append((ACAH, ",".join(sorted(asked))))
    return Granted(tuple(headers))


def predict_actual(
    model: CaseModel, resource: dict[str, Any], request: Request, base: Answer,
    switches: frozenset[str],
) -> Prediction:
    """The CORS lines 0.8.1 adds to an actual response, deviations switched."""
    origins = request.origins
    if resource["kind"] == "view":
        view = resource["view"]
        name = request.method.lower()
        if name not in view["methods"]:
            return Crash("0.8.1 has no config for a method the view lacks")
        home = diffcases.view_home_app(model.spec, resource)
        layers = [layer(view["custom"].get(name), parsed=False),
                  layer(view["cors_config"], parsed=False), model.defaults[home]]
    else:
        default, by_method = model.resource_layers(resource)
        app = model.cors_app(resource)
        assert app is not None
        layers = [by_method.get(request.method, {}), default, model.defaults[app]]
    if not origins:
        return Lines(())
    if "malformed-origin-refused" in switches and origin_is_malformed(origins):
        return Lines(())
    options = lookup(layers, origins[0], switches)
    if options is None:
        return Lines(())
    if options.unparsed_mapping:
        return Crash("mapping-form options reach 0.8.1's response hook")
    headers = []
    if options.expose == "*":
        names = {name for name, _ in base.without(ACTUAL_CORS_HEADERS).headers}
        names |= set(UNRECORDED_HOOK_TIME_HEADERS)
        headers.append((ACEH, ",".join(sorted(names - SIMPLE_RESPONSE_HEADERS))))
    elif options.expose:
        headers.append((ACEH, ",".join(sorted(options.expose))))
    headers.append((ACAO, origins[0]))
    if options.credentials:
        headers.append((ACAC, "true"))
    return Lines(tuple(headers))


def predict(
    model: CaseModel, request: Request, base: Answer, switches: frozenset[str],
    handler_lines: tuple[tuple[str, str], ...] = (),
) -> Prediction | None:
    """0.8.1's CORS part of the answer to ``request``; None where 0.8.1's CORS is not involved.

    Not involved: no or an unknown target, a resource not passed to cors.add() (except a
    view's OPTIONS, which CorsViewMixin answers anyway), the router's 405, and answers the
    application's auth middleware gave before any handler ran.
    """
    resource = model.resource(request)
    if resource is None:
        return None
    is_view = resource["kind"] == "view"
    if request.method == "OPTIONS" and (is_view or model.cors_enabled(resource)):
        if base.values("WWW-Authenticate"):
            return None  # the auth middleware answered; the preflight handler never ran
        return predict_preflight(model, resource, request, switches)
    if not model.cors_enabled(resource) or not model.serves(resource, request.method):
        return None
    prediction = predict_actual(model, resource, request, base, switches)
    if prediction == Lines(()) and "handler-cors-headers-dropped" not in switches:
        return Lines(handler_lines)  # 0.8.1's hook leaves the handler's own lines alone
    return prediction


def render(prediction: Prediction, base: Answer, actual: Answer) -> Answer:
    """The answer ``prediction`` stands for, on top of ``base`` (0.8.1's reference answer).

    Refusals whose text 1.x may choose are resolved against ``actual``: its body is taken when
    one of the allowed reasons accepts it.
    """
    if isinstance(prediction, Crash):
        return base
    if isinstance(prediction, Lines):
        return base.without(ACTUAL_CORS_HEADERS).plus(
            (name, wire(value)) for name, value in prediction.headers
        )
    residue = tuple(h for h in base.headers if h[0] == diffcases.MIDDLEWARE_HEADER)
    if isinstance(prediction, Granted):
        headers = tuple((name, wire(value)) for name, value in prediction.headers)
        return Answer("response", 200, "OK",
                      (*headers, ("Content-Length", "0"), ("Connection", "close"), *residue), "")
    if prediction.accepts(actual.body):
        body = actual.body
    else:
        body = wire(PREFIX + (prediction.reason or f"<one of {prediction.patterns}>"))
    headers = (("Content-Type", "text/plain; charset=utf-8"),
               ("Content-Length", str(len(body))), ("Connection", "close"))
    return Answer("response", 403, "Forbidden", headers + residue, body)


# ---------------------------------------------------------------------------------------------
# The exchange under comparison, and the rules
# ---------------------------------------------------------------------------------------------


def handler_cors_lines(model: CaseModel, request: Request) -> tuple[tuple[str, str], ...]:
    """The CORS header lines the handler of an actual request to a CORS-enabled resource sets
    itself (what 0.8.1's response hook asserts are absent)."""
    resource = model.resource(request)
    if (resource is None or resource["kind"] not in ("get", "routes", "resource")
            or not model.cors_enabled(resource) or request.method == "OPTIONS"
            or not model.serves(resource, request.method)):
        return ()
    return tuple((name, wire(value)) for name, value in resource["handler"]["headers"]
                 if name.lower() in ACTUAL_CORS_HEADERS)


@dataclass
class Exchange:
    """One primary or reference request of a case, both answers, and the rules' state."""

    model: CaseModel
    request: Request
    requests: list[dict[str, Any]]
    old_answers: list[Answer]
    actual: Answer
    base: Answer = field(init=False)
    base_request: Request = field(init=False)
    expected: Answer = field(init=False)
    ref_keys: set[str] = field(default_factory=set)
    switches: frozenset[str] = frozenset()
    #: The CORS header lines the handler answering the request sets itself.
    handler_lines: tuple[tuple[str, str], ...] = ()
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base = self.old_answers[self.request.index]
        self.base_request = self.request
        self.expected = self.base
        self.handler_lines = handler_cors_lines(self.model, self.request)

    @property
    def resource(self) -> dict[str, Any] | None:
        return self.model.resource(self.request)

    def substitute(self, key: str, replaces: str = "") -> Pair | None:
        """Expect 0.8.1's answer to the reference request for ``key`` ("auth" or a twin's kind),
        with the earlier substitutions but the one it ``replaces``."""
        self.ref_keys.discard(replaces)
        self.ref_keys.add(key)
        name = "+".join(sorted(self.ref_keys))
        offset = self.request.spec.get("refs", {}).get(name)
        if offset is None:
            self.errors.append(f"no {name!r} reference request for request {self.request.index}")
            return None
        index = self.request.index + offset
        reference = Request(index, self.requests[index])
        twin = self.model.resource(reference)
        if key != "auth" and (twin is None or twin.get("twin_kind") != key):
            self.errors.append(f"reference {index} is not a {key!r} twin")
            return None
        self.base = self.old_answers[index]
        self.base_request = reference
        return self.base, self.actual

    def prediction(self, switches: frozenset[str]) -> Prediction | None:
        return predict(self.model, self.base_request, self.base, switches, self.handler_lines)

    def switch_on(self, name: str) -> Pair | None:
        """Expect the answer with deviation switch ``name`` on too (where the model applies)."""
        self.switches |= {name}
        prediction = self.prediction(self.switches)
        if prediction is None:
            return None
        return render(prediction, self.base, self.actual), self.actual


RuleFunction = Callable[[Exchange], Optional[Pair]]


@dataclass(frozen=True)
class Rule:
    """A named explanation tied to one deliberate deviation (its fix number in docs/migration.md).

    ``explain`` returns the (expected, actual) pair that must then compare equal when the
    deviation applies to the exchange, None when it does not.
    """

    name: str
    deviation: int
    explain: RuleFunction
    kind: str


# --- substitutions --------------------------------------------------------------------------


def view_missing_method(x: Exchange) -> Pair | None:
    """Fix 4: 0.8.1 crashes on a method a CORS-enabled view lacks; 1.x gives aiohttp's 405
    (the same view, not passed to cors.add(), shows it)."""
    resource = x.resource
    if (resource is None or resource["kind"] != "view" or not x.model.cors_enabled(resource)
            or x.request.method == "OPTIONS"
            or x.request.method.lower() in resource["view"]["methods"]):
        return None
    return x.substitute("plain")


def _view_serves(x: Exchange) -> bool:
    resource = x.resource
    assert resource is not None
    return x.request.method == "OPTIONS" or x.request.method.lower() in resource["view"][
        "methods"]


def view_crash_fixed(x: Exchange) -> Pair | None:
    """Fix 4: views in sub-applications configured by the parent and mapping-form options in
    cors_config/@custom_cors work in 1.x (0.8.1 crashes); the same view in ResourceOptions form,
    in the application with the setup(), shows 0.8.1's answer for them."""
    resource = x.resource
    if resource is None or not diffcases.view_crash_reasons(x.model.spec, resource):
        return None
    if not _view_serves(x):
        return None
    return x.substitute("fixed")


def view_add_config(x: Exchange) -> Pair | None:
    """Fix 4: the config given to cors.add(view_route, config) applies to the view (0.8.1
    ignores it); a twin view with it as a layer under cors_config shows 0.8.1's answer."""
    resource = x.resource
    if resource is None or not diffcases.view_adds_config(resource) or not _view_serves(x):
        return None
    return x.substitute("reference", replaces="fixed")


def handler_set_cors_headers(x: Exchange) -> Pair | None:
    """Fix 3: a handler that sets Access-Control-Allow-Origin/-Credentials/-Expose-Headers
    itself on a CORS-enabled resource: 0.8.1 fails an assertion where it adds its own, 1.x
    sends the library's values (the same resource with a handler that sets none shows them).
    Where the library adds none, the handler's lines pass, as in 0.8.1."""
    if not x.handler_lines or x.substitute("handler") is None:
        return None
    prediction = x.prediction(x.switches)
    assert prediction is not None  # an actual request to a CORS-enabled resource
    return render(prediction, x.base, x.actual), x.actual


def _middleware_precedes(x: Exchange, middleware: str) -> bool:
    """Whether 1.x answers this request before ``middleware`` (an application middleware of the
    root application) while 0.8.1 ran it: a preflight to a resource the root's setup()
    configures."""
    resource = x.resource
    if x.model.spec["middleware"] != middleware or not x.request.is_preflight:
        return False
    if resource is None or not x.model.cors_enabled(resource):
        return False
    if resource["kind"] == "view":
        return diffcases.view_home_app(x.model.spec, resource) == "root"
    return x.model.cors_app(resource) == "root"


def preflight_before_auth_middleware(x: Exchange) -> Pair | None:
    """Fix 2: preflights are answered before application middleware, so an auth middleware's
    401 never reaches them in 1.x (the same preflight with Authorization shows 0.8.1's answer)."""
    if not _middleware_precedes(x, "auth") or x.request.has_authorization:
        return None
    return x.substitute("auth")


def preflight_before_header_middleware(x: Exchange) -> Pair | None:
    """Fix 2: a header-adding middleware does not touch preflights in 1.x."""
    if not _middleware_precedes(x, "header"):
        return None
    x.base = x.base.without([diffcases.MIDDLEWARE_HEADER])
    return x.base, x.actual


# --- decisions ------------------------------------------------------------------------------


def malformed_origin_refused(x: Exchange) -> Pair | None:
    """Fix 5: a malformed Origin is never reflected; preflights with one are refused."""
    if not origin_is_malformed(x.base_request.origins):
        return None
    return x.switch_on("malformed-origin-refused")


def null_needs_listing(x: Exchange) -> Pair | None:
    """Fix 6: "*" does not match ``Origin: null``."""
    if x.base_request.origins != ["null"]:
        return None
    return x.switch_on("null-needs-listing")


def method_byte_exact(x: Exchange) -> Pair | None:
    """Fix 7: Access-Control-Request-Method is compared byte for byte (patch is not PATCH)."""
    methods = x.base_request.values("Access-Control-Request-Method")
    if not methods or methods[0] == methods[0].upper():
        return None
    return x.switch_on("method-byte-exact")


def safelisted_methods_pass(x: Exchange) -> Pair | None:
    """Fix 7: GET, HEAD and POST always pass the preflight method check."""
    methods = x.base_request.values("Access-Control-Request-Method")
    if not methods or methods[0] not in ("GET", "HEAD", "POST"):
        return None
    return x.switch_on("safelisted-methods-pass")


def bad_method_or_star_header_refused(x: Exchange) -> Pair | None:
    """Fix 7: a requested method that is not a token, or "*", and "*" among the requested
    headers, are refused."""
    request = x.base_request
    methods = request.values("Access-Control-Request-Method")
    bad_method = bool(methods) and (methods[0] == "*" or not TOKEN.fullmatch(methods[0]))
    star_header = "*" in requested_headers(request, frozenset({"request-headers-lines-joined"}))[0]
    if not (bad_method or star_header):
        return None
    return x.switch_on("bad-method-or-star-header-refused")


def canonical_origin_keys(x: Exchange) -> Pair | None:
    """Fix 8: configured origins are normalised, so the canonical origin matches them."""
    origins = x.base_request.origins
    if len(origins) != 1 or not any(
        key != origins[0] and canonical_key(key) == origins[0] for key in x.model.keys
    ):
        return None
    return x.switch_on("canonical-origin-keys")


def request_headers_lines_joined(x: Exchange) -> Pair | None:
    """Fix 9: several Access-Control-Request-Headers lines are joined."""
    if len(x.base_request.values("Access-Control-Request-Headers")) < 2:
        return None
    return x.switch_on("request-headers-lines-joined")


def hostile_input_bounded(x: Exchange) -> Pair | None:
    """Fix 9: a huge Access-Control-Request-Headers is refused (1.x's documented bounds)."""
    items, raw = requested_headers(x.base_request, frozenset({"request-headers-lines-joined"}))
    if (len([i for i in items if i]) <= MAX_REQUESTED_HEADERS
            and raw.count(",") <= MAX_REQUESTED_HEADER_COMMAS):
        return None
    return x.switch_on("hostile-input-bounded")


def glob_origin_keys(x: Exchange) -> Pair | None:
    """Fix 10: glob keys (https://*.example.com) match subdomains."""
    origins = x.base_request.origins
    if len(origins) != 1 or not any(
        is_glob_key(key) and glob_matches(key, origins[0]) for key in x.model.keys
    ):
        return None
    return x.switch_on("glob-origin-keys")


def handler_cors_headers_dropped(x: Exchange) -> Pair | None:
    """Fix 3: where the library sends no CORS headers, 1.x may also drop the ones the handler
    set (0.8.1 let them through)."""
    if not x.handler_lines:
        return None
    return x.switch_on("handler-cors-headers-dropped")


def private_network_refused(x: Exchange) -> Pair | None:
    """Fix 10: a preflight asking for private network access is refused (never allowed in
    0.8.1 configurations)."""
    if not x.base_request.asks_private_network:
        return None
    return x.switch_on("private-network-refused")


# --- normalisations ------------------------------------------------------------------------


def _vary_tokens(answer: Answer) -> list[str]:
    return [t.strip() for value in answer.values("Vary") for t in value.split(",") if t.strip()]


def vary_origin(x: Exchange) -> Pair | None:
    """Fix 1: 1.x merges Origin (and, on successful preflights, the request headers it read)
    into Vary on every response of a CORS-enabled resource: case-insensitively, without
    duplicates, leaving ``Vary: *`` alone. Checks exactly that shape, then drops Vary from both
    sides."""
    if not x.model.cors_enabled(x.resource):
        return None
    expected_tokens = _vary_tokens(x.expected)
    actual_tokens = _vary_tokens(x.actual)
    if "*" in expected_tokens or Counter(expected_tokens) == Counter(actual_tokens):
        return None
    allowed = {"origin"}
    granted = x.request.is_preflight and x.expected.status == 200 and x.expected.values(ACAO)
    if granted:
        allowed |= {"access-control-request-method", "access-control-request-headers"}
        if x.request.asks_private_network:
            allowed.add("access-control-request-private-network")
    added = Counter(actual_tokens) - Counter(expected_tokens)
    lowered_expected = {t.lower() for t in expected_tokens}
    if (
        Counter(expected_tokens) - Counter(actual_tokens)
        or any(count > 1 for count in Counter(t.lower() for t in added.elements()).values())
        or not all(t.lower() in allowed and t.lower() not in lowered_expected for t in added)
        or "origin" not in {t.lower() for t in actual_tokens}
    ):
        return None
    return x.expected.without(["Vary"]), x.actual.without(["Vary"])


RULES: tuple[Rule, ...] = (
    Rule("view-missing-method-405", 4, view_missing_method, "substitution"),
    Rule("view-crash-fixed", 4, view_crash_fixed, "substitution"),
    Rule("view-add-config", 4, view_add_config, "substitution"),
    Rule("handler-set-cors-headers", 3, handler_set_cors_headers, "substitution"),
    Rule("handler-cors-headers-dropped", 3, handler_cors_headers_dropped, "decision"),
    Rule("preflight-before-auth-middleware", 2, preflight_before_auth_middleware,
         "substitution"),
    Rule("preflight-before-header-middleware", 2, preflight_before_header_middleware,
         "substitution"),
    Rule("malformed-origin-refused", 5, malformed_origin_refused, "decision"),
    Rule("null-needs-listing", 6, null_needs_listing, "decision"),
    Rule("method-byte-exact", 7, method_byte_exact, "decision"),
    Rule("safelisted-methods-pass", 7, safelisted_methods_pass, "decision"),
    Rule("bad-method-or-star-header-refused", 7, bad_method_or_star_header_refused,
         "decision"),
    Rule("canonical-origin-keys", 8, canonical_origin_keys, "decision"),
    Rule("request-headers-lines-joined", 9, request_headers_lines_joined, "decision"),
    Rule("hostile-input-bounded", 9, hostile_input_bounded, "decision"),
    Rule("glob-origin-keys", 10, glob_origin_keys, "decision"),
    Rule("private-network-refused", 10, private_network_refused, "decision"),
    Rule("vary-origin", 1, vary_origin, "normalisation"),
)

@dataclass(frozen=True)
class ConfigRule:
    """A named explanation for a configuration 0.8.1 accepts and 1.x refuses."""

    name: str
    deviation: int
    applies: Callable[[dict[str, Any]], bool]


def has_single_label_glob(spec: dict[str, Any]) -> bool:
    """Fix 10: a glob key whose fixed part is a single label is a configuration error in 1.x."""
    return any(is_single_label_glob(key) for key in CaseModel(spec).keys)


CONFIG_RULES: tuple[ConfigRule, ...] = (
    ConfigRule("single-label-glob-config-error", 10, has_single_label_glob),
)


# ---------------------------------------------------------------------------------------------
# Driving one request through the rules
# ---------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """How one request compared.

    ``rules``: the rules the explanation needs; ``left_out``: rules that applied but that this
    package does not take here (it kept 0.8.1's answer, which docs/migration.md allows).
    """

    same: bool
    explained: bool
    rules: list[str]
    left_out: list[str]
    expected: Answer
    actual: Answer
    model_errors: list[str]


def apply_rules(x: Exchange, substitutions: bool, disabled: frozenset[str]) -> list[str]:
    """Run the substitution rules, or the others, in order; returns the names of those that
    applied."""
    applied = []
    for rule in RULES:
        if (rule.kind == "substitution") != substitutions or rule.name in disabled:
            continue
        pair = rule.explain(x)
        if pair is not None:
            x.expected, x.actual = pair
            applied.append(rule.name)
    return applied


def model_check(x: Exchange) -> list[str]:
    """The model with every deviation off must reproduce 0.8.1's (reference) answer."""
    prediction = predict(x.model, x.base_request, x.base, frozenset())
    if prediction is None:
        return []
    if isinstance(prediction, Crash):
        if x.base.crashed:
            return []
        return [f"model predicts a crash ({prediction.why}), 0.8.1 answered"]
    if x.base.crashed:
        return ["0.8.1's reference answer is a crash the model does not predict"]
    rendered = render(prediction, x.base, x.base)
    if rendered.comparable() != x.base.comparable():
        return [f"model {rendered} != 0.8.1 {x.base}"]
    return []


class _Judgement:
    """One request's answers, explained with every rule but ``disabled``."""

    def __init__(self, model: CaseModel, request: Request, requests: list[dict[str, Any]],
                 old_answers: list[Answer], new_answer: Answer, disabled: frozenset[str]
                 ) -> None:
        self.x = Exchange(model, request, requests, old_answers, new_answer)
        self.applied = apply_rules(self.x, True, disabled)
        self.applied += apply_rules(self.x, False, disabled)
        self.explained = self.x.expected.comparable() == self.x.actual.comparable()


def judge(
    model: CaseModel, index: int, requests: list[dict[str, Any]], old_answers: list[Answer],
    new_answer: Answer,
) -> Verdict:
    """Compare one request's answers; explain a difference with the rules if there is one.

    Deviations are allowed, not required: where the rules that apply do not explain the
    difference together, smaller sets of them are tried (this package may keep 0.8.1's answer
    where a deviation would allow another). The rules credited are a minimal set that still
    explains it.
    """
    request = Request(index, requests[index])

    def attempt(disabled: frozenset[str]) -> _Judgement:
        return _Judgement(model, request, requests, old_answers, new_answer, disabled)

    full = attempt(frozenset())
    errors = model_check(full.x) + full.x.errors
    same = old_answers[index].comparable() == new_answer.comparable()
    if same and full.explained:
        return Verdict(True, True, [], [], old_answers[index], new_answer, errors)
    best, disabled = full, frozenset[str]()
    candidates = full.applied
    for size in range(len(candidates) - 1, -1, -1):
        if best.explained:
            break
        for kept in combinations(candidates, size):
            trial_disabled = frozenset(candidates) - set(kept)
            trial = attempt(trial_disabled)
            if trial.explained:
                best, disabled = trial, trial_disabled
                break
    if same:  # ours kept 0.8.1's answer where some deviation would give another
        return Verdict(True, True, [], sorted(disabled), old_answers[index], new_answer, errors)
    needed = list(best.applied)
    if best.explained and len(needed) > 1:
        unneeded = disabled
        for name in reversed(best.applied):  # later rules build on earlier ones: drop first
            if attempt(unneeded | {name}).explained:
                unneeded |= {name}
                needed.remove(name)
    return Verdict(False, best.explained, needed, sorted(disabled), best.x.expected,
                   best.x.actual, errors)
