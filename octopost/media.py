"""Fetching user-supplied URLs (media, link-card pages) safely.

Downloads are streamed to temporary files with a size cap, happen once per
publish (shared by every adapter of that publish), and never reach loopback,
private, link-local or otherwise non-public addresses unless config allows it.
The check runs on the addresses the connection will actually use (a resolver
wrapper), so DNS rebinding cannot slip past it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import mimetypes
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from octopost.platforms.base import Download
from octopost.platforms.errors import MediaError

MAX_REDIRECTS = 5


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class BlockedAddressError(OSError):
    """Raised at connect time for a non-public address."""


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then drops non-public addresses."""

    def __init__(self, allow_private: bool) -> None:
        self.inner = aiohttp.ThreadedResolver()
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if self.allow_private:
            return results
        public = [r for r in results if is_public_address(r["host"])]
        if not public:
            raise BlockedAddressError(f"{host} resolves only to non-public addresses")
        return public

    async def close(self) -> None:
        await self.inner.close()


def check_url(url: str, allow_private: bool) -> None:
    """Reject non-http(s) URLs and literal non-public IPs (names are checked at connect)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MediaError(f"Unsupported media URL: {url}")
    if allow_private:
        return
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise MediaError(f"Refusing to fetch {url}: it points at a private address")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not is_public_address(str(literal)):
        raise MediaError(f"Refusing to fetch {url}: it points at a private address")


class Fetcher:
    """Guarded HTTP GETs for user-supplied URLs. One per process."""

    def __init__(
        self,
        *,
        allow_private: bool,
        max_bytes: int,
        timeout: float = 60.0,
        tmp_dir: Path | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.tmp_dir = tmp_dir
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.allow_private), limit=50)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": "Octopost/0.1 (+self-hosted cross-poster)"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _open(self, url: str) -> aiohttp.ClientResponse:
        """GET with redirects followed by hand, so every hop passes the guard."""
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, self.allow_private)
            try:
                resp = await self.session().get(
                    url,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=self.timeout, connect=10),
                )
            except BlockedAddressError as exc:
                raise MediaError(f"Refusing to fetch {url}: {exc}") from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                if isinstance(exc.__cause__, BlockedAddressError) or "non-public" in str(exc):
                    raise MediaError(
                        f"Refusing to fetch {url}: it points at a private address"
                    ) from exc
                raise MediaError(f"Could not download {url}: {exc.__class__.__name__}") from exc
            if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                location = urljoin(url, resp.headers["Location"])
                resp.release()
                url = location
                continue
            if resp.status != 200:
                resp.release()
                raise MediaError(f"Could not download {url}: HTTP {resp.status}")
            return resp
        raise MediaError(f"Could not download {url}: too many redirects")

    async def download(self, url: str, directory: Path) -> Download:
        resp = await self._open(url)
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        declared = resp.content_length
        if declared is not None and declared > self.max_bytes:
            resp.release()
            raise MediaError(f"{url} is {declared} bytes; the limit is {self.max_bytes}")
        name = Path(urlsplit(url).path).name or "media"
        if not ctype or ctype == "application/octet-stream":
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        fd, raw_path = tempfile.mkstemp(dir=directory, prefix="media-")
        path = Path(raw_path)
        size = 0
        try:
            fh = await asyncio.to_thread(os.fdopen, fd, "wb")
            with fh:
                async for piece in resp.content.iter_chunked(256 * 1024):
                    size += len(piece)
                    if size > self.max_bytes:
                        raise MediaError(
                            f"{url} is larger than the limit of {self.max_bytes} bytes"
                        )
                    await asyncio.to_thread(fh.write, piece)
        except (aiohttp.ClientError, TimeoutError) as exc:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise MediaError(f"Could not download {url}: {exc.__class__.__name__}") from exc
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        finally:
            resp.release()
        return Download(url=url, path=path, size=size, content_type=ctype, filename=name)

    async def fetch_page(self, url: str, max_bytes: int = 1_000_000) -> tuple[str, bytes]:
        resp = await self._open(url)
        try:
            ctype = resp.headers.get("Content-Type", "")
            body = await resp.content.read(max_bytes)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaError(f"Could not fetch {url}: {exc.__class__.__name__}") from exc
        finally:
            resp.release()
        return ctype, body


class PublishMedia:
    """The media of one publish: each URL downloaded at most once, removed afterwards."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._tasks: dict[str, asyncio.Task[Download]] = {}
        self._dir: Path | None = None

    async def fetch(self, url: str) -> Download:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="octopost-", dir=self.fetcher.tmp_dir))
        task = self._tasks.get(url)
        if task is None:
            task = asyncio.ensure_future(self.fetcher.download(url, self._dir))
            self._tasks[url] = task
        # shield: one adapter giving up must not cancel a download others wait for
        return await asyncio.shield(task)

    async def close(self) -> None:
        for task in self._tasks.values():
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    async def __aenter__(self) -> PublishMedia:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
