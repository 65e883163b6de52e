"""What Bluesky posts need to read out of files and pages: image and video dimensions,
an image's real type, and a page's Open Graph tags.

Image sizes come from the `imagesize` package; the MP4/MOV track header (`tkhd`) is read
with a few lines of box walking; pages are parsed with the standard library's HTMLParser.
"""

from __future__ import annotations

import struct
from html.parser import HTMLParser
from typing import BinaryIO

import imagesize

from octopost.platforms.base import Download


def image_type(download: Download) -> str | None:
    """The image's real type from its first bytes (servers mislabel: image/jpg, octet-stream)."""
    with download.path.open("rb") as fh:
        head = fh.read(12)
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def aspect_ratio(download: Download) -> dict[str, int] | None:
    try:
        width, height = imagesize.get(download.path)
    except (OSError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None
    return {"width": width, "height": height}


def video_aspect_ratio(download: Download) -> dict[str, int] | None:
    """Display width and height of the first video track of an MP4/MOV (its `tkhd` box)."""
    try:
        with download.path.open("rb") as fh:
            moov = _box(fh, b"moov", download.size)
            if moov is None:
                return None
            fh.seek(moov[0])
            while (trak := _box(fh, b"trak", moov[1])) is not None:
                fh.seek(trak[0])
                tkhd = _box(fh, b"tkhd", trak[1])
                if tkhd is not None:  # audio tracks have no size: try the next track
                    fh.seek(tkhd[0])
                    ratio = _tkhd_ratio(fh.read(min(tkhd[1] - tkhd[0], 100)))
                    if ratio:
                        return ratio
                fh.seek(trak[1])
    except (OSError, struct.error):
        return None
    return None


def _box(fh: BinaryIO, kind: bytes, end: int) -> tuple[int, int] | None:
    """(payload start, box end) of the next `kind` box before `end`, from the file position."""
    while fh.tell() + 8 <= end:
        start = fh.tell()
        size, found = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", fh.read(8))
            header = 16
        elif size == 0:
            size = end - start
        if size < header:
            return None
        if found == kind:
            return start + header, min(start + size, end)
        fh.seek(start + size)
    return None


def _tkhd_ratio(data: bytes) -> dict[str, int] | None:
    version = data[0] if data else 0
    matrix = 40 if version == 0 else 52  # after version/flags, times, track id, duration
    if len(data) < matrix + 44:
        return None
    a, b, _, c, d = struct.unpack(">5i", data[matrix : matrix + 20])
    width, height = struct.unpack(">II", data[matrix + 36 : matrix + 44])
    width, height = width >> 16, height >> 16
    if width <= 0 or height <= 0:
        return None
    if a == 0 and d == 0 and b != 0 and c != 0:  # rotated a quarter turn (phone videos)
        width, height = height, width
    return {"width": width, "height": height}


def charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            name = value.strip("\"' ")
            try:
                "".encode(name)
            except LookupError:
                break
            return name
    return "utf-8"


class _OpenGraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self._title: list[str] | None = None
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "meta":
            values = {k.lower(): v for k, v in attrs if v is not None}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            content = values.get("content", "").strip()
            if key and content and key not in self.meta:
                self.meta[key] = content
        elif tag == "title" and "title" not in self.meta:
            self._title = []
        elif tag == "body":
            self.done = True

    def handle_data(self, data: str) -> None:
        if self._title is not None:
            self._title.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title is not None:
            text = " ".join("".join(self._title).split())
            if text:
                self.meta["title"] = text
            self._title = None
        elif tag == "head":
            self.done = True


def parse_open_graph(html: str) -> dict[str, str]:
    """`<meta property|name=... content=...>` values of a page's head, plus its `<title>`."""
    parser = _OpenGraph()
    for start in range(0, len(html), 8192):
        parser.feed(html[start : start + 8192])
        if parser.done:
            break
    parser.close()
    return parser.meta
