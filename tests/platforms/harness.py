"""Build a real adapter against a fake, the way the publisher does (no mocks)."""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from octopost.media import Fetcher, PublishMedia
from octopost.platforms import ADAPTERS, settings_for
from octopost.platforms._http import HttpClient
from octopost.platforms.base import (
    Account,
    Adapter,
    Deps,
    Draft,
    ImageRef,
    Published,
    PublishJob,
    VideoRef,
)
from octopost.platforms.errors import PlatformError
from tests.fakes._base import FakePlatform
from tests.fakes.media import MediaServer


def fake_class(platform: str) -> type[FakePlatform]:
    return importlib.import_module(f"tests.fakes.{platform}").Fake  # type: ignore[no-any-return]


class VirtualTime:
    """The adapter's clock and sleep: a sleep moves the clock on at once (no wall time).

    Between sleeps the clock is the wall clock, so reset times a fake computes from its
    own clock read the same to the adapter (until the adapter has slept).
    """

    def __init__(self) -> None:
        self.skipped = 0.0
        self.slept: list[float] = []

    @property
    def now(self) -> float:
        return time.time() + self.skipped

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.skipped += max(0.0, seconds)


@dataclass
class Rig:
    adapter: Adapter
    account: Account
    fake: FakePlatform
    media: PublishMedia
    saved: list[dict[str, Any]]
    time: VirtualTime

    def job(
        self, post_id: str = "post_contract", attempt: int = 1, state: dict[str, Any] | None = None
    ) -> PublishJob:
        return PublishJob(
            post_id=post_id,
            key=f"{post_id}:{self.adapter.platform}",
            media=self.media,
            state=state if state is not None else {},
            attempt=attempt,
        )

    async def publish_retrying(
        self, draft: Draft, job: PublishJob, attempts: int = 4
    ) -> tuple[Published, list[PlatformError]]:
        """publish() again after a retryable failure, as the publisher's loop does (the
        adapter never retries by itself); returns the post and the failures on the way."""
        failures: list[PlatformError] = []
        while True:
            try:
                return await self.adapter.publish(draft, job), failures
            except PlatformError as exc:
                failures.append(exc)
                if not exc.retryable or len(failures) >= attempts:
                    raise
                await self.time.sleep(exc.retry_after or 1.0)
                job.attempt += 1

    def new_adapter(self) -> Adapter:
        """A second adapter instance on the same account (as a later publish would get)."""
        return type(self.adapter)(self.account, self.adapter.deps)  # type: ignore[attr-defined,call-arg]


def sample_draft(kind: str, media: MediaServer, text: str = "Hello from Octopost") -> Draft:
    if kind == "image":
        return Draft(text, images=(ImageRef(media.at("image.jpg"), "A red square"),))
    if kind == "video":
        return Draft(text, video=VideoRef(media.at("video.mp4")))
    return Draft(text)


@asynccontextmanager
async def rig(platform: str, fake: FakePlatform, *, verify: bool = True) -> AsyncIterator[Rig]:
    """An adapter wired to `fake`, its account verified (username filled) like on connect."""
    saved: list[dict[str, Any]] = []

    async def saver(credentials: dict[str, Any]) -> None:
        saved.append(dict(credentials))

    async with aiohttp.ClientSession() as session:
        fetcher = Fetcher(allow_private=True, max_bytes=64 * 1024 * 1024)
        settings = settings_for(platform, fake.platform_config())
        virtual = VirtualTime()
        deps = Deps(
            http=HttpClient(session, timeout=10),
            settings=settings,
            pages=fetcher,
            sleep=virtual.sleep,
            clock=virtual.clock,
        )
        account = Account(
            id="acc_contract",
            platform=platform,
            credentials=fake.credentials(),
            saver=saver,
        )
        adapter = ADAPTERS[platform](account, deps)
        if verify:
            identity = await adapter.verify()
            account.username = identity.username
        media = PublishMedia(fetcher)
        try:
            yield Rig(adapter, account, fake, media, saved, virtual)
        finally:
            await media.close()
            await fetcher.close()
