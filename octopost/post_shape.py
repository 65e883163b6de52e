"""Validation of a post's shape: `segments` (a thread), `overrides` (per-platform
versions) and the `thread` options. Kept apart from posts.py, which validates the rest."""

from __future__ import annotations

import msgspec

# a module import (not its names): posts.py imports this module while it is being loaded
from octopost import posts as _posts
from octopost.errors import FieldError
from octopost.models import PLATFORM_IDS, Media, Override, Segment, ThreadMode

#: segments in one thread (X, Bluesky and Mastodon set no limit of their own; this keeps a
#: runaway client from sending hundreds of replies)
MAX_SEGMENTS = 25
THREAD_MODES = tuple(m.value for m in ThreadMode)


class Shape(msgspec.Struct):
    """A post's text and media with its shape, validated and made consistent: with
    segments, `content` and `media` are the first segment's."""

    content: str
    media: Media | None
    segments: list[Segment] | None = None
    overrides: dict[str, Override] | None = None
    thread: ThreadMode = ThreadMode.OFF
    thread_marker: bool = False


def _segments(
    segments: list[Segment], field: str, errors: list[FieldError]
) -> list[Segment] | None:
    if not segments:
        errors.append(FieldError(field, "must hold at least one segment"))
        return None
    if len(segments) > MAX_SEGMENTS:
        errors.append(FieldError(field, f"at most {MAX_SEGMENTS} segments"))
        return None
    clean = []
    for i, segment in enumerate(segments):
        _posts.validate_content(segment.content, errors, f"{field}[{i}].content")
        media = (
            _posts.validate_media(segment.media, errors, f"{field}[{i}].media")
            if segment.media is not None
            else None
        )
        clean.append(Segment(segment.content, media))
    return clean


def _first(
    content: str | None,
    media: Media | None,
    segments: list[Segment],
    prefix: str,
    errors: list[FieldError],
) -> tuple[str, Media | None, list[Segment]]:
    """`content` and `media` beside segments: omitted (taken from the first segment) or
    the same as the first segment's."""
    first = segments[0]
    if content is not None and content != first.content:
        errors.append(
            FieldError(f"{prefix}content", "must equal segments[0].content, or be omitted")
        )
    if media is not None and first.media is not None and media != first.media:
        errors.append(FieldError(f"{prefix}media", "must equal segments[0].media, or be omitted"))
    if media is not None and first.media is None:
        segments = [Segment(first.content, media), *segments[1:]]
    return segments[0].content, segments[0].media, segments


def _override(platform: str, override: Override, errors: list[FieldError]) -> Override | None:
    field = f"overrides.{platform}"
    if override.content is None and override.media is None and override.segments is None:
        errors.append(FieldError(field, "must set content, media or segments"))
        return None
    content, media, segments = override.content, override.media, override.segments
    if content is not None:
        _posts.validate_content(content, errors, f"{field}.content")
    if media is not None:
        # `{"images": []}` stays: it means "no media on this platform"
        media = _posts.validate_media(media, errors, f"{field}.media") or Media()
    if segments is not None:
        checked = _segments(segments, f"{field}.segments", errors)
        if checked is None:
            return None
        _, _, segments = _first(content, media, checked, f"{field}.", errors)
        content = media = None  # now held by the first segment
    return Override(content=content, media=media, segments=segments)


def validate_shape(
    *,
    content: str | None,
    media: Media | None,
    segments: list[Segment] | None,
    overrides: dict[str, Override] | None,
    thread: str | None,
    thread_marker: bool | None,
    platforms: list[str],
    errors: list[FieldError],
) -> Shape:
    """The post's shape, consistent; every problem is added to `errors`. `media` has been
    validated already; `platforms` are the validated targets."""
    clean_segments = None
    if segments is not None:
        clean_segments = _segments(segments, "segments", errors)
    if clean_segments is not None:
        content, media, clean_segments = _first(content, media, clean_segments, "", errors)
    elif content is None:
        if segments is None:
            errors.append(FieldError("content", "is required (or give segments)"))
        content = ""
    else:
        _posts.validate_content(content, errors)
    mode = ThreadMode.OFF
    if thread is not None:
        if thread not in THREAD_MODES:
            errors.append(FieldError("thread", f"must be one of: {', '.join(THREAD_MODES)}"))
        else:
            mode = ThreadMode(thread)
    if mode is ThreadMode.AUTO and segments is not None:
        errors.append(
            FieldError("thread", '"auto" splits content; give segments or "auto", not both')
        )
    clean_overrides: dict[str, Override] | None = None
    if overrides is not None:
        clean_overrides = {}
        for platform, override in overrides.items():
            if platform not in PLATFORM_IDS:
                errors.append(
                    FieldError(
                        f"overrides.{platform}",
                        f"unknown platform '{platform}'; valid: {', '.join(PLATFORM_IDS)}",
                    )
                )
            elif platform not in platforms:
                errors.append(
                    FieldError(f"overrides.{platform}", f"'{platform}' is not in platforms")
                )
            else:
                checked = _override(platform, override, errors)
                if checked is not None:
                    clean_overrides[platform] = checked
        clean_overrides = clean_overrides or None
    return Shape(
        content=content,
        media=media,
        segments=clean_segments,
        overrides=clean_overrides,
        thread=mode,
        thread_marker=bool(thread_marker),
    )
