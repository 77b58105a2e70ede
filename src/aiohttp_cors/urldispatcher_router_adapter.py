"""Which CORS policy applies to which aiohttp route: the registry behind ``cors.add()``.

Configuration layers are merged and compiled here, once per route, when
``cors.add()`` is called (or, for routes added to an enabled resource later,
on the first request that reaches them). The request path then needs one
dict lookup keyed by the matched route.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Union

from aiohttp import hdrs, web
from aiohttp.web_exceptions import HTTPException
from aiohttp.web_urldispatcher import (
    AbstractResource,
    AbstractRoute,
    Domain,
    MaskDomain,
    MatchedSubAppResource,
)

from ._policy import (
    MethodPolicy,
    NormalizedConfig,
    OriginPolicy,
    compile_policy,
    is_request_method,
    normalize_config,
)
from .abc import AbstractRouterAdapter
from .mixin import CorsViewMixin, method_config

__all__ = ["ResourcesUrlDispatcherRouterAdapter"]

logger = logging.getLogger("aiohttp_cors")


class ViewPolicies:
    """The policies of one class-based view route, one per HTTP method it implements.

    ``default`` (defaults, route config and the class's ``cors_config``) applies
    to methods the view lacks, so their 405 responses stay readable. A view
    that overrides ``get_request_config`` (possible in 0.8.1, which called it
    on every request) gets it called per request here too, its answers
    compiled once each and remembered.
    """

    __slots__ = ("_compiled", "by_method", "default", "dynamic", "view")

    def __init__(
        self, view: type[CorsViewMixin], layers: list[NormalizedConfig], strict: bool
    ) -> None:
        class_config = normalize_config(
            getattr(view, "cors_config", None), strict=strict, what=f"{view.__name__}.cors_config"
        )
        self.view = view
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
        overridden = getattr(view.get_request_config, "__func__", None)
        self.dynamic = overridden is not _MIXIN_GET_REQUEST_CONFIG
        self._compiled: dict[Any, OriginPolicy] = {}

    def lookup(self, method: str, request: web.Request | None = None) -> tuple[OriginPolicy, bool]:
        """The policy for ``method`` and whether the view implements it."""
        policy = self.by_method.get(method)
        if policy is None:
            return self.default, False
        if self.dynamic and request is not None:
            return self._dynamic(request, method), True
        return policy, True

    def _dynamic(self, request: web.Request, method: str) -> OriginPolicy:
        try:
            config = self.view.get_request_config(request, method)
            key = tuple(config.items())
            policy = self._compiled.get(key)
            if policy is None:
                policy = compile_policy(normalize_config(config))
                policy.per_request = True
                if len(self._compiled) < 256:
                    self._compiled[key] = policy
            return policy
        except Exception:
            logger.exception("%s.get_request_config failed; no CORS for this request", self.view)
            return _NOTHING_ALLOWED


_MIXIN_GET_REQUEST_CONFIG = CorsViewMixin.get_request_config.__func__  # type: ignore[attr-defined]
_NOTHING_ALLOWED = compile_policy({})
_NOTHING_ALLOWED.per_request = True


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


_TARGET_CACHE_SIZE = 1024
_ROUTED_BY_PATH = (web.PlainResource, web.DynamicResource, web.StaticResource)


def _standard_router(router: web.UrlDispatcher) -> bool:
    """Whether routing in ``router`` depends only on the Host header, path and method.

    True when every resource, in sub-applications too, is one of aiohttp's
    own path-based resources or a sub-application mounted by prefix or by
    domain; a custom resource or rule could look at anything.
    """
    for resource in router.resources():
        kind = type(resource)
        if kind in _ROUTED_BY_PATH:
            continue
        info = resource.get_info()
        if kind is MatchedSubAppResource:
            if type(info.get("rule")) not in (Domain, MaskDomain):
                return False
        elif kind is not web.PrefixedSubAppResource:
            return False
        if not _standard_router(info["app"].router):
            return False
    return True


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
        self._target_cache: dict[tuple[Any, ...], tuple[bool, MethodPolicy]] = {}
        self._standard: bool | None = None
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
        """Enable CORS on a resource or route with ``config`` layered over the defaults.

        Everything is checked and compiled before anything is recorded, so a
        refused configuration leaves no trace and can be corrected and re-added.
        """
        normalized = normalize_config(config, strict=self.strict)
        self._target_cache.clear()
        if isinstance(routing_entity, (web.Resource, web.StaticResource)):
            resource: AbstractResource = routing_entity
            if resource in self._entries:
                raise ValueError(
                    f"CORS is already configured for {resource!r} (the resource itself or one "
                    "of its routes); configure a resource before its routes, and only once"
                )
            entry = _Entry()
            entry.resource_config = normalized
            entry.resource_policy = compile_policy(self._defaults, normalized)
            compiled = {route: self._compile(route, entry) for route in resource}
            self._entries[resource] = entry
            self.route_policies.update(compiled)
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
            old = self._entries.get(route.resource)
            if old is not None and route.method in old.route_configs:
                raise ValueError(f"CORS is already configured for {route!r}")
            entry = _Entry()
            if old is not None:
                entry.resource_config = old.resource_config
                entry.resource_policy = old.resource_policy
                entry.route_configs.update(old.route_configs)
            entry.route_configs[route.method] = normalized
            compiled = {sibling: self._compile(sibling, entry) for sibling in route.resource}
            self._entries[route.resource] = entry
            # Siblings compiled earlier may depend on this route (HEAD follows GET).
            self.route_policies.update(compiled)
        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")

    def _compile(self, route: AbstractRoute, entry: _Entry | None) -> RoutePolicy | _Disabled:
        """The policy of ``route`` from its layers (may raise for a view's bad config)."""
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
                return DISABLED
        elif not self.all_routes:
            return DISABLED
        view = view_class(route.handler)
        if view is not None and issubclass(view, CorsViewMixin):
            return ViewPolicies(view, layers, self.strict)
        if len(layers) == 1:
            return self._defaults_policy
        return compile_policy(*layers)

    def compile_all(self, routes: Iterable[AbstractRoute]) -> None:
        """Compile every route's policy now (at start-up), so errors surface before requests."""
        for route in routes:
            if route not in self.route_policies and route.resource is not None:
                self.route_policies[route] = self._compile(route, self._entries.get(route.resource))

    # -- lookups used by the request path ------------------------------------------

    def policy_for_route(self, route: AbstractRoute) -> RoutePolicy | _Disabled:
        """The policy of ``route``, compiling (and remembering) it on first use.

        Routes of the router's own errors (404/405) have no resource: they get
        the defaults in app-wide mode and are never remembered (one per request).
        Neither are routes their resource does not list (custom resources may
        make one per request). A view configuration that fails here (routes
        unknown at start-up) disables CORS on that route, with an error logged.
        """
        found = self.route_policies.get(route)
        if found is not None:
            return found
        resource = route.resource
        if resource is None:
            return self._defaults_policy if self.all_routes else DISABLED
        try:
            policy = self._compile(route, self._entries.get(resource))
        except ValueError:
            logger.exception("CORS disabled on %r: its configuration is invalid", route)
            policy = DISABLED
        if any(listed is route for listed in resource):
            self.route_policies[route] = policy
        return policy

    def is_enabled(self, resource: AbstractResource | None) -> bool:
        """Whether preflights to ``resource`` are this package's to answer."""
        return self.all_routes or (resource is not None and resource in self._entries)

    async def path_resource(
        self, request: web.Request, error: HTTPException | None
    ) -> AbstractResource | None:
        """The resource serving the request's path with some method, given the router's answer.

        ``error`` is the router's exception for the request's own method (or
        ``None`` when a route matched). After a 405 the path is resolved again,
        through the router (so domains and sub-applications count), with a
        method the router said the path allows.
        """
        if error is None:
            return request.match_info.route.resource
        allowed = sorted(getattr(error, "allowed_methods", ()))
        if error.status != 405 or not allowed:
            return None
        match_info = await self._router.resolve(request.clone(method=allowed[0]))
        return None if match_info.http_exception is not None else match_info.route.resource

    async def preflight_target(
        self, request: web.Request, method: str
    ) -> tuple[bool, MethodPolicy]:
        """Whether a preflight is this package's to answer, and the policy answering it.

        ``method`` is the Access-Control-Request-Method value as sent; one that
        is not a method token is answered as "no route serves it". Resolving
        the requested method through the router costs a request
        clone and a second routing pass; when every resource is one of
        aiohttp's own (routing then depends only on the Host header, the path
        and the method) and the router is frozen, recent answers are remembered.
        """
        valid = method if is_request_method(method) else None
        cacheable = self._router.frozen and self._standard_routing()
        if not cacheable:
            return await self._resolve_target(request, valid)
        key = (request.headers.get(hdrs.HOST), request.rel_url.raw_path, method)
        found = self._target_cache.get(key)
        if found is None:
            found = await self._resolve_target(request, valid)
            policy = found[1]
            # A view whose get_request_config is overridden answers per request.
            if policy is None or not policy[0].per_request:
                if len(self._target_cache) >= _TARGET_CACHE_SIZE:
                    self._target_cache.clear()
                self._target_cache[key] = found
        return found

    def _standard_routing(self) -> bool:
        if self._standard is None:
            self._standard = _standard_router(self._router)
        return self._standard

    async def _resolve_target(
        self, request: web.Request, method: str | None
    ) -> tuple[bool, MethodPolicy]:
        """Whether a preflight is this package's to answer, and the policy answering it.

        The route that would serve the actual request decides: the router
        resolves the same path with the requested method (``method`` is
        ``None`` when it is not a valid method). Without such a route, the
        configuration of the resource at that path (or the app-wide defaults)
        answers, with ``allow_methods`` having to name the method. A preflight
        is ours when that route or the path's resource is CORS-enabled.
        """
        error = request.match_info.http_exception
        if method is not None:
            match_info = await self._router.resolve(request.clone(method=method))
            error = match_info.http_exception
            if error is None:
                route = match_info.route
                policy = self.policy_for_route(route)
                if isinstance(policy, ViewPolicies):
                    return True, policy.lookup(method, request)
                if isinstance(policy, OriginPolicy):
                    return True, (policy, True)
                return self.is_enabled(route.resource), None
            if error.status == 404:
                return self.all_routes, (self._defaults_policy, True) if self.all_routes else None
        resource = await self.path_resource(request, error)
        entry = self._entries.get(resource) if resource is not None else None
        if method is not None and entry is not None and entry.resource_policy is not None:
            return True, (entry.resource_policy, False)
        if method is not None and self.all_routes:
            return True, (self._defaults_policy, False)
        return self.is_enabled(resource), None

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
            policy = policy.lookup(request.method, request)[0]
        return policy.config if isinstance(policy, OriginPolicy) else None


def warn_webview() -> None:
    """``add(..., webview=True)`` is accepted for 0.8.1 code but no longer needed."""
    warnings.warn(
        "webview=True is deprecated and ignored: views are detected from the route's handler",
        DeprecationWarning,
        stacklevel=3,
    )
