"""``ResourcesUrlDispatcherRouterAdapter``: the router adapter API of aiohttp-cors 0.8.1.

A thin shell over the registry in ``_routing`` for code and tests written
against 0.8.1's adapter: its methods and the attributes such tests read
(``_resource_config``, ``_preflight_routes``, ...) keep their meaning.
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Mapping
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute

from ._routing import CorsRouting, ResourceEntry, view_class
from .abc import AbstractRouterAdapter
from .mixin import CorsViewMixin

__all__ = ["ResourcesUrlDispatcherRouterAdapter"]


class ResourcesUrlDispatcherRouterAdapter(AbstractRouterAdapter):
    """CORS registry for aiohttp's ``UrlDispatcher``: resources, routes and views.

    Precedence, highest first: a route's config, its resource's config,
    ``defaults``; for class-based views, the method's ``@custom_cors``, the
    class's ``cors_config`` and ``defaults`` come first.
    """

    def __init__(
        self, router: web.UrlDispatcher, defaults: Mapping[Any, Any] | None, *, strict: bool = False
    ) -> None:
        self._router = router
        self.routing = CorsRouting(defaults, view_base=CorsViewMixin, strict=strict)

    @property
    def _default_config(self) -> dict[Any, Any]:
        return self.routing.setup_defaults

    @property
    def _resource_config(self) -> dict[AbstractResource, ResourceEntry]:
        return self.routing.entries

    @property
    def _resources_with_preflight_handlers(self) -> set[AbstractResource]:
        return self.routing.resources_with_preflight_routes

    @property
    def _preflight_routes(self) -> set[AbstractRoute]:
        return self.routing.preflight_routes

    def add_preflight_handler(self, routing_entity: Any, handler: Any) -> None:
        """Add an OPTIONS route with ``handler`` to the resource now (0.8.1's adapter API).

        ``cors.add()`` does not call this: it adds its OPTIONS routes at
        start-up, where the application has none, so they never clash.
        """
        if isinstance(routing_entity, web.ResourceRoute):
            resource = routing_entity.resource
            if resource is not None and not self.is_cors_for_resource(resource):
                self.add_preflight_handler(resource, handler)
            return
        if not isinstance(routing_entity, (web.Resource, web.StaticResource)):
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")
        resource = routing_entity
        if self.is_cors_for_resource(resource):
            return
        for route in resource:
            if route.method == hdrs.METH_OPTIONS:
                if route.handler is handler:
                    return
                raise ValueError(f"{resource!r} already has OPTIONS handler {route.handler!r}")
            if route.method == hdrs.METH_ANY and view_class(route.handler) is None:
                raise ValueError(f"{resource!r} already has a '*' handler for all methods")
            if route.method == hdrs.METH_ANY:
                self._resources_with_preflight_handlers.add(resource)
                self._preflight_routes.add(route)
                return
        if isinstance(resource, web.StaticResource):
            resource.set_options_route(handler)
            added = next(r for r in resource if r.method == hdrs.METH_OPTIONS)
        else:
            added = resource.add_route(hdrs.METH_OPTIONS, handler)
        self._preflight_routes.add(added)
        self._resources_with_preflight_handlers.add(resource)

    def is_cors_for_resource(self, resource: AbstractResource) -> bool:
        """Whether an OPTIONS route was added to ``resource`` for preflights."""
        return resource in self._resources_with_preflight_handlers

    def _request_route(self, request: web.Request) -> AbstractRoute:
        return request.match_info.route

    def _request_resource(self, request: web.Request) -> AbstractResource | None:
        return self._request_route(request).resource

    def is_preflight_request(self, request: web.Request) -> bool:
        """Whether ``request`` is answered as a preflight (0.8.1's definition)."""
        route = self._request_route(request)
        if view_class(route.handler) is not None:
            return request.method == hdrs.METH_OPTIONS
        return route in self._preflight_routes

    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        """Whether the request's resource is CORS-enabled."""
        return self._request_resource(request) in self._resource_config

    def set_config_for_routing_entity(self, routing_entity: Any, config: Mapping[Any, Any]) -> None:
        """Record the configuration of a resource or route (see ``CorsConfig.add``)."""
        self.routing.enable(routing_entity, config)

    async def get_preflight_request_config(
        self, preflight_request: web.Request, origin: str, requested_method: str
    ) -> Mapping[Any, Any]:
        """The layered configuration 0.8.1 answered a preflight with.

        Raises ``KeyError`` when the method is not allowed, as 0.8.1 did.
        """
        entry = self._resource_config[self._request_resource(preflight_request)]  # type: ignore[index]
        resource_level = collections.ChainMap(entry.default_config, self._default_config)
        options = resource_level.get(origin, resource_level.get("*"))
        if options is not None and options.is_method_allowed(requested_method):
            route_config = entry.method_config.get(requested_method, {})
        else:
            route_config = entry.method_config[requested_method]
        return collections.ChainMap(route_config, resource_level)

    def get_non_preflight_request_config(self, request: web.Request) -> Mapping[Any, Any]:
        """The layered configuration 0.8.1 answered an actual request with."""
        entry = self._resource_config[self._request_resource(request)]  # type: ignore[index]
        view = view_class(request.match_info.route.handler)
        if view is not None:
            method_config = view.get_request_config(request, request.method)  # type: ignore[attr-defined]
        else:
            method_config = entry.method_config.get(request.method, {})
        return collections.ChainMap(method_config, entry.default_config, self._default_config)


def warn_webview() -> None:
    """``add(..., webview=True)`` is accepted for 0.8.1 code but no longer needed."""
    warnings.warn(
        "webview argument is deprecated, views are handled automatically without extra settings",
        DeprecationWarning,
        stacklevel=3,
    )
