"""Abstract router adapter, kept for code written against aiohttp-cors 0.8.1.

A router adapter tells :class:`~aiohttp_cors.CorsConfig` which routing
entities exist and which CORS configuration applies to a request. The only
implementation shipped (and the only one ``CorsConfig`` accepts) is
:class:`~aiohttp_cors.urldispatcher_router_adapter.ResourcesUrlDispatcherRouterAdapter`;
subclass it to customise behaviour.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = ["AbstractRouterAdapter"]


class AbstractRouterAdapter(metaclass=ABCMeta):
    """The interface between ``CorsConfig`` and an aiohttp router (0.8.1 names)."""

    @abstractmethod
    def add_preflight_handler(self, routing_entity: Any, handler: Any) -> None:
        """Prepare ``routing_entity`` for preflight handling (may be a no-op)."""

    @abstractmethod
    def is_preflight_request(self, request: web.Request) -> bool:
        """Whether ``request`` is a CORS preflight for a CORS-enabled target."""

    @abstractmethod
    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        """Whether the request's route or resource has CORS enabled."""

    @abstractmethod
    def set_config_for_routing_entity(self, routing_entity: Any, config: Mapping[Any, Any]) -> None:
        """Record the CORS configuration of a resource or route."""

    @abstractmethod
    async def get_preflight_request_config(
        self, preflight_request: web.Request, origin: str, requested_method: str
    ) -> Mapping[Any, Any] | None:
        """The merged configuration that answers a preflight, or ``None``."""

    @abstractmethod
    def get_non_preflight_request_config(self, request: web.Request) -> Mapping[Any, Any] | None:
        """The merged configuration for an actual request, or ``None``."""
