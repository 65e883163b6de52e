"""Reading link-card pages like a browser: the whole head however it is sent, in its own encoding.

`Fetcher.fetch_page` against the local media server (chunked pages, pieces held back
behind a gate), and `decode_html` on pages in other charsets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from octopost.media import Fetcher
from octopost.platforms._files import decode_html, encoding_of, parse_open_graph
from tests.fakes.media import OG_PAGE, MediaServer, StreamedPage

LATE_TAGS = b'<meta property="og:description" content="Arrived late"></head><body>x</body></html>'


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    fetcher = Fetcher(allow_private=True, max_bytes=10_000_000)
    yield fetcher
    await fetcher.close()


async def test_a_head_sent_in_two_pieces_with_a_pause_is_read_whole(
    media_server: MediaServer, fetcher: Fetcher
) -> None:
    gate = asyncio.Event()
    page = media_server.stream(
        "slow.html",
        StreamedPage(
            [b'<html><head><meta charset="utf-8"><title>Early</title>', LATE_TAGS], gate=gate
        ),
    )
    task = asyncio.ensure_future(fetcher.fetch_page(media_server.at("slow.html")))
    await asyncio.wait_for(page.first_sent.wait(), timeout=10)
    # the second piece is held until the client has had every chance to stop early; a
    # correct reader cannot finish before the gate opens, so this bounded wait only makes
    # a reader that stops at the first piece fail every time
    await asyncio.wait({task}, timeout=0.2)
    gate.set()
    ctype, body = await asyncio.wait_for(task, timeout=10)
    assert ctype == "text/html"
    meta = parse_open_graph(decode_html(ctype, body))
    assert meta == {"title": "Early", "og:description": "Arrived late"}


async def test_a_large_head_in_one_write_is_read_to_its_end_and_no_further(
    media_server: MediaServer, fetcher: Fetcher
) -> None:
    head = b"<html><head><style>" + b"p{margin:0}\n" * 25_000 + b"</style>"  # 300 kB
    rest = b"<body>" + b"<p>filler</p>" * 200_000 + b"</body></html>"  # 2.6 MB of body
    media_server.stream("big-head.html", StreamedPage([head + LATE_TAGS + rest]))
    _, body = await fetcher.fetch_page(media_server.at("big-head.html"))
    assert b"Arrived late" in body
    assert len(body) < 1_000_000  # stopped at the end of the head, not at the cap


async def test_the_cap_ends_a_head_that_never_ends(
    media_server: MediaServer, fetcher: Fetcher
) -> None:
    endless = [b"<html><head><style>" + b"p{margin:0}\n" * 10_000] * 20  # 2.4 MB, no </head>
    media_server.stream("endless.html", StreamedPage(endless))
    _, body = await fetcher.fetch_page(media_server.at("endless.html"), max_bytes=500_000)
    assert len(body) == 500_000


async def test_the_default_page_is_chunked_with_its_charset_in_a_meta_tag(
    media_server: MediaServer, fetcher: Fetcher
) -> None:
    ctype, body = await fetcher.fetch_page(media_server.at("page.html"))
    assert "charset" not in ctype and body == OG_PAGE
    assert parse_open_graph(decode_html(ctype, body))["og:title"] == "Octopost & friends — café"


# -- encodings ---------------------------------------------------------------------------


def _page(head: bytes) -> bytes:
    return b"<html><head>" + head + b"</head><body></body></html>"


@pytest.mark.parametrize(
    ("content_type", "body", "title"),
    [
        # no declaration at all: windows-1252, as browsers do (not UTF-8 with U+FFFD)
        ("text/html", _page("<title>Café crème</title>".encode("latin-1")), "Café crème"),
        ("text/html", _page("<title>“Quoted” – €5</title>".encode("cp1252")), "“Quoted” – €5"),
        # <meta charset>, quoted or not, in any case
        (
            "text/html",
            _page(
                b'<meta charset="ISO-8859-2"><title>' + "Łódź".encode("iso-8859-2") + b"</title>"
            ),
            "Łódź",
        ),
        (
            "text/html",
            _page(b"<meta charset=utf-8><title>" + "日本".encode() + b"</title>"),
            "日本",
        ),
        # http-equiv
        (
            "text/html",
            _page(
                b'<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
                + b"<title>"
                + "日本語".encode("cp932")
                + b"</title>"
            ),
            "日本語",
        ),
        # the header wins over the meta tag
        (
            "text/html; charset=ISO-8859-1",
            _page(b'<meta charset="utf-8"><title>' + "Café".encode("latin-1") + b"</title>"),
            "Café",
        ),
        # a header naming no known encoding is ignored
        (
            "text/html; charset=bogus",
            _page(b'<meta charset="utf-8"><title>' + "Café".encode() + b"</title>"),
            "Café",
        ),
        # a byte order mark wins over both
        (
            "text/html; charset=iso-8859-1",
            b"\xef\xbb\xbf" + _page("<title>Café</title>".encode()),
            "Café",
        ),
        # a meta tag inside a comment is no declaration
        (
            "text/html",
            _page(
                b'<!-- <meta charset="utf-8"> --><title>' + "Café".encode("cp1252") + b"</title>"
            ),
            "Café",
        ),
    ],
)
def test_pages_are_decoded_by_the_html_encoding_rules(
    content_type: str, body: bytes, title: str
) -> None:
    assert parse_open_graph(decode_html(content_type, body))["title"] == title


def test_encoding_labels_follow_whatwg() -> None:
    assert encoding_of("latin1") == encoding_of("US-ASCII") == encoding_of("cp1252")
    assert encoding_of("Shift_JIS") == "cp932"
    assert encoding_of("utf8") == "utf-8"
    assert encoding_of("no-such-thing") is None
    assert encoding_of("") is None


def test_a_meta_declaration_past_the_first_kilobyte_is_not_used() -> None:
    body = _page(b"<!--" + b"x" * 1100 + b'--><meta charset="utf-8"><title>' + "é".encode())
    assert parse_open_graph(decode_html("text/html", body + b"</title>"))["title"] == "Ã©"
