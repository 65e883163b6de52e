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
        # The link is the local media server's page: a link card is fetched from it, never
        # from the internet.
        "text": {"content": f"Hello from Octopost {media.at('page.html')} #octopost"},
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
                if platform == "bluesky" and name == "text":
                    card = fake.posts[-1]["external"]
                    assert card and card["uri"] == media_server.at("page.html"), fake.posts[-1]


# How each fake makes the platform's own media processing fail (YouTube is absent: Octopost
# does not wait for YouTube's processing; its upload failures are tested in test_youtube.py).
PROCESSING_FAILURES = {
    "mastodon": ("fail_processing", True),
    "twitter": ("fail_processing", True),
    "bluesky": ("video_failure", "encoding_failure"),
    "linkedin": ("video_fails", True),
    "threads": ("fail_processing", "FAILED_PROCESSING_VIDEO"),
    "instagram": ("fail_processing", "Error: Unsupported video codec (2207026)"),
    "facebook": ("fail_processing", True),
    "tiktok": ("fail_reason", "file_format_check_failed"),
}


@pytest.mark.parametrize("platform", sorted(PROCESSING_FAILURES))
async def test_media_processing_failure_is_reported_per_platform(
    platform: str, tmp_path: Path, media_server: MediaServer
) -> None:
    async with started_fakes(platform, "bluesky" if platform != "bluesky" else "mastodon") as fakes:
        other = next(p for p in fakes if p != platform)
        name, value = PROCESSING_FAILURES[platform]
        setattr(fakes[platform], name, value)
        async with running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api:
            for fake in fakes.values():
                await connect(api, fake)
            body = {
                "content": "clip",
                "platforms": [platform, other],
                "media": {"video": {"url": media_server.at("video.mp4")}},
            }
            pid = (await api.post("/v1/posts", body)).json()["id"]
            await api.post(f"/v1/posts/{pid}/publish")
            done = await api.wait_status(pid, {"published", "failed"}, timeout=20)
        failed = done["platform_results"][platform]
        assert failed["success"] is False, failed
        assert failed["error_category"] in ("media", "validation"), failed
        assert failed["error"]
        assert done["platform_results"][other]["success"] is True
        assert done["status"] == "published"
        assert fakes[platform].posts == []
