"""Bluesky rich text: post length rules and facet detection (links, mentions, tags, cashtags).

Detection follows the official TypeScript SDK, `RichText.detectFacets` of `@atproto/api`
0.21.0 (rich-text/detection.ts and util.ts), which is what the Bluesky app and every other
client run, so a post gets the facets users see everywhere else. It is pinned by the SDK's
own test vectors (tests/data/bluesky-richtext.json) and by vectors produced by running that
release (tests/data/bluesky-facets.json):

- facet offsets are UTF-8 byte offsets into the text, start inclusive, end exclusive;
- JavaScript's `\\s` (not Python's) separates tokens, and `\\d` means ASCII digits;
- a link with a scheme starts with lower-case `http` (the SDK matches `HTTPS://` but then
  drops it); bare domains and mention handles must end in one of the SDK's top-level domains
  (`tlds.txt`, its npm `tlds` release, compared case-sensitively, so `Example.COM`
  and `@a.COM` are plain text), or `.test` for handles;
- a tag may start with any character the pattern allows (`#⃣` is the tag `⃣`, as there);
- facets are kept even when they overlap, in text order, as the SDK leaves them.

Where the SDK produces a record its own lexicon validator rejects, one odd string would fail
the whole publish, so Octopost keeps the safer behaviour and says so here:

- a facet whose value fails the lexicon's format is not emitted: a link `uri` must match the
  `uri` format (`http:///`, and `http://.` or `http://?` once their last character is
  stripped as punctuation, have no host), a mention's resolved `did` the `did` format;
- a tag over 640 UTF-8 bytes (the lexicon's `maxLength`) is dropped like one over 64
  graphemes; the SDK checks the graphemes only;
- a bare domain starting with `http` (`httpbin.org`) gets `https://` and the TLD check like
  any bare domain; the SDK takes its `startsWith('http')` for a scheme and links it as it
  stands, without a TLD check and without a scheme, an invalid `uri`.

Length: the lexicon limits `text` to 300 grapheme clusters *and* 3,000 UTF-8 bytes; graphemes
are extended grapheme clusters by the current Unicode rules (`regex`'s `\\X`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import regex

from octopost.platforms._text import data_words, graphemes, utf8_length

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
#: app.bsky.richtext.facet#tag `tag`
TAG_MAX_GRAPHEMES = 64
TAG_MAX_BYTES = 640

FACET = "app.bsky.richtext.facet"
#: lower-case ASCII TLDs; matched case-sensitively, as the SDK does ("Example.COM" is no link)
TLDS: frozenset[str] = frozenset(data_words(__package__ or "", "tlds.txt")[""])

# JavaScript's \s (WhiteSpace + LineTerminator), which the SDK's regexes use.
_SPACE = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
# Characters the SDK treats as ending (or preventing) a tag: zero-width ones, U+20E2.
_ZERO_WIDTH = "\\u00ad\\u2060\\u200a\\u200b\\u200c\\u200d\\u20e2"
_LEAD = f"(^|[{_SPACE}]|\\()"

_MENTION = re.compile(_LEAD + r"(@)([a-zA-Z0-9.-]+)\b", re.ASCII)
_LINK = re.compile(
    _LEAD
    + f"(([hH][tT][tT][pP][sS]?://[^{_SPACE}]+)"
    + f"|((?P<domain>[a-zA-Z][a-zA-Z0-9]*(?:\\.[a-zA-Z0-9]+)+)[^{_SPACE}]*))"
)
#: the lexicon's `uri` format (@atproto/syntax isValidUri): scheme, optional //, a non-empty rest
_URI = re.compile(f"[A-Za-z0-9_]+:(?://)?[^{_SPACE}/][^{_SPACE}]*")
#: the lexicon's `did` format (@atproto/syntax)
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
MAX_DID_LENGTH = 2048
_TAG = regex.compile(
    f"(^|[{_SPACE}])[#\\uff03]"
    f"((?!\\ufe0f)[^{_SPACE}{_ZERO_WIDTH}]*"
    f"[^0-9{_SPACE}\\p{{P}}{_ZERO_WIDTH}]+[^{_SPACE}{_ZERO_WIDTH}]*)?"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_CASHTAG = re.compile(
    _LEAD + f"\\$([A-Za-z][A-Za-z0-9]{{0,4}})(?=[{_SPACE}]|\\Z|[.,;:!?)\"'\\u2019])"
)
_JS_TRIM = re.compile(f"^[{_SPACE}]+|[{_SPACE}]+$")

Kind = Literal["link", "mention", "tag", "cashtag"]

#: handle -> DID, or None when the handle does not resolve
Resolver = Callable[[str], Awaitable[str | None]]


def string_problems(
    text: str,
    *,
    min_length: int = 0,
    max_length: int | None = None,
    min_graphemes: int = 0,
    max_graphemes: int | None = None,
    what: str = "Text",
) -> list[str]:
    """A lexicon string's length constraints; both units apply when both are given."""
    problems: list[str] = []
    size = utf8_length(text)
    if size < min_length:
        problems.append(f"{what} is {size} bytes; at least {min_length} are needed.")
    if max_length is not None and size > max_length:
        problems.append(f"{what} is {size} bytes (UTF-8); the limit is {max_length}.")
    if min_graphemes or max_graphemes is not None:
        count = graphemes(text)
        if count < min_graphemes:
            problems.append(f"{what} is {count} characters; at least {min_graphemes} are needed.")
        if max_graphemes is not None and count > max_graphemes:
            problems.append(f"{what} is {count} characters; the limit is {max_graphemes}.")
    return problems


def is_valid_domain(name: str) -> bool:
    """Whether `name` ends in "." + one of the SDK's TLDs, case-sensitively (`isValidDomain`)."""
    _, dot, tld = name.rpartition(".")
    return bool(dot) and tld in TLDS  # ".goo" passes too, as there


def is_valid_uri(value: str) -> bool:
    """The lexicon `uri` format, which the PDS checks on every link facet."""
    return _URI.fullmatch(value) is not None


def is_valid_did(value: str) -> bool:
    """The lexicon `did` format, which the PDS checks on every mention facet."""
    return len(value) <= MAX_DID_LENGTH and _DID.fullmatch(value) is not None


@dataclass(frozen=True)
class Facet:
    """One detected span: `start`/`end` are UTF-8 byte offsets; `value` is the uri,
    the handle (mentions, before resolution) or the tag (without `#`; cashtags keep `$`)."""

    start: int
    end: int
    kind: Kind
    value: str


class _Offsets:
    """Code point index -> UTF-8 byte offset, computed once per text."""

    def __init__(self, text: str) -> None:
        self.table = [0]
        for ch in text:
            self.table.append(self.table[-1] + len(ch.encode("utf-8", "surrogatepass")))

    def __call__(self, index: int) -> int:
        return self.table[index]


def _mentions(text: str, at: _Offsets) -> list[Facet]:
    found = []
    for m in _MENTION.finditer(text):
        handle = m.group(3)
        if not is_valid_domain(handle) and not handle.endswith(".test"):
            continue  # probably not a handle
        found.append(Facet(at(m.start(2)), at(m.end(3)), "mention", handle))
    return found


def _links(text: str, at: _Offsets) -> list[Facet]:
    found = []
    for m in _LINK.finditer(text):
        uri = m.group(2)
        start, end = m.start(2), m.end(2)
        domain = m.group("domain")
        if domain is not None:  # no scheme (an `http…` domain too: see the module docstring)
            if not is_valid_domain(domain):
                continue
            uri = f"https://{uri}"
        elif not uri.startswith("http"):
            continue  # `HTTPS://…`: matched, then dropped by the SDK's case-sensitive test
        if uri[-1] in ".,;:!?":
            uri, end = uri[:-1], end - 1
        if uri.endswith(")") and "(" not in uri:
            uri, end = uri[:-1], end - 1
        if not is_valid_uri(uri):
            continue  # `http:///`, `http://.`: the PDS would refuse the whole record
        found.append(Facet(at(start), at(end), "link", uri))
    return found


def _tags(text: str, at: _Offsets) -> list[Facet]:
    found = []
    for m in _TAG.finditer(text):
        tag = m.group(2)
        if not tag:
            continue
        tag = _TRAILING_PUNCTUATION.sub("", _JS_TRIM.sub("", tag))
        if not tag or string_problems(
            tag, max_length=TAG_MAX_BYTES, max_graphemes=TAG_MAX_GRAPHEMES
        ):
            continue  # too long: dropped entirely, not cut
        start = m.start() + len(m.group(1))
        found.append(Facet(at(start), at(start + 1 + len(tag)), "tag", tag))
    return found


def _cashtags(text: str, at: _Offsets) -> list[Facet]:
    found = []
    for m in _CASHTAG.finditer(text):
        ticker = m.group(2)
        start = m.start(2) - 1
        found.append(Facet(at(start), at(m.end(2)), "cashtag", "$" + ticker.upper()))
    return found


def detect(text: str) -> list[Facet]:
    """Every facet in `text` by its start (a stable sort, like the SDK's: at one start,
    mentions, links, tags, cashtags), overlapping ones included."""
    at = _Offsets(text)
    found = _mentions(text, at) + _links(text, at) + _tags(text, at) + _cashtags(text, at)
    return sorted(found, key=lambda f: f.start)


def first_link(facets: list[Facet]) -> str | None:
    return next((f.value for f in facets if f.kind == "link"), None)


async def to_record_facets(facets: list[Facet], resolve: Resolver) -> list[dict[str, Any]]:
    """`app.bsky.richtext.facet` objects; mentions whose handle does not resolve are dropped."""
    out: list[dict[str, Any]] = []
    resolved: dict[str, str | None] = {}
    for facet in facets:
        if facet.kind == "link":
            feature = {"$type": f"{FACET}#link", "uri": facet.value}
        elif facet.kind == "mention":
            key = facet.value.lower()
            if key not in resolved:
                resolved[key] = await resolve(key)
            did = resolved[key]
            if did is None or not is_valid_did(did):
                continue  # unresolved (or nonsense from the server): stays plain text
            feature = {"$type": f"{FACET}#mention", "did": did}
        else:
            feature = {"$type": f"{FACET}#tag", "tag": facet.value}
        out.append(
            {
                "$type": FACET,
                "index": {"byteStart": facet.start, "byteEnd": facet.end},
                "features": [feature],
            }
        )
    return out
