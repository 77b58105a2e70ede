"""``CorsConfig`` and ``setup()``: the public entry points (aiohttp-cors 0.8.1 API)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web

from ._errors import CorsConfigurationError, CorsConfigurationWarning, with_hint
from ._layer import CorsLayer
from ._predicates import DEFAULT_TIMEOUT
from ._routing import ROUTING_KEY, CorsRouting
from ._types import CorsMapping
from .urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter, warn_webview

__all__ = ["APP_CONFIG_KEY", "CorsConfig", "setup"]

_Entity = TypeVar("_Entity")


class CorsConfig:
    """The CORS configuration of one aiohttp application.

    Creating it inserts the package's middleware first in ``app.middlewares``
    (preflights), appends a receiver to ``app.on_response_prepare`` (actual
    responses) and one to ``app.on_startup`` (the OPTIONS routes of the
    resources passed to :meth:`add`). ``defaults`` apply to everything passed
    to :meth:`add`; with ``all_routes=True`` to every request the application
    handles. ``strict=True`` turns configuration warnings into errors.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        defaults: CorsMapping | None = None,
        router_adapter: ResourcesUrlDispatcherRouterAdapter | None = None,
        strict: bool = False,
        all_routes: bool = False,
        predicate_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if isinstance(predicate_timeout, bool) or not predicate_timeout > 0:
            raise ValueError(f"predicate_timeout must be a number > 0, got {predicate_timeout!r}")
        if router_adapter is None:
            router_adapter = ResourcesUrlDispatcherRouterAdapter(
                app.router, defaults, strict=strict
            )
        elif not isinstance(router_adapter, ResourcesUrlDispatcherRouterAdapter):
            raise TypeError(
                "router_adapter must be a ResourcesUrlDispatcherRouterAdapter (or a subclass), "
                f"got {type(router_adapter).__name__}"
            )
        router_adapter.routing.strict = strict
        router_adapter.routing.all_routes = all_routes
        router_adapter.routing.predicates.timeout = predicate_timeout
        self._app = app
        self._router_adapter = router_adapter
        #: The middleware and hooks (0.8.1 kept its router adapter here too).
        self._cors_impl = CorsLayer(router_adapter)
        app.middlewares.insert(0, self._cors_impl.middleware)
        # Views find the registry here (0.8.1 code also builds CorsConfig without setup()).
        app[ROUTING_KEY] = router_adapter.routing
        app.on_response_prepare.append(self._cors_impl.on_response_prepare)
        app.on_startup.append(self._cors_impl.on_startup)

    def add(
        self,
        routing_entity: _Entity,
        config: CorsMapping | None = None,
        webview: bool = False,
    ) -> _Entity:
        """Enable CORS on a resource or route, with ``config`` over the defaults.

        Accepts a ``web.Resource`` (plain or dynamic), a ``web.StaticResource``
        or a ``web.ResourceRoute`` (class-based views included) and returns it
        unchanged. Adding a route also enables its whole resource, with
        ``config`` as the resource's config if it had none.
        """
        if webview:
            warn_webview()
        self._router_adapter.set_config_for_routing_entity(
            routing_entity, {} if config is None else config
        )
        return routing_entity

    @property
    def defaults(self) -> dict[Any, Any]:
        """``defaults`` as given, with mapping-form options turned into ResourceOptions.

        Assigning another mapping changes what class-based views answer (their
        ``get_request_config`` reads it), not plain routes, exactly as in 0.8.1.
        """
        return self._router_adapter.routing.defaults

    @defaults.setter
    def defaults(self, value: Mapping[Any, Any]) -> None:
        self._router_adapter.routing.replace_defaults(value)

    @property
    def _routing(self) -> CorsRouting:
        """The compiled registry (read by ``python -m aiohttp_cors routes`` and ``explain``)."""
        return self._router_adapter.routing

    def stats(self) -> dict[str, Any]:
        """Counters since start, for monitoring.

        ``refusals``: refused requests per :class:`RefusalReason` value;
        ``predicates``: origin-predicate calls, calls shared by concurrent
        requests, memo hits, failures, timeouts, total and longest latency in
        seconds, verdicts remembered now; ``preflight_cache``: successful
        preflight answers remembered (entries, estimated bytes), hits, misses
        and evictions.
        """
        return self._router_adapter.routing.stats()


APP_CONFIG_KEY: web.AppKey[CorsConfig] = web.AppKey("aiohttp_cors", CorsConfig)


def setup(
    app: web.Application,
    *,
    defaults: CorsMapping | None = None,
    strict: bool = False,
    all_routes: bool = False,
    predicate_timeout: float = DEFAULT_TIMEOUT,
) -> CorsConfig:
    """Set up CORS for ``app`` and return its :class:`CorsConfig`.

    The config is also stored as ``app[APP_CONFIG_KEY]`` (views in
    sub-applications find it through ``request.config_dict``).
    ``predicate_timeout`` is how long an async origin predicate may take
    before the origin is refused (``OriginPredicate(..., timeout=...)`` sets
    one predicate's own).
    """
    if APP_CONFIG_KEY in app:
        if strict:
            raise CorsConfigurationError(
                ["aiohttp_cors.setup() was already called for this application (strict mode)"]
            )
        warnings.warn(
            with_hint(
                "aiohttp_cors.setup() was already called for this application; both "
                "configurations now apply",
                "call setup() once and add() every route to it",
            ),
            CorsConfigurationWarning,
            stacklevel=2,
        )
    cors = CorsConfig(
        app,
        defaults=defaults,
        strict=strict,
        all_routes=all_routes,
        predicate_timeout=predicate_timeout,
    )
    app[APP_CONFIG_KEY] = cors
    return cors
