"""The pure CORS policy core: configuration in, header decisions out.

Nothing here imports aiohttp. A configuration mapping (origin key →
:class:`ResourceOptions`) is checked once into a *layer*; a stack of layers
(a route's config over its resource's over ``defaults``, as aiohttp-cors
0.8.1 stacked them in a ``ChainMap``) is compiled once into an immutable
:class:`OriginPolicy` whose :class:`Grant` objects hold ready-made header
values. At request time the aiohttp layer only looks things up.

Lookup is by origin, never field by field: the exact origin through every
layer, then patterns (globs, compiled regexes, predicates) layer by layer,
then ``"*"`` through every layer. Only a valid serialized origin is ever
looked up; ``"*"`` never answers ``null`` (``"null"`` must be listed).
"""

from __future__ import annotations

import enum
import os
import re
import sys
import warnings
from collections import ChainMap
from collections.abc import Awaitable, Mapping, MutableMapping, Sequence
from typing import Any, Callable, NamedTuple, Union

from ._errors import (
    CorsConfigurationError,
    CorsConfigurationWarning,
    CorsSecurityWarning,
    with_hint,
)
from ._headers import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACAPN,
    ACEH,
    ACMA,
    FORBIDDEN_METHODS,
    FORBIDDEN_REQUEST_HEADERS,
    FORBIDDEN_REQUEST_PREFIXES,
    FORBIDDEN_RESPONSE_HEADERS,
    MAX_REQUESTED_HEADERS_LENGTH,
    PREFLIGHT_VARY,
    PREFLIGHT_VARY_PNA,
    VARY,
    exposable_header_names,
    is_token,
    parse_requested_headers,
    refused_header_names,
)
from ._origins import (
    GlobIndex,
    GlobTooBroad,
    OriginGlob,
    is_glob,
    normalize_configured_origin,
    parse_glob,
    parse_request_origin,
)
from .resource_options import ResourceOptions

OriginPredicate = Callable[[str], Union[bool, Awaitable[bool]]]
#: How a policy asks a predicate: ``await ask(predicate, origin)`` → allowed or not.
AskPredicate = Callable[[Any, str], Awaitable[bool]]
#: A checked configuration mapping: origin key (canonical origin, ``"*"``,
#: ``"null"``, :class:`OriginGlob`, compiled regex or predicate) → options.
Layer = Mapping[Any, ResourceOptions]

# Plain-http origins a network attacker cannot impersonate (credentials warning).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

#: How much of an over-long Access-Control-Request-Headers a refusal text quotes.
_SHOWN_NAMES_LENGTH = 100
#: Longest request value quoted back in a refusal text.
_MAX_SHOWN = 200


class RefusalReason(str, enum.Enum):
    """Stable codes for every way a CORS request can be refused.

    Each refusal is logged on the ``aiohttp_cors`` logger at DEBUG with its
    code; the values are part of the public API and never change.
    """

    ORIGIN_MISSING = "origin_missing"
    ORIGIN_MALFORMED = "origin_malformed"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    PREDICATE_FAILED = "predicate_failed"
    METHOD_MISSING = "method_missing"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HEADERS_NOT_ALLOWED = "headers_not_allowed"
    PRIVATE_NETWORK_NOT_ALLOWED = "private_network_not_allowed"


class Refusal(Exception):
    """A refused preflight: a stable ``code`` and the text sent in the 403 body.

    The texts are aiohttp-cors 0.8.1's, which applications' tests assert.
    """

    def __init__(self, code: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def origin_missing(cls) -> Refusal:
        return cls(RefusalReason.ORIGIN_MISSING, "origin header is not specified in the request")

    @classmethod
    def method_missing(cls) -> Refusal:
        return cls(
            RefusalReason.METHOD_MISSING, "'Access-Control-Request-Method' header is not specified"
        )

    @classmethod
    def method_not_allowed(cls, method: str, origin: str) -> Refusal:
        return cls(
            RefusalReason.METHOD_NOT_ALLOWED,
            # repr() already escapes what cannot be encoded, as 0.8.1's text did.
            f"request method {_bounded(method)!r} is not allowed for {_bounded(origin)!r} origin",
        )

    @classmethod
    def no_origins(cls) -> Refusal:
        return cls(RefusalReason.ORIGIN_NOT_ALLOWED, "no origins are allowed")

    @classmethod
    def origin_not_allowed(cls, origin: str, code: RefusalReason) -> Refusal:
        return cls(code, f"origin '{_shown(origin)}' is not allowed")

    @classmethod
    def headers_not_allowed(cls, names: Sequence[str]) -> Refusal:
        listed = ", ".join(_shown(name) for name in names[:20])
        return cls(
            RefusalReason.HEADERS_NOT_ALLOWED,
            f"headers are not allowed: {listed}" + (", ..." if len(names) > 20 else ""),
        )

    @classmethod
    def private_network_not_allowed(cls, origin: str) -> Refusal:
        return cls(
            RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED,
            f"private network access is not allowed for {_bounded(origin)!r} origin",
        )


def _bounded(value: str) -> str:
    return value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "..."


def _shown(value: str) -> str:
    """A request value bounded for a refusal text (a 403 body, never a header).

    aiohttp decodes request bytes that are not UTF-8 as lone surrogates, which
    cannot be encoded back: such characters are shown as escapes instead.
    """
    value = _bounded(value)
    if not value.isascii():
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


class Grant:
    """What an allowed origin receives: one :class:`ResourceOptions`, precompiled."""

    __slots__ = (
        "credentials",
        "expose_all",
        "expose_value",
        "headers",
        "max_age",
        "methods",
        "options",
        "private_network",
    )

    def __init__(self, options: ResourceOptions) -> None:
        self.options = options
        self.credentials = options.allow_credentials
        self.expose_all = options.expose_headers == "*"
        # 0.8.1 joined a frozenset (an order that changes between processes);
        # sorting gives the same names in one stable order.
        self.expose_value = (
            ",".join(sorted(options.expose_headers))
            if options.expose_headers and options.expose_headers != "*"
            else None
        )
        self.headers = options.allow_headers  # "*" or upper-cased names
        self.max_age = None if options.max_age is None else str(options.max_age)
        self.methods = options.allow_methods
        self.private_network = options.allow_private_network

    def allows_method(self, method: str) -> bool:
        """Whether ``allow_methods`` names ``method``, compared byte for byte (Fetch §4.8)."""
        methods = self.methods
        return methods is not None and (methods == "*" or method in methods)

    def decorate_actual(self, headers: MutableMapping[str, str], origin: str) -> None:
        """Set the CORS headers of an actual response for an allowed ``origin``.

        Order and values are 0.8.1's. Assignment replaces any value a handler
        set and headers this grant does not send are removed, so exactly one
        line of each results and the policy's decision wins.
        """
        if self.expose_all:
            headers[ACEH] = exposable_header_names(headers)
        elif self.expose_value is not None:
            headers[ACEH] = self.expose_value
        elif ACEH in headers:
            del headers[ACEH]
        headers[ACAO] = origin
        if self.credentials:
            headers[ACAC] = "true"
        elif ACAC in headers:
            del headers[ACAC]


class OriginPolicy:
    """A compiled stack of layers: answers "which Grant, if any, for this origin?"."""

    __slots__ = ("empty", "exact", "globs", "has_callables", "ordered", "wildcard")

    def __init__(self, layers: Sequence[Layer]) -> None:
        """Compile ``layers``, highest precedence first (0.8.1's ChainMap order)."""
        grants: dict[ResourceOptions, Grant] = {}

        def grant(options: ResourceOptions) -> Grant:
            found = grants.get(options)
            if found is None:
                found = grants[options] = Grant(options)
            return found

        self.empty = not any(layers)
        self.exact: dict[str, Grant] = {}
        self.wildcard: Grant | None = None
        globs: list[tuple[OriginGlob, tuple[int, Grant]]] = []
        ordered: list[tuple[int, Any, Grant]] = []
        seen_patterns: set[Any] = set()
        for layer in layers:
            for key, options in layer.items():
                if key == "*":
                    if self.wildcard is None:
                        self.wildcard = grant(options)
                elif isinstance(key, str):
                    # A key no browser can send is kept but must never match: only
                    # serialized origins (and "null") are looked up without validation.
                    if parse_request_origin(key) is not None:
                        self.exact.setdefault(key, grant(options))
                elif key not in seen_patterns:
                    seen_patterns.add(key)
                    position = len(globs) + len(ordered)
                    if isinstance(key, OriginGlob):
                        globs.append((key, (position, grant(options))))
                    else:
                        ordered.append((position, key, grant(options)))
        self.globs: GlobIndex[tuple[int, Grant]] | None = GlobIndex(globs) if globs else None
        self.ordered = tuple(ordered)
        self.has_callables = any(not isinstance(key, re.Pattern) for _, key, _ in ordered)

    def resolve(self, origin: str, ask: AskPredicate) -> Resolved:
        """The Grant for a valid ``origin`` (``None`` if not allowed): ready at once, or an
        awaitable from the first predicate that must be asked through ``ask`` on.

        ``ask(predicate, origin)`` answers whether a predicate allows the origin
        (the aiohttp layer adds timeouts and a memo); it may raise, and so does
        awaiting the result. Order: the exact origin, then globs, compiled
        regexes and predicates in the order configured, then ``"*"``.
        """
        found = self.exact.get(origin)
        if found is not None:
            return found
        glob_hit = self.globs.match(origin) if self.globs is not None else None
        return self._scan(origin, ask, glob_hit, 0)

    def _scan(
        self, origin: str, ask: AskPredicate, glob_hit: tuple[int, Grant] | None, start: int
    ) -> Resolved:
        ordered = self.ordered
        for index in range(start, len(ordered)):
            position, matcher, grant = ordered[index]
            if glob_hit is not None and position > glob_hit[0]:
                break  # a glob configured earlier matched
            if not isinstance(matcher, re.Pattern):
                return self._ask(origin, ask, glob_hit, index)
            if matcher.fullmatch(origin) is not None:
                return grant
        if glob_hit is not None:
            return glob_hit[1]
        return self.wildcard if origin != "null" else None

    async def _ask(
        self, origin: str, ask: AskPredicate, glob_hit: tuple[int, Grant] | None, index: int
    ) -> Grant | None:
        _, predicate, grant = self.ordered[index]
        if await ask(predicate, origin):
            return grant
        return await settled(self._scan(origin, ask, glob_hit, index + 1))

    async def lookup(self, origin: str, ask: AskPredicate) -> Grant | None:
        """:meth:`resolve`, awaited."""
        return await settled(self.resolve(origin, ask))

    def match(self, origin: str) -> Grant | None:
        """:meth:`resolve` for a policy without predicates (``has_callables`` false)."""
        found = self.resolve(origin, _no_predicates)
        if found is not None and not isinstance(found, Grant):
            found.close()  # type: ignore[attr-defined]
            raise TypeError("this policy asks predicates: use resolve() or lookup()")
        return found


#: What :meth:`OriginPolicy.resolve` gives: a Grant or ``None``, or an awaitable of one.
Resolved = Union[Grant, None, Awaitable[Union[Grant, None]]]


async def settled(found: Resolved) -> Grant | None:
    """A resolved Grant (or ``None``), awaited if it is not ready yet."""
    return found if found is None or isinstance(found, Grant) else await found


async def _no_predicates(predicate: Any, origin: str) -> bool:
    raise TypeError("this policy asks predicates")  # never awaited: see match()


def compile_policy(layers: Sequence[Layer]) -> OriginPolicy:
    """Compile a stack of layers, highest precedence first."""
    return OriginPolicy(layers)


# -- preflight steps (Fetch §4.8 "CORS-preflight fetch", after origin and method) ------


def check_requested_headers(lines: Sequence[str], grant: Grant) -> list[str]:
    """The names of Access-Control-Request-Headers, when ``grant`` allows them all.

    More text than one header line can hold is refused without being parsed
    or echoed. Raises :class:`Refusal` otherwise.
    """
    if sum(map(len, lines)) > MAX_REQUESTED_HEADERS_LENGTH:
        head = lines[0][:_SHOWN_NAMES_LENGTH]
        shown = parse_requested_headers([head.rpartition(",")[0] or head])
        raise Refusal.headers_not_allowed([*shown, "..."])
    names = parse_requested_headers(lines)
    refused = refused_header_names(names, grant.headers)
    if refused:
        raise Refusal.headers_not_allowed(refused)
    return names


def check_private_network(lines: Sequence[str], grant: Grant, raw_origin: str) -> bool:
    """Whether Private Network Access is requested (and allowed: else :class:`Refusal`)."""
    requested = any(value.strip().lower() == "true" for value in lines)
    if requested and not grant.private_network:
        raise Refusal.private_network_not_allowed(raw_origin)
    return requested


def preflight_headers(
    grant: Grant,
    origin: str,
    method: str,
    names: Sequence[str],
    private_network: bool,
    *,
    vary: bool,
) -> list[tuple[str, str]]:
    """The headers of a successful preflight answer, in 0.8.1's order and spelling."""
    headers: list[tuple[str, str]] = [(ACAO, origin)]
    if grant.credentials:
        headers.append((ACAC, "true"))
    if grant.max_age is not None:
        headers.append((ACMA, grant.max_age))
    headers.append((ACAM, method))
    if names:
        headers.append((ACAH, ",".join(names)))
    if private_network:
        headers.append((ACAPN, "true"))
    if vary:
        headers.append((VARY, PREFLIGHT_VARY_PNA if private_network else PREFLIGHT_VARY))
    return headers


# -- configuration checks -------------------------------------------------------------


class Problem(NamedTuple):
    """A setting that cannot work as written, or is dangerous: reported as a warning of
    ``category`` (an error in strict mode), its message ending with the fix."""

    category: type[Warning]
    message: str


Problems = list[Problem]


def _unusable(problem: str, hint: str) -> Problem:
    """A setting that cannot work as written."""
    return Problem(CorsConfigurationWarning, with_hint(problem, hint))


def _dangerous(problem: str, hint: str) -> Problem:
    """A setting that works and is dangerous."""
    return Problem(CorsSecurityWarning, with_hint(problem, hint))


_COOKIE_PROBLEM = (
    "allow_headers lists 'Cookie', which pages can never set (browsers send cookies "
    "themselves on credentialed requests)",
    "remove it; to let pages read responses to requests made with cookies, use "
    "allow_credentials=True (and credentials: 'include' in fetch())",
)
_NOT_A_TOKEN = "which is not a valid {} name (RFC 9110 token) and can never match"


def _useless_name(field: str, name: str) -> str | None:
    """Why a name listed in ``field`` can never have an effect (Fetch, RFC 9110), if so."""
    if field == "allow_headers" and (
        name in FORBIDDEN_REQUEST_HEADERS or name.startswith(FORBIDDEN_REQUEST_PREFIXES)
    ):
        return (
            "a header browsers set themselves (Fetch forbidden request-header), so it has no effect"
        )
    if field == "expose_headers" and name.lower() in FORBIDDEN_RESPONSE_HEADERS:
        return "which scripts can never read (Fetch forbidden response-header name)"
    if field == "allow_methods" and name in FORBIDDEN_METHODS:
        return "a method browsers never send from pages (Fetch forbidden method)"
    if name != "*" and not is_token(name):
        return _NOT_A_TOKEN.format("method" if field == "allow_methods" else "header")
    return None


def _option_problems(key: Any, options: ResourceOptions) -> Problems:
    """Settings of one options value that cannot work as written."""
    problems: Problems = []
    where = f"options for {key!r}"
    for field in ("allow_headers", "expose_headers", "allow_methods"):
        names = _listed(getattr(options, field))
        if "*" in names:
            problems.append(
                _unusable(
                    f"{where}: '*' inside {field} is a literal name, not a wildcard",
                    f"write {field}='*' to allow all",
                )
            )
        for name in names:
            if field == "allow_headers" and name == "COOKIE":
                problems.append(_unusable(f"{where}: {_COOKIE_PROBLEM[0]}", _COOKIE_PROBLEM[1]))
                continue
            why = _useless_name(field, name)
            if why is not None:
                problems.append(_unusable(f"{where}: {field} lists {name!r}, {why}", "remove it"))
    return problems


def _listed(value: object) -> list[str]:
    """The names of a list-valued option, sorted (none for ``"*"`` or ``None``)."""
    return sorted(value) if isinstance(value, frozenset) else []


def _security_problems(key: Any, options: ResourceOptions) -> Problems:
    if not options.allow_credentials:
        return []
    if key == "*":
        return [
            _dangerous(
                "origin '*' with allow_credentials=True lets every web site read "
                "credentialed responses (the request's origin is echoed)",
                "list the trusted origins instead",
            )
        ]
    if isinstance(key, OriginGlob):
        scheme, host, source = key.scheme, key.host, key.source
    elif isinstance(key, str) and "://" in key:
        scheme, _, authority = key.partition("://")
        host = authority.rsplit(":", 1)[0] if not authority.endswith("]") else authority
        source = key
    else:
        return []
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        return [
            _dangerous(
                f"origin {source!r} uses http:// with allow_credentials=True; a network "
                "attacker can impersonate a plain-http origin",
                "prefer https://",
            )
        ]
    return []


def _normalize_key(key: Any, errors: list[str], problems: Problems) -> Any:
    """The canonical form of an origin key; ``None`` when it is an error.

    An origin string no browser can send is kept as written (it never
    matches, as in 0.8.1) with a warning naming the fix.
    """
    if isinstance(key, OriginGlob):
        return key
    if isinstance(key, str):
        if key in ("*", "null"):
            return key
        if _looks_like_regex(key):
            # No origin or glob contains these; 0.8.1 kept such a key, never matching.
            problems.append(
                _unusable(
                    f"origin key {key!r} looks like a regular expression, but a string key "
                    "is an exact origin or a glob; this key can never match a request",
                    f"to match origins with a regular expression, pass {_compile_call(key)}",
                )
            )
            return key
        if is_glob(key):
            try:
                return parse_glob(key)
            except GlobTooBroad as exc:
                errors.append(str(exc))
                return None
            except ValueError as exc:
                # 0.8.1 read "*" in a key literally (such a key never matched), so
                # it is kept, never matching, with the glob problem as a warning.
                problems.append(Problem(CorsConfigurationWarning, _never_matches(exc)))
                return key
        try:
            return normalize_configured_origin(key)
        except ValueError as exc:
            problems.append(Problem(CorsConfigurationWarning, _never_matches(exc)))
            return key
    if isinstance(key, re.Pattern):
        if not isinstance(key.pattern, str):
            errors.append(f"origin regex {key.pattern!r} must be a str pattern, not bytes")
            return None
        return key
    if callable(key):
        return key
    errors.append(f"Origin must be string, got {key!r} ({type(key).__name__})")
    return None


def _looks_like_regex(key: str) -> bool:
    return "\\" in key or key.startswith("^") or key.endswith("$") or ".*" in key


def _compile_call(key: str) -> str:
    """``re.compile(...)`` of a key as the user would write it (a raw string if possible)."""
    if "'" not in key and not key.endswith("\\"):
        return f"re.compile(r'{key}')"
    return f"re.compile({key!r})"


def _never_matches(exc: ValueError) -> str:
    """The warning for an origin key kept as written, which no browser ever sends."""
    problem = getattr(exc, "problem", str(exc))
    hint = getattr(exc, "hint", None) or (
        "write it as browsers send it, scheme://host[:port], e.g. 'https://app.example.com'"
    )
    return with_hint(f"{problem}; this key can never match a request", hint)


def _options(key: Any, value: Any, errors: list[str]) -> ResourceOptions | None:
    if isinstance(value, ResourceOptions):
        return value
    if isinstance(value, Mapping):
        try:
            return ResourceOptions.from_mapping(value)
        except ValueError as exc:
            errors.append(f"options for {key!r}: {exc}")
            return None
    errors.append(
        "Origin options must be either aiohttp_cors.ResourceOptions instance or mapping, "
        f"got {value!r} for origin {key!r}"
    )
    return None


def parse_options(config: Mapping[Any, Any]) -> dict[Any, ResourceOptions]:
    """``config`` with mapping-form values turned into :class:`ResourceOptions`, keys as given.

    This is the form 0.8.1 kept (``CorsConfig.defaults``); raises
    :class:`CorsConfigurationError` listing every bad value.
    """
    errors: list[str] = []
    parsed: dict[Any, ResourceOptions] = {}
    for key, value in config.items():
        options = _options(key, value, errors)
        if options is not None:
            parsed[key] = options
    if errors:
        raise CorsConfigurationError(errors)
    return parsed


def normalize_config(
    config: Any, what: str = "config", *, strict: bool = False, lenient: bool = False
) -> tuple[list[Layer], Problems]:
    """Check a user configuration mapping; return its layers and the problems found.

    A ``ChainMap`` gives one layer per map (its lookup order is kept). Errors
    (wrong types, unknown option keys, misused patterns) are raised together
    as one :class:`CorsConfigurationError` (in ``strict`` mode with the other
    problems too); settings that are legal but cannot work, or are dangerous,
    are returned as problems for the caller to warn about (or to raise, in
    strict mode). With ``lenient`` (configurations met while answering a
    request, where raising would be a 500), bad entries are left out instead.
    """
    if config is None:
        return [], []
    if not isinstance(config, Mapping):
        raise CorsConfigurationError([f"{what}: Config must be mapping, got {config!r}"])
    maps = config.maps if isinstance(config, ChainMap) else [config]
    errors: list[str] = []
    problems: Problems = []
    layers: list[Layer] = []
    for mapping in maps:
        if not isinstance(mapping, Mapping):
            raise CorsConfigurationError([f"{what}: Config must be mapping, got {mapping!r}"])
        layer: dict[Any, ResourceOptions] = {}
        spelled: dict[Any, Any] = {}
        for key, value in mapping.items():
            normalized = _normalize_key(key, errors, problems)
            options = _options(key, value, errors)
            if normalized is None or options is None:
                continue
            problems.extend(_option_problems(key, options))
            problems.extend(_security_problems(normalized, options))
            if normalized in layer:
                first = spelled[normalized]
                problems.append(
                    _unusable(
                        f"origin keys {first!r} and {key!r} are the same origin",
                        "keep one (the one spelled as browsers send it is used)",
                    )
                )
                if key != normalized:
                    continue  # the canonical spelling, if any, wins
            layer[normalized] = options
            spelled[normalized] = key
        layers.append(layer)
    if errors and not lenient:
        if strict:
            errors.extend(f"{problem.message} (strict mode)" for problem in problems)
        raise CorsConfigurationError(errors)
    return layers, problems


def report_problems(problems: Problems, *, strict: bool, seen: set[str]) -> None:
    """Warn about each problem not reported before; in strict mode raise them all at once."""
    fresh = [problem for problem in problems if problem.message not in seen]
    if strict and fresh:
        raise CorsConfigurationError(f"{problem.message} (strict mode)" for problem in fresh)
    level = _caller_stacklevel()
    for category, message in fresh:
        seen.add(message)
        warnings.warn(message, category, stacklevel=level)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package."""
    package_dir = os.path.dirname(__file__)
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == package_dir:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
