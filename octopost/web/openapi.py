"""The API description, made to tell the truth, and the docs page served offline.

- `errors(...)`: the error responses of one route, in the real `{"error": {...}}`
  shape with realistic examples (every /v1 route also gets 400, 401, 405, 500).
- `refine()`: the served JSON takes its component schemas from msgspec itself, so
  what the schema states (enums, `format: date-time`, lengths, no extra fields)
  is read off the same structs that decode and encode; `/healthz` is marked as
  needing no key.
- `OfflineSwagger`: Swagger UI from the `swagger-ui-py` package's static files,
  served under /schema/assets: the page works on a machine with no internet.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, get
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin
from litestar.openapi.spec import Example
from litestar.params import FromPath
from litestar.response import File
from litestar.serialization import encode_json

from octopost.access import DESCRIPTIONS, Permission
from octopost.web import schemas
from octopost.web.schemas import ErrorResponse
from octopost.web.scopes import RoutePermission, route_permissions

_RID = "3f2a9c1b7d4e8f60"


def _error(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "details": details or [], "request_id": _RID}
    }


#: status -> (description, example summary, example body)
ERRORS: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: (
        "Malformed request: the body is not valid JSON (or nested too deeply)",
        "Malformed JSON",
        _error("bad_request", "Malformed JSON body: expected ',' or '}' (byte 16)"),
    ),
    401: (
        "Missing, malformed, unknown or revoked API key (with `WWW-Authenticate: Bearer`)",
        "No key",
        _error("unauthorized", "Missing API key: send 'Authorization: Bearer <key>'"),
    ),
    403: (
        "The API key lacks the route's permission (see `x-permission`)",
        "Missing permission",
        _error(
            "forbidden",
            "This API key lacks the 'posts:write' permission (it has: posts:read)",
        ),
    ),
    404: (
        "No such resource",
        "Unknown id",
        _error("not_found", "No post with id 'post_4kQ9sVbT2mXw8LrN5yHc1JzA'"),
    ),
    405: (
        "This path does not take that method (the `Allow` header lists the ones it takes)",
        "Wrong method",
        _error("method_not_allowed", "PATCH is not allowed on /v1/posts"),
    ),
    409: (
        "The resource is in a state that forbids this",
        "Already published",
        _error(
            "conflict",
            "Post 'post_4kQ9sVbT2mXw8LrN5yHc1JzA' is published; only draft and scheduled "
            "posts can be updated",
        ),
    ),
    413: (
        "The body is larger than 1 MiB",
        "Too large",
        _error("payload_too_large", "The request body is larger than 1 MiB"),
    ),
    415: (
        "The body is not JSON (`Content-Type: application/json` is required)",
        "Plain text",
        _error(
            "unsupported_media_type",
            "Send the request body as JSON with 'Content-Type: application/json' "
            "(got 'text/plain')",
        ),
    ),
    422: (
        "Invalid input: each problem is in `details`",
        "Unknown platform",
        _error(
            "validation_error",
            "Invalid post: platforms[1]: unknown platform 'myspace'",
            [{"field": "platforms[1]", "message": "unknown platform 'myspace'"}],
        ),
    ),
    500: (
        "Unexpected server error (no details in the body; they are in the server log)",
        "Server error",
        _error("internal_error", "Internal server error; the details are in the server log"),
    ),
    502: (
        "The platform could not be reached or is unavailable; nothing was stored, retry later",
        "DNS failure",
        _error(
            "platform_unavailable",
            "Could not reach mastodon.example: its name could not be resolved (DNS lookup "
            "failed). The credentials were not checked and nothing was stored; try again later.",
            [{"field": "credentials", "message": "Could not reach mastodon.example"}],
        ),
    ),
    503: (
        "The data directory's disk is full: nothing was changed and nothing stored is lost",
        "Disk full",
        _error(
            "storage_full",
            "Octopost cannot save changes: the disk of its data directory is full. Nothing was "
            "changed and nothing stored is lost; free some space and try again.",
        ),
    ),
}

#: every /v1 route can answer these (any request may write: a key's last use, a post)
COMMON = (400, 401, 405, 500, 503)


def errors(*statuses: int, **describe: Any) -> dict[int, ResponseSpec]:
    """Error responses of one route: the COMMON ones plus `statuses`.

    `describe` overrides a description or example per status, as `s404="No such post"`
    or `x422=(summary, body)`."""
    specs: dict[int, ResponseSpec] = {}
    for status in sorted({*COMMON, *statuses}):
        description, summary, body = ERRORS[status]
        description = describe.get(f"s{status}", description)
        examples = [Example(summary=summary, value=body)]
        extra = describe.get(f"x{status}")
        if extra is not None:
            examples.append(Example(summary=extra[0], value=extra[1]))
        specs[status] = ResponseSpec(ErrorResponse, description=description, examples=examples)
    return specs


def _api_structs() -> list[type[msgspec.Struct]]:
    return [
        obj
        for _, obj in inspect.getmembers(schemas, inspect.isclass)
        if issubclass(obj, msgspec.Struct) and obj is not msgspec.Struct
    ]


def refine(doc: dict[str, Any]) -> dict[str, Any]:
    """The generated description with msgspec's component schemas and the unauthenticated
    routes marked as such."""
    doc = copy.deepcopy(doc)
    _, components = msgspec.json.schema_components(
        _api_structs(), ref_template="#/components/schemas/{name}"
    )
    doc.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for path in ("/healthz", CALLBACK):
        for operation in doc.get("paths", {}).get(path, {}).values():
            operation["security"] = []
    for operation in doc.get("paths", {}).get(CALLBACK, {}).values():
        # A browser lands here: pages unless it asks for JSON (web/connect.py).
        for response in operation.get("responses", {}).values():
            response.setdefault("content", {})["text/html"] = {"schema": {"type": "string"}}
        operation["responses"]["303"] = {
            "description": "Sent back to the flow's `return_to` (with `connected` and "
            "`account`, or `error` and `error_description`, added to its query)",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    return doc


#: the OAuth callback: no API key, pages or JSON
CALLBACK = "/v1/oauth/callback/{platform}"


#: the OpenAPI extension naming an operation's permission
PERMISSION_EXTENSION = "x-permission"


def _forbidden(permission: Permission) -> dict[str, Any]:
    message = f"This API key lacks the '{permission.value}' permission (it has: posts:read)"
    description = f"The API key lacks the `{permission.value}` permission"
    examples: dict[str, Any] = {
        "Missing permission": {
            "summary": "Missing permission",
            "value": _error("forbidden", message),
        }
    }
    if permission is Permission.ACCOUNTS_WRITE:
        description += ", or it is a sandbox (`oct_test_`) key (accounts are real)"
        examples["Sandbox key"] = {
            "summary": "Sandbox key",
            "value": _error(
                "forbidden",
                "Sandbox (oct_test_) keys cannot change connected accounts; use a live key",
            ),
        }
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorResponse"},
                "examples": examples,
            }
        },
    }


def document_permissions(doc: dict[str, Any], table: list[RoutePermission]) -> None:
    """Write each operation's permission into the description (in place)."""
    by_operation = {(r.path, r.method.lower()): r.permission for r in table}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            permission = by_operation.get((path, method))
            if not isinstance(permission, Permission):
                continue
            operation[PERMISSION_EXTENSION] = permission.value
            line = (
                f"**Permission:** `{permission.value}` ({DESCRIPTIONS[permission]}); "
                "a key created without scopes has every permission."
            )
            text = operation.get("description") or ""
            operation["description"] = f"{text}\n\n{line}" if text else line
            operation.setdefault("responses", {})["403"] = _forbidden(permission)


class RefinedJson(JsonRenderPlugin):
    """/schema/openapi.json: the refined description, built once."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")
        self._cached: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._cached is None:
            doc = refine(openapi_schema)
            document_permissions(doc, route_permissions(request.app))
            self._cached = encode_json(doc)
        return self._cached


def _assets_dir() -> Path:
    # find_spec, not import: the package's __init__ imports web-framework adapters.
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing; reinstall Octopost")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


#: the files of Swagger UI the page loads (served from the installed package)
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
ASSETS_PATH = "/schema/assets"


@get(f"{ASSETS_PATH}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
def docs_asset(name: FromPath[str]) -> File:
    """One file of Swagger UI, cacheable for a day (names change with the package)."""
    if name not in ASSETS:
        raise NotFoundException()
    return File(
        path=_assets_dir() / name,
        media_type=ASSETS[name],
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=86400"},
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <style>body {{ margin: 0; }}</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="{assets}/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{spec}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout"
    }});
  </script>
</body>
</html>
"""


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI at /schema and /schema/swagger, every asset from this server.

    `validatorUrl: null`: Swagger UI would otherwise send the description to an
    online validator."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        return _PAGE.format(title=title, assets=ASSETS_PATH, spec="/schema/openapi.json").encode()
