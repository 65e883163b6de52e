"""Per-platform versions (`overrides`), `thread: "auto"`, what a thread becomes on the
platforms without threads, the dry-run preview, and the 422s of a bad shape."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from octopost.platforms.bluesky import BlueskyAdapter
from octopost.platforms.twitter import TwitterAdapter
from tests.fakes.media import MediaServer
from tests.helpers import Api, hold_writer, make_config, running_api, until_queued
from tests.platform_env import connect, platform_env, started_fakes
from tests.test_threads import publish

LONG = " ".join(
    f"Sentence number {i} says a little more about the plan, so the text grows." for i in range(20)
)


async def test_overrides_give_each_platform_its_own_text_and_media(
    tmp_path: Path, media_server: MediaServer
) -> None:
    red = {"images": [{"url": media_server.at("image.jpg"), "alt_text": "A red square"}]}
    blue = {"images": [{"url": media_server.at("image.png"), "alt_text": "A blue square"}]}
    async with (
        started_fakes("mastodon", "bluesky", "twitter") as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        for fake in fakes.values():
            await connect(api, fake)
        body = {
            "content": "The long version, for Mastodon, with every detail in it.",
            "media": red,
            "platforms": ["mastodon", "bluesky", "twitter"],
            "overrides": {
                "bluesky": {"media": blue},
                "twitter": {"content": "Short for X", "media": {"images": []}},
            },
        }
        done = await publish(api, body)
        assert done["status"] == "published", done
        assert done["overrides"]["bluesky"] == {"media": {**blue, "video": None}}
        mastodon, bluesky, twitter = (fakes[p].posts for p in ("mastodon", "bluesky", "twitter"))
        assert [m["description"] for m in mastodon[0]["media"]] == ["A red square"]
        assert mastodon[0]["text"] == body["content"]
        assert [i["alt"] for i in bluesky[0]["images"]] == ["A blue square"]
        assert bluesky[0]["text"] == body["content"]
        assert twitter[0]["text"] == "Short for X" and twitter[0]["media"] == []


async def test_an_override_thread_on_one_platform_only(tmp_path: Path) -> None:
    async with (
        started_fakes("mastodon", "bluesky") as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        for fake in fakes.values():
            await connect(api, fake)
        parts = [{"content": "One."}, {"content": "Two."}, {"content": "Three."}]
        body = {
            "content": "One post on Mastodon.",
            "platforms": ["mastodon", "bluesky"],
            "overrides": {"bluesky": {"segments": parts}},
        }
        done = await publish(api, body)
        assert done["status"] == "published", done
        assert "segments" not in done["platform_results"]["mastodon"]  # a single post: as ever
        assert len(done["platform_results"]["bluesky"]["segments"]) == 3
        assert [p["text"] for p in fakes["bluesky"].posts] == ["One.", "Two.", "Three."]
        assert [p["text"] for p in fakes["mastodon"].posts] == ["One post on Mastodon."]


async def test_auto_thread_with_markers_is_split_per_platform(tmp_path: Path) -> None:
    async with (
        started_fakes("twitter", "mastodon") as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        for fake in fakes.values():
            await connect(api, fake)
        body = {
            "content": LONG,
            "platforms": ["twitter", "mastodon"],
            "thread": "auto",
            "thread_marker": True,
        }
        done = await publish(api, body)
        assert done["status"] == "published", done
        x_texts = [p["text"] for p in fakes["twitter"].posts]
        m_texts = [p["text"] for p in fakes["mastodon"].posts]
        assert len(x_texts) > len(m_texts) > 1  # 280 weighted vs 500
        assert x_texts[-1].endswith(f" {len(x_texts)}/{len(x_texts)}")
        assert all(TwitterAdapter.measure(t) <= 280 for t in x_texts)
        assert len(done["platform_results"]["twitter"]["segments"]) == len(x_texts)


async def _validate(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    resp = await api.post("/v1/posts/validate", body)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def test_dry_run_previews_each_platforms_segments_with_counts(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        _, key = await api.services.keys.create("s", sandbox=True)
        api.key = key  # sandbox: no accounts needed, the checks still run
        body = {"content": LONG, "platforms": ["twitter", "bluesky", "linkedin"], "thread": "auto"}
        report = await _validate(api, body)
        assert report["valid"] is True, report
        x, sky, linkedin = (report["platforms"][p] for p in ("twitter", "bluesky", "linkedin"))
        assert x["mode"] == sky["mode"] == "thread"
        # 3,000 fits: one post, reported as a plain post's always was
        assert "mode" not in linkedin and "segments" not in linkedin
        for check, cls in ((x, TwitterAdapter), (sky, BlueskyAdapter)):
            assert len(check["segments"]) > 1
            for segment in check["segments"]:
                assert segment["length"] == cls.measure(segment["content"])
                assert segment["limit"] == check["limit"] and segment["ok"] is True
                assert segment["length"] <= segment["limit"]
            assert " ".join(s["content"] for s in check["segments"]) == LONG
            assert check["length"] == max(s["length"] for s in check["segments"])

        parts = [{"content": "a" * 2000}, {"content": "b" * 1500}]
        body = {"segments": parts, "platforms": ["linkedin", "facebook", "youtube", "twitter"]}
        report = await _validate(api, body)
        assert report["valid"] is False
        linkedin = report["platforms"]["linkedin"]
        assert linkedin["mode"] == "joined" and linkedin["ok"] is False
        assert linkedin["length"] == 3502  # joined by a blank line: over 3,000
        assert "no threads, so the segments are published joined" in linkedin["problems"][0]
        assert report["platforms"]["facebook"]["mode"] == "joined"
        assert report["platforms"]["facebook"]["ok"] is True  # 63,206 fits
        assert report["platforms"]["youtube"]["mode"] == "first"
        x = report["platforms"]["twitter"]
        assert x["mode"] == "thread" and x["problems"][0].startswith("Segment 1 of 2: ")
        assert [s["ok"] for s in x["segments"]] == [False, False]

        # publishing refuses the same, naming the platform, and sends nothing
        pid = (await api.post("/v1/posts", body)).json()["id"]
        resp = await api.post(f"/v1/posts/{pid}/publish")
        assert resp.status_code == 422
        assert "linkedin" in resp.json()["error"]["message"]


async def test_bad_shapes_are_422s_naming_the_field(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        cases = [
            ({"platforms": ["mastodon"]}, "content"),
            (
                {"content": "x", "segments": [{"content": "y"}], "platforms": ["mastodon"]},
                "content",
            ),
            ({"segments": [], "platforms": ["mastodon"]}, "segments"),
            ({"segments": [{"content": " "}], "platforms": ["mastodon"]}, "segments[0].content"),
            ({"content": "x", "platforms": ["mastodon"], "thread": "on"}, "thread"),
            (
                {"segments": [{"content": "y"}], "platforms": ["mastodon"], "thread": "auto"},
                "thread",
            ),
            (
                {
                    "content": "x",
                    "platforms": ["mastodon"],
                    "overrides": {"orkut": {"content": "y"}},
                },
                "overrides.orkut",
            ),
            (
                {
                    "content": "x",
                    "platforms": ["mastodon"],
                    "overrides": {"bluesky": {"content": "y"}},
                },
                "overrides.bluesky",
            ),
            (
                {"content": "x", "platforms": ["mastodon"], "overrides": {"mastodon": {}}},
                "overrides.mastodon",
            ),
            (
                {
                    "content": "x",
                    "platforms": ["mastodon"],
                    "overrides": {"mastodon": {"segments": [{"content": ""}]}},
                },
                "overrides.mastodon.segments[0].content",
            ),
        ]
        for body, field in cases:
            resp = await api.post("/v1/posts", body)
            assert resp.status_code == 422, (body, resp.text)
            fields = [d["field"] for d in resp.json()["error"]["details"]]
            assert field in fields, (body, fields)


async def test_segments_are_updated_with_the_content_they_imply(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        parts = [{"content": "One."}, {"content": "Two."}]
        pid = (await api.post("/v1/posts", {"segments": parts, "platforms": ["mastodon"]})).json()[
            "id"
        ]
        new = [{"content": "Uno."}, {"content": "Dos."}, {"content": "Tres."}]
        updated = (await api.put(f"/v1/posts/{pid}", {"segments": new})).json()
        assert updated["content"] == "Uno." and len(updated["segments"]) == 3
        bad = await api.put(f"/v1/posts/{pid}", {"content": "Something else"})
        assert bad.status_code == 422  # it is the first segment's: change the segments
        plain = (await api.put(f"/v1/posts/{pid}", {"segments": None, "content": "One."})).json()
        assert plain["content"] == "One." and "segments" not in plain


async def test_a_thread_is_joined_where_the_platform_has_none(tmp_path: Path) -> None:
    async with (
        started_fakes("linkedin", "mastodon") as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        for fake in fakes.values():
            await connect(api, fake)
        parts = [{"content": "First."}, {"content": "Second."}, {"content": "Third."}]
        done = await publish(api, {"segments": parts, "platforms": ["linkedin", "mastodon"]})
        assert done["status"] == "published", done
        (post,) = fakes["linkedin"].posts  # one post, the segments joined by a blank line
        assert post["commentary"] == "First.\n\nSecond.\n\nThird."
        assert "segments" not in done["platform_results"]["linkedin"]
        assert len(fakes["mastodon"].posts) == 3
        assert len(done["platform_results"]["mastodon"]["segments"]) == 3


async def test_two_updates_at_once_both_land(tmp_path: Path) -> None:
    """Each update's shape is checked against the post as it is when its write lands: one
    sending segments and one sending an override, both read the post before either
    wrote, and neither change is lost (the second is checked again and then applied)."""
    async with running_api(make_config(tmp_path)) as api:
        store = api.services.store
        body = {"content": "One.", "platforms": ["mastodon", "bluesky"]}
        pid = (await api.post("/v1/posts", body)).json()["id"]
        release, held = await hold_writer(store)
        segments = [{"content": "One."}, {"content": "Two."}]
        first = asyncio.create_task(api.put(f"/v1/posts/{pid}", {"segments": segments}))
        second = asyncio.create_task(
            api.put(f"/v1/posts/{pid}", {"overrides": {"bluesky": {"content": "Short."}}})
        )
        await until_queued(store, 2)  # both checked against the plain post, both waiting
        release.set()
        await held
        answers = [await first, await second]
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        post = (await api.get(f"/v1/posts/{pid}")).json()
        assert [s["content"] for s in post["segments"]] == ["One.", "Two."]
        assert post["overrides"]["bluesky"]["content"] == "Short."
