"""The Posts resource, field for field as the API contract (README "API reference")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.helpers import SEED_POST_FIELDS, Api

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")


def future(hours: int = 24) -> str:
    return (
        (datetime.now(UTC) + timedelta(hours=hours))
        .replace(microsecond=0)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def assert_post_shape(body: dict) -> None:
    assert list(body) == SEED_POST_FIELDS
    assert re.match(r"^post_[A-Za-z0-9]{20,}$", body["id"])
    for field in ("created_at", "updated_at"):
        assert ISO_Z.match(body[field]), body[field]
    for field in ("scheduled_for", "published_at"):
        assert body[field] is None or ISO_Z.match(body[field])


async def test_create_draft_matches_seed_example(api: Api) -> None:
    resp = await api.post(
        "/v1/posts",
        {
            "content": "Excited to announce our Series A!",
            "platforms": ["twitter", "linkedin", "bluesky"],
        },
    )
    assert resp.status_code == 201
    body = resp.json()
    assert_post_shape(body)
    assert body["content"] == "Excited to announce our Series A!"
    assert body["platforms"] == ["twitter", "linkedin", "bluesky"]
    assert body["status"] == "draft"
    assert body["scheduled_for"] is None
    assert body["media"] is None
    assert body["platform_results"] is None
    assert body["published_at"] is None
    assert body["created_at"] == body["updated_at"]


async def test_create_scheduled_with_media_matches_seed_example(api: Api) -> None:
    when = future()
    resp = await api.post(
        "/v1/posts",
        {
            "content": "New blog post: Building a cross-posting API",
            "platforms": ["twitter", "bluesky"],
            "scheduled_for": when,
            "media": {
                "images": [
                    {
                        "url": "https://example.com/blog-header.png",
                        "alt_text": "Blog post header image",
                    }
                ]
            },
        },
    )
    assert resp.status_code == 201
    body = resp.json()
    assert_post_shape(body)
    assert body["status"] == "scheduled"
    assert body["scheduled_for"] == when
    assert body["media"] == {
        "images": [
            {"url": "https://example.com/blog-header.png", "alt_text": "Blog post header image"}
        ],
        "video": None,
    }
    assert body["platform_results"] is None


async def test_scheduled_for_with_offset_is_stored_in_utc(api: Api) -> None:
    local = (
        (datetime.now(UTC) + timedelta(days=2))
        .astimezone(__import__("datetime").timezone(timedelta(hours=2)))
        .replace(microsecond=0)
    )
    body = (
        await api.post(
            "/v1/posts",
            {"content": "x", "platforms": ["mastodon"], "scheduled_for": local.isoformat()},
        )
    ).json()
    assert body["scheduled_for"] == local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_list_matches_seed_example(api: Api) -> None:
    ids = []
    for i in range(3):
        ids.append(
            (
                await api.post("/v1/posts", {"content": f"post {i}", "platforms": ["bluesky"]})
            ).json()["id"]
        )
    await api.post(
        "/v1/posts", {"content": "later", "platforms": ["bluesky"], "scheduled_for": future()}
    )
    resp = await api.get("/v1/posts", params={"status": "draft", "limit": 2, "offset": 0})
    assert resp.status_code == 200
    body = resp.json()
    assert list(body) == ["posts", "total"]
    assert body["total"] == 3
    assert [p["id"] for p in body["posts"]] == [ids[2], ids[1]]  # newest first
    for post in body["posts"]:
        assert_post_shape(post)
    page2 = (await api.get("/v1/posts", params={"status": "draft", "limit": 2, "offset": 2})).json()
    assert [p["id"] for p in page2["posts"]] == [ids[0]]
    assert page2["total"] == 3
    everything = (await api.get("/v1/posts")).json()
    assert everything["total"] == 4
    assert len(everything["posts"]) == 4


async def test_list_accepts_every_status_filter(api: Api) -> None:
    for status in ("draft", "scheduled", "publishing", "published", "failed"):
        resp = await api.get("/v1/posts", params={"status": status})
        assert resp.status_code == 200, status
        assert resp.json() == {"posts": [], "total": 0}


async def test_list_limit_default_and_bounds(api: Api) -> None:
    for i in range(12):
        await api.post("/v1/posts", {"content": f"p{i}", "platforms": ["threads"]})
    assert len((await api.get("/v1/posts")).json()["posts"]) == 10
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "nope"}, "status"),
    ):
        resp = await api.get("/v1/posts", params=params)
        assert resp.status_code == 422
        assert resp.json()["error"]["details"][0]["field"] == field
    assert (await api.get("/v1/posts", params={"limit": "abc"})).status_code == 422


async def test_get_matches_seed_and_404(api: Api) -> None:
    created = (
        await api.post("/v1/posts", {"content": "hello", "platforms": ["twitter", "bluesky"]})
    ).json()
    resp = await api.get(f"/v1/posts/{created['id']}")
    assert resp.status_code == 200
    assert resp.json() == created
    missing = await api.get("/v1/posts/post_doesnotexist")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_update_matches_seed_example(api: Api) -> None:
    created = (
        await api.post(
            "/v1/posts",
            {
                "content": "Excited to announce our Series A!",
                "platforms": ["twitter", "linkedin", "bluesky"],
            },
        )
    ).json()
    resp = await api.put(
        f"/v1/posts/{created['id']}",
        {
            "content": "Excited to announce our Series A! Read more on our blog.",
            "platforms": ["twitter", "linkedin", "bluesky", "threads"],
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    assert_post_shape(body)
    assert body["content"] == "Excited to announce our Series A! Read more on our blog."
    assert body["platforms"] == ["twitter", "linkedin", "bluesky", "threads"]
    assert body["status"] == "draft"
    assert body["created_at"] == created["created_at"]
    assert body["updated_at"] > created["updated_at"] or body["updated_at"] != created["updated_at"]


async def test_update_schedule_transitions_and_media_removal(api: Api) -> None:
    created = (
        await api.post(
            "/v1/posts",
            {
                "content": "x",
                "platforms": ["mastodon"],
                "media": {"video": {"url": "https://e.com/v.mp4"}},
            },
        )
    ).json()
    pid = created["id"]
    when = future()
    scheduled = (await api.put(f"/v1/posts/{pid}", {"scheduled_for": when})).json()
    assert scheduled["status"] == "scheduled" and scheduled["scheduled_for"] == when
    assert scheduled["media"] == {
        "images": [],
        "video": {"url": "https://e.com/v.mp4", "thumbnail_url": None},
    }
    unscheduled = (await api.put(f"/v1/posts/{pid}", {"scheduled_for": None})).json()
    assert unscheduled["status"] == "draft" and unscheduled["scheduled_for"] is None
    no_media = (await api.put(f"/v1/posts/{pid}", {"media": None})).json()
    assert no_media["media"] is None
    assert no_media["content"] == "x"  # untouched fields stay
    untouched = (await api.put(f"/v1/posts/{pid}", {})).json()
    assert untouched["updated_at"] != created["updated_at"]


async def test_updated_at_changes_on_every_update(api: Api) -> None:
    pid = (await api.post("/v1/posts", {"content": "a", "platforms": ["bluesky"]})).json()["id"]
    seen = set()
    for i in range(3):
        seen.add((await api.put(f"/v1/posts/{pid}", {"content": f"v{i}"})).json()["updated_at"])
    assert len(seen) == 3


async def test_delete(api: Api) -> None:
    pid = (await api.post("/v1/posts", {"content": "bye", "platforms": ["bluesky"]})).json()["id"]
    resp = await api.delete(f"/v1/posts/{pid}")
    assert resp.status_code == 204
    assert resp.content == b""
    assert (await api.get(f"/v1/posts/{pid}")).status_code == 404
    assert (await api.delete(f"/v1/posts/{pid}")).status_code == 404


async def test_validation_errors_name_field_and_reason(api: Api) -> None:
    cases = [
        ({"content": "", "platforms": ["twitter"]}, "content"),
        ({"content": "   ", "platforms": ["twitter"]}, "content"),
        ({"content": "x" * 100_001, "platforms": ["twitter"]}, "content"),
        ({"content": 5, "platforms": ["twitter"]}, "content"),
        ({"platforms": ["twitter"]}, "content"),
        ({"content": "x", "platforms": []}, "platforms"),
        ({"content": "x"}, "platforms"),
        ({"content": "x", "platforms": ["twitter", "myspace"]}, "platforms[1]"),
        (
            {"content": "x", "platforms": ["twitter"], "scheduled_for": "2020-01-01T00:00:00Z"},
            "scheduled_for",
        ),
        (
            {"content": "x", "platforms": ["twitter"], "scheduled_for": "2099-01-01T00:00:00"},
            "scheduled_for",
        ),
        ({"content": "x", "platforms": ["twitter"], "scheduled_for": "tomorrow"}, "scheduled_for"),
        (
            {"content": "x", "platforms": ["twitter"], "schedule_for": "2099-01-01T00:00:00Z"},
            "schedule_for",
        ),
        (
            {
                "content": "x",
                "platforms": ["twitter"],
                "media": {"images": [{"url": f"https://e.com/{i}.png"} for i in range(5)]},
            },
            "media.images",
        ),
        (
            {
                "content": "x",
                "platforms": ["twitter"],
                "media": {"images": [{"url": "ftp://e.com/a.png"}]},
            },
            "media.images[0].url",
        ),
        (
            {
                "content": "x",
                "platforms": ["twitter"],
                "media": {"images": [{"alt_text": "no url"}]},
            },
            "media.images[0].url",
        ),
        (
            {
                "content": "x",
                "platforms": ["twitter"],
                "media": {"images": [{"url": "https://e.com/a.png", "alt": "typo"}]},
            },
            "media.images[0].alt",
        ),
        (
            {"content": "x", "platforms": ["twitter"], "media": {"video": {"url": "notaurl"}}},
            "media.video.url",
        ),
        (
            {
                "content": "x",
                "platforms": ["twitter"],
                "media": {
                    "images": [{"url": "https://e.com/a.png"}],
                    "video": {"url": "https://e.com/v.mp4"},
                },
            },
            "media",
        ),
    ]
    for body, field in cases:
        resp = await api.post("/v1/posts", body)
        assert resp.status_code == 422, (body, resp.text)
        error = resp.json()["error"]
        assert error["code"] == "validation_error"
        fields = [d["field"] for d in error["details"]]
        assert field in fields, (body, error)
        assert all(d["message"] for d in error["details"])
    assert (await api.get("/v1/posts")).json()["total"] == 0  # nothing stored


async def test_platforms_are_deduplicated_in_order(api: Api) -> None:
    body = (
        await api.post(
            "/v1/posts", {"content": "x", "platforms": ["bluesky", "twitter", "bluesky"]}
        )
    ).json()
    assert body["platforms"] == ["bluesky", "twitter"]


async def test_update_validation_and_conflicts(api: Api) -> None:
    pid = (await api.post("/v1/posts", {"content": "x", "platforms": ["bluesky"]})).json()["id"]
    assert (await api.put(f"/v1/posts/{pid}", {"content": None})).status_code == 422
    assert (await api.put(f"/v1/posts/{pid}", {"platforms": ["nope"]})).status_code == 422
    assert (await api.put(f"/v1/posts/{pid}", {"schedule_for": future()})).status_code == 422
    assert (await api.put("/v1/posts/post_missing", {"content": "y"})).status_code == 404
    published = (await api.post(f"/v1/posts/{pid}/publish", key=await _test_key(api))).status_code
    assert published == 404  # a sandbox key cannot see live posts


async def _test_key(api: Api) -> str:
    _, secret = await api.services.keys.create("sandbox", sandbox=True)
    return secret
