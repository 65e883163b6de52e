"""One log line per request, a request id tying lines together, and the log format.

The request id comes from a sane client `X-Request-ID` or is generated; it is
returned in the `X-Request-ID` header and in error bodies, and every log line
written while the request is handled carries it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from octopost.keys import random_bytes

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("octopost.http")


def current_request_id() -> str | None:
    return request_id_var.get()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: attributes every LogRecord has; anything else came in through `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",  # uvicorn's coloured copy of the message
}


def escape_controls(text: str) -> str:
    """Control characters as visible escapes (\\n, \\r, \\x00, \\u2028): one event, one line."""

    def visible(match: re.Match[str]) -> str:
        char = match.group()
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
        if named:
            return named
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(visible, text)


class SafeFormatter(logging.Formatter):
    """The one place log text is made safe: whatever a message or its `extra=` fields
    carry (a request path with %0A, a remote error text), it cannot start a line of
    its own. Tracebacks keep their line breaks but every line of one is indented, so
    an exception message carrying input cannot pass for a record either."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging API)
        fields = vars(record)
        extras = (
            [
                f"{key}={value}"
                for key, value in fields.items()
                if key not in _STANDARD and not key.startswith("_")
            ]
            if fields.keys() - _STANDARD  # most records have no `extra=` fields
            else None
        )
        message = record.message + (" " + " ".join(extras) if extras else "")
        record.message = escape_controls(message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging API)
        text = super().formatException(ei)
        return "\n".join("  " + escape_controls(line) for line in text.splitlines())


def setup_logging(level: str) -> None:
    """Log to stderr, one line per event: time, level, logger, request id, message."""
    # No line shows where a call was made or by which thread or process: logging need not
    # find out. The caller lookup walks the stack on every record (~20-30 µs of a line
    # from deep in the publisher; the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        SafeFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_octopost", False):
            root.removeHandler(existing)
    handler._octopost = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("aiosqlite", "apscheduler", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class RequestLog:
    """ASGI wrapper: request id, timing and the access line (also for 404/405)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        rid = incoming if incoming and _SAFE_ID.match(incoming) else random_bytes(8).hex()
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1fms", scope.get("method"), scope.get("path"), status, elapsed)
            request_id_var.reset(token)
