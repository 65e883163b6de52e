"""Every platform, through the real publish endpoint, against its fake: text, images, video."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopost.platforms import ADAPTERS
from octopost.platforms.base import Draft, ImageRef, VideoRef
from tests.fakes.media import MediaServer
from tests.helpers import make_config, running_api
from tests.platform_env import connect, platform_env, started_fakes


def scenarios(media: MediaServer) -> dict[str, dict]:  # type: ignore[type-arg]
    return {
        "text": {"content": "Hello from Octopost https://example.com #octopost"},
        "images": {
            "content": "Two pictures",
            "media": {
                "images": [
                    {"url": media.at("image.jpg"), "alt_text": "A red square"},
                    {"url": media.at("image2.jpg"), "alt_text": "Another red square"},
                ]
            },
        },
        "video": {"content": "A video", "media": {"video": {"url": media.at("video.mp4")}}},
    }


def _draft(body: dict) -> Draft:  # type: ignore[type-arg]
    media = body.get("media") or {}
    images = tuple(ImageRef(i["url"], i.get("alt_text")) for i in media.get("images", []))
    video = VideoRef(media["video"]["url"]) if media.get("video") else None
    return Draft(body["content"], images=images, video=video)


@pytest.mark.parametrize("platform", sorted(ADAPTERS))
async def test_publish_every_supported_kind(
    platform: str, tmp_path: Path, media_server: MediaServer
) -> None:
    cls = ADAPTERS[platform]
    wanted = {
        name: body
        for name, body in scenarios(media_server).items()
        if not cls.check(_draft(body), cls.limits)
    }
    assert wanted, f"{platform} supports none of text, images, video"
    async with started_fakes(platform) as fakes:
        fake = fakes[platform]
        async with running_api(make_config(tmp_path, **platform_env([fake]))) as api:
            await connect(api, fake)
            for number, (name, body) in enumerate(wanted.items(), start=1):
                pid = (await api.post("/v1/posts", {**body, "platforms": [platform]})).json()["id"]
                resp = await api.post(f"/v1/posts/{pid}/publish")
                assert resp.status_code == 202, (name, resp.text)
                done = await api.wait_status(pid, {"published", "failed"}, timeout=20)
                result = done["platform_results"][platform]
                assert done["status"] == "published", (name, result)
                assert result["success"] and result["post_id"], (name, result)
                assert result["post_url"].startswith("https://"), (name, result)
                assert len(fake.posts) == number, (name, fake.posts)


async def test_media_processing_failure_is_reported_per_platform(
    tmp_path: Path, media_server: MediaServer
) -> None:
    async with started_fakes("mastodon", "bluesky") as fakes:
        fakes["mastodon"].fail_processing = True  # type: ignore[attr-defined]
        async with running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api:
            await connect(api, fakes["mastodon"])
            await connect(api, fakes["bluesky"])
            body = {
                "content": "clip",
                "platforms": ["mastodon", "bluesky"],
                "media": {"video": {"url": media_server.at("video.mp4")}},
            }
            pid = (await api.post("/v1/posts", body)).json()["id"]
            await api.post(f"/v1/posts/{pid}/publish")
            done = await api.wait_status(pid, {"published", "failed"}, timeout=20)
            mastodon = done["platform_results"]["mastodon"]
            assert mastodon["success"] is False and mastodon["error_category"] == "media", mastodon
            assert done["platform_results"]["bluesky"]["success"] is True
            assert done["status"] == "published"
            assert fakes["mastodon"].posts == []
