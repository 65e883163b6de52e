"""The Posts resource, field for field as the API contract (README "API reference")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from octopost.models import in_platform_order
from tests.helpers import SEED_POST_FIELDS, Api, post_shapes

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


async def test_a_listed_post_is_its_get_field_for_field(api: Api) -> None:
    """The list reads its page its own way (SQLite formats the timestamps, only finished
    deliveries are read): every post it shows must be exactly what GET shows."""
    bodies = post_shapes(future())
    ids = []
    for body in bodies:
        resp = await api.post("/v1/posts", body)
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])
    plain, scheduled, thread, overridden, split = ids
    # Timestamps with and without milliseconds, before 2000 and after; deliveries in every
    # state (only finished ones are results), a thread's segments in every state.
    rows = [
        (plain, "bluesky", "succeeded", 1, "at://x/1", "https://bsky.app/1", None, None, None, 1),
        (scheduled, "bluesky", "failed", 3, None, None, "Rate limited", "rate_limited", 1, 0),
        (scheduled, "mastodon", "sending", 1, None, None, None, None, None, 0),
        (thread, "mastodon", "failed", 2, None, None, "Too long", "validation", 0, 0),
        (thread, "bluesky", "succeeded", 1, None, None, None, None, None, 0),
        (thread, "linkedin", "pending", 0, None, None, None, None, None, 0),
        (overridden, "linkedin", "succeeded", 1, "urn:li:share:1", None, None, None, None, 0),
    ]
    segments = [
        (thread, "bluesky", 0, "one", "succeeded", "at://x/2", "https://bsky.app/2", None),
        (thread, "bluesky", 1, "two", "succeeded", "at://x/3", "https://bsky.app/3", None),
        (thread, "mastodon", 0, "one", "succeeded", "9", "https://m.example/9", None),
        (thread, "mastodon", 1, "two", "failed", None, None, "Too long"),
    ]
    times = [
        (plain, 946684799999, 946684800000, 946684800000),
        (scheduled, 1764600000000, 1764600000001, None),
        (thread, 1764600000123, 1764600060000, 1764600061999),
        (overridden, 4102444800000, 4102444800500, 4102444801000),
    ]

    def store(tx: Any) -> None:
        for row in rows:
            tx.execute(
                "INSERT OR REPLACE INTO deliveries (post_id, platform, state, attempts, "
                "remote_id, remote_url, error, error_category, retryable, simulated, "
                "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,0)",
                row,
            )
        for seg in segments:
            tx.execute(
                "INSERT OR REPLACE INTO delivery_segments (post_id, platform, idx, content, "
                "state, remote_id, remote_url, error, updated_at) VALUES (?,?,?,?,?,?,?,?,0)",
                seg,
            )
        for post_id, created, updated, published in times:
            tx.execute(
                "UPDATE posts SET created_at = ?, updated_at = ?, published_at = ? WHERE id = ?",
                [created, updated, published, post_id],
            )

    await api.services.store.db.run(store)
    listed = (await api.get("/v1/posts", params={"limit": 100})).json()["posts"]
    assert sorted(p["id"] for p in listed) == sorted(ids)
    for post in listed:
        assert post == (await api.get(f"/v1/posts/{post['id']}")).json()
        if post["id"] in (plain, scheduled):
            assert_post_shape(post)
    by_id = {p["id"]: p for p in listed}
    assert by_id[plain]["created_at"] == "1999-12-31T23:59:59.999Z"
    assert by_id[plain]["updated_at"] == "2000-01-01T00:00:00Z"
    assert by_id[scheduled]["updated_at"] == "2025-12-01T14:40:00.001Z"
    assert by_id[overridden]["published_at"] == "2100-01-01T00:00:01Z"
    assert list(by_id[thread]["platform_results"]) == ["bluesky", "mastodon"]
    assert [s["status"] for s in by_id[thread]["platform_results"]["mastodon"]["segments"]] == [
        "published",
        "failed",
    ]
    assert list(by_id[scheduled]["platform_results"]) == ["bluesky"]
    assert by_id[split]["platform_results"] is None
    for status in ("draft", "scheduled"):
        page = (await api.get("/v1/posts", params={"status": status})).json()["posts"]
        for post in page:
            assert post == by_id[post["id"]]


def test_results_follow_the_posts_platform_order() -> None:
    """`platform_results` keys come in the order the post names its platforms (the
    store reads deliveries by platform name); one of a platform the post no longer
    names comes after them, as it came."""
    rows = ["bluesky", "linkedin", "mastodon", "zeta"]  # as SQLite returns them
    assert in_platform_order(["mastodon", "bluesky", "linkedin"], rows, str) == [
        "mastodon",
        "bluesky",
        "linkedin",
        "zeta",
    ]
    assert in_platform_order(["linkedin"], ["bluesky", "linkedin"], str) == [
        "linkedin",
        "bluesky",
    ]
    assert in_platform_order(["a"], ["b"], str) == ["b"]
    assert in_platform_order([], [], str) == []
