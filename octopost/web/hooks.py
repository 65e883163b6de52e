"""Checks every request passes before its handler runs, and HEAD/OPTIONS done right.

`before_request` (registered once on the app) runs after routing and before the
body is decoded:
- OPTIONS answers with every method of the route (Litestar's automatic answer
  lists only the methods of the first handler registered on a path);
- unknown /schema/* pages are the JSON 404 of every other unknown path;
- an /v1 request body must be JSON (415 otherwise) and nested at most
  MAX_DEPTH levels (400: the decoder would otherwise recurse until it crashes).

`HeadAsGet` serves HEAD from the GET handler without the body.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: deepest JSON nesting accepted in a request body (no request shape needs more than 5)
MAX_DEPTH = 32
#: the catch-all Litestar's OpenAPI router answers with an HTML page
SCHEMA_CATCH_ALL = "/schema/{path}"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


class BadBodyError(HTTPException):
    """A body the JSON decoder must not see (400)."""

    status_code = 400


class UnsupportedMediaTypeError(HTTPException):
    status_code = 415


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects in a JSON text (strings skipped)."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return 0  # cannot be deeper than the limit: skip the scan
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _allowed_methods(request: Request[Any, Any, Any]) -> list[str]:
    template = request.scope.get("path_template")
    methods: set[str] = set()
    for route in request.app.routes:
        if route.path_format == template:
            methods |= set(getattr(route, "methods", ()))
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


async def before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
    method = request.method
    if method == "OPTIONS":
        return Response(
            None, status_code=204, headers={"Allow": ", ".join(_allowed_methods(request))}
        )
    if request.scope.get("path_template") == SCHEMA_CATCH_ALL:
        raise NotFoundException()
    if method in BODY_METHODS and request.scope["path"].startswith("/v1/"):
        body = await request.body()  # bounded by the app's request_max_body_size (413)
        if body.strip():
            content_type = request.headers.get("content-type", "")
            if not is_json(content_type):
                raise UnsupportedMediaTypeError(
                    detail="Send the request body as JSON with 'Content-Type: application/json'"
                    + (f" (got '{content_type}')" if content_type else "")
                )
            if json_depth(body) > MAX_DEPTH:
                raise BadBodyError(
                    detail=f"Malformed JSON body: nested deeper than {MAX_DEPTH} levels"
                )
    return None


class HeadAsGet:
    """ASGI wrapper: HEAD runs the GET handler (auth and all) and drops the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        get_scope: Any = {**scope, "method": "GET"}
        await self.app(get_scope, receive, without_body)
