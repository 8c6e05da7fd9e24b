"""Routes: a method and a path template bound to a handler, and finding the one a
request asks for (404 for an unknown path, 405 for a wrong method)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import HttpError
from ..http.request import Request
from ..http.response import Response

if TYPE_CHECKING:
    from ..service import Service

RouteHandler = Callable[["Service", Request], Response]


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    # One of the route names in protocol.py, e.g. "/jobs/{id}" or "/files/{path:path}".
    template: str
    handler: RouteHandler
    # Open routes skip Host and token checks (load-balancer and Kubernetes probes).
    open: bool = False

    def regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", self.template)
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        return re.compile(pattern + r"\Z")


class Router:
    """The route table, compiled once."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._compiled = [(route, route.regex()) for route in routes]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for method and path, with the path's parameters."""
        allowed = []
        for route, regex in self._compiled:
            found = regex.match(path)
            if found is None:
                continue
            if route.method == method or (method == "HEAD" and route.method == "GET") or method == "OPTIONS":
                return route, found.groupdict()
            allowed.append(route.method)
        if not allowed:
            raise HttpError(404, f"no route {path!r}")
        allow = ", ".join(sorted(set(allowed) | {"OPTIONS"}))
        raise HttpError(405, f"{method} is not allowed on {path}; use {allow}", headers={"Allow": allow})

    def methods(self, path: str) -> list[str]:
        """Every method the path takes, OPTIONS included."""
        return sorted({route.method for route, regex in self._compiled if regex.match(path)} | {"OPTIONS"})
