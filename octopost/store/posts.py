"""Posts: reading, the list pages, writing, claiming and settling them (their columns are
in rows.py, a delivery's progress in deliveries.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from octopost.models import (
    EDITABLE,
    FINAL_DELIVERY,
    Category,
    Delivery,
    DeliveryState,
    ListedPost,
    Post,
    PostStatus,
)
from octopost.store.db import (
    Database,
    PostChangeHook,
    PostHook,
    Row,
    Tx,
    from_ms,
    from_ms_required,
    to_ms,
)
from octopost.store.rows import (
    DELIVERY_COLUMNS,
    JOINED_COLUMNS,
    LISTED_COLUMNS,
    POST_COLUMNS,
    POST_WIDTH,
    RESULT_COLUMNS,
    StoredShape,
    decode_list,
    delivery_at,
    delivery_from_row,
    encode,
    listed_from_row,
    post_from_row,
    post_params,
    shape_bytes,
)
from octopost.store.segments import PREPARE_SEGMENTS, SEGMENTS_OF, attach_segments

#: posts per counted block (by seq): see migration 8 and PostStore.page
BLOCK_BITS = 12
BLOCK = 1 << BLOCK_BITS
FINAL_STATES = ",".join(sorted(f"'{state.value}'" for state in FINAL_DELIVERY))


class StalePostError(Exception):
    """An update checked against a post that another update has changed since."""


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class PostStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        #: the counts per block of a filtered set (see _window), as of one state of the
        #: database: `PRAGMA data_version` of the read connection, which any commit
        #: changes (this server's or another process's), so they are never stale
        self._counts: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
        self._counts_version: int | None = None

    # -- reading -------------------------------------------------------------
    def _deliveries(self, tx: Tx | None, posts: Sequence[Row]) -> dict[str, list[Delivery]]:
        """The deliveries of these post rows (POST_COLUMNS), by post id."""
        if not posts:
            return {}
        ids = [row[0] for row in posts]
        sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE post_id IN ({_placeholders(len(ids))})"
        rows = tx.all(sql, ids) if tx is not None else self.db.read_all(sql, ids)
        grouped: dict[str, list[Delivery]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(delivery_from_row(row))
        # Only a shaped post (segments, overrides, a thread mode) can have segments.
        shaped = [row[0] for row in posts if row[POST_WIDTH - 1] is not None and row[0] in grouped]
        if shaped:
            sql = SEGMENTS_OF.format(_placeholders(len(shaped)))
            segments = tx.all(sql, shaped) if tx is not None else self.db.read_all(sql, shaped)
            if segments:
                attach_segments(segments, (d for i in shaped for d in grouped[i]))
        return grouped

    async def get(self, post_id: str, sandbox: bool | None = None) -> Post | None:
        """The post with its deliveries; `sandbox` restricts to sandbox or live posts."""
        # One read: the post joined with its deliveries (one row per delivery).
        sql = (
            f"SELECT {JOINED_COLUMNS} FROM posts p "
            "LEFT JOIN deliveries d ON d.post_id = p.id WHERE p.id = ?"
        )
        params: list[Any] = [post_id]
        if sandbox is not None:
            sql += " AND p.sandbox = ?"
            params.append(int(sandbox))
        rows = self.db.read_all(sql, params)
        if not rows:
            return None
        width = POST_WIDTH
        deliveries = [delivery_at(r, width) for r in rows if r[width] is not None]
        # Only a shaped post (segments, overrides, a thread mode) can have segments.
        if deliveries and rows[0][width - 1] is not None:
            segments = self.db.read_all(SEGMENTS_OF.format("?"), [post_id])
            if segments:
                attach_segments(segments, deliveries)
        return post_from_row(rows[0], deliveries)

    def _get_in(self, tx: Tx, post_id: str) -> Post | None:
        row = tx.one(f"SELECT {POST_COLUMNS} FROM posts WHERE id = ?", [post_id])
        if row is None:
            return None
        return post_from_row(row, self._deliveries(tx, [row]).get(post_id))

    async def page(
        self, *, sandbox: bool, status: str | None, limit: int, offset: int
    ) -> tuple[list[Post], int]:
        """A page of posts, newest first, and the size of the whole filtered set."""
        with self.db.snapshot() as read:
            rows, total = self._window(read, POST_COLUMNS, sandbox, status, limit, offset)
            grouped = self._deliveries(None, rows)
        return [post_from_row(r, grouped.get(r[0])) for r in rows], total

    async def listing(
        self, *, sandbox: bool, status: str | None, limit: int, offset: int
    ) -> tuple[list[ListedPost], int]:
        """`page()` as the API's list shows it (ListedPost): the same posts, in the same
        order, with the same total."""
        with self.db.snapshot() as read:
            rows, total = self._window(read, LISTED_COLUMNS, sandbox, status, limit, offset)
            finals: dict[str, list[Row]] = {}
            threads: dict[str, list[Delivery]] = {}
            if rows:
                ids = [row[0] for row in rows]
                for row in read(
                    f"SELECT {RESULT_COLUMNS} FROM deliveries WHERE post_id IN "
                    f"({_placeholders(len(ids))}) AND state IN ({FINAL_STATES})",
                    ids,
                ):
                    finals.setdefault(row[0], []).append(row)
                # Only a shaped post (segments, overrides, a thread mode) has segments.
                shaped = [row[0] for row in rows if row[-1] is not None and row[0] in finals]
                if shaped:
                    segments = read(SEGMENTS_OF.format(_placeholders(len(shaped))), shaped)
                    if segments:
                        threads = {i: [delivery_at(r, 0) for r in finals[i]] for i in shaped}
                        attach_segments(segments, (d for i in shaped for d in threads[i]))
        return [listed_from_row(r, finals.get(r[0]), threads.get(r[0])) for r in rows], total

    def _window(
        self,
        read: Callable[[str, Sequence[Any]], list[Row]],
        columns: str,
        sandbox: bool,
        status: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Row], int]:
        """The rows (`columns`) of one page, newest first, and the filtered set's size.

        The counts per block of 4,096 posts (migration 8) give the total, and turn a deep
        `offset` into "the posts before block B, skipping fewer than 4,096": a page at
        offset 500,000 of a million posts reads about as much as the first page. Run in
        one snapshot (`read`), so the counts and the page agree."""
        where = "sandbox = ?"
        params: list[Any] = [int(sandbox)]
        if status is not None:
            where += " AND status = ?"
            params.append(status)
        skip, before = offset, None
        if offset < BLOCK:  # the first pages: the total is all they need of the counts
            counted = read(f"SELECT SUM(n) FROM post_blocks WHERE {where}", params)
            total = int(counted[0][0] or 0)
        else:
            blocks = self._blocks(read, where, params)
            total = sum(n for _, n in blocks)
            for block, n in blocks:
                if skip < n:
                    break
                skip -= n
                before = block << BLOCK_BITS
        if offset >= total:
            return [], total
        below, bound = ("AND seq < ?", [before]) if before is not None else ("", [])
        if skip:
            # The posts left to step over are stepped over in the index alone (their rows
            # are not read); the page is read from the first post it shows.
            below, bound = (
                f"AND seq <= (SELECT seq FROM posts WHERE {where} {below} "
                "ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                [*params, *bound, skip],
            )
        return read(
            f"SELECT {columns} FROM posts WHERE {where} {below} ORDER BY seq DESC LIMIT ?",
            [*params, *bound, limit],
        ), total

    def _blocks(
        self, read: Callable[[str, Sequence[Any]], list[Row]], where: str, params: list[Any]
    ) -> list[tuple[int, int]]:
        """(block, posts in it) of the filtered set, newest block first. Paging through a
        long history reads them once while nothing is written (~0.3-0.6 ms at a million
        posts), not once a page."""
        version = read("PRAGMA data_version", ())[0][0]
        if version != self._counts_version:
            self._counts.clear()
            self._counts_version = version
        key = (where, *params)
        blocks = self._counts.get(key)
        if blocks is None:
            rows = read(
                f"SELECT block, SUM(n) FROM post_blocks WHERE {where} "
                "GROUP BY block ORDER BY block DESC",
                params,
            )
            blocks = self._counts[key] = [(int(block), int(n)) for block, n in rows]
        return blocks

    async def next_due(self) -> datetime | None:
        """The earliest `scheduled_for` of a scheduled post (None: nothing scheduled)."""
        row = await self.db.fetchone(
            "SELECT MIN(scheduled_for) FROM posts WHERE status = 'scheduled'"
        )
        return from_ms(row[0]) if row is not None and row[0] is not None else None

    async def scheduled(self) -> list[tuple[str, datetime]]:
        """(id, scheduled_for) of every scheduled post, soonest first."""
        rows = await self.db.fetchall(
            "SELECT id, scheduled_for FROM posts WHERE status = 'scheduled' ORDER BY scheduled_for"
        )
        return [(r["id"], from_ms_required(r["scheduled_for"])) for r in rows]

    async def publishing_ids(self) -> list[str]:
        """Posts left in `publishing` (by a crash or a shutdown): they must resume."""
        rows = await self.db.fetchall(
            "SELECT id FROM posts WHERE status = 'publishing' ORDER BY seq"
        )
        return [r["id"] for r in rows]

    # -- writing -------------------------------------------------------------
    async def insert(self, post: Post, *, on_change: PostHook | None = None) -> None:
        """Store a new post; `on_change(tx, post)` runs in the same transaction."""
        sql = f"INSERT INTO posts ({POST_COLUMNS}) VALUES ({_placeholders(POST_WIDTH)})"
        params = post_params(post)
        if on_change is None:
            await self.db.write(sql, params)
            return

        def work(tx: Tx) -> None:
            tx.execute(sql, params)
            on_change(tx, post)

        await self.db.run(work)

    async def insert_many(self, posts: Sequence[Post]) -> None:
        """Bulk insert, deliveries included, in one transaction (imports, benchmarks)."""
        rows = [post_params(p) for p in posts]
        deliveries = [
            (
                d.post_id,
                d.platform,
                str(d.state),
                d.attempts,
                d.remote_id,
                d.remote_url,
                d.error,
                d.error_category,
                None if d.retryable is None else int(d.retryable),
                int(d.simulated),
                encode(d.checkpoint),
                to_ms(d.updated_at),
                int(d.reached),
                d.budget_from,
            )
            for p in posts
            for d in p.deliveries
        ]

        def work(tx: Tx) -> None:
            tx.executemany(
                f"INSERT INTO posts ({POST_COLUMNS}) VALUES ({_placeholders(POST_WIDTH)})", rows
            )
            tx.executemany(
                f"INSERT INTO deliveries ({DELIVERY_COLUMNS}) VALUES ({_placeholders(14)})",
                deliveries,
            )

        await self.db.run(work)

    async def update(
        self,
        post_id: str,
        sandbox: bool,
        changes: dict[str, Any],
        now: datetime,
        *,
        on_change: PostChangeHook | None = None,
        unless: Callable[[Post], bool] | None = None,
    ) -> tuple[Post | None, Post | None]:
        """Apply `changes` (column -> value) to an editable post.

        Returns (before, after); `after` is None when the post is not editable
        (caller reports a conflict), both None when it does not exist.
        `on_change(tx, before, after)` runs in the same transaction. When
        `unless(before)` is true nothing is changed and StalePostError is raised (the
        caller checked the changes against a post that has changed since).
        """
        columns: dict[str, Any] = {"updated_at": to_ms(now)}
        for key, value in changes.items():
            if key in ("scheduled_for", "published_at"):
                columns[key] = to_ms(value)
            elif key == "platforms":
                columns[key] = encode(value)
            elif key == "media":
                columns[key] = encode(value) if value is not None else None
            elif key == "status":
                columns[key] = str(value)
            elif key == "shape":  # a post_shape.Shape
                columns[key] = shape_bytes(
                    StoredShape(value.segments, value.overrides, value.thread, value.thread_marker)
                )
            else:
                columns[key] = value
        assignments = ", ".join(f"{name} = ?" for name in columns)

        def work(tx: Tx) -> tuple[Post | None, Post | None]:
            before = self._get_in(tx, post_id)
            if before is None or before.sandbox != sandbox:
                return None, None
            if before.status not in EDITABLE:
                return before, None
            if unless is not None and unless(before):
                raise StalePostError(post_id)
            tx.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*columns.values(), post_id])
            after = self._get_in(tx, post_id)
            if on_change is not None and after is not None:
                on_change(tx, before, after)
            return before, after

        return await self.db.run(work)

    async def delete(self, post_id: str, sandbox: bool) -> Post | None:
        """Delete unless publishing. Returns the post as it was (check its status), or None."""

        def work(tx: Tx) -> Post | None:
            post = self._get_in(tx, post_id)
            if post is None or post.sandbox != sandbox:
                return None
            if post.status is PostStatus.PUBLISHING:
                return post
            tx.execute("DELETE FROM posts WHERE id = ?", [post_id])
            return post

        return await self.db.run(work)

    # -- publishing ----------------------------------------------------------
    # The publisher's and the scheduler's writes are urgent: they never wait behind
    # a queue of API writes (see Database).
    async def claim(
        self,
        post_id: str,
        *,
        now: datetime,
        from_states: Iterable[PostStatus],
        platforms: Sequence[str] | None = None,
        due_by: datetime | None = None,
        sandbox: bool | None = None,
        urgent: bool = False,
    ) -> Post | None:
        """Atomically move a post to `publishing` and prepare its deliveries.

        Only one caller can win: the UPDATE matches only while the post is in one
        of `from_states` (and, with `due_by`, only when it is due). `platforms`
        limits which platforms are (re)sent; succeeded deliveries are never reset.
        Returns the claimed post, or None when someone else owns it.
        """
        states = [str(s) for s in from_states]
        sql = (
            f"UPDATE posts SET status = 'publishing', updated_at = ? "
            f"WHERE id = ? AND status IN ({_placeholders(len(states))})"
        )
        params: list[Any] = [to_ms(now), post_id, *states]
        if due_by is not None:
            sql += " AND scheduled_for <= ?"
            params.append(to_ms(due_by))
        if sandbox is not None:
            sql += " AND sandbox = ?"
            params.append(int(sandbox))

        def work(tx: Tx) -> Post | None:
            row = tx.one(sql + " RETURNING platforms", params)
            if row is None:
                return None
            targets = list(platforms) if platforms is not None else decode_list.decode(row[0])
            tx.executemany(_PREPARE, [(post_id, p, to_ms(now)) for p in targets])
            # a retried thread continues at its failed segment, with a fresh attempt budget
            tx.executemany(PREPARE_SEGMENTS, [(to_ms(now), post_id, p) for p in targets])
            return self._get_in(tx, post_id)

        return await self.db.run(work, urgent=urgent)

    async def claim_due(
        self, *, now: datetime, due_by: datetime, since: datetime, limit: int
    ) -> list[tuple[str, datetime]]:
        """Claim up to `limit` scheduled posts due between `since` and `due_by` in one
        transaction, soonest first: (id, scheduled_for) of each. Atomic like `claim`: a
        post is claimed once."""

        def work(tx: Tx) -> list[tuple[str, datetime]]:
            rows = tx.all(
                "UPDATE posts SET status = 'publishing', updated_at = ? WHERE id IN "
                "(SELECT id FROM posts WHERE status = 'scheduled' AND scheduled_for <= ? "
                "AND scheduled_for >= ? ORDER BY scheduled_for LIMIT ?) "
                "RETURNING id, platforms, scheduled_for",
                [to_ms(now), to_ms(due_by), to_ms(since), limit],
            )
            at = to_ms(now)
            tx.executemany(
                _PREPARE,
                [(r[0], p, at) for r in rows for p in decode_list.decode(r[1])],
            )
            claimed = [(r[0], from_ms_required(r[2])) for r in rows]
            claimed.sort(key=lambda c: c[1])
            return claimed

        return await self.db.run(work, urgent=True)

    async def due(self, now: datetime, limit: int = 500) -> list[tuple[str, datetime]]:
        """(id, scheduled_for) of scheduled posts due by `now`, soonest first."""
        rows = await self.db.fetchall(
            "SELECT id, scheduled_for FROM posts WHERE status = 'scheduled' AND scheduled_for <= ? "
            "ORDER BY scheduled_for LIMIT ?",
            [to_ms(now), limit],
        )
        return [(r["id"], from_ms_required(r["scheduled_for"])) for r in rows]

    async def fail_missed(
        self, post_id: str, message: str, now: datetime, *, on_finish: PostHook | None = None
    ) -> Post | None:
        """Mark a scheduled post that missed its time as failed (unless already claimed)."""

        def work(tx: Tx) -> Post | None:
            row = tx.one(
                "UPDATE posts SET status = 'failed', updated_at = ? "
                "WHERE id = ? AND status = 'scheduled' RETURNING platforms",
                [to_ms(now), post_id],
            )
            if row is None:
                return None
            tx.executemany(
                "INSERT OR REPLACE INTO deliveries (post_id, platform, state, error, "
                "error_category, retryable, updated_at) VALUES (?, ?, 'failed', ?, ?, 0, ?)",
                [
                    (post_id, p, message, Category.VALIDATION.value, to_ms(now))
                    for p in decode_list.decode(row[0])
                ],
            )
            final = self._get_in(tx, post_id)
            if on_finish is not None and final is not None:
                on_finish(tx, final)
            return final

        return await self.db.run(work, urgent=True)

    async def finish(
        self, post_id: str, now: datetime, *, on_finish: PostHook | None = None
    ) -> Post | None:
        """Settle a publishing post: `published` if any platform succeeded, else `failed`.

        Only when every delivery is final; otherwise returns None and changes nothing.
        `on_finish(tx, post)` runs inside the same transaction (webhook outbox).
        """

        def work(tx: Tx) -> Post | None:
            post = self._get_in(tx, post_id)
            if post is None or post.status is not PostStatus.PUBLISHING:
                return None
            states = {d.state for d in post.deliveries}
            if not states or states - {DeliveryState.SUCCEEDED, DeliveryState.FAILED}:
                return None
            succeeded = DeliveryState.SUCCEEDED in states
            status = PostStatus.PUBLISHED if succeeded else PostStatus.FAILED
            published_at = post.published_at or (now if succeeded else None)
            tx.execute(
                "UPDATE posts SET status = ?, published_at = ?, updated_at = ? WHERE id = ?",
                [str(status), to_ms(published_at), to_ms(now), post_id],
            )
            # what was just written, without reading it back (milliseconds, as stored)
            final = msgspec.structs.replace(
                post,
                status=status,
                published_at=from_ms(to_ms(published_at)),
                updated_at=from_ms_required(to_ms(now) or 0),
            )
            if on_finish is not None:
                on_finish(tx, final)
            return final

        return await self.db.run(work, urgent=True)


#: a delivery made ready to send by a claim
_PREPARE = (
    "INSERT INTO deliveries (post_id, platform, state, updated_at) "
    "VALUES (?, ?, 'pending', ?) "
    # A retry keeps the checkpoint and `reached`: what earlier attempts
    # left on the platform must be found, not sent again. Its attempt
    # budget starts afresh (`attempts` keeps counting the total).
    "ON CONFLICT (post_id, platform) DO UPDATE SET state = 'pending', "
    "error = NULL, error_category = NULL, retryable = NULL, "
    "budget_from = deliveries.attempts, updated_at = excluded.updated_at "
    "WHERE deliveries.state = 'failed'"
)
