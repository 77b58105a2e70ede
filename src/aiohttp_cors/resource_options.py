"""``ResourceOptions``: the CORS settings granted to one origin key.

A namedtuple with the field types of aiohttp-cors 0.8.1, so code and tests
written for it keep working: ``expose_headers``, ``allow_headers`` and
``allow_methods`` are frozensets (or ``"*"``; ``allow_methods`` may be
``None``), ``allow_headers`` and ``allow_methods`` upper-cased. Only the type
errors 0.8.1 raised are raised here; settings that are legal but cannot work
(a forbidden header name, ``"*"`` inside a list, ...) are reported as warnings
when the options are passed to ``setup()`` or ``add()``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, Union

__all__ = ["ResourceOptions"]

Star = Literal["*"]
#: What ``expose_headers`` and ``allow_headers`` accept.
HeaderSpec = Union[Star, Sequence[str]]
#: What ``allow_methods`` accepts.
MethodSpec = Union[None, Star, Sequence[str]]


class _Fields(NamedTuple):
    allow_credentials: bool
    expose_headers: Star | frozenset[str]
    allow_headers: Star | frozenset[str]
    max_age: int | None
    allow_methods: Star | frozenset[str] | None
    allow_private_network: bool


def _names(field: str, value: Any, upper: bool) -> Star | frozenset[str]:
    """``"*"`` or a frozenset of names; anything but a non-string sequence is refused."""
    if isinstance(value, str) and value == "*":
        return "*"
    if isinstance(value, str) or not isinstance(value, Sequence):
        hint = f". Hint: write {field}=({value!r},) for one name." if isinstance(value, str) else ""
        raise ValueError(
            f"{field!r} must be either '*', or sequence of strings, got {value!r}{hint}"
        )
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"{field!r} must contain only strings, got {item!r}")
    return frozenset(_upper(value) if upper else value)


def _upper(names: Iterable[str]) -> Iterable[str]:
    return (name.upper() for name in names)


class ResourceOptions(_Fields):
    """The CORS permissions one configured origin key receives.

    - ``allow_credentials``: send ``Access-Control-Allow-Credentials: true``, so
      pages may read responses to requests made with cookies or HTTP auth.
    - ``expose_headers``: response header names scripts may read, or ``"*"``
      for every header the response has (listed by name).
    - ``allow_headers``: request header names a preflight may ask for, or
      ``"*"`` for any (stored upper-cased).
    - ``max_age``: seconds a browser may cache a preflight answer
      (``None``: no ``Access-Control-Max-Age`` header).
    - ``allow_methods``: methods a preflight may ask for, ``"*"`` for any, or
      ``None`` (default): only the methods of routes passed to ``cors.add()``.
      GET, HEAD and POST always pass.
    - ``allow_private_network``: answer Private Network Access preflights
      (``Access-Control-Request-Private-Network: true``).

    Keyword-only, immutable, hashable and equal by value.
    """

    __slots__ = ()

    def __new__(
        cls,
        *,
        allow_credentials: bool = False,
        expose_headers: HeaderSpec = (),
        allow_headers: HeaderSpec = (),
        max_age: int | None = None,
        allow_methods: MethodSpec = None,
        allow_private_network: bool = False,
    ) -> ResourceOptions:
        if not isinstance(allow_credentials, bool):
            raise ValueError(f"'allow_credentials' must be boolean, got {allow_credentials!r}")
        if not isinstance(allow_private_network, bool):
            raise ValueError(
                f"'allow_private_network' must be boolean, got {allow_private_network!r}"
            )
        if max_age is not None and (not isinstance(max_age, numbers.Integral) or max_age < 0):
            raise ValueError(f"'max_age' must be non-negative integer, got {max_age!r}")
        methods = None if allow_methods is None else _names("allow_methods", allow_methods, True)
        return super().__new__(
            cls,
            allow_credentials,
            _names("expose_headers", expose_headers, False),
            _names("allow_headers", allow_headers, True),
            max_age,
            methods,
            allow_private_network,
        )

    def _arguments(self) -> dict[str, Any]:
        """The fields as constructor arguments (the constructor takes sequences, not sets)."""
        return {
            name: tuple(sorted(value)) if isinstance(value, frozenset) else value
            for name, value in self._asdict().items()
        }

    def __getnewargs_ex__(self) -> tuple[tuple[()], dict[str, Any]]:
        # Pickling and copying rebuild through the keyword-only constructor.
        return (), self._arguments()

    def _replace(self, **changes: Any) -> ResourceOptions:
        """A copy with some fields changed (checked like a new instance)."""
        return ResourceOptions(**{**self._arguments(), **changes})

    def is_method_allowed(self, method: str) -> bool:
        """Whether ``allow_methods`` is ``"*"`` or lists ``method`` (upper-cased, as in 0.8.1).

        The preflight check itself compares the requested method byte for
        byte (Fetch): ``patch`` is not ``PATCH``.
        """
        if self.allow_methods is None:
            return False
        return self.allow_methods == "*" or method.upper() in self.allow_methods

    @classmethod
    def from_mapping(cls, mapping: Any) -> ResourceOptions:
        """Options from a plain mapping of the same field names (the 0.8.1 mapping form)."""
        unknown = [str(key) for key in mapping if key not in cls._fields]
        if unknown:
            raise ValueError(
                f"Unexpected keywords in resource options: {','.join(unknown)} "
                f"(valid: {', '.join(cls._fields)})"
            )
        return cls(**dict(mapping))
