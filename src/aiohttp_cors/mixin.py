"""CORS for class-based views: :class:`CorsViewMixin` and :func:`custom_cors`.

A view's layers, highest precedence first: the method's ``@custom_cors``
config, the class attribute ``cors_config``, the ``defaults`` of ``setup()``,
then the config given to ``cors.add(route, config)`` and ``defaults`` again
(the order aiohttp-cors 0.8.1 looked origins up in).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any, Callable, ClassVar, TypeVar

from aiohttp import web

from ._routing import ROUTING_KEY, CorsRouting
from ._types import CorsMapping
from .preflight_handler import _PreflightHandler

__all__ = ["CorsViewMixin", "custom_cors"]

_F = TypeVar("_F", bound=Callable[..., Any])


def custom_cors(config: CorsMapping) -> Callable[[_F], _F]:
    """Give one view method its own CORS config (stored as ``<name>_cors_config``).

    The config is checked when the application starts.
    """

    def decorate(function: _F) -> _F:
        setattr(function, f"{function.__name__}_cors_config", config)
        return function

    return decorate


def _find_routing(request: Any) -> CorsRouting:
    """The registry of the ``setup()`` serving ``request``: its own application's, else a
    parent's."""
    try:
        return request.app[ROUTING_KEY]  # type: ignore[no-any-return]
    except KeyError:
        pass
    # Views in sub-applications find the setup() of a parent application.
    config_dict = getattr(request, "config_dict", None)
    if isinstance(config_dict, Mapping) and ROUTING_KEY in config_dict:
        routing: CorsRouting = config_dict[ROUTING_KEY]
        return routing
    raise ValueError("aiohttp-cors is not configured: call aiohttp_cors.setup(app) first")


class CorsViewMixin(_PreflightHandler):
    """Mix into a ``web.View`` subclass to configure CORS per view and per method.

    Set ``cors_config`` (origin → ``ResourceOptions``) on the class and
    decorate methods with :func:`custom_cors` for per-method overrides; then
    ``cors.add(app.router.add_view("/path", MyView))``.
    """

    cors_config: ClassVar[CorsMapping | None] = None

    @classmethod
    def get_request_config(cls, request: web.Request, request_method: str) -> Mapping[Any, Any]:
        """The layered config for ``request_method``: ``@custom_cors``, ``cors_config``, defaults.

        Raises ``KeyError`` when the view does not implement the method and
        ``ValueError`` when no ``setup()`` serves the request, as 0.8.1 did.
        """
        routing = _find_routing(request)
        method = getattr(cls, request_method.lower(), None)
        if not method:
            raise KeyError(request_method)
        custom = getattr(method, f"{request_method.lower()}_cors_config", None) or {}
        class_config = dict(cls.cors_config or {})
        return collections.ChainMap(dict(custom), class_config, routing.defaults)

    async def _get_config(
        self, request: web.Request, origin: str, request_method: str
    ) -> Mapping[Any, Any]:
        return self.get_request_config(request, request_method)

    async def options(self) -> web.StreamResponse:
        """Answer an ``OPTIONS`` request as a CORS preflight (0.8.1's behaviour).

        Raises ``web.HTTPForbidden`` when the preflight is refused. Preflights
        to a view passed to ``cors.add()`` are answered before the view is
        made, so this sees the others.
        """
        request: web.Request = getattr(self, "request")  # noqa: B009 (set by web.View)
        routing = _find_routing(request)
        return await routing.view_preflight(request, type(self))
