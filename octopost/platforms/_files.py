"""What adapters read out of downloaded files and pages.

- A file's real image type from its first bytes (servers mislabel: image/jpg,
  application/octet-stream), an image's size (the `imagesize` package).
- MP4/MOV boxes: the first video track's display size (`tkhd`), the duration (`mvhd`).
- Byte ranges, for platforms that choose how a file is split (LinkedIn, TikTok).
- A web page's text in the page's own encoding (HTML's rules) and its Open Graph tags
  (the standard library's HTMLParser), for link cards.
"""

from __future__ import annotations

import asyncio
import codecs
import re
import struct
from html.parser import HTMLParser
from typing import BinaryIO

import imagesize

from octopost.platforms.base import Download

#: the first bytes of each image type platforms take
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(download: Download) -> str | None:
    """The image's real type from its first bytes, None when it is none of JPEG, PNG,
    GIF and WebP."""
    with download.path.open("rb") as fh:
        head = fh.read(12)
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def aspect_ratio(download: Download) -> dict[str, int] | None:
    """An image's width and height, None when its header cannot be read."""
    try:
        width, height = imagesize.get(download.path)
    except (OSError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None
    return {"width": width, "height": height}


async def read_range(download: Download, first: int, last: int) -> bytes:
    """Bytes `first` to `last` (inclusive, as in Content-Range) of the file."""

    def read() -> bytes:
        with download.path.open("rb") as fh:
            fh.seek(first)
            return fh.read(last - first + 1)

    return await asyncio.to_thread(read)


# -- MP4 / MOV (ISO base media file format boxes) ---------------------------------------


def find_box(fh: BinaryIO, kind: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(payload start, box end) of the first `kind` box between `start` and `end`."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        header = fh.read(16)
        if len(header) < 8:
            return None
        size, name = struct.unpack(">I4s", header[:8])
        offset = 8
        if size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return None
            size = struct.unpack(">Q", header[8:16])[0]
            offset = 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - pos
        if size < offset:
            return None
        if name == kind:
            return pos + offset, min(pos + size, end)
        pos += size
    return None


def video_aspect_ratio(download: Download) -> dict[str, int] | None:
    """Display width and height of the first video track of an MP4/MOV (its `tkhd` box)."""
    try:
        with download.path.open("rb") as fh:
            moov = find_box(fh, b"moov", 0, download.size)
            if moov is None:
                return None
            pos = moov[0]
            while (trak := find_box(fh, b"trak", pos, moov[1])) is not None:
                tkhd = find_box(fh, b"tkhd", trak[0], trak[1])
                if tkhd is not None:  # audio tracks have no size: try the next track
                    fh.seek(tkhd[0])
                    ratio = _tkhd_ratio(fh.read(min(tkhd[1] - tkhd[0], 100)))
                    if ratio:
                        return ratio
                pos = trak[1]
    except (OSError, struct.error):
        return None
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


def mp4_duration(download: Download) -> float | None:
    """Duration in seconds from the MP4/MOV `moov/mvhd` box; None when it cannot be read."""
    try:
        with download.path.open("rb") as fh:
            moov = find_box(fh, b"moov", 0, download.path.stat().st_size)
            mvhd = find_box(fh, b"mvhd", *moov) if moov is not None else None
            if mvhd is None:
                return None
            fh.seek(mvhd[0])
            head = fh.read(32)
            if head[:1] == b"\x01":
                timescale, duration = struct.unpack(">IQ", head[20:32])
            else:
                timescale, duration = struct.unpack(">II", head[12:20])
    except (OSError, struct.error):
        return None
    return float(duration / timescale) if timescale else None


# -- web pages ---------------------------------------------------------------------------

#: WHATWG Encoding labels whose Python codec differs from the name (encoding.spec.whatwg.org):
#: browsers read "latin1" and "ascii" pages as windows-1252, Shift_JIS as Windows-31J, ...
_WHATWG = {
    **dict.fromkeys(
        ("ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
         "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1",
         "us-ascii", "windows-1252", "x-cp1252"),
        "cp1252",
    ),
    **dict.fromkeys(("iso-8859-9", "iso8859-9", "latin5", "l5", "windows-1254"), "cp1254"),
    **dict.fromkeys(("shift_jis", "sjis", "x-sjis", "ms_kanji", "windows-31j", "csshiftjis"), "cp932"),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "windows-949", "cseuckr"), "cp949"),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "chinese", "csgb2312", "gb18030"), "gb18030"),
    **dict.fromkeys(("big5", "big5-hkscs", "cn-big5", "x-x-big5", "csbig5"), "big5hkscs"),
    **dict.fromkeys(("utf-16", "utf-16le"), "utf-16-le"),
    "utf-16be": "utf-16-be",
}  # fmt: skip
#: what a page with no declared encoding is read as (WHATWG's fallback for most locales)
FALLBACK_ENCODING = "cp1252"
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_META = re.compile(rb"<!--.*?-->|<meta(?=[\s/])([^>]*)>", re.IGNORECASE | re.DOTALL)
_ATTRIBUTE = re.compile(rb"""([^\s/>=]+)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")
_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?([^\s"';]+)""", re.IGNORECASE)


def encoding_of(label: str | bytes | None) -> str | None:
    """The Python codec for a charset label, or None when it names none."""
    if isinstance(label, bytes):
        label = label.decode("latin-1")
    name = (label or "").strip().strip("\"'").lower()
    if not name:
        return None
    name = _WHATWG.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _declared_in_meta(head: bytes) -> str | None:
    """The WHATWG prescan, simplified: the first `<meta charset>` or `<meta http-equiv=
    "content-type" content="...charset=...">` in the first 1,024 bytes."""
    for tag in _META.finditer(head[:1024]):
        if tag.group(1) is None:
            continue  # a comment
        attrs = {
            name.lower(): (value or b"").strip(b"\"'")
            for name, value in _ATTRIBUTE.findall(tag.group(1))
        }
        found: bytes | None = attrs.get(b"charset")
        if found is None and attrs.get(b"http-equiv", b"").lower() == b"content-type":
            param = _CHARSET_PARAM.search(attrs.get(b"content", b""))
            found = param.group(1) if param else None
        encoding = encoding_of(found)
        if encoding is not None:
            # a page that says it is UTF-16 in ASCII bytes is not (WHATWG: read it as UTF-8)
            return "utf-8" if encoding.startswith("utf-16") else encoding
    return None


def decode_html(content_type: str, body: bytes) -> str:
    """A page's text by HTML's encoding rules: a byte order mark, else the Content-Type
    charset, else the `<meta>` declaration, else windows-1252."""
    for bom, unicode in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(unicode, "replace")
    declared: str | None = None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset":
            declared = encoding_of(value)
            break
    encoding = declared or _declared_in_meta(body) or FALLBACK_ENCODING
    return body.decode(encoding, "replace")


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
