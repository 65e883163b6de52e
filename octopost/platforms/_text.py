"""Text rules more than one platform counts or compares by.

- `utf16_length`: UTF-16 code units, what Java's `String.length()` and a JavaScript
  string's `length` count (LinkedIn, TikTok, Facebook);
- `utf8_length`: UTF-8 bytes, what a lexicon `maxLength` or a byte limit counts
  (Bluesky, YouTube);
- `clusters` / `graphemes`: extended grapheme clusters by the current Unicode rules
  (`regex`'s `\\X`), what "characters" means to a person (Bluesky, Threads, Mastodon);
- `comparable`: text as compared with a post read back, whitespace runs as one space;
- `parse_timestamp`: a platform's ISO 8601 timestamp as epoch seconds;
- `data_words`: a word table shipped next to an adapter (`<id>/*.txt`, with its
  provenance in `#` comments), e.g. the emoji X counts, the TLDs Bluesky links.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import regex

_CLUSTER = regex.compile(r"\X")


def utf16_length(text: str) -> int:
    """UTF-16 code units (a lone surrogate counts one, as in Java and JavaScript)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf8_length(text: str) -> int:
    """UTF-8 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def clusters(text: str) -> list[str]:
    """The extended grapheme clusters of `text`, in order."""
    return list(_CLUSTER.findall(text))


def graphemes(text: str) -> int:
    """How many extended grapheme clusters `text` has."""
    return len(_CLUSTER.findall(text))


def comparable(text: str) -> str:
    """`text` with whitespace runs as one space and none at the ends: platforms trim and
    rewrap what they store, so this is how a draft and a post read back are compared."""
    return " ".join(text.split())


def parse_timestamp(value: str) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp: "2026-01-05T12:05:00.000Z" (Mastodon),
    "2026-01-05T12:05:00+0000" (Meta Graph), with or without fractions; no offset means
    UTC. None when `value` is not one."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def data_words(package: str, name: str) -> dict[str, list[str]]:
    """The words of the data file `name` of `package`, by `[section]` ("" before the
    first); `#` starts a comment line."""
    sections: dict[str, list[str]] = {"": []}
    current = sections[""]
    for line in resources.files(package).joinpath(name).read_text("utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        else:
            current.extend(line.split())
    return sections
