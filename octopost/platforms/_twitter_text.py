"""X's weighted post length (twitter-text v3), on top of PyPI `twitter-text-parser`.

The rule (twitter-text `parseTweet`, config v3): NFC-normalise; every URL the
twitter-text extractor finds (bare domains with a valid TLD included) weighs 23;
every emoji sequence weighs 2; every other code point weighs 1 inside U+0000-U+10FF,
U+2000-U+200D, U+2010-U+201F, U+2032-U+2037 and 2 elsewhere; a post is valid when
0 < length <= 280 and it holds none of U+FFFE, U+FEFF, U+FFFF.

URL extraction, the emoji regex (Unicode emoji 12.0 data), the weights and the
config come from the library. Its `parse_tweet` loop is redone here because it
differs from upstream twitter-text (both the JS package 3.1.0 and the Java parser X's
backend uses) in three ways, found by running both over every code point alone and
with U+FE0E/U+FE0F, and over every sequence of the library's emoji-test.txt:

1. it rewrites CR LF to LF before counting, so "a\\r\\nb" is 3 instead of 4;
2. its emoji regex matches a bare (c) or (R) sign, which upstream counts as emoji
   only when followed by U+FE0F ("emoji which default to text"), so "(c)" is 2
   instead of 1;
3. it does not take U+FE0F after the 42 emoji-presentation characters that have
   variation sequences (VS16_ABSORBED), so "watch + U+FE0F" is 4 instead of 2.

With these fixed, the only differences left from npm twitter-text 3.1.0 (probed over
every code point alone and with U+FE0E/U+FE0F, and every emoji-test.txt sequence)
are 770 Emoji 12.0 sequences (e.g. pinching hand + skin tone) that its
twemoji-parser 11.0.2 does not know: 2 here, their parts there; the Java parser's
emoji regex knows them. Sequences newer than Emoji 12.0 (e.g. 15.1 "phoenix" = bird
ZWJ fire) are counted by their parts, as both upstream parsers do.
"""

from __future__ import annotations

import html
import unicodedata

from twitter_text import extract_emojis_with_indices, extract_urls_with_indices
from twitter_text.config import config as _configs
from twitter_text.get_character_weight import get_character_weight

V3 = _configs["version3"]
MAX_WEIGHTED_LENGTH: int = V3["max_weighted_tweet_length"]
INVALID_CHARACTERS = frozenset("\ufffe\ufeff\uffff")
VS16 = "\ufe0f"
#: emoji that count as emoji only when followed by U+FE0F (upstream TwitterTextEmojiRegex)
TEXT_DEFAULT_EMOJI = frozenset("\u00a9\u00ae")
#: emoji-presentation characters after which upstream takes a U+FE0F into the emoji
VS16_ABSORBED = frozenset(
    chr(cp)
    for cp in (
        0x231A, 0x231B, 0x25FD, 0x25FE, 0x2614, 0x2615, *range(0x2648, 0x2654), 0x267F,
        0x2693, 0x26A1, 0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26D4, 0x26EA,
        0x26F2, 0x26F3, 0x26F5, 0x26FA, 0x26FD, 0x2757, 0x2B1B, 0x2B1C, 0x2B50, 0x2B55,
        0x1F004, 0x1F21A, 0x1F22F,
    )
)  # fmt: skip


def _spans(text: str) -> dict[int, tuple[int, int]]:
    """Start index -> (end index, weight) of every URL and emoji, URLs first."""
    scale = V3["scale"]
    spans: dict[int, tuple[int, int]] = {}
    for url in extract_urls_with_indices(text):
        start, end = url["indices"]
        spans[start] = (end, V3["transformed_url_length"] * scale)
    for emoji in extract_emojis_with_indices(text):
        start, end = emoji["indices"]
        if start in spans:
            continue
        found = emoji["emoji"]
        if found in TEXT_DEFAULT_EMOJI:
            continue
        if found in VS16_ABSORBED and text[end : end + 1] == VS16:
            end += 1
        spans[start] = (end, V3["default_weight"])
    return spans


def weighted_length(text: str) -> int:
    """The weighted length X checks against 280 (URLs 23, emoji and CJK 2)."""
    normalized = unicodedata.normalize("NFC", text)
    spans = _spans(normalized)
    total = 0
    index = 0
    while index < len(normalized):
        span = spans.get(index)
        if span is not None:
            index, weight = span
            total += weight
            continue
        total += get_character_weight(normalized[index], V3)
        index += 1
    return total // V3["scale"]


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
    for url in extract_urls_with_indices(text):
        start, end = url["indices"]
        pieces += [text[last:start], _PLACEHOLDER]
        last = end
    pieces.append(text[last:])
    reduced = " ".join("".join(pieces).split())
    if from_x and has_media and reduced.endswith(_PLACEHOLDER):
        reduced = reduced[:-1].rstrip()
    return reduced
