"""Fetching user-supplied media: private-address guard, size cap, once per publish."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from octopost.media import Fetcher, PublishMedia
from octopost.platforms.errors import MediaError
from tests.fakes.media import MediaServer


async def test_private_addresses_are_refused_unless_allowed(
    media_server: MediaServer, tmp_path: Path
) -> None:
    guarded = Fetcher(allow_private=False, max_bytes=10_000_000)
    try:
        for url in (
            media_server.at("image.jpg"),
            "http://localhost/x.png",
            "http://10.0.0.1/x.png",
            "http://169.254.169.254/",
        ):
            with pytest.raises(MediaError, match="private"):
                await guarded.download(url, tmp_path)
        with pytest.raises(MediaError, match="Unsupported"):
            await guarded.download("file:///etc/passwd", tmp_path)
    finally:
        await guarded.close()
    open_fetcher = Fetcher(allow_private=True, max_bytes=10_000_000)
    try:
        got = await open_fetcher.download(media_server.at("image.jpg"), tmp_path)
        assert got.content_type == "image/jpeg" and got.size == got.path.stat().st_size > 0
    finally:
        await open_fetcher.close()


async def test_size_cap_stops_the_download(media_server: MediaServer, tmp_path: Path) -> None:
    fetcher = Fetcher(allow_private=True, max_bytes=1_000_000)
    try:
        with pytest.raises(MediaError, match="limit"):
            await fetcher.download(media_server.at("big.bin"), tmp_path)
        assert list(tmp_path.iterdir()) == []  # the partial file is gone
        with pytest.raises(MediaError, match="HTTP 404"):
            await fetcher.download(media_server.at("missing.png"), tmp_path)
    finally:
        await fetcher.close()


async def test_each_url_is_downloaded_once_per_publish(media_server: MediaServer) -> None:
    fetcher = Fetcher(allow_private=True, max_bytes=10_000_000)
    try:
        async with PublishMedia(fetcher) as media:
            results = await asyncio.gather(
                *(media.fetch(media_server.at("video.mp4")) for _ in range(5))
            )
            assert len({r.path for r in results}) == 1
            folder = results[0].path.parent
        assert media_server.hits["video.mp4"] == 1
        assert not folder.exists()  # cleaned up after the publish
    finally:
        await fetcher.close()
