"""LinkedIn's "little" text format, as far as Octopost writes it.

The Posts API parses `commentary` as little text: mentions `@[Name](urn:li:person:..)`,
hashtags `#tag` or `{hashtag|\\#|tag}`, and backslash escapes. Any reserved character that
is neither escaped nor part of a valid element makes LinkedIn answer 201 and silently cut
the visible text at that character, so everything reserved is escaped except a plain
`#word` hashtag (kept so it stays a clickable hashtag).
https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
"""

from __future__ import annotations

import re

#: "All reserved characters need to be escaped with a backslash, even if those characters
#: are not used in one of the supported elements or templates" (little text format, Text).
RESERVED = frozenset("\\|{}@[]()<>#*_~")

# '#' + a run of letters/digits holding at least one letter: a HashtagElement.
# '#1', 'C#' and '# x' are escaped instead (not hashtags, or not surely so).
_HASHTAG = re.compile(r"#(?=[^\W_]*[^\W\d_])[^\W_]+")


def escape_commentary(text: str) -> str:
    """`text` as little text that LinkedIn shows exactly as written (hashtags stay links)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#" and (i == 0 or text[i - 1].isspace()):
            match = _HASHTAG.match(text, i)
            if match:
                out.append(match.group())
                i = match.end()
                continue
        if ch in RESERVED:
            out.append("\\")
        out.append(ch)
        i += 1
    return "".join(out)
