"""The Adapter protocol and its small value types. No I/O here.

One adapter class per platform (`platforms/<id>/__init__.py`) implements `Adapter`.
The publisher builds one adapter instance per (account, publish) with an `Account`
handle and the shared `Deps`, then calls `publish()`; the accounts service calls
`verify()`; validation calls the class-level `check()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

import msgspec

from octopost.platforms._http import (
    Classifier,
    HttpClient,
    PlatformHttp,
    ReasonFn,
    bounded_poll,
    default_reason,
)
from octopost.platforms.endpoints import PlatformSettings
from octopost.platforms.errors import RejectedError

if TYPE_CHECKING:
    from octopost.platforms._connect import OAuthFlow

T = TypeVar("T")


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """What one platform accepts in a single post (checked before anything is sent)."""

    max_chars: int
    #: the longest text in UTF-8 bytes as well (None: `max_chars` alone), e.g. Bluesky's 3,000
    max_bytes: int | None = None
    max_images: int = 4
    video: bool = True
    requires_media: bool = False
    requires_video: bool = False
    #: images and a video may go together in one post
    images_with_video: bool = True
    #: images and video together, when a post holds several as a carousel (None: no such limit)
    max_items: int | None = None
    #: the longest alt text of an image (None: no limit Octopost knows of)
    max_alt_text: int | None = None
    #: media come from public URLs the platform fetches itself (Threads, Instagram, ...)
    needs_public_media: bool = False


class ImageRef(msgspec.Struct, frozen=True):
    url: str
    alt_text: str | None = None


class VideoRef(msgspec.Struct, frozen=True):
    url: str
    thumbnail_url: str | None = None


class PostRef(msgspec.Struct, frozen=True):
    """A post that exists on its platform, as a reply names it."""

    post_id: str
    post_url: str
    #: Bluesky: the record's content hash (a strong ref is uri + cid)
    cid: str | None = None


class Reply(msgspec.Struct, frozen=True):
    """Where a segment of a thread goes: under `parent`, in the thread started by `root`."""

    root: PostRef
    parent: PostRef


class Draft(msgspec.Struct, frozen=True):
    """The platform-neutral content of one post."""

    content: str
    images: tuple[ImageRef, ...] = ()
    video: VideoRef | None = None
    language: str | None = None
    #: a later segment of a thread (only on the platforms with `threads = True`)
    reply: Reply | None = None


class Identity(msgspec.Struct, frozen=True):
    """Who an account is on its platform (from `verify()`)."""

    username: str
    display_name: str | None = None
    remote_id: str | None = None
    profile_url: str | None = None
    avatar_url: str | None = None


class Published(msgspec.Struct, frozen=True):
    """A post that exists on the platform."""

    post_id: str
    post_url: str
    #: Bluesky: the record's content hash, needed by a reply to it
    cid: str | None = None


@dataclass
class Download:
    """A media file fetched once per publish into a temporary file."""

    url: str
    path: Path
    size: int
    content_type: str
    filename: str

    def read(self) -> bytes:
        return self.path.read_bytes()

    async def chunks(self, size: int, start: int = 0) -> AsyncIterator[bytes]:
        """Yield the file in `size`-byte pieces from byte `start`."""
        with self.path.open("rb") as fh:
            fh.seek(start)
            while True:
                piece = await asyncio.to_thread(fh.read, size)
                if not piece:
                    return
                yield piece


class MediaSource(Protocol):
    async def fetch(self, url: str) -> Download:
        """Download `url` (once per publish; guarded and size-capped). Raises MediaError."""
        ...


class PageFetcher(Protocol):
    async def fetch_page(self, url: str, max_bytes: int = 1_000_000) -> tuple[str, bytes]:
        """GET a public web page (guarded); returns (final content type, body)."""
        ...


@dataclass
class Deps:
    """Shared services given to every adapter instance."""

    http: HttpClient
    settings: PlatformSettings
    pages: PageFetcher
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.time

    def bind(
        self, label: str, *, reason: ReasonFn = default_reason, classify: Classifier | None = None
    ) -> PlatformHttp:
        """Requests for one platform, its errors read by `reason` and `classify`."""
        return self.http.bind(label, reason=reason, classify=classify, clock=self.clock)

    async def poll(
        self,
        check: Callable[[], Awaitable[T | None]],
        *,
        label: str,
        what: str = "processing",
        timeout: float | None = None,
    ) -> T:
        """`check()` every `poll_interval` until it returns a value, for `poll_timeout` at most."""
        result: T = await bounded_poll(
            check,
            interval=self.settings.poll_interval,
            timeout=self.settings.poll_timeout if timeout is None else timeout,
            sleep=self.sleep,
            what=what,
            label=label,
        )
        return result


CredentialSaver = Callable[[dict[str, Any]], Awaitable[None]]


async def _no_save(_: dict[str, Any]) -> None:
    return None


@dataclass
class Account:
    """A connected account as adapters see it: decrypted credentials and a way to save them.

    `lock` is shared by every adapter instance of this account so that two
    refreshes never run at once (single-use refresh tokens would be lost).
    """

    id: str
    platform: str
    credentials: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    username: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    saver: CredentialSaver = _no_save

    async def save_credentials(self, credentials: dict[str, Any]) -> None:
        """Persist new credentials (atomically, before they are used) and adopt them."""
        await self.saver(credentials)
        self.credentials = credentials


@dataclass
class PublishJob:
    """One platform's share of one publish.

    `key` is stable for (post, platform) across retries and restarts: use it as
    the platform's idempotency key or record key. `state` holds what earlier
    attempts checkpointed (e.g. a container id); `checkpoint()` persists more
    before the adapter proceeds, so a crash resumes instead of re-posting.
    """

    post_id: str
    key: str
    media: MediaSource
    state: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1
    saver: Callable[[dict[str, Any]], Awaitable[None]] = _no_save

    async def checkpoint(self, **values: Any) -> None:
        self.state.update(values)
        await self.saver(dict(self.state))


class Adapter(Protocol):
    """One social platform. Instances are cheap: one per (account, publish)."""

    platform: ClassVar[str]
    """Platform id: equals the module name, registry key, config section and fake name."""
    label: ClassVar[str]
    """Human name used in messages ("Mastodon", "X", "LinkedIn")."""
    limits: ClassVar[Limits]
    """Default limits (an account may narrow or widen them, see `current_limits`)."""
    options: ClassVar[type[Options]]
    """What an account's `settings` may hold on this platform (unknown keys are refused)."""
    threading: ClassVar[str]
    """What a thread (`segments`) becomes here: "native" (a reply chain: `publish()` takes
    `Draft.reply`), "joined" (one post, the segments joined by blank lines) or "first"
    (one post of the first segment only)."""
    oauth: ClassVar[OAuthFlow | None]
    """How an account is connected in a browser (`_connect.py`); None: pasted credentials only."""

    def __init__(self, account: Account, deps: Deps) -> None: ...

    @classmethod
    def prepare(cls) -> None:
        """Build what counting this platform's text needs (compiled patterns, tables),
        which is otherwise built on first use. Run in a worker thread after start-up for
        the platforms that have an account, so a first publish does not pay for it."""
        ...

    @classmethod
    def measure(cls, text: str) -> int:
        """Length of `text` by the platform's own counting rule."""
        ...

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        """Every reason the platform would refuse `draft`; empty when it fits."""
        ...

    async def current_limits(self) -> Limits:
        """Limits for this account (e.g. a Mastodon instance's own character limit)."""
        ...

    async def verify(self) -> Identity:
        """Check the credentials against the platform's identity endpoint."""
        ...

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        """Create the post. Raises a `PlatformError` subclass on failure."""
        ...

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        """After an unknown outcome: the post if it exists, None if re-sending is safe.

        Raise `OutcomeUnknownError` when the platform offers no way to tell.
        """
        ...

    async def keep_alive(self) -> None:
        """Renew a credential that would die unused (a 60-day Meta token), when due.

        Run periodically by `octopost.upkeep`, not only before a publish. Raises
        `AuthExpiredError` when the platform refuses it for good (reconnect).
        """
        ...


def _blank(text: str) -> bool:
    return not text.strip()


class Rules(Protocol):
    """What the shared checks need of an adapter class."""

    label: ClassVar[str]

    @classmethod
    def measure(cls, text: str) -> int: ...


def standard_checks(
    cls: type[Rules],
    draft: Draft,
    limits: Limits,
    *,
    length: int | None = None,
    blank: Callable[[str], bool] = _blank,
) -> list[str]:
    """The checks every platform shares, by what its `limits` declare: the length by its
    own rule (`length` when it depends on the limits), the media count and kind, that a
    post has something in it (`blank`: what the platform takes for no text), alt text.
    """
    problems: list[str] = []
    if length is None:
        length = cls.measure(draft.content)
    if length > limits.max_chars:
        problems.append(
            f"Content is {length} characters as {cls.label} counts them; the limit is {limits.max_chars}."
        )
    if draft.images and limits.max_images == 0:
        problems.append(f"{cls.label} does not accept images.")
    elif len(draft.images) > limits.max_images:
        problems.append(
            f"{cls.label} accepts at most {limits.max_images} images; the post has {len(draft.images)}."
        )
    if draft.video is not None and not limits.video:
        problems.append(f"{cls.label} does not accept video.")
    if limits.requires_video and draft.video is None:
        problems.append(f"{cls.label} needs a video.")
    elif limits.requires_media and draft.video is None and not draft.images:
        problems.append(f"{cls.label} needs an image or a video.")
    elif blank(draft.content) and draft.video is None and not draft.images:
        problems.append(f"{cls.label} needs text, images or a video.")
    items = len(draft.images) + (draft.video is not None)
    if limits.max_items is not None and items > limits.max_items:
        article = "An" if cls.label[:1] in "AEIOU" else "A"
        problems.append(
            f"{article} {cls.label} carousel holds at most {limits.max_items} items; "
            f"the post has {items}."
        )
    if draft.images and draft.video is not None and not limits.images_with_video:
        problems.append(
            f"{cls.label} cannot combine images with a video: "
            "a post carries images or one video, not both."
        )
    for number, image in enumerate(draft.images, 1):
        alt = image.alt_text or ""
        if limits.max_alt_text is not None and len(alt) > limits.max_alt_text:
            problems.append(
                f"Alt text of image {number} is {len(alt)} characters; "
                f"{cls.label} allows {limits.max_alt_text}."
            )
    return problems


class Options(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every adapter's `Options`: what an account's `settings` may hold.

    Unknown keys are refused, so a typo in account settings is an error on every
    platform instead of an option silently not taken.
    """

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None, label: str) -> Self:
        """The options in an account's `settings`; bad input is a rejection."""
        try:
            return msgspec.convert(dict(settings or {}), cls, strict=False)
        except msgspec.ValidationError as exc:
            raise RejectedError(f"Invalid {label} account settings: {exc}") from exc


StructT = TypeVar("StructT", bound=msgspec.Struct)


def decode_credentials(kind: type[StructT], raw: Mapping[str, Any], label: str) -> StructT:
    """Decode an account's credentials into the adapter's struct; bad input is a rejection."""
    try:
        return msgspec.convert(dict(raw), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise RejectedError(f"Invalid {label} credentials: {exc}") from exc


class BaseAdapter:
    """What every adapter writes the same way, written once (one level, no I/O): its
    account and shared services, its declared limits, the shared checks.

    An adapter subclasses this, declares the `Adapter` class attributes and builds its
    client (`self.api`) and media helper (`self.media`) in `__init__`.
    """

    platform: ClassVar[str]
    label: ClassVar[str]
    limits: ClassVar[Limits]
    options: ClassVar[type[Options]]
    threading: ClassVar[str]
    oauth: ClassVar[OAuthFlow | None] = None

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        return standard_checks(cls, draft, limits)

    @classmethod
    def prepare(cls) -> None:
        """Nothing to build: most platforms count with plain string operations."""
        return None

    @classmethod
    def measure(cls, text: str) -> int:
        """Code points, for platforms that document no other unit."""
        return len(text)

    async def current_limits(self) -> Limits:
        return self.limits

    async def keep_alive(self) -> None:
        """Most credentials need nothing between publishes (refresh tokens, app passwords)."""
        return None
