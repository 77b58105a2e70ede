"""Type aliases for CORS configurations, so type checkers catch a wrong value early.

A configuration maps origin keys to the options granted to them::

    defaults: dict[aiohttp_cors.OriginKey, aiohttp_cors.OriginOptions] = {
        "https://app.example.com": aiohttp_cors.ResourceOptions(allow_credentials=True),
        re.compile(r"https://[a-z]+\\.example\\.com"): {"max_age": 600},
    }

With these in the public signatures, ``{"https://x": "yes"}`` is a type
error instead of a ``CorsConfigurationError`` at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from typing import Any, Callable, Union

from .resource_options import ResourceOptions

#: An origin key: an exact origin, ``"*"``, ``"null"`` or a glob (all ``str``), a
#: compiled regex matched with ``fullmatch``, or a predicate ``(origin) -> bool``,
#: sync or async (an :class:`~aiohttp_cors.OriginPredicate` is one).
OriginKey = Union[str, re.Pattern[str], Callable[[str], Union[bool, Awaitable[bool]]]]

#: What one origin key is granted: a :class:`~aiohttp_cors.ResourceOptions`, or a
#: mapping of its field names (the form aiohttp-cors 0.8.1 also accepted).
OriginOptions = Union[ResourceOptions, Mapping[str, Any]]

#: A CORS configuration: ``defaults`` of ``setup()``, ``config`` of ``add()``,
#: ``@custom_cors`` and ``CorsViewMixin.cors_config``. The values are checked;
#: the keys are :data:`OriginKey` values, typed ``Any`` here because ``Mapping``
#: keys are invariant: a ``dict[str, ResourceOptions]`` (what a type checker
#: infers for the usual configuration) or a literal mixing strings and regexes
#: would otherwise be refused. Annotate your own variables with
#: ``dict[OriginKey, OriginOptions]`` to have the keys checked too.
CorsMapping = Mapping[Any, OriginOptions]
