"""Which CORS policy applies to which aiohttp route: the registry behind ``cors.add()``.

Configuration layers are merged and compiled here, once per route, when
``cors.add()`` is called (or, for routes added to an enabled resource later,
on the first request that reaches them). The request path then needs one
dict lookup keyed by the matched route.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Union

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute

from ._policy import (
    MethodPolicy,
    NormalizedConfig,
    OriginPolicy,
    compile_policy,
    normalize_config,
)
from .abc import AbstractRouterAdapter
from .mixin import CorsViewMixin, method_config

__all__ = ["ResourcesUrlDispatcherRouterAdapter"]


class ViewPolicies:
    """The policies of one class-based view route, one per HTTP method it implements.

    ``default`` (defaults, route config and the class's ``cors_config``) applies
    to methods the view lacks, so their 405 responses stay readable.
    """

    __slots__ = ("by_method", "default")

    def __init__(self, view: type, layers: list[NormalizedConfig], strict: bool) -> None:
        class_config = normalize_config(
            getattr(view, "cors_config", None), strict=strict, what=f"{view.__name__}.cors_config"
        )
        self.default = compile_policy(*layers, class_config)
        self.by_method: dict[str, OriginPolicy] = {}
        for method in sorted(hdrs.METH_ALL):
            if getattr(view, method.lower(), None) is None:
                continue
            own = method_config(view, method)
            self.by_method[method] = (
                compile_policy(
                    *layers,
                    class_config,
                    normalize_config(own, strict=strict, what=f"{view.__name__}.{method.lower()}"),
                )
                if own
                else self.default
            )

    def lookup(self, method: str) -> tuple[OriginPolicy, bool]:
        """The policy for ``method`` and whether the view implements it."""
        policy = self.by_method.get(method)
        return (self.default, False) if policy is None else (policy, True)


RoutePolicy = Union[OriginPolicy, ViewPolicies]


class _Disabled:
    """Marker stored for routes that have no CORS, so their lookup stays one dict access."""

    __slots__ = ()


DISABLED = _Disabled()


class _Entry:
    """The configuration layers recorded for one resource."""

    __slots__ = ("resource_config", "resource_policy", "route_configs")

    def __init__(self) -> None:
        self.resource_config: NormalizedConfig | None = None
        self.resource_policy: OriginPolicy | None = None
        self.route_configs: dict[str, NormalizedConfig] = {}


def view_class(handler: Any) -> type | None:
    """The ``web.View`` subclass behind a route handler, or ``None`` for plain handlers.

    Proxies (``wrapt``, APM agents) that make ``issubclass`` raise are looked
    through via ``__wrapped__`` instead of being an error (CONTRACT §3.4).
    """
    for candidate in (handler, getattr(handler, "__wrapped__", None)):
        try:
            if isinstance(candidate, type) and issubclass(candidate, web.View):
                return candidate
        except TypeError:
            continue
    return None


def _index_key(resource: AbstractResource) -> str:
    # The key aiohttp's router indexes resources by: the static part of the
    # canonical path, up to the last "/" before the first variable.
    key = resource.canonical
    if "{" in key:
        key = key.partition("{")[0].rpartition("/")[0]
    return key.rstrip("/") or "/"


class ResourcesUrlDispatcherRouterAdapter(AbstractRouterAdapter):
    """CORS registry for aiohttp's ``UrlDispatcher``: resources, routes and views.

    Precedence: a route's config over its resource's over ``defaults``; for
    views, then the class's ``cors_config`` and the method's ``@custom_cors``.
    """

    def __init__(
        self, router: web.UrlDispatcher, defaults: Mapping[Any, Any], *, strict: bool = False
    ) -> None:
        self._router = router
        self.strict = strict
        self.all_routes = False
        self._defaults: NormalizedConfig = normalize_config(
            defaults, strict=strict, what="defaults"
        )
        self._defaults_policy = compile_policy(self._defaults)
        self._entries: dict[AbstractResource, _Entry] = {}
        self._index: dict[str, list[AbstractResource]] | None = None
        #: The request path's table: matched route → policy, or DISABLED.
        self.route_policies: dict[AbstractRoute, RoutePolicy | _Disabled] = {}

    @property
    def defaults(self) -> NormalizedConfig:
        """The normalised defaults: canonical origin key → ResourceOptions."""
        return self._defaults

    # -- configuration ------------------------------------------------------------

    def add_preflight_handler(self, routing_entity: Any, handler: Any) -> None:
        """Nothing to do: preflights are answered by the middleware, never by routes."""

    def set_config_for_routing_entity(self, routing_entity: Any, config: Mapping[Any, Any]) -> None:
        """Enable CORS on a resource or route with ``config`` layered over the defaults."""
        normalized = normalize_config(config, strict=self.strict)
        if isinstance(routing_entity, (web.Resource, web.StaticResource)):
            resource: AbstractResource = routing_entity
            if resource in self._entries:
                raise ValueError(
                    f"CORS is already configured for {resource!r} (the resource itself or one "
                    "of its routes); configure a resource before its routes, and only once"
                )
            entry = self._entries[resource] = _Entry()
            entry.resource_config = normalized
            entry.resource_policy = compile_policy(self._defaults, normalized)
            for route in resource:
                self._compile(route, entry)
        elif isinstance(routing_entity, web.ResourceRoute):
            route = routing_entity
            if route.resource is None:
                raise ValueError(f"{route!r} is not attached to a resource")
            view = view_class(route.handler)
            if view is not None and not issubclass(view, CorsViewMixin):
                raise ValueError(
                    f"{view.__name__} is a web.View without CorsViewMixin; add "
                    "aiohttp_cors.CorsViewMixin to its bases to configure CORS for a view"
                )
            entry = self._entries.setdefault(route.resource, _Entry())
            if route.method in entry.route_configs:
                raise ValueError(f"CORS is already configured for {route!r}")
            entry.route_configs[route.method] = normalized
            for sibling in route.resource:
                # Siblings compiled earlier may depend on this route (HEAD on GET).
                self.route_policies.pop(sibling, None)
            self._compile(route, entry)
        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")

    def _compile(self, route: AbstractRoute, entry: _Entry | None) -> RoutePolicy | _Disabled:
        layers = [self._defaults]
        if entry is not None:
            if entry.resource_config is not None:
                layers.append(entry.resource_config)
            own = entry.route_configs.get(route.method)
            if own is None and route.method == hdrs.METH_HEAD:
                # add_get() registers a HEAD route users never see: it follows GET.
                own = entry.route_configs.get(hdrs.METH_GET)
            if own is not None:
                layers.append(own)
            elif entry.resource_config is None and not self.all_routes:
                self.route_policies[route] = DISABLED
                return DISABLED
        elif not self.all_routes:
            self.route_policies[route] = DISABLED
            return DISABLED
        policy: RoutePolicy
        view = view_class(route.handler)
        if view is not None and issubclass(view, CorsViewMixin):
            policy = ViewPolicies(view, layers, self.strict)
        else:
            policy = compile_policy(*layers)
        self.route_policies[route] = policy
        return policy

    # -- lookups used by the request path ------------------------------------------

    def policy_for_route(self, route: AbstractRoute) -> RoutePolicy | _Disabled:
        """The policy of ``route``, compiling (and remembering) it on first use.

        Routes of the router's own errors (404/405) have no resource: they get
        the defaults in app-wide mode and are never remembered (one per request).
        """
        found = self.route_policies.get(route)
        if found is not None:
            return found
        resource = route.resource
        if resource is None:
            return self._defaults_policy if self.all_routes else DISABLED
        return self._compile(route, self._entries.get(resource))

    def is_enabled(self, resource: AbstractResource | None) -> bool:
        """Whether preflights to ``resource`` are this package's to answer."""
        return self.all_routes or (resource is not None and resource in self._entries)

    def forget_index(self) -> None:
        """Drop the path index of resource-level configs (called when one is added)."""
        self._index = None

    async def _configured_resource_by_path(self, request: web.Request) -> AbstractResource | None:
        """The resource with a resource-level config whose path matches ``request``.

        Walks the path's prefixes the way aiohttp's router does, over those
        resources only; used when no route serves the requested method.
        """
        index = self._index
        if index is None:
            index = self._index = {}
            for resource, entry in self._entries.items():
                if entry.resource_policy is not None:
                    index.setdefault(_index_key(resource), []).append(resource)
        part = request.rel_url.path_safe
        while part:
            for resource in index.get(part, ()):
                match, allowed = await resource.resolve(request)
                if match is not None or allowed:
                    return resource
            if part == "/":
                break
            part = part.rpartition("/")[0] or "/"
        return None

    async def path_resource(self, request: web.Request) -> AbstractResource | None:
        """The resource matching an ``OPTIONS`` request's path, whatever its methods.

        When the router answered 405 (no ``OPTIONS`` route), the path is resolved
        again with a method the router said it allows.
        """
        match_info = request.match_info
        error = match_info.http_exception
        if error is None:
            return match_info.route.resource
        allowed = sorted(getattr(error, "allowed_methods", ()))
        if error.status != 405 or not allowed:
            return None
        match_info = await self._router.resolve(request.clone(method=allowed[0]))
        return None if match_info.http_exception is not None else match_info.route.resource

    async def preflight_target(
        self, request: web.Request, method: str | None
    ) -> tuple[bool, MethodPolicy]:
        """Whether a preflight is this package's to answer, and the policy answering it.

        The route that would serve the actual request decides: the router
        resolves the same path with the requested method (``method`` is
        ``None`` when it is not a valid method). Without such a route, a
        resource-level config for the path (or the app-wide defaults) answers,
        with ``allow_methods`` having to name the method. A preflight is ours
        when that route or the path's resource is CORS-enabled.
        """
        if method is not None:
            match_info = await self._router.resolve(request.clone(method=method))
            error = match_info.http_exception
            if error is None:
                route = match_info.route
                policy = self.policy_for_route(route)
                if isinstance(policy, ViewPolicies):
                    return True, policy.lookup(method)
                if isinstance(policy, OriginPolicy):
                    return True, (policy, True)
                if self.is_enabled(route.resource):
                    return True, None
            elif error.status == 405:
                resource = await self._configured_resource_by_path(request)
                if resource is not None:
                    return True, (self._entries[resource].resource_policy, False)  # type: ignore[return-value]
                if self.all_routes:
                    return True, (self._defaults_policy, False)
            elif self.all_routes:
                return True, (self._defaults_policy, True)
        return self.is_enabled(await self.path_resource(request)), None

    # -- 0.8.1 adapter interface ------------------------------------------------------

    def is_preflight_request(self, request: web.Request) -> bool:
        """OPTIONS with Origin and Access-Control-Request-Method to an enabled target."""
        return (
            request.method == hdrs.METH_OPTIONS
            and hdrs.ORIGIN in request.headers
            and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
            and self.is_cors_enabled_on_request(request)
        )

    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        """Whether the matched route (or its resource) has CORS."""
        route = request.match_info.route
        if not isinstance(self.policy_for_route(route), _Disabled):
            return True
        return self.is_enabled(getattr(route, "resource", None))

    async def get_preflight_request_config(
        self, preflight_request: web.Request, origin: str, requested_method: str
    ) -> Mapping[Any, Any] | None:
        """The merged configuration answering a preflight for ``requested_method``."""
        _, found = await self.preflight_target(preflight_request, requested_method)
        return None if found is None else found[0].config

    def get_non_preflight_request_config(self, request: web.Request) -> Mapping[Any, Any] | None:
        """The merged configuration for an actual request's route."""
        policy = self.policy_for_route(request.match_info.route)
        if isinstance(policy, ViewPolicies):
            policy = policy.lookup(request.method)[0]
        return policy.config if isinstance(policy, OriginPolicy) else None


def warn_webview() -> None:
    """``add(..., webview=True)`` is accepted for 0.8.1 code but no longer needed."""
    warnings.warn(
        "webview=True is deprecated and ignored: views are detected from the route's handler",
        DeprecationWarning,
        stacklevel=3,
    )
