"""Which permission each API route needs, read off the routes themselves.

A route declares its permission once, in its handler's `opt` (`access.needs(...)`).
From that one declaration:
- `access.check_route` (run by the API key middleware) refuses a key without it (403 `forbidden` naming it);
- `route_permissions` lists every route with its permission (the tests walk it);
- `web.openapi.document_permissions` writes it into the OpenAPI description (`x-permission`, a line of the
  operation's description, and the 403 answer with the real message);
- `check_declared` makes create_app fail when a route behind the key middleware
  declares nothing, so a new route cannot ship without a permission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.routes import ASGIRoute, HTTPRoute

from octopost.access import Permission, declared
from octopost.web.auth import AUTH_EXCLUDE

_EXCLUDED = [re.compile(p) for p in AUTH_EXCLUDE]


@dataclass(frozen=True)
class RoutePermission:
    path: str
    method: str
    #: a Permission, ANY_KEY, or None when the route declares nothing
    permission: Permission | str | None


def _behind_auth(path: str, opt: dict[str, Any]) -> bool:
    return not opt.get("exclude_from_auth") and not any(p.search(path) for p in _EXCLUDED)


def route_permissions(app: Litestar) -> list[RoutePermission]:
    """Every route behind the API key middleware, with what it declares."""
    found: list[RoutePermission] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if not _behind_auth(route.path, handler.opt):
                    continue
                for method in sorted(handler.http_methods):
                    if method in ("HEAD", "OPTIONS"):
                        continue
                    found.append(RoutePermission(route.path_format, method, declared(handler.opt)))
        elif isinstance(route, ASGIRoute):
            opt = route.route_handler.opt
            if _behind_auth(route.path, opt):
                found.append(RoutePermission(route.path_format, "*", declared(opt)))
    return found


def check_declared(app: Litestar) -> None:
    """Refuse to build an app with an API route that declares no permission."""
    missing = [f"{r.method} {r.path}" for r in route_permissions(app) if r.permission is None]
    if missing:
        raise RuntimeError(
            "API routes without a declared permission (opt=needs(Permission...)): "
            + ", ".join(missing)
        )
