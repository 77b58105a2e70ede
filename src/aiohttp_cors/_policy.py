"""The pure CORS policy core: configuration in, header decisions out.

Nothing here imports aiohttp. A configuration mapping (origin key →
:class:`ResourceOptions`) is checked and compiled once into an immutable
:class:`OriginPolicy` whose :class:`Grant` objects hold ready-made header
values; at request time the aiohttp layer only looks things up and copies
strings (STYLE: precompute, keep the request path flat).

Origin keys and how they are matched, in this order:

1. exact origins (``"https://app.example.com"``, ``"null"``): one dict lookup;
2. glob strings (``"https://*.example.com"``, ``"http://localhost:*"``),
   compiled ``re.Pattern`` objects (always ``fullmatch``) and callables
   ``(origin) -> bool`` (sync or async), in the order they were configured;
   all globs of a policy share one index whose cost does not grow with their number;
3. ``"*"``: any valid origin except ``null``.

Layered configurations (route over resource over ``defaults``) are merged key
by key first — a later layer replaces an earlier layer's options for the same
key, new keys are appended — and the merged mapping is compiled as above, so an
exact origin from ``defaults`` still wins over a route's ``"*"`` (as in 0.8.1).
"""

from __future__ import annotations

import enum
import inspect
import os
import re
import sys
import warnings
from collections.abc import Awaitable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Callable, Optional, Union

from multidict import istr

from ._errors import CorsConfigurationError, CorsSecurityWarning
from ._patterns import GlobIndex, OriginGlob, is_glob, parse_glob
from ._syntax import (
    is_token,
    normalize_configured_origin,
    parse_header_name_list,
    parse_request_origin,
)
from .resource_options import ResourceOptions

__all__ = [
    "Grant",
    "OriginKey",
    "OriginPolicy",
    "PreflightAnswer",
    "Refusal",
    "RefusalReason",
    "compile_policy",
    "decide_preflight",
    "exposable_header_names",
    "is_request_method",
    "merge_vary",
    "method_refusal",
    "normalize_config",
]

OriginPredicate = Callable[[str], Union[bool, Awaitable[bool]]]
#: A configuration key after normalisation: a canonical origin, ``"*"``,
#: ``"null"``, an :class:`OriginGlob`, a compiled regex or a predicate.
OriginKey = Union[str, OriginGlob, "re.Pattern[str]", OriginPredicate]
NormalizedConfig = dict[Any, ResourceOptions]

SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
# Fetch "CORS-safelisted response-header name": always readable, never worth listing.
_SAFELISTED_RESPONSE = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)
_NEVER_EXPOSED = frozenset({"set-cookie", "set-cookie2"})
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

# Header names as multidict's case-insensitive strings: aiohttp's header maps
# find them without case-folding again (they are plain ``str`` elsewhere).
ACAO = istr("Access-Control-Allow-Origin")
ACAC = istr("Access-Control-Allow-Credentials")
ACEH = istr("Access-Control-Expose-Headers")
ACAM = istr("Access-Control-Allow-Methods")
ACAH = istr("Access-Control-Allow-Headers")
ACMA = istr("Access-Control-Max-Age")
ACAPN = istr("Access-Control-Allow-Private-Network")
VARY = istr("Vary")
#: Response headers this package owns on actual responses; a handler's own
#: values for them are replaced or removed (CONTRACT §3.3).
ACTUAL_RESPONSE_HEADERS = (ACAO, ACAC, ACEH)
PREFLIGHT_VARY = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
PREFLIGHT_VARY_PNA = (*PREFLIGHT_VARY, "Access-Control-Request-Private-Network")
_PREFLIGHT_VARY = ", ".join(PREFLIGHT_VARY)
_PREFLIGHT_VARY_PNA = ", ".join(PREFLIGHT_VARY_PNA)


class RefusalReason(str, enum.Enum):
    """Stable codes for every way a CORS request can be refused.

    Each refusal is logged once on the ``aiohttp_cors`` logger at DEBUG with
    its code; the values are part of the public API and never change.
    """

    ORIGIN_MISSING = "origin_missing"
    ORIGIN_MALFORMED = "origin_malformed"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    PREDICATE_FAILED = "predicate_failed"
    METHOD_MISSING = "method_missing"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HEADERS_NOT_ALLOWED = "headers_not_allowed"
    PRIVATE_NETWORK_NOT_ALLOWED = "private_network_not_allowed"


class Refusal:
    """A refused preflight: a stable ``code`` and the human-readable ``message``."""

    __slots__ = ("code", "message")

    def __init__(self, code: RefusalReason, message: str) -> None:
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"Refusal({self.code.value!r}, {self.message!r})"


class Grant:
    """What an allowed origin receives: one :class:`ResourceOptions`, precompiled."""

    __slots__ = (
        "actual_set",
        "actual_unset",
        "credentials",
        "expose_all",
        "expose_value",
        "headers",
        "headers_all",
        "max_age",
        "methods",
        "options",
        "private_network",
    )

    def __init__(self, options: ResourceOptions) -> None:
        self.options = options
        self.credentials = options.allow_credentials
        self.expose_all = options.expose_headers == "*"
        self.expose_value: str | None = (
            ",".join(options.expose_headers)
            if options.expose_headers and options.expose_headers != "*"
            else None
        )
        self.headers_all = options.allow_headers == "*"
        self.headers = frozenset(
            () if options.allow_headers == "*" else (h.lower() for h in options.allow_headers)
        )
        self.max_age = None if options.max_age is None else str(options.max_age)
        self.methods = options.allow_methods
        self.private_network = options.allow_private_network
        # Fixed headers of actual responses, and those to remove, decided once.
        fixed: list[tuple[str, str]] = []
        if self.credentials:
            fixed.append((ACAC, "true"))
        if self.expose_value is not None:
            fixed.append((ACEH, self.expose_value))
        self.actual_set = tuple(fixed)
        unset = []
        if not self.credentials:
            unset.append("Access-Control-Allow-Credentials")
        if self.expose_value is None and not self.expose_all:
            unset.append("Access-Control-Expose-Headers")
        self.actual_unset = tuple(unset)

    def method_allowed(self, method: str, served: bool) -> bool:
        """Fetch §4.8 method check: safelisted methods pass; else ``allow_methods`` decides.

        With ``allow_methods=None`` a method passes when the route or resource
        serves it (``served``). Comparison is byte-exact: ``patch`` is not ``PATCH``.
        """
        if method in SAFELISTED_METHODS:
            return True
        methods = self.methods
        if methods is None:
            return served
        return methods == "*" or method in methods

    def decorate_actual(self, headers: MutableMapping[str, str], origin: str) -> None:
        """Set the CORS headers of an actual response for an allowed ``origin``.

        Assignment replaces any value a handler set, and headers this grant
        does not send are removed, so exactly one line of each results and
        the policy's decision wins (CONTRACT §3.3).
        """
        headers[ACAO] = origin
        for name, value in self.actual_set:
            headers[name] = value
        for name in self.actual_unset:
            if name in headers:
                del headers[name]
        if self.expose_all:
            value = exposable_header_names(headers)
            if value:
                headers[ACEH] = value
            elif ACEH in headers:
                del headers[ACEH]


class PredicateError(Exception):
    """An origin predicate raised; the request is refused and the error logged."""


class OriginPolicy:
    """A compiled configuration mapping: answers "which Grant, if any, for this origin?"."""

    __slots__ = (
        "config",
        "exact",
        "failed_predicates",
        "globs",
        "has_callables",
        "ordered",
        "per_request",
        "preflight_cache",
        "wildcard",
    )

    def __init__(self, config: Mapping[Any, ResourceOptions]) -> None:
        self.config: Mapping[Any, ResourceOptions] = dict(config)
        #: Predicates whose failure was logged with a traceback (see the aiohttp layer).
        self.failed_predicates: set[str] = set()
        #: Recent preflight decisions, filled and bounded by the aiohttp layer.
        self.preflight_cache: dict[tuple[Any, ...], PreflightAnswer] = {}
        #: Set on policies chosen per request (a view's own get_request_config).
        self.per_request = False
        grants: dict[ResourceOptions, Grant] = {}

        def grant(options: ResourceOptions) -> Grant:
            found = grants.get(options)
            if found is None:
                found = grants[options] = Grant(options)
            return found

        self.exact: dict[str, Grant] = {}
        self.wildcard: Grant | None = None
        globs: list[tuple[OriginGlob, tuple[int, Grant]]] = []
        ordered: list[tuple[int, Any, Grant]] = []
        for position, (key, options) in enumerate(config.items()):
            if key == "*":
                self.wildcard = grant(options)
            elif isinstance(key, str):
                self.exact[key] = grant(options)
            elif isinstance(key, OriginGlob):
                globs.append((key, (position, grant(options))))
            else:
                ordered.append((position, key, grant(options)))
        self.globs: GlobIndex[tuple[int, Grant]] | None = GlobIndex(globs) if globs else None
        self.ordered = tuple(ordered)
        self.has_callables = any(not isinstance(k, re.Pattern) for _, k, _ in ordered)

    def _patterns_or_wildcard(self, origin: str) -> Grant | None:
        found = self.globs.match(origin) if self.globs is not None else None
        for position, matcher, grant in self.ordered:
            if found is not None and position > found[0]:
                break
            if matcher.fullmatch(origin) is not None:
                return grant
        if found is not None:
            return found[1]
        return self.wildcard if origin != "null" else None

    def match(self, origin: str) -> Grant | None:
        """The Grant for a canonical ``origin`` (sync: only for policies without callables)."""
        found = self.exact.get(origin)
        if found is not None:
            return found
        return self._patterns_or_wildcard(origin)

    async def match_async(self, origin: str) -> Grant | None:
        """Like :meth:`match`, but also asks callables, awaiting async ones.

        A predicate that raises makes the lookup raise :class:`PredicateError`.
        """
        found = self.exact.get(origin)
        if found is not None:
            return found
        glob_hit = self.globs.match(origin) if self.globs is not None else None
        for position, matcher, grant in self.ordered:
            if glob_hit is not None and position > glob_hit[0]:
                break
            if isinstance(matcher, re.Pattern):
                if matcher.fullmatch(origin) is not None:
                    return grant
                continue
            try:
                verdict = matcher(origin)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
            except Exception as exc:
                raise PredicateError(repr(matcher)) from exc
            if verdict is True:
                return grant
        if glob_hit is not None:
            return glob_hit[1]
        return self.wildcard if origin != "null" else None


def _normalize_key(key: Any, problems: list[str]) -> Any:
    if isinstance(key, OriginGlob):
        return key
    if isinstance(key, str):
        if key in ("*", "null"):
            return key
        try:
            return parse_glob(key) if is_glob(key) else normalize_configured_origin(key)
        except ValueError as exc:
            problems.append(str(exc))
            return None
    if isinstance(key, re.Pattern):
        if not isinstance(key.pattern, str):
            problems.append(f"origin regex {key.pattern!r} must be a str pattern, not bytes")
        elif ":" not in key.pattern and key.fullmatch("null") is None:
            problems.append(
                f"origin regex {key.pattern!r} can never match an origin (origins look like "
                "'https://host[:port]'); include the scheme, e.g. r'https://app\\.example\\.com'"
            )
        else:
            return key
        return None
    if callable(key):
        return key
    problems.append(
        f"origin key {key!r} must be an origin string, '*', a glob, a compiled regex or a "
        f"callable, not {type(key).__name__}"
    )
    return None


def _options(key: Any, value: Any, problems: list[str]) -> ResourceOptions | None:
    if isinstance(value, ResourceOptions):
        return value
    if isinstance(value, Mapping):
        try:
            return ResourceOptions.from_mapping(value)
        except CorsConfigurationError as exc:
            problems.extend(f"options for {key!r}: {p}" for p in exc.problems)
            return None
    problems.append(
        f"options for {key!r} must be a ResourceOptions or a mapping of its fields, "
        f"not {type(value).__name__}"
    )
    return None


def _security_notes(key: Any, options: ResourceOptions) -> list[str]:
    if not options.allow_credentials:
        return []
    if key == "*":
        return [
            "origin '*' with allow_credentials=True lets every web site read credentialed "
            "responses (the request's origin is echoed); list the trusted origins instead"
        ]
    if isinstance(key, OriginGlob):
        scheme, host, source = key.scheme, key.host, key.source
    elif isinstance(key, str) and "://" in key:
        scheme, _, authority = key.partition("://")
        host = authority.rsplit(":", 1)[0] if not authority.endswith("]") else authority
        source = key
    else:
        return []
    if scheme == "http" and host not in _LOOPBACK_HOSTS:
        return [
            f"origin {source!r} uses http:// with allow_credentials=True; a network "
            "attacker can impersonate a plain-http origin, prefer https://"
        ]
    return []


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package."""
    package_dir = os.path.dirname(__file__)
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == package_dir:
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def normalize_config(
    config: Any, *, strict: bool = False, what: str = "config"
) -> NormalizedConfig:
    """Check a user configuration mapping and return it normalised.

    Every problem is collected and raised together as one
    :class:`CorsConfigurationError`; dangerous but legal settings emit
    :class:`CorsSecurityWarning`, or are problems too when ``strict``.
    """
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise CorsConfigurationError(
            [f"{what} must be a mapping of origin → ResourceOptions, not {type(config).__name__}"]
        )
    problems: list[str] = []
    notes: list[str] = []
    result: NormalizedConfig = {}
    for key, value in config.items():
        normalized = _normalize_key(key, problems)
        options = _options(key, value, problems)
        if normalized is None or options is None:
            continue
        if normalized in result and result[normalized] != options:
            problems.append(f"origin {key!r} is configured twice with different options")
        result[normalized] = options
        notes.extend(_security_notes(normalized, options))
    if strict:
        problems.extend(f"{n} (strict mode)" for n in notes)
    if problems:
        raise CorsConfigurationError(problems)
    for note in notes:
        warnings.warn(note, CorsSecurityWarning, stacklevel=_caller_stacklevel())
    return result


def compile_policy(*layers: Mapping[Any, ResourceOptions]) -> OriginPolicy:
    """Merge normalised layers (earliest = lowest precedence) and compile them."""
    merged: NormalizedConfig = {}
    for layer in layers:
        merged.update(layer)
    return OriginPolicy(merged)


class PreflightAnswer:
    """The outcome of a preflight: response ``headers`` on success, else a ``refusal``."""

    __slots__ = ("headers", "refusal")

    def __init__(self, headers: list[tuple[str, str]] | None, refusal: Refusal | None) -> None:
        self.headers = headers
        self.refusal = refusal


def _refuse(code: RefusalReason, message: str) -> PreflightAnswer:
    return PreflightAnswer(None, Refusal(code, message))


def _shown(value: str, limit: int = 100) -> str:
    """A request value made safe to put in a message: bounded and escaped."""
    text = value[:limit].encode("unicode_escape").decode("ascii").replace("'", "\\'")
    return text + "…" if len(value) > limit else text


#: (policy for the requested method, whether the route/resource serves that method)
MethodPolicy = Optional[tuple[OriginPolicy, bool]]


def check_preflight_origin(origins: Sequence[str]) -> str | Refusal:
    """Validate the Origin lines of a preflight: the origin, or a refusal if absent or malformed."""
    if not origins:
        return Refusal(RefusalReason.ORIGIN_MISSING, "origin header is not specified")
    origin = origins[0] if len(origins) == 1 else None
    if origin is None or parse_request_origin(origin) is None:
        shown = _shown(", ".join(origins))
        return Refusal(
            RefusalReason.ORIGIN_MALFORMED, f"origin '{shown}' is not allowed (malformed)"
        )
    return origin


def is_request_method(method: str) -> bool:
    """Whether an Access-Control-Request-Method value may be echoed: a token, not ``*``."""
    return method != "*" and is_token(method)


def method_refusal(method: str) -> Refusal:
    """The refusal for a requested method no route or option allows."""
    return Refusal(
        RefusalReason.METHOD_NOT_ALLOWED, f"request method '{_shown(method)}' is not allowed"
    )


def decide_preflight(
    origin: str,
    grant: Grant | None,
    method: str,
    served: bool,
    request_headers: Sequence[str],
    private_network: Sequence[str],
) -> PreflightAnswer:
    """Decide a preflight once the origin's Grant is known (Fetch §4.8 CORS-preflight fetch).

    ``grant`` is ``None`` when the origin is not allowed; ``served`` tells
    whether the target serves ``method``. Returns the headers to send or a refusal.
    """
    if grant is None:
        return _refuse(RefusalReason.ORIGIN_NOT_ALLOWED, f"origin '{origin}' is not allowed")
    if not grant.method_allowed(method, served) or not is_request_method(method):
        return PreflightAnswer(None, method_refusal(method))
    names: list[str] | None = []
    if request_headers:
        names = parse_header_name_list(list(request_headers))
        if names is None:
            return _refuse(
                RefusalReason.HEADERS_NOT_ALLOWED,
                "headers are not allowed: the list is malformed or too long",
            )
        if not grant.headers_all or "*" in names:
            # A requested "*" is never granted: echoed, it would read as a wildcard.
            refused = [
                n for n in names if n == "*" or (not grant.headers_all and n not in grant.headers)
            ]
            if refused:
                listed = ", ".join(refused[:10]) + (", …" if len(refused) > 10 else "")
                return _refuse(
                    RefusalReason.HEADERS_NOT_ALLOWED, f"headers are not allowed: {listed}"
                )
    wants_pna = any(v.strip().lower() == "true" for v in private_network)
    if wants_pna and not grant.private_network:
        return _refuse(
            RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED,
            "private network access is not allowed (set allow_private_network=True)",
        )
    headers: list[tuple[str, str]] = [(ACAO, origin)]
    if grant.credentials:
        headers.append((ACAC, "true"))
    if grant.max_age is not None:
        headers.append((ACMA, grant.max_age))
    headers.append((ACAM, method))
    if names:
        headers.append((ACAH, ", ".join(names)))
    if wants_pna:
        headers.append((ACAPN, "true"))
    headers.append((VARY, _PREFLIGHT_VARY_PNA if wants_pna else _PREFLIGHT_VARY))
    return PreflightAnswer(headers, None)


def merge_vary(existing: str | None, name: str) -> str | None:
    """The Vary value with ``name`` added, or ``None`` when nothing needs to change.

    Merges case-insensitively without duplicates and leaves ``Vary: *`` alone
    (CONTRACT §3.1): Vary is never overwritten.
    """
    if not existing:
        return name
    lowered = name.lower()
    for item in existing.split(","):
        item = item.strip().lower()
        if item == lowered or item == "*":
            return None
    return f"{existing}, {name}"


def exposable_header_names(headers: Iterable[str]) -> str:
    """Names for ``expose_headers="*"``: the response's headers worth exposing.

    Lists real names instead of a literal ``*``, which browsers ignore on
    credentialed responses (Fetch); skips safelisted names, which are always
    readable, CORS headers and ``Set-Cookie``, which scripts can never read.
    """
    seen: dict[str, str] = {}
    for name in headers:
        lowered = name.lower()
        if (
            lowered not in seen
            and lowered not in _SAFELISTED_RESPONSE
            and lowered not in _NEVER_EXPOSED
            and not lowered.startswith("access-control-")
        ):
            seen[lowered] = name
    return ",".join(seen.values())
