"""Errors and warnings raised while checking a CORS configuration.

Configuration is checked once, at ``setup()`` / ``add()`` time, never per request.
Every problem of one configuration is collected and reported together (the way
jub0bs/cors does), each with the offending value and a hint, so a user fixes a
configuration in one round instead of one error at a time.
"""

from __future__ import annotations

from collections.abc import Iterable


def with_hint(problem: str, hint: str) -> str:
    """The one shape of every configuration message: what is wrong, then how to fix it.

    A single style lets users (and log searches) find the fix in the same
    place in every message.
    """
    return f"{problem}. Hint: {hint}."


class HintedValueError(ValueError):
    """A refused origin key, with its problem and its fix kept apart.

    The caller adds what the refusal means for the configuration (the key can
    never match) between the two, keeping :func:`with_hint`'s shape.
    """

    def __init__(self, problem: str, hint: str | None = None) -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(problem if hint is None else with_hint(problem, hint))


class CorsSecurityWarning(UserWarning):
    """A configuration that is legal but lets more sites read responses than intended.

    Emitted at configuration time, for example for ``"*"`` combined with
    ``allow_credentials=True`` (every web site may read credentialed responses)
    or for ``http://`` origins with credentials (a network attacker can forge
    such an origin). ``setup(app, strict=True)`` turns these warnings into errors.
    """


class CorsConfigurationWarning(UserWarning):
    """A configuration that is accepted but cannot work as written, or is pointless.

    For example a header browsers never let pages send (``Cookie``) in
    ``allow_headers``, or an origin key with a path, which no browser ever
    sends. The setting is kept (it simply never matches), as aiohttp-cors
    0.8.1 kept it; ``setup(app, strict=True)`` turns these warnings into errors.
    """


class CorsConfigurationError(ValueError):
    """One or more problems in a CORS configuration, all reported at once.

    ``problems`` holds one human-readable line per problem; the exception text
    lists them all. It subclasses ``ValueError`` because aiohttp-cors 0.8.1
    raised ``ValueError`` for bad configuration and existing code catches that.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{len(self.problems)} problems in the CORS configuration:\n{lines}"
        super().__init__(message)



# Tracebacks and reprs show where users import these from, not the private module.
for _public in (CorsSecurityWarning, CorsConfigurationWarning, CorsConfigurationError):
    _public.__module__ = "aiohttp_cors"
del _public
