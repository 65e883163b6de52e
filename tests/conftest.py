from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.media import MediaServer


@pytest.fixture
async def media_server() -> AsyncIterator[MediaServer]:
    server = await MediaServer().start()
    yield server
    await server.stop()
