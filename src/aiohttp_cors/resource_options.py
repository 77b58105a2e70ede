"""``ResourceOptions``: the CORS settings granted to one origin key.

Kept compatible with aiohttp-cors 0.8.1 (keyword-only, immutable, hashable,
equal by value), with the value checks of CONTRACT §4 done here, at
construction, so a bad value is reported where it was written.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal, Union

from ._errors import CorsConfigurationError
from ._syntax import is_token

__all__ = ["ResourceOptions"]

Star = Literal["*"]
HeaderSpec = Union[Star, Sequence[str]]
MethodSpec = Union[None, Star, Sequence[str]]

# Fetch "forbidden request-header": a page can never set these, so allowing them
# is a configuration mistake (and Cookie/Origin would suggest a misunderstanding).
_FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "access-control-request-private-network",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)
_FORBIDDEN_REQUEST_PREFIXES = ("proxy-", "sec-", "access-control-request-")
# Fetch "forbidden response-header names": never exposed to scripts.
_FORBIDDEN_EXPOSE = frozenset({"set-cookie", "set-cookie2"})
# Fetch "forbidden method".
_FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})

_FIELDS = (
    "allow_credentials",
    "expose_headers",
    "allow_headers",
    "max_age",
    "allow_methods",
    "allow_private_network",
)


def _names(
    field: str, value: Any, problems: list[str], *, allow_star: bool = True
) -> Star | tuple[str, ...]:
    """Validate a ``"*"``-or-sequence-of-strings field; return it as ``"*"`` or a tuple."""
    if allow_star and value == "*":
        return "*"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        problems.append(
            f"{field}={value!r}: expected '*' or a list/tuple of strings, got "
            f"{type(value).__name__}; write {field}=({value!r},) for a single name"
            if isinstance(value, str)
            else f"{field}={value!r}: expected '*' or a list/tuple of strings (sets and "
            "generators are refused: they have no stable order)"
        )
        return ()
    result: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems.append(f"{field}: {item!r} is not a string")
        elif item == "*":
            problems.append(
                f"{field}: '*' inside a list is a literal name, not a wildcard; "
                f"write {field}='*' to allow all"
            )
        elif not is_token(item):
            problems.append(f"{field}: {item!r} is not a valid name (RFC 9110 token)")
        elif item not in result:
            result.append(item)
    return tuple(result)


class ResourceOptions:
    """The CORS permissions one configured origin key receives.

    - ``allow_credentials``: send ``Access-Control-Allow-Credentials: true`` so
      pages may read responses to requests made with cookies or HTTP auth.
    - ``expose_headers``: response header names scripts may read, or ``"*"`` for
      all the response's headers (listed by name at response time, which also
      works with credentials, where a literal ``*`` would not).
    - ``allow_headers``: request header names a preflight may ask for, or
      ``"*"`` for any (each is then named in ``Access-Control-Allow-Headers``,
      so ``Authorization`` works too, Fetch "CORS non-wildcard request-header name").
    - ``max_age``: seconds a browser may cache a preflight answer (``None``: no header).
    - ``allow_methods``: methods a preflight may ask for, ``"*"`` for any, or
      ``None`` (default): the methods the route or resource actually serves.
      Matching is byte-exact as in Fetch; GET, HEAD and POST always pass.
    - ``allow_private_network``: answer Private Network Access preflights.

    Instances are immutable, hashable and equal by value.
    """

    __slots__ = _FIELDS

    allow_credentials: bool
    expose_headers: Star | tuple[str, ...]
    allow_headers: Star | tuple[str, ...]
    max_age: int | None
    allow_methods: Star | tuple[str, ...] | None
    allow_private_network: bool

    def __init__(
        self,
        *,
        allow_credentials: bool = False,
        expose_headers: HeaderSpec = (),
        allow_headers: HeaderSpec = (),
        max_age: int | None = None,
        allow_methods: MethodSpec = None,
        allow_private_network: bool = False,
    ) -> None:
        problems: list[str] = []
        if not isinstance(allow_credentials, bool):
            problems.append(f"allow_credentials={allow_credentials!r}: expected True or False")
        if not isinstance(allow_private_network, bool):
            problems.append(
                f"allow_private_network={allow_private_network!r}: expected True or False"
            )
        expose = _names("expose_headers", expose_headers, problems)
        if expose != "*":
            problems.extend(
                f"expose_headers: {name!r} can never be exposed to scripts (Fetch forbidden "
                "response-header name); remove it"
                for name in expose
                if name.lower() in _FORBIDDEN_EXPOSE
            )
        allow = _names("allow_headers", allow_headers, problems)
        if allow != "*":
            problems.extend(
                f"allow_headers: {name!r} is a forbidden request header that pages can never "
                "set (Fetch); remove it"
                for name in allow
                if name.lower() in _FORBIDDEN_REQUEST_HEADERS
                or name.lower().startswith(_FORBIDDEN_REQUEST_PREFIXES)
            )
        if max_age is not None:
            if (
                isinstance(max_age, bool)
                or not isinstance(max_age, numbers.Integral)
                or max_age < 0
            ):
                problems.append(f"max_age={max_age!r}: expected None or an integer >= 0 (seconds)")
            else:
                max_age = int(max_age)
        methods: Star | tuple[str, ...] | None = None
        if allow_methods is not None:
            methods = _names("allow_methods", allow_methods, problems)
            if methods != "*":
                methods = tuple(dict.fromkeys(m.upper() for m in methods))
                problems.extend(
                    f"allow_methods: {m!r} is a forbidden method (Fetch); remove it"
                    for m in methods
                    if m in _FORBIDDEN_METHODS
                )
        if problems:
            raise CorsConfigurationError(problems)
        set_ = object.__setattr__
        set_(self, "allow_credentials", allow_credentials)
        set_(self, "expose_headers", expose)
        set_(self, "allow_headers", allow)
        set_(self, "max_age", max_age)
        set_(self, "allow_methods", methods)
        set_(self, "allow_private_network", allow_private_network)

    def is_method_allowed(self, method: str) -> bool:
        """Whether ``allow_methods`` is ``"*"`` or lists ``method`` (upper-cased, as in 0.8.1).

        ``None`` lists nothing here: with it, the route's own methods decide.
        The preflight check itself compares byte-exact, as Fetch requires.
        """
        if self.allow_methods == "*":
            return True
        return self.allow_methods is not None and method.upper() in self.allow_methods

    #: Field names, as on the namedtuple 0.8.1's ResourceOptions was.
    _fields = _FIELDS

    def _replace(self, **changes: Any) -> ResourceOptions:
        """A copy with some fields changed (namedtuple API kept from 0.8.1)."""
        return ResourceOptions(**{**self._asdict(), **changes})

    def _asdict(self) -> dict[str, Any]:
        """The fields as a dict (namedtuple API kept from 0.8.1)."""
        return dict(zip(_FIELDS, self._values()))

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in _FIELDS)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ResourceOptions is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ResourceOptions is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceOptions):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in _FIELDS)
        return f"ResourceOptions({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._values(),))

    @classmethod
    def from_mapping(cls, mapping: Any) -> ResourceOptions:
        """Build options from a plain mapping of the same field names (0.8.1 form)."""
        unknown = [k for k in mapping if k not in _FIELDS]
        if unknown:
            raise CorsConfigurationError(
                [f"unknown option {k!r}; valid options are {', '.join(_FIELDS)}" for k in unknown]
            )
        return cls(**dict(mapping))


def _rebuild(values: tuple[Any, ...]) -> ResourceOptions:
    return ResourceOptions(**dict(zip(_FIELDS, values)))
