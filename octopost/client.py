"""A client of Octopost's own HTTP API, for the posts command line and the MCP tools.

Both talk to the API, never to the services behind it: validation, publishing,
permissions and error messages are the API's, one code path. Two transports carry
the requests:
- `HttpTransport`: aiohttp to a running server (`octopost posts ...`, `octopost mcp`);
- `AppTransport`: an in-process ASGI call into the same Litestar app, with the
  caller's own `Authorization` header (the `/mcp` endpoint of `octopost serve`).

An error answer becomes `ApiError` carrying the API's code, message and details.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import msgspec

from octopost import __version__

#: statuses a post leaves by itself (publishing ends as published or failed)
IN_FLIGHT = frozenset({"publishing"})
USER_AGENT = f"octopost-client/{__version__}"


def outcomes(post: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(platform, state, link or error) for each of the post's platforms."""
    results = post.get("platform_results") or {}
    status = post.get("status")
    lines = []
    for platform in post.get("platforms", []):
        result = results.get(platform)
        if result is None:
            state = "sending" if status == "publishing" else "waiting"
            lines.append((platform, state, ""))
        elif result.get("success"):
            link = result.get("post_url") or result.get("post_id") or ""
            lines.append((platform, "simulated" if result.get("simulated") else "ok", link))
        else:
            why = result.get("error") or "failed"
            extra = [result.get("error_category") or ""]
            if result.get("retryable"):
                extra.append("retryable")
            note = ", ".join(e for e in extra if e)
            lines.append((platform, "failed", f"{why} ({note})" if note else why))
    return lines


class ApiError(Exception):
    """The API answered with an error (`{"error": {...}}`)."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    @classmethod
    def of(cls, status: int, body: Any) -> ApiError:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(status, "error", f"HTTP {status} without an Octopost error body")
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
        return cls(status, str(error.get("code", "error")), str(error.get("message", "")), details)

    def lines(self) -> list[str]:
        """The message, then one line per detail (`field: message`)."""
        out = [self.message]
        for detail in self.details:
            field, message = detail.get("field"), detail.get("message")
            line = f"{field}: {message}" if field else str(message)
            if line not in self.message:  # the API's message often sums its details up
                out.append(line)
        return out


class UnreachableError(Exception):
    """No answer from the server (refused, timed out, not HTTP)."""


class Transport(Protocol):
    async def send(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        """(status, body) of one request; `target` is a path with its query."""
        ...

    async def close(self) -> None: ...


class HttpTransport:
    """Requests to a running Octopost over HTTP, with a Bearer key."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        # JSON asked for: the OAuth callback answers a page otherwise
        self._headers = {
            "Authorization": f"Bearer {key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        self._timeout = timeout
        self._session: Any = None

    async def send(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        # Imported on first use: every `octopost` command imports this module to build its
        # parser, and aiohttp alone would double their start-up time.
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            async with self._session.request(
                method, self.base_url + target, data=body, headers=headers
            ) as resp:
                return resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise UnreachableError(f"Cannot reach Octopost at {self.base_url}: {reason}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AppTransport:
    """Requests into an ASGI app in this process (the API the app itself serves).

    Used by `/mcp`: each tool call is an API request carrying the caller's own
    `Authorization` header, so the key's permissions, sandbox and every check of
    the route apply exactly as over the network."""

    def __init__(self, app: Any, authorization: str) -> None:
        self.app = app
        self.authorization = authorization

    async def send(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        path, _, query = target.partition("?")
        headers = [
            (b"host", b"octopost.internal"),
            (b"authorization", self.authorization.encode("latin-1")),
            (b"user-agent", b"octopost-mcp"),
        ]
        if body is not None:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 0),
            "server": ("octopost.internal", 80),
            "state": {},
        }
        done = asyncio.Event()
        sent = False
        status = 500
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body or b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
        finally:
            done.set()
        return status, b"".join(chunks)

    async def close(self) -> None:
        return None


def _pid(post_id: str) -> str:
    return quote(post_id, safe="")


class Client:
    """The API's post and account operations, answered as decoded JSON."""

    def __init__(
        self,
        transport: Transport,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.sleep = sleep
        self.clock = clock

    async def call(
        self, method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        """One request; the decoded answer (None for 204), or ApiError."""
        wanted = {k: v for k, v in (query or {}).items() if v is not None}
        target = path + ("?" + urlencode(wanted) if wanted else "")
        body = msgspec.json.encode(json) if json is not None else None
        status, raw = await self.transport.send(method, target, body)
        try:
            data = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            data = None
        if status >= 400:
            raise ApiError.of(status, data)
        return data

    async def close(self) -> None:
        await self.transport.close()

    async def create_post(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/v1/posts", json=body)
        return result

    async def update_post(self, post_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("PUT", f"/v1/posts/{_pid(post_id)}", json=changes)
        return result

    async def get_post(self, post_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/v1/posts/{_pid(post_id)}")
        return result

    async def list_posts(
        self, *, status: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> dict[str, Any]:
        query = {"status": status, "limit": limit, "offset": offset}
        result: dict[str, Any] = await self.call("GET", "/v1/posts", query=query)
        return result

    async def delete_post(self, post_id: str) -> None:
        await self.call("DELETE", f"/v1/posts/{_pid(post_id)}")

    async def publish(self, post_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/v1/posts/{_pid(post_id)}/publish")
        return result

    async def retry(self, post_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """`body`: the API's RetryRequest (`{"platforms": [...]}`), or None for all failed."""
        result: dict[str, Any] = await self.call(
            "POST", f"/v1/posts/{_pid(post_id)}/retry", json=body
        )
        return result

    async def validate(
        self, body: dict[str, Any] | None = None, *, post_id: str | None = None
    ) -> dict[str, Any]:
        query = {"post_id": post_id} if post_id is not None else None
        result: dict[str, Any] = await self.call(
            "POST", "/v1/posts/validate", json=body, query=query
        )
        return result

    async def list_accounts(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/v1/accounts")
        return result

    async def delete_account(self, account_id: str) -> None:
        await self.call("DELETE", f"/v1/accounts/{_pid(account_id)}")

    async def start_connect(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/accounts/connect: {authorize_url, state, expires_at}."""
        result: dict[str, Any] = await self.call("POST", "/v1/accounts/connect", json=body)
        return result

    async def oauth_callback(self, platform: str, query: dict[str, str]) -> dict[str, Any]:
        """What the platform sent back to a redirect URI, handed to the server's callback."""
        result: dict[str, Any] = await self.call(
            "GET", f"/v1/oauth/callback/{_pid(platform)}", query=query
        )
        return result

    async def choose(self, connection: str, choice: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "POST", f"/v1/accounts/connect/{_pid(connection)}/choose", json={"choice": choice}
        )
        return result

    async def wait_final(self, post: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """Poll the post until it is no longer publishing (or `timeout` seconds pass:
        then the last state seen, still `publishing`)."""
        deadline = self.clock() + timeout
        delay = 0.2
        while post.get("status") in IN_FLIGHT and self.clock() < deadline:
            await self.sleep(min(delay, max(0.0, deadline - self.clock())))
            delay = min(delay * 1.5, 2.0)
            post = await self.get_post(str(post["id"]))
        return post
