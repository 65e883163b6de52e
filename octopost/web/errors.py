"""The one place that maps errors to HTTP: status codes and the one JSON error shape.

{"error": {"code": "validation_error", "message": "...",
           "details": [{"field": "platforms[1]", "message": "..."}], "request_id": "..."}}
"""

from __future__ import annotations

import html
import logging
import math
import re
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from octopost import errors
from octopost.errors import in_words
from octopost.web.requestlog import current_request_id
from octopost.web.schemas import ErrorBody, ErrorDetail, ErrorResponse

log = logging.getLogger("octopost.web")

DOMAIN_STATUS: dict[type[errors.OctopostError], int] = {
    errors.ValidationError: 422,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.AuthenticationError: 401,
    errors.ForbiddenError: 403,
    errors.StorageFullError: 503,
    errors.ConnectError: 400,
    errors.UpstreamError: 502,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "platform_unavailable",
    503: "unavailable",
}

_PATH = re.compile(r"at `\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorResponse]:
    body = ErrorResponse(ErrorBody(code, message, details or [], current_request_id()))
    if status < 500:
        # The reason beside the access line ("POST /v1/posts/…/publish 422"): what was
        # refused and why. Messages never carry secrets (keys, tokens, webhook secrets).
        log.info("refused with %d %s: %s", status, code, message)
    return Response(body, status_code=status, headers=headers, media_type=MediaType.JSON)


def _auth_headers() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="octopost"'}


def _for_browser(request: Request[Any, Any, Any]) -> bool:
    """A route a browser lands on (the OAuth callback) and a client that did not ask
    for JSON: the error is shown as a page, or sent back to the flow's `return_to`."""
    handler = request.scope.get("route_handler")
    if handler is None or not handler.opt.get("browser_errors"):
        return False
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def browser_error(status: int, code: str, message: str, return_to: str | None) -> Response[Any]:
    if return_to:
        joiner = "&" if "?" in return_to else "?"
        query = urlencode({"error": code, "error_description": message})
        return Response(
            None,
            status_code=303,
            headers={"Location": return_to + joiner + query, "Cache-Control": "no-store"},
        )
    log.info("refused with %d %s: %s", status, code, message)
    request_id = current_request_id()
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Not connected · Octopost"
        "</title><body style='font-family:system-ui,sans-serif;max-width:34rem;margin:4rem "
        "auto;padding:0 1rem;line-height:1.5'><h1 style='font-size:1.4rem'>Not connected</h1>"
        f"<p>{html.escape(message)}</p><p><small>{html.escape(code)}"
        f"{' · request ' + html.escape(request_id) if request_id else ''}</small></p>"
    )
    return Response(
        body,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def domain_handler(request: Request[Any, Any, Any], exc: errors.OctopostError) -> Response[Any]:
    status = next((s for kind, s in DOMAIN_STATUS.items() if isinstance(exc, kind)), 400)
    if _for_browser(request):
        back = exc.return_to if isinstance(exc, errors.ConnectError) else None
        return browser_error(status, exc.code, exc.message, back)
    details = [ErrorDetail(d.field, d.message, d.meta) for d in exc.details]
    headers = _auth_headers() if status == 401 else None
    if isinstance(exc, errors.UpstreamError) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    return error_response(status, exc.code, exc.message, details, headers)


_BODY_REQUIRED = "The request body is required: send a JSON object"


def _field_of(msgspec_error: BaseException | None) -> tuple[str, str] | None:
    """(field path, message) from the msgspec error behind a Litestar ValidationException."""
    if not isinstance(msgspec_error, msgspec.ValidationError):
        return None
    text = str(msgspec_error)
    match = _PATH.search(text)
    path = match.group(1) if match else ""
    message = _PATH.sub("", text).strip(" -")
    if path == "data":
        path = ""
    elif path.startswith("data."):
        path = path[len("data.") :]
    elif path.startswith("data["):
        path = path[len("data") :]
    unknown = _UNKNOWN.match(message)
    missing = _MISSING.match(message)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        message = "unknown field"
    elif missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
        message = "this field is required"
    if path == "data" and message == "this field is required":
        return "body", _BODY_REQUIRED
    return path or "body", in_words(message)


def validation_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[ErrorResponse]:
    """Invalid parameters or body: 422 naming the query parameter or the body field."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    params: list[ErrorDetail] = []
    body: list[ErrorDetail] = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = str(item.get("key") or "")
        raw_source = item.get("source") or ""
        source = str(getattr(raw_source, "value", raw_source))
        message = in_words(str(item.get("message", "invalid")))
        if source in ("query", "path", "header", "cookie"):
            params.append(ErrorDetail(key, message))
        elif key == "data" and "required" in message:
            body.append(ErrorDetail("body", _BODY_REQUIRED))
        else:
            body.append(ErrorDetail(key or "body", message))
    parsed = _field_of(exc.__cause__)
    if parsed is not None and not params and len(body) <= 1:
        body = [ErrorDetail(*parsed)]
    if not params and not body:
        body.append(ErrorDetail("body", exc.detail))
    parts = [f"query parameter '{d.field}': {d.message}" for d in params]
    parts += [d.message if d.message == _BODY_REQUIRED else f"{d.field}: {d.message}" for d in body]
    if params and not body:
        summary = "Invalid " + "; ".join(parts)
    elif body and not params:
        summary = (
            _BODY_REQUIRED
            if [d.message for d in body] == [_BODY_REQUIRED]
            else "Invalid request body: " + "; ".join(parts)
        )
    else:
        summary = "Invalid request: " + "; ".join(parts)
    return error_response(422, "validation_error", summary, params + body)


#: msgspec's words for a body that stops before its JSON value does (or has none)
_TRUNCATED = "Input data was truncated"


def _malformed(exc: BaseException) -> str | None:
    """What is wrong with a body that is not JSON at all (msgspec's decode error behind
    the exception), in the one wording of the API; None for any other 400."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, msgspec.DecodeError) and not isinstance(
            cause, msgspec.ValidationError
        ):
            text = str(cause)
            if text == _TRUNCATED:
                return (
                    "Malformed JSON body: it ends before its JSON value is complete, or holds none"
                )
            return "Malformed JSON body: " + text.removeprefix("JSON is malformed: ")
        cause = cause.__cause__
    return None


def http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorResponse]:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException):
        return error_response(401, "unauthorized", exc.detail, headers=_auth_headers())
    if isinstance(exc, PermissionDeniedException):
        return error_response(403, "forbidden", exc.detail)
    if isinstance(exc, NotFoundException):
        return error_response(404, "not_found", f"No route for {request.method} {request.url.path}")
    if isinstance(exc, MethodNotAllowedException):
        return error_response(
            405,
            "method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}",
            headers=dict(exc.headers or {}),
        )
    if status == 413:
        return error_response(413, "payload_too_large", "The request body is larger than 1 MiB")
    if status == 400:
        detail = _malformed(exc) or str(exc.detail)
        if "JSON" in detail and not detail.startswith("Malformed JSON body"):
            detail = f"Malformed JSON body: {detail}"
        return error_response(400, "bad_request", detail)
    if status >= 500:
        log.error("server error %s: %s", status, exc.detail)
        return error_response(
            status, HTTP_CODES.get(status, "internal_error"), "Internal server error"
        )
    return error_response(status, HTTP_CODES.get(status, "error"), str(exc.detail))


def unexpected_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "Internal server error; the details are in the server log"
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.OctopostError: domain_handler,
    ValidationException: validation_handler,
    HTTPException: http_handler,
    Exception: unexpected_handler,
}


def response_for(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The answer to `exc` outside Litestar's exception layer (`web/fastpath.py`): the
    handler the app would pick (the most specific class first, as listed above)."""
    handler = next(h for kind, h in EXCEPTION_HANDLERS.items() if isinstance(exc, kind))
    response: Response[Any] = handler(request, exc)
    return response
