"""A post's `language`: checked as BCP 47, stored, returned, and used by the platforms that take one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from octopost.language import normalize_language
from octopost.store.schema import MIGRATIONS
from tests.helpers import Api, make_config, running_api
from tests.platform_env import connect, platform_env, started_fakes


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("pt-br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("sr-Latn", "sr-Latn"),
        ("de-CH-1901", "de-CH-1901"),
        ("en-US-x-Twain", "en-US-x-twain"),
        ("ast", "ast"),
    ],
)
def test_language_tags_are_kept_in_canonical_case(tag: str, canonical: str) -> None:
    assert normalize_language(tag) == canonical


@pytest.mark.parametrize(
    "tag",
    ["", "e", "en_US", "en-", "-en", "english", "x-klingon", "i-klingon", "en-US-US", "de-1901-1901",
     "en-a-bb-a-cc", "123", "en US", "e" * 40],
)  # fmt: skip
def test_other_strings_are_no_language(tag: str) -> None:
    assert normalize_language(tag) is None


async def test_language_is_validated_stored_and_returned(api: Api) -> None:
    resp = await api.post(
        "/v1/posts", {"content": "Olá", "platforms": ["bluesky"], "language": "pt-br"}
    )
    assert resp.status_code == 201
    post = resp.json()
    assert post["language"] == "pt-BR"
    assert (await api.get(f"/v1/posts/{post['id']}")).json()["language"] == "pt-BR"
    listed = (await api.get("/v1/posts")).json()["posts"]
    assert listed[0]["language"] == "pt-BR"

    bad = await api.post(
        "/v1/posts", {"content": "x", "platforms": ["bluesky"], "language": "en_US"}
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] == [
        {
            "field": "language",
            "message": 'must be a BCP 47 language tag such as "en", "pt-BR" or "zh-Hant-TW"',
        }
    ]
    assert "language" in error["message"]

    changed = await api.put(f"/v1/posts/{post['id']}", {"language": "EN"})
    assert changed.status_code == 200 and changed.json()["language"] == "en"
    refused = await api.put(f"/v1/posts/{post['id']}", {"language": "nope nope"})
    assert refused.status_code == 422
    cleared = await api.put(f"/v1/posts/{post['id']}", {"language": None})
    assert cleared.status_code == 200 and cleared.json()["language"] is None
    plain = await api.post("/v1/posts", {"content": "x", "platforms": ["bluesky"]})
    assert plain.json()["language"] is None


async def test_the_dry_run_checks_the_language(api: Api) -> None:
    resp = await api.post(
        "/v1/posts/validate", {"content": "x", "platforms": ["bluesky"], "language": "en__"}
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["field"] == "language"


def test_the_column_comes_from_an_appended_migration() -> None:
    # appended, not edited into a released one: in exactly one migration after the first
    adding = [i for i, m in enumerate(MIGRATIONS) if "language" in m]
    assert len(adding) == 1 and adding[0] > 0
    assert "ADD COLUMN language" in MIGRATIONS[adding[0]]


async def test_published_with_the_language_to_the_platforms_that_take_one(
    tmp_path: Path,
) -> None:
    async with started_fakes("bluesky", "mastodon") as fakes:
        config = make_config(tmp_path, **platform_env(list(fakes.values())))
        async with running_api(config) as api:
            for fake in fakes.values():
                await connect(api, fake)
            body = {"content": "Hallo Welt", "platforms": ["bluesky", "mastodon"], "language": "de"}
            pid = (await api.post("/v1/posts", body)).json()["id"]
            assert (await api.post(f"/v1/posts/{pid}/publish")).status_code == 202
            done = await api.wait_status(pid, {"published", "failed"}, timeout=20)
            assert done["status"] == "published", done["platform_results"]
    assert fakes["bluesky"].posts[0]["langs"] == ["de"]
    assert fakes["mastodon"].posts[0]["language"] == "de"
    sent = json.loads(fakes["mastodon"].calls("POST", "/api/v1/statuses")[0].body)
    assert sent["language"] == "de"
