"""The store's writer: group commit, a failing write rolls back alone, urgent writes
first, after-commit callbacks; batched claims of due posts.

The writer thread is held on a threading.Event while writes queue up, so what
shares a batch is decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from octopost.keys import random_id
from octopost.models import Post, PostStatus
from octopost.store import Store, Tx
from octopost.store.db import MAX_BATCH
from tests.helpers import hold_writer


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store(tmp_path / "db.sqlite").open()
    try:
        yield opened
    finally:
        await opened.close()


def _post(status: PostStatus = PostStatus.DRAFT, when: datetime | None = None) -> Post:
    now = datetime.now(UTC)
    return Post(random_id("post_"), "x", ["bluesky", "mastodon"], status, when, None, now, now)


async def test_writes_waiting_together_share_one_commit(store: Store) -> None:
    release, held = await hold_writer(store)
    before = store.db.batches
    writes = [asyncio.create_task(store.posts.insert(_post())) for _ in range(20)]
    await asyncio.sleep(0)  # every insert is queued behind the held batch
    release.set()
    await asyncio.gather(held, *writes)
    assert store.db.batches - before == 2  # the held one, then all 20 in one
    assert (await store.posts.page(sandbox=False, status=None, limit=1, offset=0))[1] == 20


async def test_a_failing_write_rolls_back_alone(store: Store) -> None:
    kept, broken, also_kept = _post(), _post(), _post()

    def fails(tx: Tx) -> None:
        tx.execute("UPDATE posts SET content = 'changed' WHERE id = ?", [kept.id])
        raise RuntimeError("boom")

    await store.posts.insert(kept)
    release, held = await hold_writer(store)
    first = asyncio.create_task(store.posts.insert(broken))
    second = asyncio.create_task(store.db.run(fails))
    third = asyncio.create_task(store.posts.insert(also_kept))
    duplicate = asyncio.create_task(store.posts.insert(broken))  # same id: IntegrityError
    # One statement (no savepoint of its own) that changes the first row it meets, then
    # fails on the second (both ids the same): SQLite undoes the whole statement.
    one_statement = asyncio.create_task(
        store.db.write("UPDATE posts SET id = 'same', content = 'changed'")
    )
    await asyncio.sleep(0)
    release.set()
    await held
    await first
    with pytest.raises(RuntimeError, match="boom"):
        await second
    await third
    with pytest.raises(sqlite3.IntegrityError):
        await duplicate
    with pytest.raises(sqlite3.IntegrityError):
        await one_statement
    got = await store.posts.get(kept.id)
    assert got is not None and got.content == "x"  # the failed writes' changes are gone
    assert await store.posts.get(broken.id) is not None
    assert await store.posts.get(also_kept.id) is not None


async def test_urgent_writes_go_before_waiting_api_writes(store: Store) -> None:
    order: list[str] = []

    def note(name: str) -> object:
        return lambda tx: order.append(name)

    release, held = await hold_writer(store)
    normal = [asyncio.create_task(store.db.run(note(f"api{i}"))) for i in range(MAX_BATCH + 10)]
    await asyncio.sleep(0)
    urgent = asyncio.create_task(store.db.run(note("publisher"), urgent=True))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(held, urgent, *normal)
    assert order[0] == "publisher"  # ahead of 74 API writes queued before it
    assert order[1:] == [f"api{i}" for i in range(MAX_BATCH + 10)]


async def test_after_commit_runs_in_the_loop_only_when_committed(store: Store) -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[str, int]] = []

    def ok(tx: Tx) -> None:
        tx.after_commit(lambda: seen.append(("ok", threading.get_ident())))

    def fails(tx: Tx) -> None:
        tx.after_commit(lambda: seen.append(("failed", threading.get_ident())))
        raise ValueError("no")

    await store.db.run(ok)
    with pytest.raises(ValueError):
        await store.db.run(fails)
    assert seen == [("ok", loop_thread)]


async def test_a_burst_of_due_posts_is_claimed_once_in_batches(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    due = [_post(PostStatus.SCHEDULED, now - timedelta(seconds=1)) for _ in range(25)]
    later = _post(PostStatus.SCHEDULED, now + timedelta(hours=1))
    await store.posts.insert_many([*due, later])
    claims = await asyncio.gather(
        *(
            store.posts.claim_due(now=now, due_by=now, since=now - timedelta(hours=1), limit=10)
            for _ in range(5)
        )
    )
    claimed = [post_id for batch in claims for post_id, _ in batch]
    assert sorted(claimed) == sorted(p.id for p in due)  # each once, the later one not
    assert max(len(batch) for batch in claims) == 10
    for post in due:
        got = await store.posts.get(post.id)
        assert got is not None and got.status is PostStatus.PUBLISHING
        assert sorted(d.platform for d in got.deliveries) == ["bluesky", "mastodon"]
    assert await store.posts.next_due() == later.scheduled_for


async def test_an_event_nobody_subscribes_to_is_neither_built_nor_stored(store: Store) -> None:
    built: list[str] = []

    def payload() -> bytes:
        built.append("built")
        return b"{}"

    count = await store.db.run(
        lambda tx: store.webhooks.enqueue(
            tx,
            event_id="evt_nobody",
            event_type="post.published",
            sandbox=False,
            payload=payload,
            now=datetime.now(UTC),
            new_id=random_id,
        )
    )
    assert count == 0 and built == []
