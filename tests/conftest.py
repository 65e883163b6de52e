from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.media import MediaServer


@pytest.fixture
async def media_server() -> AsyncIterator[MediaServer]:
    server = await MediaServer().start()
    yield server
    await server.stop()


@pytest.fixture
def config(tmp_path):  # type: ignore[no-untyped-def]
    from tests.helpers import make_config

    return make_config(tmp_path)


@pytest.fixture
async def api(config):  # type: ignore[no-untyped-def]
    from tests.helpers import running_api

    async with running_api(config) as running:
        yield running
