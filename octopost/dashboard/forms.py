"""Form fields in, API request structs out; API errors back onto the fields they name.

Inputs are named after the API's field paths (`content`, `media.images[0].alt_text`),
so an error's `field` from the services is also the input it belongs next to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from litestar.datastructures import FormMultiDict

from octopost.errors import OctopostError
from octopost.models import Image, Media, Post, Video, iso
from octopost.platforms import PLATFORM_IDS
from octopost.web.schemas import CreatePostRequest

IMAGE_ROWS = 4
ACTIONS = ("draft", "schedule", "publish")


@dataclass
class Problems:
    """Errors to show: a summary, and messages per input name (`platforms.twitter`, ...)."""

    message: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def of(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def __bool__(self) -> bool:
        return bool(self.message or self.fields)

    @classmethod
    def from_error(cls, exc: OctopostError, rename: dict[str, str] | None = None) -> Problems:
        problems = cls(exc.message)
        for detail in exc.details:
            problems.add((rename or {}).get(detail.field, detail.field), detail.message)
        return problems


@dataclass
class ComposeForm:
    """What the compose / edit form holds, exactly as typed (refilled after an error)."""

    content: str = ""
    platforms: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=lambda: [("", "")] * IMAGE_ROWS)
    video_url: str = ""
    thumbnail_url: str = ""
    #: the <input type=datetime-local> value, in the browser's time zone
    schedule_local: str = ""
    #: the same instant in UTC, filled in by the page's script ("" without JavaScript)
    scheduled_for: str = ""
    action: str = "draft"
    idempotency_key: str = ""
    #: compact image index -> form row, so errors land on the row the person filled
    _rows: list[int] = field(default_factory=list)

    @classmethod
    def parse(cls, form: FormMultiDict) -> ComposeForm:
        images = [
            (
                str(form.get(f"media.images[{i}].url", "")).strip(),
                str(form.get(f"media.images[{i}].alt_text", "")),
            )
            for i in range(IMAGE_ROWS)
        ]
        action = str(form.get("action", "draft"))
        return cls(
            content=str(form.get("content", "")),
            platforms=[str(p) for p in form.getall("platforms", []) if p in PLATFORM_IDS],
            images=images,
            video_url=str(form.get("media.video.url", "")).strip(),
            thumbnail_url=str(form.get("media.video.thumbnail_url", "")).strip(),
            schedule_local=str(form.get("schedule_local", "")).strip(),
            scheduled_for=str(form.get("scheduled_for", "")).strip(),
            action=action if action in ACTIONS else "draft",
            idempotency_key=str(form.get("idempotency_key", "")),
        )

    @classmethod
    def of(cls, post: Post) -> ComposeForm:
        images = [(i.url, i.alt_text or "") for i in (post.media.images if post.media else [])]
        images += [("", "")] * (IMAGE_ROWS - len(images))
        video = post.media.video if post.media else None
        when = iso(post.scheduled_for) or ""
        return cls(
            content=post.content,
            platforms=list(post.platforms),
            images=images[:IMAGE_ROWS],
            video_url=video.url if video else "",
            thumbnail_url=(video.thumbnail_url or "") if video else "",
            # shown in UTC until the script converts it to the browser's time zone
            schedule_local=when[:16] if when else "",
            scheduled_for=when,
            action="schedule" if post.scheduled_for else "draft",
        )

    def media(self) -> Media | None:
        self._rows = []
        images = []
        for row, (url, alt) in enumerate(self.images):
            if url or alt.strip():
                self._rows.append(row)
                images.append(Image(url=url, alt_text=alt if alt.strip() else None))
        video = (
            Video(url=self.video_url, thumbnail_url=self.thumbnail_url or None)
            if self.video_url or self.thumbnail_url
            else None
        )
        if not images and video is None:
            return None
        return Media(images=images, video=video)

    def schedule(self) -> str | None:
        """The time to store, or None for a draft. Without the script the picker's value
        has no offset, so it is read as UTC (the page says so)."""
        if self.action == "draft":
            return None
        if self.scheduled_for:
            return self.scheduled_for
        if self.schedule_local:
            return _local_as_utc(self.schedule_local)
        return None

    def request(self) -> CreatePostRequest:
        return CreatePostRequest(
            content=self.content,
            platforms=self.platforms,
            scheduled_for=self.schedule() if self.action == "schedule" else None,
            media=self.media(),
        )

    def renames(self) -> dict[str, str]:
        """API field path -> form input name (image indexes back to the filled rows)."""
        # a thread's first post is the form's text and media
        names = {"scheduled_for": "schedule_local", "segments[0].content": "content"}
        for compact, row in enumerate(self._rows):
            for part in ("url", "alt_text"):
                names[f"media.images[{compact}].{part}"] = f"media.images[{row}].{part}"
                names[f"segments[0].media.images[{compact}].{part}"] = f"media.images[{row}].{part}"
            if compact != row:
                names[f"media.images[{compact}]"] = f"media.images[{row}]"
        for index, platform in enumerate(self.platforms):
            names[f"platforms[{index}]"] = f"platforms.{platform}"
        return names


def _local_as_utc(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value  # the service explains what is wrong with it
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed) or value


def checkbox(form: FormMultiDict, name: str) -> bool:
    return str(form.get(name, "")) in ("on", "true", "1", "yes")
