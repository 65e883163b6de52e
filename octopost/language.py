"""A post's language: a BCP 47 tag (RFC 5646), checked once and kept in canonical case.

Accepted: a language of 2 or 3 letters (ISO 639), then optional extended language, script,
region, variant, extension and private-use subtags in the order RFC 5646 section 2.1 gives
them, with no variant or extension singleton repeated (section 4.1): "en", "pt-BR",
"zh-Hant-TW", "sr-Latn", "es-419". Refused: anything else, including the 4 to 8 letter
primary subtags the grammar reserves and tags of private use only ("x-klingon"), which no
platform takes. The same rule as atproto's strict `parseLanguageString`, so Bluesky accepts
every tag accepted here.

Canonical case (section 2.1.1): the language lower case, a script title case ("Hant"), a
region upper case ("BR"), everything else lower case.
"""

from __future__ import annotations

import re

MAX_LENGTH = 35  # RFC 5646 section 4.4.1: 35 characters hold every tag in practice

_TAG = re.compile(
    r"(?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)"
    r"(?P<extensions>(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*)"
    r"(?:-x(?:-[a-z0-9]{1,8})+)?",
    re.ASCII | re.IGNORECASE,
)

EXAMPLE = '"en", "pt-BR" or "zh-Hant-TW"'


def _repeats(items: list[str]) -> bool:
    lowered = [item.lower() for item in items]
    return len(set(lowered)) != len(lowered)


def normalize_language(tag: str) -> str | None:
    """`tag` in canonical case, or None when it is not a language tag Octopost accepts."""
    if not isinstance(tag, str) or not 2 <= len(tag) <= MAX_LENGTH:
        return None
    match = _TAG.fullmatch(tag)
    if match is None:
        return None
    variants = [v for v in match.group("variants").split("-") if v]
    singletons = [s for s in match.group("extensions").split("-") if len(s) == 1]
    if _repeats(variants) or _repeats(singletons):
        return None
    subtags = tag.split("-")
    out = [subtags[0].lower()]
    in_extension = False
    for subtag in subtags[1:]:
        if len(subtag) == 1:
            in_extension = True  # after a singleton, every subtag is lower case
        if not in_extension and len(subtag) == 4 and subtag.isalpha():
            out.append(subtag.title())
        elif not in_extension and len(subtag) == 2 and subtag.isalpha():
            out.append(subtag.upper())
        else:
            out.append(subtag.lower())
    return "-".join(out)
