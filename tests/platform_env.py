"""Wiring platform fakes into a service config, and connecting their accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from tests.fakes._base import FakePlatform
from tests.platforms.harness import fake_class


def platform_env(fakes: list[FakePlatform]) -> dict[str, str]:
    """OCTOPOST_PLATFORMS_<ID>_<KEY> variables pointing each platform at its fake."""
    env: dict[str, str] = {}
    for fake in fakes:
        for key, value in fake.platform_config().items():
            env[f"OCTOPOST_PLATFORMS_{fake.platform.upper()}_{key.upper()}"] = str(value)
    return env


@asynccontextmanager
async def started_fakes(*platforms: str, **options: Any) -> AsyncIterator[dict[str, FakePlatform]]:
    async with AsyncExitStack() as stack:
        fakes = {}
        for platform in platforms:
            fakes[platform] = await stack.enter_async_context(fake_class(platform)(**options))
        yield fakes


async def connect(
    api: Any, fake: FakePlatform, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = {
        "platform": fake.platform,
        "credentials": fake.credentials(),
        "settings": settings or {},
    }
    resp = await api.post("/v1/accounts", body)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]
