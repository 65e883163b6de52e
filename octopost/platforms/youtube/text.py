"""YouTube's text rules: a video's title and description from a post.

`<` and `>` are refused in titles and descriptions (invalidTitle / invalidDescription):
https://developers.google.com/youtube/v3/docs/videos#snippet.title
"""

from __future__ import annotations

TITLE_MAX = 100

_ANGLES = str.maketrans({"<": "\u2039", ">": "\u203a"})


def sanitize(text: str) -> str:
    return text.translate(_ANGLES)


def video_title(content: str) -> str:
    """The first non-blank line, `<>` replaced, cut at a word to 100 characters with '…'."""
    line = next((" ".join(ln.split()) for ln in content.splitlines() if ln.strip()), "")
    line = sanitize(line)
    if len(line) <= TITLE_MAX:
        return line
    cut = line[: TITLE_MAX - 1]
    space = cut.rfind(" ")
    if space >= TITLE_MAX // 2:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"
