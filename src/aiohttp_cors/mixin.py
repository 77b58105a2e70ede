"""CORS for class-based views: :class:`CorsViewMixin` and :func:`custom_cors`.

A view's configuration layers are, lowest precedence first: the ``defaults``
of ``setup()``, the config given to ``cors.add(route, config)``, the class
attribute ``cors_config``, and the method's ``@custom_cors(...)`` config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, ClassVar, TypeVar

from aiohttp import hdrs, web

__all__ = ["CorsViewMixin", "custom_cors"]

_F = TypeVar("_F", bound=Callable[..., Any])


def custom_cors(config: Mapping[Any, Any]) -> Callable[[_F], _F]:
    """Give one view method its own CORS config (stored as ``<name>_cors_config``).

    The config is checked when the view is passed to ``cors.add()``.
    """

    def decorate(function: _F) -> _F:
        setattr(function, f"{function.__name__}_cors_config", config)
        return function

    return decorate


def method_config(view: type, method: str) -> Mapping[Any, Any] | None:
    """The ``@custom_cors`` config of ``view``'s handler for ``method``, if any."""
    function = getattr(view, method.lower(), None)
    if function is None:
        return None
    config: Mapping[Any, Any] | None = getattr(function, f"{method.lower()}_cors_config", None)
    return config


class CorsViewMixin:
    """Mix into a ``web.View`` subclass to configure CORS per view and per method.

    Set ``cors_config`` (origin → ``ResourceOptions``) on the class and
    decorate methods with :func:`custom_cors` for per-method overrides; then
    ``cors.add(app.router.add_view("/path", MyView))``.
    """

    cors_config: ClassVar[Mapping[Any, Any] | None] = None

    async def options(self) -> web.StreamResponse:
        """Answer a plain ``OPTIONS`` as 0.8.1's mixin did: 403 with the missing header.

        Preflights never get here — the package answers them before the view
        — so this only sees ``OPTIONS`` requests without ``Origin`` or
        ``Access-Control-Request-Method``. Override it to handle them yourself.
        """
        request: web.Request = getattr(self, "request")  # noqa: B009 (set by web.View)
        missing = (
            "'Access-Control-Request-Method' header is not specified"
            if hdrs.ORIGIN in request.headers
            else "origin header is not specified"
        )
        return web.Response(status=403, text=f"CORS preflight request failed: {missing}")

    @classmethod
    def get_request_config(cls, request: web.Request, request_method: str) -> dict[Any, Any]:
        """The merged config (defaults, class, method) for ``request_method``.

        Reads the application's config through ``request.config_dict`` so that
        views in sub-applications find the ``setup()`` of a parent application.
        """
        from .cors_config import APP_CONFIG_KEY

        try:
            cors = request.config_dict[APP_CONFIG_KEY]
        except KeyError:
            raise ValueError(
                "aiohttp-cors is not configured: call aiohttp_cors.setup(app)"
            ) from None
        if getattr(cls, request_method.lower(), None) is None:
            raise KeyError(request_method)
        merged: dict[Any, Any] = dict(cors.defaults)
        merged.update(cls.cors_config or {})
        merged.update(method_config(cls, request_method) or {})
        return merged
