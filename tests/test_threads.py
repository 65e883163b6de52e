"""Threads (`segments`): native reply chains, what lands is never sent again, a half-way
thread reports what exists, and `retry` continues at the failed segment."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.fakes._base import FakePlatform
from tests.helpers import Api, make_config, running_api
from tests.platform_env import connect, platform_env, started_fakes
from tests.server import ServerProcess
from tests.test_crash import _connect, _final, _secret, _start, _until

NATIVE = ("twitter", "bluesky", "mastodon", "threads")
FIVE = [{"content": f"Part {i} of the story, told in five posts."} for i in range(1, 6)]


async def publish(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    created = await api.post("/v1/posts", body)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    resp = await api.post(f"/v1/posts/{pid}/publish")
    assert resp.status_code == 202, resp.text
    return await api.wait_status(pid, {"published", "failed"}, timeout=30)


def chain(fake: FakePlatform) -> list[tuple[str, str | None, str]]:
    """(post id, the id it replies to, text) of each post the fake holds, in order."""
    if fake.platform == "twitter":
        return [(p["id"], p["in_reply_to"], p["text"]) for p in fake.posts]
    if fake.platform == "mastodon":
        return [(p["id"], p["in_reply_to_id"], p["text"]) for p in fake.posts]
    if fake.platform == "threads":
        return [(p["id"], p["params"].get("reply_to_id"), p["text"]) for p in fake.posts]
    out = []
    for p in fake.posts:  # bluesky: strong refs, and the root is the first post
        reply = p["reply"]
        if reply is not None:
            root = fake.posts[0]
            assert reply["root"] == {"uri": root["uri"], "cid": root["cid"]}
            parent = next(q for q in fake.posts if q["uri"] == reply["parent"]["uri"])
            assert reply["parent"]["cid"] == parent["cid"]
        out.append((p["uri"], reply["parent"]["uri"] if reply else None, p["text"]))
    return out


def assert_one_chain(fake: FakePlatform, texts: list[str]) -> None:
    posts = chain(fake)
    assert [text for _, _, text in posts] == texts, fake.platform
    parents = [parent for _, parent, _ in posts]
    assert parents == [None] + [post_id for post_id, _, _ in posts[:-1]], fake.platform


def assert_reported(result: dict[str, Any], fake: FakePlatform) -> None:
    ids = [post_id for post_id, _, _ in chain(fake)]
    assert result["success"] is True, result
    assert [s["post_id"] for s in result["segments"]] == ids
    assert all(s["status"] == "published" and s["post_url"] for s in result["segments"])
    assert result["post_id"] == ids[0] and result["post_url"] == result["segments"][0]["post_url"]


async def test_a_five_segment_thread_is_a_reply_chain_on_four_platforms(tmp_path: Path) -> None:
    async with (
        started_fakes(*NATIVE) as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        for fake in fakes.values():
            await connect(api, fake)
        done = await publish(api, {"segments": FIVE, "platforms": list(NATIVE)})
        assert done["status"] == "published", done
        assert done["content"] == FIVE[0]["content"]
        assert done["segments"] == [{**s, "media": None} for s in FIVE]
        texts = [s["content"] for s in FIVE]
        for platform, fake in fakes.items():
            assert_one_chain(fake, texts)
            assert_reported(done["platform_results"][platform], fake)


async def test_segment_four_refused_then_retry_continues_at_four(tmp_path: Path) -> None:
    async with (
        started_fakes(*NATIVE) as fakes,
        running_api(make_config(tmp_path, **platform_env(list(fakes.values())))) as api,
    ):
        for fake in fakes.values():
            await connect(api, fake)
        # segments 1-3 land, the 4th is refused by each platform
        originals = {p: fake.take_failure for p, fake in fakes.items()}
        for platform, fake in fakes.items():
            fake.fail_next("reject")

            def later(fake: FakePlatform = fake, platform: str = platform) -> Any:
                if len(fake.posts) < 3:
                    return None
                fake.take_failure = originals[platform]  # type: ignore[method-assign]
                return originals[platform]()

            fake.take_failure = later  # type: ignore[method-assign]
        body = {"segments": FIVE, "platforms": list(NATIVE)}
        half = await publish(api, body)
        assert half["status"] == "failed", half
        for platform, fake in fakes.items():
            result = half["platform_results"][platform]
            assert result["success"] is False and result["error"].startswith("Segment 4 of 5: ")
            statuses = [s["status"] for s in result["segments"]]
            assert statuses == ["published"] * 3 + ["failed", "not_sent"], (platform, result)
            assert result["segments"][3]["error"] == result["error"]
            assert result["post_id"] == result["segments"][0]["post_id"]
            assert len(fake.posts) == 3
        resp = await api.post(f"/v1/posts/{half['id']}/retry")
        assert resp.status_code == 202, resp.text
        again = await api.wait_status(half["id"], {"published", "failed"}, timeout=30)
        assert again["status"] == "published", again
        texts = [s["content"] for s in FIVE]
        for platform, fake in fakes.items():
            assert_one_chain(fake, texts)  # 5 posts: 1-3 never sent again
            assert_reported(again["platform_results"][platform], fake)
            kept = half["platform_results"][platform]["segments"][:3]
            assert again["platform_results"][platform]["segments"][:3] == kept


async def test_sandbox_simulates_a_thread(tmp_path: Path) -> None:
    async with running_api(make_config(tmp_path)) as api:
        _, key = await api.services.keys.create("s", sandbox=True)
        pid = (
            await api.post("/v1/posts", {"segments": FIVE, "platforms": list(NATIVE)}, key=key)
        ).json()["id"]
        assert (await api.post(f"/v1/posts/{pid}/publish", key=key)).status_code == 202
        done = await api.wait_status(pid, {"published", "failed"}, key=key)
        for platform in NATIVE:
            result = done["platform_results"][platform]
            assert result["simulated"] is True and len(result["segments"]) == 5
            assert len({s["post_id"] for s in result["segments"]}) == 5


async def test_sigkill_after_segment_three_resumes_at_four_without_a_duplicate(
    tmp_path: Path,
) -> None:
    """A real server process is killed while segment 4 is in flight on each platform
    (segments 1-3 landed and were stored); the platforms finish segment 4, the answers
    are lost. After the restart each thread continues: segment 4 is found (recover()),
    never sent again, and segment 5 replies to it."""
    async with started_fakes(*NATIVE) as fakes:
        gate = asyncio.Event()
        held: set[str] = set()
        for fake in fakes.values():  # like a real platform: finish what was received
            await fake.stop()
            fake.cancel_on_disconnect = False
            await fake.start()
            plain = fake.slow_down

            async def slow_down(fake: FakePlatform = fake, plain: Any = plain) -> None:
                if len(fake.posts) == 3 and not gate.is_set():
                    held.add(fake.platform)
                    await gate.wait()
                await plain()

            fake.slow_down = slow_down  # type: ignore[method-assign]
        server = ServerProcess(tmp_path, platform_env(list(fakes.values())))
        try:
            await _start(server)
            headers = {"Authorization": f"Bearer {_secret(server)}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
                for fake in fakes.values():
                    await _connect(http, fake)
                created = await http.post(
                    "/v1/posts", json={"segments": FIVE, "platforms": list(NATIVE)}
                )
                pid = created.json()["id"]
                assert (await http.post(f"/v1/posts/{pid}/publish")).status_code == 202

                async def all_held() -> bool:
                    return held == set(NATIVE)

                await _until(all_held)
                server.kill()  # SIGKILL with segment 4 in flight everywhere
                gate.set()

                async def fourth_landed() -> bool:
                    return all(len(f.posts) == 4 for f in fakes.values())

                await _until(fourth_landed)
                await _start(server)
                final = await _final(http, pid)
            assert final["status"] == "published", final
            texts = [s["content"] for s in FIVE]
            for platform, fake in fakes.items():
                assert_one_chain(fake, texts)  # five posts: none twice
                assert_reported(final["platform_results"][platform], fake)
            log = server.stderr()
            assert "resuming interrupted publish" in log
            # segment 4 was found by recover(), not sent again
            for platform in NATIVE:
                assert f"on {platform}: found the post from an earlier attempt" in log, log
            keys = [
                r.headers.get("Idempotency-Key")
                for r in fakes["mastodon"].calls("POST", "/api/v1/statuses")
            ]
            assert len(keys) == len(set(keys)) == 5, keys  # one create per segment
            # Threads lists no replies under the account's posts: segment 4 was found
            # under segment 3's replies (the post it answers)
            third = final["platform_results"]["threads"]["segments"][2]["post_id"]
            assert fakes["threads"].reply_lookups == [third]  # type: ignore[attr-defined]
        finally:
            server.kill()
