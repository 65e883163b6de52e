"""One post, shaped for each platform: its own version (`overrides`), a thread
(`segments`, or `thread: "auto"` split by the platform's own counting rule), and what a
thread becomes where the platform has none. Pure: no I/O, no store.

What a thread becomes per platform is the adapter's `threading`:
- "native": a reply chain, one post per segment (X, Bluesky, Mastodon, Threads);
- "joined": one post of the segments joined by blank lines (LinkedIn, Facebook), refused
  with a clear message when the joined text is over the limit;
- "first": one post of the first segment only (Instagram, TikTok, YouTube: a caption or a
  description belongs to one media item).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import regex

from octopost.models import Image, Media, Post, Segment, ThreadMode, Video
from octopost.platforms import ADAPTERS
from octopost.platforms._text import clusters
from octopost.platforms.base import Draft, ImageRef, VideoRef

#: a line holding only `---` (spaces around it allowed): the writer's own break
_BREAK = regex.compile(r"(?m)^[ \t]*---[ \t]*$")
#: paragraphs: a blank line (or several)
_PARAGRAPH = regex.compile(r"(\n[ \t]*\n\s*)")
_LINE = regex.compile(r"(\n)")
#: after the end of a sentence (., !, ?, an ellipsis, CJK full stops, a closing quote or
#: bracket), before the next one
_SENTENCE = regex.compile(r"((?<=[.!?…。！？][\"'”’)\]]*)\s+|(?<=[。！？、，])(?=\S))")
_WORD = regex.compile(r"(\s+)")
#: tokens never cut: links (with or without a scheme), mentions, hashtags, cashtags
_ATOMIC = regex.compile(r"^(?:\S*://\S*|www\.\S*|[@＠#＃$]\S+|\S+@\S+\.\S+)$", regex.IGNORECASE)

JOINER = "\n\n"
#: what a post becomes on one platform (`Shaped.mode`)
SHAPE_MODES = ("single", "thread", "joined", "first")

Measure = Callable[[str], int]


class Shaped(msgspec.Struct, frozen=True):
    """What one platform gets: `mode` is single, thread, joined or first."""

    mode: str
    drafts: tuple[Draft, ...]


def _refs(media: Media | None) -> tuple[tuple[ImageRef, ...], VideoRef | None]:
    if media is None:
        return (), None
    images = tuple(ImageRef(i.url, i.alt_text) for i in media.images)
    video = VideoRef(media.video.url, media.video.thumbnail_url) if media.video else None
    return images, video


def media_of(draft: Draft) -> Media | None:
    if not draft.images and draft.video is None:
        return None
    return Media(
        images=[Image(i.url, i.alt_text) for i in draft.images],
        video=Video(draft.video.url, draft.video.thumbnail_url) if draft.video else None,
    )


def planned(shaped: Shaped) -> list[tuple[str, Media | None]]:
    """A thread's segments as the store keeps them: (text, media)."""
    return [(d.content, media_of(d)) for d in shaped.drafts]


def draft_for(content: str, media: Media | None, language: str | None) -> Draft:
    images, video = _refs(media)
    return Draft(content=content, images=images, video=video, language=language)


def _combined(segments: list[Segment]) -> Media | None:
    """Every segment's media in one post (a joined thread): the platform's check refuses
    what does not fit, rather than media being dropped silently."""
    images = [image for s in segments if s.media for image in s.media.images]
    videos = [s.media.video for s in segments if s.media and s.media.video]
    if not images and not videos:
        return None
    return Media(images=images, video=videos[0] if videos else None)


def version(post: Post, platform: str) -> tuple[str, Media | None, list[Segment] | None]:
    """(content, media, segments) for `platform`, its override applied: `segments` replace
    the thread; `content` alone makes it one post (the shared segments do not apply);
    `media` alone replaces the post's media (a thread's first segment's)."""
    override = (post.overrides or {}).get(platform)
    content, media, segments = post.content, post.media, post.segments
    if override is None:
        return content, media, segments
    if override.segments is not None:
        segments = list(override.segments)
        content, media = segments[0].content, segments[0].media
    elif override.content is not None:
        content, segments = override.content, None
    if override.media is not None:  # empty: no media on this platform
        media = override.media if override.media.images or override.media.video else None
        if segments:
            segments = [Segment(segments[0].content, media), *segments[1:]]
    return content, media, segments


def shape(post: Post, platform: str, limit: int | None = None) -> Shaped:
    """The drafts `platform` gets for `post`; `limit` (the account's own character limit,
    default the platform's) is what `thread: "auto"` splits to."""
    cls = ADAPTERS[platform]
    content, media, segments = version(post, platform)
    language = post.language
    if segments is None and post.thread is ThreadMode.AUTO and cls.threading == "native":
        parts = split(
            content,
            cls.measure,
            limit or cls.limits.max_chars,
            post.thread_marker,
            max_bytes=cls.limits.max_bytes,
        )
        segments = [Segment(text, media if i == 0 else None) for i, text in enumerate(parts)]
    elif segments is not None and post.thread_marker and cls.threading == "native":
        segments = [
            Segment(with_marker(s.content, i, len(segments)), s.media)
            for i, s in enumerate(segments)
        ]
    if not segments or len(segments) == 1:
        return Shaped("single", (draft_for(content, media, language),))
    if cls.threading == "native":
        drafts = tuple(draft_for(s.content, s.media, language) for s in segments)
        return Shaped("thread", drafts)
    if cls.threading == "joined":
        joined = JOINER.join(s.content for s in segments)
        return Shaped("joined", (draft_for(joined, _combined(segments), language),))
    first = segments[0]
    return Shaped("first", (draft_for(first.content, first.media, language),))


# -- splitting ---------------------------------------------------------------------------
def with_marker(text: str, index: int, total: int) -> str:
    return f"{text} {index + 1}/{total}"


def split(
    text: str, measure: Measure, limit: int, marker: bool = False, *, max_bytes: int | None = None
) -> list[str]:
    """`text` in pieces that each fit `limit` by `measure` (and `max_bytes` in UTF-8 when
    given): at the writer's `---` lines first, then at paragraphs, lines, sentences and
    words, as few pieces as fit; a single word longer than the limit is cut between
    graphemes, but never a link, a mention or a hashtag (that piece stays too long and the
    platform's check says so). With `marker`, each piece ends in " i/n" and room for it
    is kept."""
    digits = 1
    while True:
        reserve = f" {'9' * digits}/{'9' * digits}" if marker else ""

        def fits(piece: str, reserve: str = reserve) -> bool:
            whole = piece + reserve
            if max_bytes is not None and len(whole.encode("utf-8", "surrogatepass")) > max_bytes:
                return False
            return measure(whole) <= limit

        pieces: list[str] = []
        for block in _BREAK.split(text):
            if block.strip():
                pieces.extend(_pack(block.strip(), fits, 0))
        if not pieces:
            pieces = [text]
        if not marker or len(pieces) < 10**digits:
            break
        digits += 1  # "10/12" needs more room than "9/9": split again with it kept
    if marker and len(pieces) > 1:
        return [with_marker(p, i, len(pieces)) for i, p in enumerate(pieces)]
    return pieces


_LEVELS = (_PARAGRAPH, _LINE, _SENTENCE, _WORD)


def _units(text: str, level: int) -> list[str]:
    """`text` cut at this level's separators, each separator kept with the unit before."""
    parts = _LEVELS[level].split(text)
    units = [
        parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)
    ]
    return [u for u in units if u]


def _pack(text: str, fits: Callable[[str], bool], level: int) -> list[str]:
    if fits(text):
        return [text]
    if level == len(_LEVELS):
        return _cut(text, fits)
    out: list[str] = []
    current = ""
    for unit in _units(text, level):
        candidate = current + unit
        if fits(candidate.strip()):
            current = candidate
            continue
        if current.strip():
            out.append(current.strip())
        if fits(unit.strip()):
            current = unit
        else:
            out.extend(_pack(unit.strip(), fits, level + 1))
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _cut(word: str, fits: Callable[[str], bool]) -> list[str]:
    """One word longer than the limit, cut between graphemes (links, mentions and
    hashtags are never cut)."""
    if _ATOMIC.match(word):
        return [word]
    out: list[str] = []
    current = ""
    for cluster in clusters(word):
        if current and not fits(current + cluster):
            out.append(current)
            current = ""
        current += cluster
    if current:
        out.append(current)
    return out
