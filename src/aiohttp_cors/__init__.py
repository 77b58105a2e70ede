"""CORS for aiohttp, following the WHATWG Fetch standard.

A drop-in successor of aiohttp-cors 0.8.1::

    cors = aiohttp_cors.setup(app, defaults={
        "https://app.example.com": aiohttp_cors.ResourceOptions(allow_credentials=True),
    })
    for route in list(app.router.routes()):
        cors.add(route)
"""

from __future__ import annotations

from ._errors import CorsConfigurationError, CorsConfigurationWarning, CorsSecurityWarning
from ._policy import RefusalReason
from ._predicates import OriginPredicate
from ._types import CorsMapping, OriginKey, OriginOptions
from .cors_config import APP_CONFIG_KEY, CorsConfig, setup
from .mixin import CorsViewMixin, custom_cors
from .resource_options import ResourceOptions

__version__ = "1.0.0.dev1"

__all__ = [
    "APP_CONFIG_KEY",
    "CorsConfig",
    "CorsConfigurationError",
    "CorsConfigurationWarning",
    "CorsMapping",
    "CorsSecurityWarning",
    "CorsViewMixin",
    "OriginKey",
    "OriginOptions",
    "OriginPredicate",
    "RefusalReason",
    "ResourceOptions",
    "__version__",
    "custom_cors",
    "setup",
]
