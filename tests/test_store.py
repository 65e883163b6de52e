"""Store details that the API tests do not pin down."""

from __future__ import annotations

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
