"""What Bluesky posts need to read out of files and pages: image and video dimensions,
an image's real type, and a page's Open Graph tags in the page's own encoding.

Image sizes come from the `imagesize` package; the MP4/MOV track header (`tkhd`) is read
with a few lines of box walking; pages are parsed with the standard library's HTMLParser.
"""

from __future__ import annotations

import codecs
import re
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
