r"""Mastodon's status length rule, as upstream `StatusLengthValidator` applies it.

length = grapheme clusters of (spoiler_text + countable(text)), where countable()
rewrites entities found the way Mastodon's `Extractor` finds them:

- URLs *with a scheme* become `characters_reserved_per_url` (23) characters. The
  URL regex is twitter-text's with Mastodon's overrides from
  `config/initializers/twitter_regex.rb` (any non-space path characters, Unicode
  query characters, and the schemes http, https, dat, dweb, ipfs, ipns, ssb,
  gopher, gemini). Domains and TLDs come from the twitter-text-parser package
  (the same twitter-text lists). URLs over 4096 characters are not extracted.
- Mentions `@user@domain` become `@user` (`Account::MENTION_RE`); a mention
  whose domain is longer than 253 characters is not extracted.
- Overlapping entities are dropped (twitter-text `remove_overlapping_entities`).
- Blank text (only whitespace) counts 0, as Rails `blank?` makes it.

Where the instance's Ruby may count more than current Unicode does, the larger count is
used, so a status is never sent that the instance refuses:

- Graphemes by Unicode 15.0 rules. Ruby's `each_grapheme_cluster` (Onigmo) implements the
  Unicode version of its release: 15.0 up to Ruby 3.4 (its `RbConfig::CONFIG["UNICODE_VERSION"]`),
  15.1 or later only from Ruby 3.5. Unicode 15.1 added rule GB9c, which joins Indic
  conjuncts (consonant + virama + consonant) into one cluster; without it each conjunct
  consonant starts a new cluster, so `नमस्ते` is 4 on such an instance, 3 by current rules.
  Dropping GB9c only ever adds clusters, so the 15.0 count is the larger one on every text
  (older Rubies, 12.1 to 13.0, differ from 15.0 only in characters they did not know).
- Mention domains end where Ruby's `[[:word:]]` ends: letters, marks, decimal digits and
  connector punctuation. Python's `\w` also matches U+200C/U+200D (Join_Control), which
  would make a mention longer here, and so the status shorter, than Mastodon counts it.

Vectors: tests/data/mastodon-length.json (upstream spec cases; the tests load them).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import NamedTuple

import regex

URL_LENGTH = 23
MAX_URL_LENGTH = 4096  # twitter-text Extractor::MAX_URL_LENGTH
MAX_DOMAIN_LENGTH = 253  # mastodon Extractor::MAX_DOMAIN_LENGTH
MAX_TCO_SLUG_LENGTH = 40
URL_PROTOCOL_LENGTH = len("https://")


class _Patterns(NamedTuple):
    url: regex.Pattern[str]
    tco: regex.Pattern[str]
    mention: regex.Pattern[str]
    end_mention: regex.Pattern[str]
    blank: regex.Pattern[str]
    grapheme: regex.Pattern[str]
    #: a consonant that rule GB9c (Unicode 15.1) joins to the cluster before it
    gb9c_join: regex.Pattern[str]


@cache
def _patterns() -> _Patterns:
    """Compiled on first use, not at import (twitter-text's pieces cost ~0.4 s to import)."""
    from twitter_text.regexp.directional_markers_group import directional_markers_group
    from twitter_text.regexp.invalid_chars_group import invalid_chars_group
    from twitter_text.regexp.latin_accent_chars import latin_accent_chars
    from twitter_text.regexp.valid_domain import valid_domain
    from twitter_text.regexp.valid_url_balanced_parens import valid_url_balanced_parens

    # twitter-text valid_url_preceding_chars (case-insensitive, so no letters at all).
    preceding = rf"(?:[^A-Za-z0-9@＠$#＃{invalid_chars_group}]|[{directional_markers_group}]|^)"
    # Mastodon overrides (config/initializers/twitter_regex.rb).
    path_char = r"[^\p{White_Space}<>()?]"
    balanced = rf"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)"
    # Ruby evaluates the ending-chars override before redefining the balanced parens,
    # so it embeds twitter-text's original (narrower) balanced-parens pattern.
    path_end = rf"""[^\p{{White_Space}}()?!*"'「」<>;:=,.$%\[\]~&|@]|(?:{valid_url_balanced_parens.pattern})"""
    path = rf"(?:(?:{path_char}*(?:{balanced}{path_char}*)*(?:{path_end}))|(?:{path_char}+/))"
    uchars = (
        r"\u00A0-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF\U00010000-\U0001FFFD\U00020000-\U0002FFFD"
        r"\U00030000-\U0003FFFD\U00040000-\U0004FFFD\U00050000-\U0005FFFD\U00060000-\U0006FFFD"
        r"\U00070000-\U0007FFFD\U00080000-\U0008FFFD\U00090000-\U0009FFFD\U000A0000-\U000AFFFD"
        r"\U000B0000-\U000BFFFD\U000C0000-\U000CFFFD\U000D0000-\U000DFFFD\U000E1000-\U000EFFFD"
        r"\uE000-\uF8FF\U000F0000-\U000FFFFD\U00100000-\U0010FFFD"
    )
    query = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{uchars}]"
    query_end = rf"[a-z0-9_&=#/\-{uchars}]"

    url_re = regex.compile(
        rf"({preceding})"  # 1: preceding character
        r"("  # 2: the URL
        r"((?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?"  # 3: protocol
        rf"({valid_domain.pattern})"  # 4: domain
        r"(?::([0-9]+))?"  # 5: port
        rf"(/{path}*)?"  # 6: path
        rf"(\?{query}*{query_end})?"  # 7: query
        r")",
        regex.IGNORECASE | regex.VERSION0,
    )
    tco_re = regex.compile(r"^https?://t\.co/([a-z0-9]+)", regex.IGNORECASE)

    # Account::USERNAME_RE / mention_re (upstream 4.x).
    username = r"(?i:[a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)"
    # Ruby's [[:word:]] (Onigmo): Letter | Mark | Decimal_Number | Connector_Punctuation
    word = r"[\p{L}\p{M}\p{Nd}\p{Pc}]"
    mention_re = regex.compile(rf"(?<![=/]|{word})@((?:{username})(?:@{word}+(?:[.-]+{word}+)*)?)")
    # twitter-text end_mention_match: an @, a Latin accent or "://" right after ends it.
    end_mention_re = regex.compile(rf"[@＠{latin_accent_chars.pattern}]|://")

    blank_re = regex.compile(r"[\p{White_Space}]*")
    grapheme_re = regex.compile(r"\X")
    gb9c_join = regex.compile(r"\p{InCB=Linker}[\p{InCB=Linker}\p{InCB=Extend}]*\p{InCB=Consonant}")
    return _Patterns(url_re, tco_re, mention_re, end_mention_re, blank_re, grapheme_re, gb9c_join)


def prepare() -> None:
    """Compile the patterns now (in a worker thread after start-up), not at the first count."""
    _patterns()


def _valid_url_length(url: str, domain: str, protocol: str | None) -> bool:
    """twitter-text `is_valid_domain`: IDNA-encodable domain, URL within 4096 chars."""
    try:
        encoded = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    length = len(url) + max(0, len(encoded) - len(domain))
    if protocol is None:
        length += URL_PROTOCOL_LENGTH
    return length <= MAX_URL_LENGTH


def extract_urls(text: str) -> list[tuple[int, int]]:
    """Spans of URLs with a scheme (`extract_url_without_protocol: false`)."""
    if ":" not in text:
        return []
    spans: list[tuple[int, int]] = []
    patterns = _patterns()
    for match in patterns.url.finditer(text):
        url, protocol, domain = match.group(2), match.group(3), match.group(4)
        if protocol is None:
            continue
        start, end = match.span(2)
        tco = patterns.tco.match(url)
        if tco is not None:
            if len(tco.group(1)) > MAX_TCO_SLUG_LENGTH:
                continue
            url = tco.group(0)
            end = start + len(url)
        if not _valid_url_length(url, domain, protocol):
            continue
        spans.append((start, end))
    return spans


def extract_mentions(text: str) -> list[tuple[int, int, str]]:
    """Spans of mentions (from the @) with the replacement text `@user`."""
    if "@" not in text and "＠" not in text:
        return []
    found: list[tuple[int, int, str]] = []
    patterns = _patterns()
    for match in patterns.mention.finditer(text):
        if patterns.end_mention.match(text, match.end()):
            continue
        name = match.group(1)
        user, _, domain = name.partition("@")
        if domain and len(domain) > MAX_DOMAIN_LENGTH:
            continue
        found.append((match.start(), match.end(), "@" + user))
    return found


def countable_text(text: str, url_length: int = URL_LENGTH) -> str:
    """The text as the validator measures it (URLs and mention domains rewritten)."""
    if _patterns().blank.fullmatch(text):
        return ""
    placeholder = "x" * url_length
    entities = [(s, e, placeholder) for s, e in extract_urls(text)] + extract_mentions(text)
    entities.sort(key=lambda entity: entity[0])
    kept: list[tuple[int, int, str]] = []
    for entity in entities:
        if kept and kept[-1][1] > entity[0]:
            continue
        kept.append(entity)
    parts: list[str] = []
    index = 0
    for start, end, replacement in kept:
        parts.append(text[index:start])
        parts.append(replacement)
        index = end
    parts.append(text[index:])
    return "".join(parts)


def grapheme_length(text: str) -> int:
    """Grapheme clusters by Unicode 15.0 rules (current clusters, split again at GB9c joins)."""
    patterns = _patterns()
    count = 0
    for cluster in patterns.grapheme.findall(text):
        count += 1
        at = 0
        while (join := patterns.gb9c_join.search(cluster, at)) is not None:
            count += 1
            at = join.end() - 1  # that consonant may itself link to the next one
    return count


@lru_cache(maxsize=1024)
def status_length(text: str, spoiler_text: str = "", url_length: int = URL_LENGTH) -> int:
    """Mastodon's length of a status: graphemes of spoiler_text + countable(text)."""
    return grapheme_length(spoiler_text + countable_text(text, url_length))
