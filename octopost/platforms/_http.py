"""Shared aiohttp plumbing for adapters: timeouts and error translation, in one place.

Every network failure and every non-2xx answer becomes a `PlatformError`
subclass here (`raise ... from exc`), so nothing above `platforms/` sees aiohttp.

Requests to hosts the operator configured (`[platforms.<id>]` URLs and the
adapters' public defaults) use the plain session; every other host (a user's
Mastodon instance or Bluesky PDS, an upload URL a platform handed back) goes
through `netguard`'s guarded session, so user input can never make Octopost
call a loopback, private or link-local address with a token attached.

Whether a failed request may have reached the platform matters: a connection
that was never established is safe to retry; a timeout or reset after the
request was sent is an unknown outcome unless the caller says the request is
safe to repeat (GET, or a create guarded by an idempotency key).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from yarl import URL

from octopost import netguard
from octopost.platforms._text import parse_timestamp
from octopost.platforms.errors import (
    AddressRefusedError,
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    RejectedError,
    UnavailableError,
)

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.abc import AbstractResolver

log = logging.getLogger("octopost.platforms")

_json_decoder = msgspec.json.Decoder()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
T = TypeVar("T")

#: The one text of an expired or revoked login, on every platform.
RECONNECT = "Token expired. Reconnect your {label} account."


def reconnect_message(label: str) -> str:
    return RECONNECT.format(label=label)


def expired(label: str, *, status: int | None = None) -> AuthExpiredError:
    """The platform no longer accepts the account's token: refresh once, else reconnect."""
    return AuthExpiredError(reconnect_message(label), status=status)


@dataclass
class Response:
    """A complete platform answer (body read)."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    #: who answered (the label the client was bound to), for messages
    label: str = "The platform"

    def decode(self, kind: type[T]) -> T:
        """The body as `kind`, a msgspec type holding only the fields the adapter uses.

        An answer of another shape is an `UnavailableError`: the platform (or a proxy in
        front of it) did not answer as its API does. The body is never repeated in the
        message: it is not ours to show.
        """
        try:
            return msgspec.json.decode(self.body, type=kind)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise UnavailableError(
                f"{self.label} sent an answer that is not what its API returns "
                f"(HTTP {self.status})",
                status=self.status,
            ) from exc

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON (proxy HTML pages)."""
        if not self.body:
            return None
        try:
            return _json_decoder.decode(self.body)
        except msgspec.DecodeError:
            return None

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace")


#: Given a non-accepted response and the time now (epoch seconds), the error to raise, or
#: None for the default mapping. Every adapter's `api.classify` has this shape.
Classifier = Callable[[Response, float], PlatformError | None]
#: Extracts the platform's human-readable reason from an error response.
ReasonFn = Callable[[Response], str | None]


def chain(*classifiers: Classifier | None) -> Classifier:
    """One classifier trying `classifiers` in order (the first answer wins)."""
    rules = [c for c in classifiers if c is not None]

    def classify(resp: Response, now: float) -> PlatformError | None:
        for rule in rules:
            error = rule(resp, now)
            if error is not None:
                return error
        return None

    return classify


def parse_reset(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After / *-reset header value.

    Accepts delta seconds ("30"), epoch seconds ("1767614700", as X and Bluesky
    send), ISO 8601 ("2026-01-05T12:05:00.000000Z", as Mastodon sends) and
    HTTP dates ("Wed, 21 Oct 2026 07:28:00 GMT").
    """
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if number > 1_000_000_000:  # an absolute epoch timestamp
            return max(0.0, number - now)
        return max(0.0, number)
    when = parse_timestamp(value)  # ISO 8601 (an HTTP date is not one)
    if when is not None:
        return max(0.0, when - now)
    try:
        date = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, date.timestamp() - now)


RESET_HEADERS = (
    "retry-after",
    "x-rate-limit-reset",
    "x-ratelimit-reset",
    "ratelimit-reset",
    "x-app-usage-reset",
)


def retry_after(
    headers: Mapping[str, str], now: float, names: tuple[str, ...] = RESET_HEADERS
) -> float | None:
    """The delay a platform asked for, from the first of `names` present."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        delay = parse_reset(lowered.get(name), now)
        if delay is not None:
            return delay
    return None


def default_reason(resp: Response) -> str | None:
    """Common error-body shapes: {"error": "..."}, {"error": {"message": ...}}, {"message": ...}."""
    data = resp.json()
    if isinstance(data, dict):
        for key in ("error_description", "detail", "message", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict):
                inner = value.get("message")
                if isinstance(inner, str) and inner:
                    return inner
    return None


class LazySession:
    """An aiohttp session made by its first use (in the running loop), so that a start
    does not import aiohttp (~0.25 s, most of it loading the CA bundle); the start-up
    warm-up (`octopost.warmup`) imports it in a worker thread soon after."""

    def __init__(self, make: Callable[[], aiohttp.ClientSession]) -> None:
        self._make = make
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def guarded(
        cls,
        allow_private: bool,
        *,
        user_agent: str,
        resolver: AbstractResolver | None = None,
        **limits: int,
    ) -> LazySession:
        """A session through the address guard (`guarded.guarded_connector`: public
        addresses only, unless `allow_private`)."""

        def make() -> aiohttp.ClientSession:
            import aiohttp

            from octopost.guarded import guarded_connector

            return aiohttp.ClientSession(
                headers={"User-Agent": user_agent},
                connector=guarded_connector(allow_private, resolver=resolver, **limits),
            )

        return cls(make)

    def get(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = self._make()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _lazy(session: aiohttp.ClientSession | LazySession) -> LazySession:
    return session if isinstance(session, LazySession) else LazySession(lambda: session)


class HttpClient:
    """One aiohttp session shared by all adapters, with translation to platform errors.

    Adapters get a `PlatformHttp` bound to their label and error rules via `bind()`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | LazySession,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        guarded: aiohttp.ClientSession | LazySession | None = None,
        trusted: frozenset[str] = frozenset(),
    ) -> None:
        self.session = _lazy(session)
        self.timeout = timeout
        self.clock = clock
        #: session for hosts not in `trusted` (None: no guard, every host is trusted)
        self.guarded = None if guarded is None else _lazy(guarded)
        #: `host:port` of the configured platform endpoints
        self.trusted = trusted

    async def close(self) -> None:
        await self.session.close()
        if self.guarded is not None:
            await self.guarded.close()

    def session_for(self, url: str | URL) -> aiohttp.ClientSession:
        """The plain session for a configured endpoint, else the guarded one (the literal
        address is refused here, before any connection)."""
        if self.guarded is None:
            return self.session.get()
        try:
            parsed = URL(str(url)) if not isinstance(url, URL) else url
        except ValueError:
            raise RejectedError("The platform URL is not a valid http(s) URL") from None
        if endpoint_key(parsed.scheme, parsed.host or "", parsed.port) in self.trusted:
            return self.session.get()
        problem = netguard.literal_problem(parsed.host or "")
        if problem is not None:
            raise AddressRefusedError(f"Refusing to connect to {parsed.host}: it {problem}")
        return self.guarded.get()

    def bind(
        self,
        label: str,
        *,
        reason: ReasonFn = default_reason,
        classify: Classifier | None = None,
        clock: Callable[[], float] | None = None,
    ) -> PlatformHttp:
        return PlatformHttp(self, label, reason, classify, clock or self.clock)


class PlatformHttp:
    """Requests for one platform; raises typed `PlatformError`s.

    `clock` is the adapter's (the time reset headers are counted from).
    """

    def __init__(
        self,
        client: HttpClient,
        label: str,
        reason: ReasonFn,
        classify: Classifier | None,
        clock: Callable[[], float],
    ) -> None:
        self.client = client
        self.label = label
        self.reason = reason
        self.classify = classify
        self.clock = clock

    async def request(
        self,
        method: str,
        url: str | URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        safe_to_retry: bool | None = None,
        timeout: float | None = None,
        ok: tuple[int, ...] | None = None,
    ) -> Response:
        """Send one request and read the whole answer.

        `url`: a string, or a `yarl.URL(..., encoded=True)` to send it byte for byte
        (percent-encoded URNs in paths, signed upload URLs).
        `data`: a body, or a function building one: a stream or multipart body can be
        sent only once, so a caller that may repeat the request passes the function.
        `ok`: statuses returned instead of raised (default: any 2xx).
        `safe_to_retry`: whether repeating this request cannot create a second
        post (default: true for GET/PUT/DELETE, false for POST/PATCH).
        """
        import aiohttp  # imported once: by the warm-up after start, else by this first request

        method = method.upper()
        if callable(data):
            data = data()
        if safe_to_retry is None:
            safe_to_retry = method in SAFE_METHODS
        body_json = msgspec.json.encode(json) if json is not None else None
        req_headers = dict(headers or {})
        if body_json is not None:
            req_headers.setdefault("Content-Type", "application/json")
        client_timeout = aiohttp.ClientTimeout(
            total=timeout or self.client.timeout, connect=min(10.0, timeout or self.client.timeout)
        )
        started = time.monotonic()
        session = self.client.session_for(url)
        host = _host(url)
        try:
            async with session.request(
                method,
                url,
                headers=req_headers,
                params=params,
                data=body_json if body_json is not None else data,
                timeout=client_timeout,
                allow_redirects=method in ("GET", "HEAD"),
            ) as raw:
                body = await raw.read()
                resp = Response(raw.status, raw.headers, body, str(raw.url), self.label)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            if netguard.blocked(exc):
                raise AddressRefusedError(
                    f"Refusing to connect to {host}: it {netguard.PRIVATE_MESSAGE}"
                ) from exc
            # Never connected: the platform cannot have seen the request.
            raise UnavailableError(
                f"Could not reach {host}: {netguard.network_reason(exc)}", network=True
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            what = netguard.network_reason(exc)
            if safe_to_retry:
                # A repeat is safe, but this request may have done its work: say so, so
                # the delivery is never reported as a plain failure without a look.
                raise UnavailableError(
                    f"The request to {self.label} ({host}) failed: {what}", network=True, sent=True
                ) from exc
            raise OutcomeUnknownError(
                f"The request to {self.label} ({host}) failed after it was sent: {what}; the "
                f"post may or may not exist. Check your {self.label} account before re-posting."
            ) from exc
        log.debug(
            "platform call",
            extra={
                "platform": self.label,
                "method": method,
                "status": resp.status,
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        accepted = ok if ok is not None else tuple(range(200, 300))
        if resp.status in accepted:
            return resp
        raise self.error_for(resp)

    def error_for(self, resp: Response) -> PlatformError:
        """Map a non-accepted answer to a typed error (adapter classifier first)."""
        now = self.clock()
        if self.classify is not None:
            custom = self.classify(resp, now)
            if custom is not None:
                return custom
        reason = self.reason(resp) or f"HTTP {resp.status}"
        status = resp.status
        if status == 401:
            error = expired(self.label, status=status)
            error.detail = self.reason(resp)
            return error
        if status == 429:
            delay = retry_after(resp.headers, now)
            return RateLimitedError(
                f"{self.label} rate limit reached: {reason}", retry_after=delay, status=status
            )
        if status >= 500:
            return UnavailableError(
                f"{self.label} is unavailable (HTTP {status}): {reason}",
                status=status,
                # Only Retry-After: rate-limit reset headers on a 5xx describe the quota
                # window, not when the server will be back.
                retry_after=retry_after(resp.headers, now, ("retry-after",)),
            )
        return RejectedError(f"{self.label} rejected the post: {reason}", status=status)


def endpoint_key(scheme: str, host: str, port: int | None) -> str:
    """`host:port` of an endpoint, the port made explicit, for the trusted-host set."""
    default = 443 if scheme.lower() == "https" else 80
    return f"{host.lower().rstrip('.')}:{port or default}"


def trusted_endpoints(urls: list[str]) -> frozenset[str]:
    """The `host:port` keys of configured endpoint URLs (empty strings ignored)."""
    keys = set()
    for raw in urls:
        if raw:
            url = URL(raw)
            keys.add(endpoint_key(url.scheme, url.host or "", url.port))
    return frozenset(keys)


def _host(url: str | URL) -> str:
    """`host[:port]` of a request URL, for messages (never credentials or the path)."""
    try:
        parsed = URL(str(url))
    except ValueError:
        return "the platform"
    if parsed.explicit_port:
        return f"{parsed.host}:{parsed.port}"
    return parsed.host or "the platform"


async def bounded_poll(
    check: Callable[[], Any],
    *,
    interval: float,
    timeout: float,
    sleep: Callable[[float], Any] = asyncio.sleep,
    what: str = "processing",
    label: str = "The platform",
) -> Any:
    """Call `check()` until it returns a non-None value, at most `timeout` seconds of waiting.

    `check` is an async callable; raise from it to stop with an error.
    """
    waited = 0.0
    while True:
        result = await check()
        if result is not None:
            return result
        if waited >= timeout:
            raise UnavailableError(f"{label} {what} did not finish within {int(timeout)} s")
        await sleep(interval)
        waited += interval
