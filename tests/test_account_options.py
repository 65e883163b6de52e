"""Account settings are each adapter's `Options`: a key no platform takes is refused.

A typo (`link_cards` for `link_card`) must not be an option silently not taken, on any
platform: connecting is a 422 naming the key, before the platform is asked anything.
"""

from __future__ import annotations

import pytest

from octopost.platforms import ADAPTERS
from octopost.platforms.forms import FORMS
from tests.helpers import Api
from tests.platforms.harness import fake_class

PLATFORMS = sorted(ADAPTERS)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_typo_in_account_settings_is_a_422(platform: str, api: Api) -> None:
    async with fake_class(platform)() as fake:
        resp = await api.post(
            "/v1/accounts",
            {
                "platform": platform,
                "credentials": fake.credentials(),
                "settings": {"no_such_option": True},
            },
        )
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert "account settings" in error["message"]
        assert "no_such_option" in error["message"]
        assert fake.requests == []  # refused before anything was sent
        assert (await api.get("/v1/accounts")).json()["accounts"] == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_connect_form_offers_only_options_the_adapter_takes(platform: str) -> None:
    offered = {field.name for field in FORMS[platform].settings}
    taken = set(ADAPTERS[platform].options.__struct_fields__)
    assert offered <= taken, f"{platform}: the form offers {sorted(offered - taken)}"
