"""Fetching user-supplied URLs (media, link-card pages) safely.

Downloads are streamed to temporary files with a size cap, happen once per
publish (shared by every adapter of that publish), and never reach loopback,
private, link-local or otherwise non-public addresses unless config allows it.
The check is `netguard`'s: it runs on the addresses the connection actually
uses, so DNS rebinding and redirects cannot slip past it. A download that fails
on the network (DNS, refused, reset) is a retryable network error, not a media
error.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from octopost import netguard
from octopost.platforms._http import LazySession
from octopost.platforms.base import Download
from octopost.platforms.errors import MediaError, PlatformError, UnavailableError

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.abc import AbstractResolver

MAX_REDIRECTS = 5
#: where a page's head is over (the `body` start tag also ends it: `</head>` is optional)
_HEAD_END = re.compile(rb"</head|<body[\s>/]", re.IGNORECASE)


def check_url(url: str, allow_private: bool) -> None:
    """Refuse what is not a valid http(s) URL, and literal non-public hosts (names are
    checked on the addresses they resolve to, at connect)."""
    try:
        parts = netguard.parse_http_url(url)
    except netguard.InvalidUrlError as exc:
        raise MediaError(f"Unsupported media URL {url!r}: {exc}") from None
    if allow_private:
        return
    problem = netguard.literal_problem(parts.hostname or "")
    if problem is not None:
        raise MediaError(f"Refusing to fetch {url}: it {problem}")


def _network_error(what: str, url: str, exc: BaseException) -> PlatformError:
    """A failed connection: refused by the guard (permanent), else a network error (retryable)."""
    if netguard.blocked(exc):
        return MediaError(f"Refusing to fetch {url}: it {netguard.PRIVATE_MESSAGE}")
    return UnavailableError(f"Could not {what} {url}: {netguard.network_reason(exc)}", network=True)


class Fetcher:
    """Guarded HTTP GETs for user-supplied URLs. One per process."""

    def __init__(
        self,
        *,
        allow_private: bool,
        max_bytes: int,
        timeout: float = 60.0,
        tmp_dir: Path | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.tmp_dir = tmp_dir
        self._session = LazySession.guarded(
            allow_private,
            user_agent="Octopost/0.1 (+self-hosted cross-poster)",
            resolver=resolver,
            limit=50,
        )

    def session(self) -> aiohttp.ClientSession:
        return self._session.get()

    async def close(self) -> None:
        await self._session.close()

    async def url_problem(self, url: str) -> str | None:
        """Why the guard would refuse to fetch `url` (None when it may be fetched).

        A name that does not resolve now is no reason: the publish retries it."""
        if self.allow_private:
            return None
        try:
            parts = netguard.parse_http_url(url)
        except netguard.InvalidUrlError as exc:
            return str(exc)
        problem = await netguard.resolve_problem(parts.hostname or "", parts.port)
        return problem if problem == netguard.PRIVATE_MESSAGE else None

    async def _open(self, url: str) -> aiohttp.ClientResponse:
        """GET with redirects followed by hand, so every hop passes the guard."""
        import aiohttp

        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, self.allow_private)
            try:
                resp = await self.session().get(
                    url,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=self.timeout, connect=10),
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                raise _network_error("download", url, exc) from exc
            if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                resp.release()
                try:
                    url = urljoin(url, resp.headers["Location"])
                except ValueError:
                    raise MediaError(
                        f"Could not download {url}: it redirects to an invalid URL"
                    ) from None
                continue
            if resp.status != 200:
                resp.release()
                raise MediaError(f"Could not download {url}: HTTP {resp.status}")
            return resp
        raise MediaError(f"Could not download {url}: too many redirects")

    async def download(self, url: str, directory: Path) -> Download:
        import aiohttp

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
            raise _network_error("download", url, exc) from exc
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        finally:
            resp.release()
        return Download(url=url, path=path, size=size, content_type=ctype, filename=name)

    async def fetch_page(self, url: str, max_bytes: int = 1_000_000) -> tuple[str, bytes]:
        """The page's content type and its bytes up to the end of its head (or `max_bytes`).

        Reads piece by piece until `</head>` or `<body` has arrived, the body ends or the cap
        is reached: one network read returns only what happens to be buffered, which for a
        head sent in several writes, or a large one, is the first part only.
        """
        import aiohttp

        resp = await self._open(url)
        body = bytearray()
        try:
            ctype = resp.headers.get("Content-Type", "")
            async for piece in resp.content.iter_any():
                searched = max(0, len(body) - len(b"</head"))  # a marker split across pieces
                body += piece
                if len(body) >= max_bytes or _HEAD_END.search(body, searched):
                    break
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _network_error("fetch", url, exc) from exc
        finally:
            resp.release()
        return ctype, bytes(body[:max_bytes])


def _failed_transiently(task: asyncio.Task[Download]) -> bool:
    if not task.done() or task.cancelled():
        return False
    error = task.exception()
    return isinstance(error, PlatformError) and error.retryable


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
        if task is None or _failed_transiently(task):
            # a network failure is retried by the publisher: download again then
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
