"""The SQLite connections, migrations and transactions.

Writes: one connection, owned by one writer thread. A write is a plain function
`fn(tx)` handed to `await db.run(fn)`; the thread runs every write waiting at that
moment in ONE transaction (group commit: one COMMIT, so one WAL sync and one thread
hop for the whole batch), each inside its own SAVEPOINT (a one-statement `write` needs
none: SQLite undoes a failed statement itself), so a write that fails rolls back alone
and the others still commit. `run` returns only once the batch holding the
write is committed: a 201 or a `sending` mark is on disk when its caller goes on.
`urgent=True` writes (the publisher's and the scheduler's) are taken before every
waiting normal write (API requests), so a queue of API writes never delays a publish.

Reads: one synchronous connection used in the event loop itself. A point read or a
page costs less than a hop to a thread and back (measured: a primary-key read of a
post with its deliveries ~40 µs in the loop against ~150 µs of hop overhead through
aiosqlite), and in WAL mode a read never waits for the writer.

Migrations are an append-only list tracked by `PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from octopost.datadir import secure_dir, secure_file
from octopost.errors import StorageFullError
from octopost.store.schema import MIGRATIONS
from octopost.store.snapshot import pre_migration_copy

if TYPE_CHECKING:
    from octopost.models import AccountRecord, Post

log = logging.getLogger("octopost.store")

T = TypeVar("T")
Row = sqlite3.Row
Synchronous = Literal["normal", "full"]

FULL_MESSAGE = (
    "Octopost cannot save changes: the disk of its data directory is full. Nothing was "
    "changed and nothing stored is lost; free some space and try again."
)

#: most writes in one group commit: bounds how long an urgent write can wait for the
#: batch ahead of it (a batch of small API writes takes ~2-4 ms to run)
MAX_BATCH = 64


def _translated(exc: BaseException) -> BaseException:
    """SQLite's "database or disk is full" as StorageFullError (a 503 for clients)."""
    if (
        isinstance(exc, sqlite3.OperationalError)
        and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    ):
        log.error("write failed, disk full: %s", exc)
        error = StorageFullError(FULL_MESSAGE)
        error.__cause__ = exc
        return error
    return exc


def to_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int(value.timestamp() * 1000)


def from_ms(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def from_ms_required(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


class Tx:
    """One write inside a group-committed transaction, on the writer thread.

    Runs synchronously: no awaiting inside a transaction. `after_commit(fn)` runs
    `fn()` in the event loop once the transaction is committed (never when it is not)."""

    __slots__ = ("_after", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._after: list[Callable[[], None]] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self.conn.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        # fetchall, not fetchone: it finishes the statement (nothing left half-read)
        rows = self.conn.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def after_commit(self, fn: Callable[[], None]) -> None:
        self._after.append(fn)


#: what a store method runs inside the transaction of its change, on the writer thread
#: (the webhook outbox is written with the change it tells of): the post as stored
PostHook = Callable[[Tx, "Post"], None]
#: the same for an update: the post before and after it
PostChangeHook = Callable[[Tx, "Post", "Post"], None]
#: the same for an account whose status changed
AccountHook = Callable[[Tx, "AccountRecord"], None]


@dataclass(slots=True, eq=False)
class _Job:
    fn: Callable[[Tx], Any] | None
    future: asyncio.Future[Any]
    #: instead of `fn`: run on the bare connection, outside any transaction
    bare: Callable[[sqlite3.Connection], Any] | None = None
    #: `fn` runs one statement: it needs no savepoint of its own
    single: bool = False
    ok: bool = False
    value: Any = None
    after: list[Callable[[], None]] = field(default_factory=list)


class Database:
    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 5000,
        synchronous: Synchronous = "full",
    ) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.synchronous = synchronous
        self._write: sqlite3.Connection | None = None
        self._read: sqlite3.Connection | None = None
        self._urgent: deque[_Job] = deque()
        self._normal: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        #: batches committed and writes in them (for tests and the benchmark)
        self.batches = 0
        self.writes = 0

    # -- life cycle ----------------------------------------------------------
    async def open(self) -> None:
        if self.path != ":memory:":
            secure_dir(Path(self.path).parent)
            # Created 0600 before SQLite opens it: SQLite gives -wal and -shm the
            # database file's mode. Files left looser by older versions are tightened.
            secure_file(self.path, create=True)
            for suffix in ("-wal", "-shm"):
                secure_file(self.path + suffix)
        write = self._connect()
        try:
            self._migrate(write)
        except BaseException:
            write.close()
            raise
        self._write = write
        self._read = self._connect()
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="octopost-writer", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False: the writer connection is made here and used by the
        # writer thread only; the read connection is used by the event loop's thread only.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}",
            # FULL: every commit syncs the WAL before it returns (survives power loss);
            # NORMAL: syncs only at checkpoints (survives a crash of the process, not
            # of the machine). Group commit pays one sync per batch. See the README.
            f"PRAGMA synchronous={'FULL' if self.synchronous == 'full' else 'NORMAL'}",
            "PRAGMA foreign_keys=ON",
        ):
            conn.execute(pragma).fetchall()
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("PRAGMA user_version").fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"database {self.path} has schema version {version}, newer than this "
                f"Octopost ({len(MIGRATIONS)}); upgrade Octopost"
            )
        if 0 < version < len(MIGRATIONS) and self.path != ":memory:":
            # An upgrade: keep the database as it was before any migration touches it, so
            # a failed or regretted upgrade can go back (see README, "Upgrading").
            copy = pre_migration_copy(self.path, version, datetime.now(UTC))
            log.info(
                "database at schema %d, migrating to %d; copy of the old one: %s",
                version,
                len(MIGRATIONS),
                copy,
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("applying migration %d", number)
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )

    async def close(self) -> None:
        thread = self._thread
        if thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify()
            # what was queued still runs (and commits) before the thread ends
            await asyncio.to_thread(thread.join)
        self._thread = None
        for conn in (self._read, self._write):
            if conn is not None:
                conn.close()
        self._read = None
        self._write = None

    @property
    def queued(self) -> int:
        """Writes waiting for the writer thread (not counting the batch it is running)."""
        with self._cond:
            return len(self._urgent) + len(self._normal)

    # -- writing -------------------------------------------------------------
    async def run(self, fn: Callable[[Tx], T], *, urgent: bool = False) -> T:
        """Run `fn(tx)` as one write, atomic on its own, and return its result once
        committed. Its exception (StorageFullError for a full disk) is raised here, and
        nothing it did is kept."""
        return await self._queue(fn, urgent=urgent, single=False)

    async def write(
        self, sql: str, params: Sequence[Any] = (), *, urgent: bool = False
    ) -> list[Row]:
        """One statement (its RETURNING rows), group-committed like any `run`."""
        values = tuple(params)
        return await self._queue(lambda tx: tx.all(sql, values), urgent=urgent, single=True)

    async def _queue(self, fn: Callable[[Tx], T], *, urgent: bool, single: bool) -> T:
        assert self._thread is not None, "database is not open"
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        job = _Job(fn, future, single=single)
        with self._cond:
            (self._urgent if urgent else self._normal).append(job)
            self._cond.notify()
        return await future

    async def maintain(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(conn)` on the writer connection outside any transaction (PRAGMAs,
        checkpoints, test rigs): queued like an urgent write, alone in its turn."""

        assert self._thread is not None, "database is not open"
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._cond:
            self._urgent.append(_Job(None, future, bare=fn))
            self._cond.notify()
        return await future

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._urgent and not self._normal and not self._closing:
                    self._cond.wait()
                if not self._urgent and not self._normal:
                    return
                batch: list[_Job] = []
                while self._urgent and len(batch) < MAX_BATCH:
                    batch.append(self._urgent.popleft())
                while self._normal and len(batch) < MAX_BATCH:
                    batch.append(self._normal.popleft())
            self._commit(batch)

    def _commit(self, batch: list[_Job]) -> None:
        conn = self._write
        assert conn is not None
        for job in [j for j in batch if j.bare is not None]:
            try:
                job.value, job.ok = job.bare(conn), True  # type: ignore[misc]
            except BaseException as exc:
                job.value = _translated(exc)
            self._settle([job], None)
        batch = [j for j in batch if j.bare is None]
        if not batch:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._settle(batch, _translated(exc))
            return
        done: list[_Job] = []
        for index, job in enumerate(batch):
            if job.future.cancelled():  # its caller is gone and nothing ran yet
                continue
            tx = Tx(conn)
            try:
                if job.single:
                    # SQLite undoes a failed statement by itself: no savepoint (each
                    # statement is a release of the GIL and a wait to take it back).
                    job.value = job.fn(tx)  # type: ignore[misc]
                else:
                    conn.execute("SAVEPOINT octopost_write")
                    job.value = job.fn(tx)  # type: ignore[misc]
                    conn.execute("RELEASE octopost_write")
                job.ok = True
                job.after = tx._after
            except BaseException as exc:
                job.value = _translated(exc)
                if not conn.in_transaction:
                    # SQLite gave up the whole transaction (disk full, I/O error): the
                    # writes before this one are gone too, and say so.
                    self._settle([*done, job], job.value)
                    self._commit(batch[index + 1 :])
                    return
                if not job.single:
                    conn.execute("ROLLBACK TO octopost_write")
                    conn.execute("RELEASE octopost_write")
            done.append(job)
        try:
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._settle(done, _translated(exc))
            return
        self.batches += 1
        self.writes += len(done)
        self._settle(done, None)

    def _settle(self, jobs: list[_Job], failure: BaseException | None) -> None:
        """Hand the outcomes to the event loop(s): one wake-up per loop per batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in jobs:
            if failure is not None:
                job.ok, job.value, job.after = False, failure, []
            by_loop.setdefault(job.future.get_loop(), []).append(job)
        for loop, group in by_loop.items():
            # RuntimeError: that loop is closed, nobody is waiting any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, group)

    # -- reading -------------------------------------------------------------
    # Reads run in the event loop on their own connection, each fetched to the end
    # at once (an open statement would pin an old snapshot of the WAL).
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.read_all(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.read_all(sql, params)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Callable[[str, Sequence[Any]], list[Row]]]:
        """Several reads that see the same state of the database (one read transaction)."""
        assert self._read is not None, "database is not open"
        self._read.execute("BEGIN")
        try:
            yield self.read_all
        finally:
            self._read.execute("COMMIT")

    def read_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        assert self._read is not None, "database is not open"
        return self._read.execute(sql, params).fetchall()


def _resolve(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():
            continue
        if job.ok:
            job.future.set_result(job.value)
            for fn in job.after:
                try:
                    fn()
                except Exception:
                    log.exception("after-commit callback failed")
        else:
            job.future.set_exception(job.value)
