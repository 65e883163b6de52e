"""Facebook adapter (placeholder until its issue lands: every call fails clearly)."""

from __future__ import annotations

from typing import ClassVar

from octopost.platforms.base import (
    Account,
    Deps,
    Draft,
    Identity,
    Limits,
    PlatformSettings,
    Published,
    PublishJob,
    standard_checks,
)
from octopost.platforms.errors import RejectedError


class FacebookAdapter:
    platform: ClassVar[str] = "facebook"
    label: ClassVar[str] = "Facebook"
    limits: ClassVar[Limits] = Limits(max_chars=63206, max_images=10)
    default_settings: ClassVar[PlatformSettings] = PlatformSettings(base_url="https://graph.facebook.com")

    def __init__(self, account: Account, deps: Deps) -> None:
        self.account = account
        self.deps = deps

    @classmethod
    def measure(cls, text: str) -> int:
        return len(text)

    @classmethod
    def check(cls, draft: Draft, limits: Limits) -> list[str]:
        return standard_checks(cls, draft, limits)

    async def current_limits(self) -> Limits:
        return self.limits

    async def verify(self) -> Identity:
        raise RejectedError("Facebook is not supported yet")

    async def publish(self, draft: Draft, job: PublishJob) -> Published:
        raise RejectedError("Facebook is not supported yet")

    async def recover(self, draft: Draft, job: PublishJob) -> Published | None:
        return None
