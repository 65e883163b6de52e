"""Store details that the API tests do not pin down."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from octopost.keys import random_id
from octopost.models import Post, PostStatus
from octopost.store import Store


def _post(status: PostStatus, sandbox: bool = False) -> Post:
    now = datetime.now(UTC)
    return Post(random_id("post_"), "x", ["bluesky"], status, None, None, now, now, sandbox=sandbox)


async def test_list_totals_follow_every_change(tmp_path: Path) -> None:
    store = await Store(tmp_path / "db.sqlite").open()
    try:
        posts = [_post(PostStatus.DRAFT) for _ in range(5)] + [
            _post(PostStatus.DRAFT, sandbox=True)
        ]
        await store.posts.insert_many(posts[:3])
        for post in posts[3:]:
            await store.posts.insert(post)

        async def total(status: str | None = None, sandbox: bool = False) -> int:
            return (await store.posts.page(sandbox=sandbox, status=status, limit=1, offset=0))[1]

        assert (await total(), await total("draft"), await total(sandbox=True)) == (5, 5, 1)
        await store.posts.claim(posts[0].id, now=datetime.now(UTC), from_states=(PostStatus.DRAFT,))
        await store.posts.delete(posts[1].id, False)
        assert (await total(), await total("draft"), await total("publishing")) == (4, 3, 1)
    finally:
        await store.close()


async def test_migrations_are_tracked_and_reopen_cleanly(tmp_path: Path) -> None:
    from octopost.store.schema import MIGRATIONS

    store = await Store(tmp_path / "db.sqlite").open()
    row = await store.db.fetchone("PRAGMA user_version")
    assert row is not None and row[0] == len(MIGRATIONS)
    mode = await store.db.fetchone("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    await store.close()
    again = await Store(tmp_path / "db.sqlite").open()  # no migration re-runs
    await again.close()


async def test_deep_offsets_skip_counted_blocks_and_match_a_plain_scan(tmp_path: Path) -> None:
    store = await Store(tmp_path / "db.sqlite").open()
    try:
        statuses = [PostStatus.DRAFT, PostStatus.PUBLISHED, PostStatus.FAILED]
        posts = [_post(statuses[i % 3], sandbox=i % 7 == 0) for i in range(10_000)]
        await store.posts.insert_many(posts)
        gone = {p.id for p in posts[100:3000:3] if not p.sandbox}
        for post_id in gone:
            await store.posts.delete(post_id, sandbox=False)
        moved = posts[5001]  # a draft in the middle of a block changes status
        await store.posts.claim(
            moved.id, now=datetime.now(UTC), from_states=(PostStatus.DRAFT, PostStatus.PUBLISHED)
        )
        newest_first = [p for p in reversed(posts) if p.id not in gone]

        def expected(status: str | None, sandbox: bool) -> list[str]:
            return [
                p.id
                for p in newest_first
                if p.sandbox == sandbox
                and (status is None or (p.status if p is not moved else "publishing") == status)
            ]

        for status in (None, "draft", "publishing"):
            want = expected(status, False)
            for offset in (0, 1, 4095, 4096, 4097, 5000, 8191, len(want) - 3, len(want), 10**6):
                got, total = await store.posts.page(
                    sandbox=False, status=status, limit=7, offset=offset
                )
                assert total == len(want)
                assert [p.id for p in got] == want[offset : offset + 7], (status, offset)
        got, total = await store.posts.page(sandbox=True, status=None, limit=100, offset=1000)
        assert total == len(expected(None, True))
        assert [p.id for p in got] == expected(None, True)[1000:1100]
    finally:
        await store.close()


async def test_deep_pages_see_every_write_at_once_this_servers_and_another_process(
    tmp_path: Path,
) -> None:
    """A deep offset reuses the counts per block while nothing is written; any commit,
    by this store or by another connection (a CLI command), is seen by the next page."""
    store = await Store(tmp_path / "db.sqlite").open()
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    try:
        posts = [_post(PostStatus.DRAFT) for _ in range(5000)]
        await store.posts.insert_many(posts)
        ids = [p.id for p in reversed(posts)]

        async def deep() -> tuple[list[str], int]:
            got, total = await store.posts.page(sandbox=False, status=None, limit=5, offset=4500)
            return [p.id for p in got], total

        assert await deep() == (ids[4500:4505], 5000)
        assert await deep() == (ids[4500:4505], 5000)  # the counts reused
        newer = [_post(PostStatus.DRAFT) for _ in range(3)]
        await store.posts.insert_many(newer)  # this server's writer
        ids = [p.id for p in reversed(newer)] + ids
        assert await deep() == (ids[4500:4505], 5003)
        other.execute("DELETE FROM posts WHERE id = ?", [ids[0]])  # another process
        ids = ids[1:]
        assert await deep() == (ids[4500:4505], 5002)
        other.execute("UPDATE posts SET status = 'published' WHERE id = ?", [ids[4501]])
        got, total = await store.posts.page(sandbox=False, status="draft", limit=5, offset=4497)
        drafts = [i for i in ids if i != ids[4501]]
        assert ([p.id for p in got], total) == (drafts[4497:4502], 5001)
    finally:
        other.close()
        await store.close()
