"""Instagram's caption rules: what counts as a hashtag and a mention (30 and 20 at most)."""

from __future__ import annotations

import regex

_HASHTAG = regex.compile(r"(?<![\w#&])#(\w+)")
_MENTION = regex.compile(r"(?<![\w@.])@([A-Za-z0-9._]{1,30})")


def hashtags(text: str) -> set[str]:
    """Distinct hashtags (case-insensitive), as counted against the limit of 30."""
    return {tag.casefold() for tag in _HASHTAG.findall(text)}


def mentions(text: str) -> set[str]:
    """Distinct @-mentions (case-insensitive), as counted against the limit of 20."""
    return {name.casefold() for name in _MENTION.findall(text)}
