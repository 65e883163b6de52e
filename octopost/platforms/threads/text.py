"""Threads' text rules: its length count and what counts as one link."""

from __future__ import annotations

import regex

from octopost.platforms._text import clusters

_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3")
_SCHEME = regex.compile(r"^[a-z][a-z0-9+.-]*://", regex.IGNORECASE)


def prepare() -> None:
    """Import twitter-text's link extractor now, not at the first publish."""
    unique_links("example.com")


def threads_length(text: str) -> int:
    """Length as Threads counts it: "Emojis are counted as the number of UTF-8 bytes".

    That sentence (developers.facebook.com/documentation/threads/posts, "Limitations",
    still the only statement in the April 2026 revision, next to "Text posts are limited
    to 500 characters") is all Meta publishes: no algorithm, no vectors, no library, and
    nothing on ZWJ sequences or on what unit other text counts in. Rule kept here: an
    emoji grapheme (pictographic, flag or keycap, with its modifiers, VS16 and ZWJ parts)
    counts all its UTF-8 bytes (U+1F44D = 4, a ZWJ family of three = 18), the most a
    reading of that sentence can give, so it never undercounts it; everything else counts
    one per code point.
    """
    length = 0
    for grapheme in clusters(text):
        length += len(grapheme.encode()) if _EMOJI.search(grapheme) else len(grapheme)
    return length


def unique_links(text: str) -> set[str]:
    """The distinct links in `text`, bare domains included ("www.facebook.com" is one).

    Scheme, host case and a trailing slash do not make a link different.
    """
    from twitter_text import extract_urls  # on first use: its import costs ~0.35 s

    links: set[str] = set()
    for url in extract_urls(text):
        rest = _SCHEME.sub("", url)
        host, slash, path = rest.partition("/")
        links.add((host.lower() + slash + path).rstrip("/"))
    return links
