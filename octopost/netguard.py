"""The one URL validator and the one address guard for every URL a user supplies.

Every URL that comes from a user (media, thumbnails, link-card pages, webhook
receivers, a Mastodon `instance_url`, a Bluesky `pds_url`) is parsed by
`parse_http_url()`, so one set of rules and one message apply everywhere.

Connections to such URLs go through `guarded.guarded_connector()`: its resolver drops
non-public addresses and its socket factory refuses them again at connect time.
aiohttp skips the resolver for IP literals, so the socket check is what makes
the guard hold for literals, redirects and DNS rebinding alike. IPv6 forms that
carry an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) are
judged by the IPv4 address inside.

Hosts named in the config file (`[platforms.<id>] base_url` and friends) are the
operator's choice and are not guarded; see `HttpClient` in `platforms/_http.py`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import SplitResult, urlsplit

from octopost.models import MAX_URL  # longest URL accepted in any field

URL_MESSAGE = "must be a valid http(s) URL"
PRIVATE_MESSAGE = "points at a loopback, private or link-local address"

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
# Whitespace and control characters (C0, DEL, C1) never belong in a URL: a CR/LF
# would split a request line, a space is ambiguous.
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f]")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


class InvalidUrlError(ValueError):
    """Not a usable http(s) URL; the message is what a field error shows."""


class BlockedAddressError(OSError):
    """A connection to a non-public address was refused."""


def _valid_hostname(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    labels = host.removesuffix(".").split(".")
    for label in labels:
        if not label.isascii():
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError:
                return False
        if not _LABEL.match(label):
            return False
    # An all-numeric last label is no DNS name: it is an IPv4 literal (strictly dotted
    # quad), never one of the shorthands resolvers accept (`127.1`, `2130706433`).
    if labels[-1].isdigit():
        try:
            ipaddress.IPv4Address(host.removesuffix("."))
        except ValueError:
            return False
    return True


def parse_http_url(value: Any) -> SplitResult:
    """`value` split into parts, or InvalidUrlError: the one URL check of Octopost."""
    if not isinstance(value, str) or not value:
        raise InvalidUrlError(URL_MESSAGE)
    if len(value) > MAX_URL:
        raise InvalidUrlError(f"must be at most {MAX_URL} characters")
    if _FORBIDDEN.search(value):
        raise InvalidUrlError(URL_MESSAGE)
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError:
        raise InvalidUrlError(URL_MESSAGE) from None
    if parts.scheme.lower() not in ("http", "https") or port == 0:
        raise InvalidUrlError(URL_MESSAGE)
    host = parts.hostname or ""
    if "[" in parts.netloc:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            raise InvalidUrlError(URL_MESSAGE) from None
        if literal.version != 6 or "%" in host:
            raise InvalidUrlError(URL_MESSAGE)
    elif not _valid_hostname(host):
        raise InvalidUrlError(URL_MESSAGE)
    return parts


def url_problem(value: Any) -> str | None:
    """The field message for a bad URL, or None when it parses."""
    try:
        parse_http_url(value)
    except InvalidUrlError as exc:
        return str(exc)
    return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = ip.packed
    if ip in _NAT64 or (packed[:12] == bytes(12) and int(ip) > 1):  # NAT64, IPv4-compatible
        return ipaddress.IPv4Address(packed[12:])
    return None


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address (an embedded IPv4 must be one too)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]
        )
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:  # RFC 8215 local-use translation: private by definition
            return False
        inner = embedded_ipv4(ip)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


def literal_problem(host: str) -> str | None:
    """Why `host` (a URL's hostname) must not be contacted, judged without DNS; None if unknown."""
    host = host.lower().removesuffix(".")
    if host == "localhost" or host.endswith(".localhost"):
        return PRIVATE_MESSAGE
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked on the addresses it resolves to
    return None if is_public_address(host) else PRIVATE_MESSAGE


def host_of(parts: SplitResult) -> str:
    """`host[:port]` for messages (never the user:password part)."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


async def resolve_problem(host: str, port: int | None) -> str | None:
    """Why `host` must not be contacted after resolving it (None when it is public).

    For checks at input time (webhook creation, dry runs); connections made later
    are guarded again at connect time, so a name that changes is still caught."""
    problem = literal_problem(host)
    if problem is not None:
        return problem
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or 443, type=socket.SOCK_STREAM
        )
    except OSError:
        return f"the host '{host}' does not resolve"
    if not any(is_public_address(str(info[4][0])) for info in infos):
        return PRIVATE_MESSAGE
    return None


def blocked(exc: BaseException) -> bool:
    """Whether a client error was the guard refusing an address."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BlockedAddressError):
            return True
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BlockedAddressError):
            return True
        current = current.__cause__ or current.__context__
    return False


def network_reason(exc: BaseException) -> str:
    """What went wrong on the network, in words (never a library's class name)."""
    import aiohttp  # loaded by then: `exc` came from an aiohttp session

    if blocked(exc):
        return f"it {PRIVATE_MESSAGE}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "its name could not be resolved (DNS lookup failed)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "its TLS certificate could not be verified"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "the TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(os_error, socket.gaierror):
            return "its name could not be resolved (DNS lookup failed)"
        if os_error.strerror:
            return f"the connection failed ({os_error.strerror.lower()})"
        return "the connection failed"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "the connection timed out"
    if isinstance(exc, TimeoutError):
        return "it did not answer in time"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientConnectionResetError | ConnectionResetError):
        return "the connection was reset"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "it redirected too many times"
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return "the URL is not a valid http(s) URL"
    if isinstance(exc, OSError) and exc.strerror:
        return f"the connection failed ({exc.strerror.lower()})"
    return "the connection failed"
