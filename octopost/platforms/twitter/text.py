"""X's weighted post length (twitter-text v3), counted so that X never refuses it for length.

The rule (twitter-text `parseTweet`, config v3): NFC-normalise; every URL the extractor finds
(bare domains with a valid TLD included) weighs 23; every emoji weighs 2; every other code
point weighs 1 inside U+0000-U+10FF, U+2000-U+200D, U+2010-U+201F, U+2032-U+2037 and 2
elsewhere; a post is valid when it is not blank, is at most 280 and holds none of U+FFFE,
U+FEFF, U+FFFF.

X publishes that rule twice, and the two differ: the JavaScript library its web client
uses (npm `twitter-text` 3.1.0, emoji by `twemoji-parser` 11.0.2) and the Java library of
its backend (`TwitterTextParser`, whose `parseTweetWithoutUrlExtraction` is documented as
"used by Twitter Backend to validate the visible tweet"; emoji by `TwitterTextEmojiRegex`,
generated from Emoji 12.0). Which one the live server runs, and with which data, is not
public, so where they differ Octopost counts the larger value. Evidence, class by class
(probes run against both libraries; the vectors are in tests/data/twitter-emoji.json):

- Emoji. On 82,134 sequences (every code point of U+00A0-U+33FF and U+1F000-U+1FAFF alone
  and with U+FE0E, U+FE0F, a skin tone, U+FE0F + skin tone; every emoji-test.txt 12.0
  sequence with and without U+FE0F) and 30,000 random concatenations of them, the Java count
  is never larger than the JavaScript one. So emoji are counted exactly as the JavaScript
  library counts them: `emoji.txt` holds every sequence its parser knows. That
  counts by their parts (what both libraries do, or what the larger does): minimally
  qualified forms such as eye in speech bubble without its last U+FE0F (5, Java 5 as well),
  infinity + U+FE0F (4 in both: neither joins the U+FE0F), the Emoji 12.0 sequences the
  web parser does not know (people holding hands 8, pinching hand + skin tone 4, where Java
  says 2), and everything newer than Emoji 12.0 (phoenix = bird ZWJ fire, 5). Both count a
  U+FE0F between a hand and its skin tone (victory hand + U+FE0F + skin tone) as one emoji: 2.
- URLs without a scheme whose domain holds non-ASCII letters. The web library checks a
  domain label by label with punycode only, then links the ASCII run inside it ("גמa.jp"
  links "a.jp": 25); the Java library runs `java.net.IDN.toASCII` (IDNA 2003, which refuses a
  label mixing right-to-left and left-to-right letters: no link, 6) and links the whole
  domain when IDNA accepts it ("例子.com" is one link, 23, where the web library finds no
  ASCII domain and counts 8). Neither is always larger, so both URL sets are counted and
  the larger total is the length.

Everything else both libraries agree on, and the upstream conformance vectors pin it.
"""

from __future__ import annotations

import html
import re
import stringprep
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from octopost.platforms._text import comparable as comparable_text
from octopost.platforms._text import data_words


def _emoji() -> frozenset[str]:
    """Every sequence `emoji.txt` lists (its header says how each section reads)."""
    table = data_words(__package__ or "", "emoji.txt")

    def chars(word: str) -> str:
        return "".join(chr(int(part, 16)) for part in word.split("_"))

    found: set[str] = set()
    for word in table["singles"]:
        first, _, last = word.partition("-")
        found.update(chr(cp) for cp in range(int(first, 16), int(last or first, 16) + 1))
    found.update(chars(base) + "\ufe0f" for base in table["vs16"])
    found.update(
        chars(base) + chr(tone)
        for base in table["skin_tone_bases"]
        for tone in range(0x1F3FB, 0x1F400)
    )
    found.update("".join(chr(0x1F1E6 + ord(c) - 65) for c in pair) for pair in table["flags"])
    found.update(chars(word) for word in table["sequences"])
    return frozenset(found)


class _Rules(NamedTuple):
    #: every sequence X's web library counts as one emoji
    sequences: frozenset[str]
    #: first character -> the lengths of the sequences starting with it, longest first
    lengths: dict[str, tuple[int, ...]]
    # twitter-text's own patterns and extractor
    extract_url: re.Pattern[str]
    invalid_preceding: re.Pattern[str]
    valid_ascii_domain: re.Pattern[str]
    valid_tco_url: re.Pattern[str]
    extract_urls_with_indices: Callable[[str], list[dict[str, Any]]]


@cache
def _rules() -> _Rules:
    """Built on first use, not at import: importing twitter-text compiles all of its
    patterns and the emoji table is large (together ~0.6 s and ~20 MB), which a server
    should not pay at start-up, nor at all when it never counts an X post."""
    from twitter_text import extract_urls_with_indices
    from twitter_text.regexp.extract_url import extract_url
    from twitter_text.regexp.invalid_url_without_protocol_preceding_chars import (
        invalid_url_without_protocol_preceding_chars,
    )
    from twitter_text.regexp.valid_ascii_domain import valid_ascii_domain
    from twitter_text.regexp.valid_tco_url import valid_tco_url

    sequences = _emoji()
    lengths: dict[str, tuple[int, ...]] = {}
    for sequence in sequences:
        lengths[sequence[0]] = tuple(
            sorted({*lengths.get(sequence[0], ()), len(sequence)}, reverse=True)
        )
    return _Rules(
        sequences,
        lengths,
        extract_url,
        invalid_url_without_protocol_preceding_chars,
        valid_ascii_domain,
        valid_tco_url,
        extract_urls_with_indices,
    )


MAX_WEIGHTED_LENGTH = 280
SCALE = 100
DEFAULT_WEIGHT = 200
URL_WEIGHT = 23 * SCALE
#: code point ranges of weight 100 (config v3); everything else weighs DEFAULT_WEIGHT
LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
INVALID_CHARACTERS = frozenset("\ufffe\ufeff\uffff")
MAX_URL_LENGTH = 4096
MAX_TCO_SLUG_LENGTH = 40
DEFAULT_PROTOCOL = "https://"
MAX_LABEL_LENGTH = 63
#: the label separators of IDNA 2003 (RFC 3490 section 3.1)
_DOTS = re.compile("[.\u3002\uff0e\uff61]")

Span = tuple[int, int]


def prepare() -> None:
    """Build the rules now (in a worker thread after start-up), not at the first count."""
    _rules()


def _weight(ch: str) -> int:
    cp = ord(ch)
    return SCALE if any(lo <= cp <= hi for lo, hi in LIGHT_RANGES) else DEFAULT_WEIGHT


def _emoji_spans(text: str) -> dict[int, int]:
    """Start -> end of every emoji, the longest known sequence first, left to right."""
    rules = _rules()
    spans: dict[int, int] = {}
    index = 0
    while index < len(text):
        for length in rules.lengths.get(text[index], ()):
            if text[index : index + length] in rules.sequences:
                spans[index] = index + length
                index += length
                break
        else:
            index += 1
    return spans


_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def _nameprep(label: str) -> str | None:
    """RFC 3491 nameprep as `java.net.IDN` runs it with ALLOW_UNASSIGNED (Python's `idna`
    codec is the same but refuses code points unassigned in Unicode 3.2)."""
    mapped = "".join(stringprep.map_table_b2(ch) for ch in label if not stringprep.in_table_b1(ch))
    mapped = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    if any(test(ch) for ch in mapped for test in _PROHIBITED):
        return None
    right_to_left = [stringprep.in_table_d1(ch) for ch in mapped]
    if any(right_to_left) and (
        any(stringprep.in_table_d2(ch) for ch in mapped)
        or not (right_to_left[0] and right_to_left[-1])
    ):
        return None  # RFC 3454 section 6: no left-to-right letter in a right-to-left label
    return mapped


def _idna2003(domain: str) -> str | None:
    """`java.net.IDN.toASCII(domain, ALLOW_UNASSIGNED)`, or None where it throws."""
    labels = []
    parts = _DOTS.split(domain)
    root = len(parts) > 1 and parts[-1] == ""  # a final dot names the root: allowed
    if root:
        parts.pop()
    for label in parts:
        if not label.isascii():
            prepared = _nameprep(label)
            if prepared is None:
                return None
            if not prepared.isascii():
                if prepared[:4].lower() == "xn--":
                    return None
                prepared = "xn--" + prepared.encode("punycode").decode("ascii")
            label = prepared
        if not label or len(label) > MAX_LABEL_LENGTH:
            return None
        labels.append(label)
    return ".".join(labels) + ("." if root else "")


def _punycode_labels_ok(domain: str) -> bool:
    """The web library's `idna.toAscii`: each label 1-63 characters once punycoded."""
    if domain.startswith("xn--") and not _rules().valid_ascii_domain.search(domain):
        return False
    for label in domain.split("."):
        encoded = label if label.isascii() else "xn--" + label.encode("punycode").decode()
        if not 1 <= len(encoded) <= MAX_LABEL_LENGTH:
            return False
    return True


def _tco(url: str) -> str | None:
    """A t.co URL cut to its slug, None when the slug is too long; `url` when not t.co."""
    match = _rules().valid_tco_url.search(url)
    if match is None:
        return url
    slug = match.group(1)
    return None if slug and len(slug) > MAX_TCO_SLUG_LENGTH else match.group(0)


def server_urls(text: str) -> list[Span]:
    """URL spans by the Java library's rule: the whole domain, checked with IDNA 2003."""
    spans: list[Span] = []
    if "." not in text:
        return spans
    rules = _rules()
    for match in rules.extract_url.finditer(text):
        _, before, url, protocol, domain, _, _, _ = match.groups()
        start = match.end() - len(url)
        if not protocol and rules.invalid_preceding.match(before):
            continue
        cut = _tco(url)
        if cut is None:
            continue
        encoded = _idna2003(domain)
        if not encoded:
            continue
        length = len(cut) + len(encoded) - len(domain) + (0 if protocol else len(DEFAULT_PROTOCOL))
        if length <= MAX_URL_LENGTH:
            spans.append((start, start + len(cut)))
    return spans


def web_urls(text: str) -> list[Span]:
    """URL spans by the web library's rule: punycode-only checks, ASCII runs of bare domains."""
    spans: list[Span] = []
    if "." not in text:
        return spans
    rules = _rules()
    for match in rules.extract_url.finditer(text):
        _, before, url, protocol, domain, _, path, _ = match.groups()
        end = match.end()
        start = end - len(url)
        if not _punycode_labels_ok(domain):
            continue
        if len(protocol or DEFAULT_PROTOCOL) + len(url) > MAX_URL_LENGTH:
            continue
        if protocol:
            cut = _tco(url)
            if cut is not None:
                spans.append((start, start + len(cut)))
            continue
        if rules.invalid_preceding.match(before):
            continue
        found = [
            [start + ascii.start(), start + ascii.end()]
            for ascii in rules.valid_ascii_domain.finditer(domain)
        ]
        if found and path:
            found[-1][1] = end  # the path belongs to the last domain
        spans.extend((a, b) for a, b in found)
    return spans


def _count(text: str, urls: list[Span], emoji: dict[int, int]) -> int:
    """The parseTweet loop: a URL at this index, else an emoji, else one code point."""
    url_at = dict(urls)
    total = 0
    index = 0
    while index < len(text):
        if index in url_at:
            total += URL_WEIGHT
            index = url_at[index]
        elif index in emoji:
            total += DEFAULT_WEIGHT
            index = emoji[index]
        else:
            total += _weight(text[index])
            index += 1
    return total // SCALE


def weighted_length(text: str) -> int:
    """The weighted length checked against 280: the larger of X's two libraries' counts."""
    normalized = unicodedata.normalize("NFC", text)
    emoji = _emoji_spans(normalized)
    return max(
        _count(normalized, server_urls(normalized), emoji),
        _count(normalized, web_urls(normalized), emoji),
    )


def is_blank(text: str) -> bool:
    """No text for X: the Java library's `tweet.trim().length() == 0`, i.e. only characters
    up to U+0020. Whitespace beyond that (U+3000, U+00A0) is text to both libraries: the web
    one only asks for a weighted length above 0, and the Java one trims ASCII controls and
    spaces alone."""
    return not text.lstrip("".join(map(chr, range(0x21))))


def invalid_characters(text: str) -> list[str]:
    """The characters X refuses in a post (U+FFFE, U+FEFF, U+FFFF), as U+XXXX."""
    return sorted({f"U+{ord(ch):04X}" for ch in text if ch in INVALID_CHARACTERS})


_PLACEHOLDER = "\x00"


def comparable(text: str, *, from_x: bool = False, has_media: bool = False) -> str:
    """Text reduced for matching a draft against a post read back from X.

    X returns `&`, `<`, `>` HTML-escaped, every link rewritten to a t.co link, and for
    a post with media one more t.co link appended; so links compare as placeholders,
    the trailing media link is dropped, and whitespace runs count as one space.
    """
    if from_x:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    last = 0
    for url in _rules().extract_urls_with_indices(text):
        start, end = url["indices"]
        pieces += [text[last:start], _PLACEHOLDER]
        last = end
    pieces.append(text[last:])
    reduced = comparable_text("".join(pieces))
    if from_x and has_media and reduced.endswith(_PLACEHOLDER):
        reduced = reduced[:-1].rstrip()
    return reduced
