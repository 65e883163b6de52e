"""A local web server standing in for the public URLs of media and link pages.

Serves a small real JPEG (64x48), PNG (32x32), an MP4 (valid ftyp/moov boxes,
not playable), HTML pages with Open Graph tags, and counts every GET so tests
can prove media are downloaded once per publish.

Pages behave like real ones: `page.html` is about 40 kB, declares its encoding in a
`<meta charset>` only (no charset in Content-Type), and is sent chunked in several
writes; `stream()` serves any page piece by piece, optionally holding a piece back
until the test opens a gate, so a head can arrive in parts with a pause between them.
"""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web

JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4"
    "UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAwAEADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcI"
    "CQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRol"
    "JicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ip"
    "qrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAA"
    "AAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLR"
    "ChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaX"
    "mJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEA"
    "PwDHooorhPqAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKAP/2Q=="
)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG = _png(32, 32)
# ftyp + moov + mdat boxes: enough for sniffers; fakes never decode video.
MP4 = (
    struct.pack(">I", 24)
    + b"ftypisom"
    + b"\x00\x00\x02\x00"
    + b"isomiso2"
    + struct.pack(">I", 8)
    + b"moov"
    + struct.pack(">I", 8 + 300_000)
    + b"mdat"
    + bytes(range(256)) * (300_000 // 256)
    + bytes(300_000 % 256)
)

#: a head the size of a real one: the charset first, then ~40 kB of inline style before the tags
OG_PAGE = (
    b'<!doctype html><html><head>\n<meta charset="utf-8"><title>Plain title</title>\n<style>'
    + b".c{color:#123456;margin:0 auto;padding:1px}\n" * 900
    + '</style>\n<meta property="og:title" content="Octopost &amp; friends \u2014 caf\u00e9">\n'
    '<meta property="og:description" content="A page with Open Graph tags.">\n'
    '<meta property="og:image" content="/image.jpg">\n</head><body><p>hello</p></body></html>'.encode()
)
OG_TITLE = "Octopost & friends \u2014 caf\u00e9"


@dataclass
class StreamedPage:
    """A page sent in `pieces`; with `gate`, everything after the first piece waits for it."""

    pieces: list[bytes]
    content_type: str = "text/html"
    gate: asyncio.Event | None = None
    #: set once the first piece is written (and the server waits for the gate)
    first_sent: asyncio.Event = field(default_factory=asyncio.Event)


class MediaServer:
    """127.0.0.1 server: /image.jpg, /image.png, /video.mp4, /page.html, /big.bin."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.streams: dict[str, StreamedPage] = {
            "page.html": StreamedPage(
                [OG_PAGE[:1500], OG_PAGE[1500:20_000], OG_PAGE[20_000:]], "text/html"
            )
        }
        self.url = ""
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/{name}", self._serve)
        self.app = app

    FILES = {
        "image.jpg": ("image/jpeg", JPEG),
        "image2.jpg": ("image/jpeg", JPEG),
        "image3.jpg": ("image/jpeg", JPEG),
        "image4.jpg": ("image/jpeg", JPEG),
        "image.png": ("image/png", PNG),
        "video.mp4": ("video/mp4", MP4),
        "thumb.jpg": ("image/jpeg", JPEG),
    }

    def stream(self, name: str, page: StreamedPage) -> StreamedPage:
        self.streams[name] = page
        return page

    async def _stream(self, request: web.Request, page: StreamedPage) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": page.content_type})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for number, piece in enumerate(page.pieces):
            if number == 1:
                page.first_sent.set()
                if page.gate is not None:  # bounded: a test that never opens it still ends
                    await asyncio.wait_for(page.gate.wait(), timeout=30)
            await resp.write(piece)
        await resp.write_eof()
        return resp

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] += 1
        if name == "big.bin":
            return web.Response(
                body=bytes(64 * 1024 * 1024), content_type="application/octet-stream"
            )
        if name in self.streams:
            return await self._stream(request, self.streams[name])
        if name not in self.FILES:
            return web.Response(status=404, text="not found")
        ctype, body = self.FILES[name]
        return web.Response(body=body, headers={"Content-Type": ctype})

    def at(self, name: str) -> str:
        return f"{self.url}/{name}"

    async def start(self) -> MediaServer:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
