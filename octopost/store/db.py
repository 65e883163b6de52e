"""The SQLite connection pair, migrations and transactions.

One connection writes (guarded by an asyncio lock, `BEGIN IMMEDIATE` for every
read-modify-write) and one reads; WAL lets reads run beside a write. Migrations
are an append-only list tracked by `PRAGMA user_version`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from octopost.datadir import secure_dir, secure_file
from octopost.errors import StorageFullError
from octopost.store.schema import MIGRATIONS
from octopost.store.snapshot import pre_migration_copy

log = logging.getLogger("octopost.store")

FULL_MESSAGE = (
    "Octopost cannot save changes: the disk of its data directory is full. Nothing was "
    "changed and nothing stored is lost; free some space and try again."
)


@contextmanager
def _space_checked() -> Iterator[None]:
    """Turn SQLite's "database or disk is full" into StorageFullError (a 503 for clients)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            log.error("write failed, disk full: %s", exc)
            raise StorageFullError(FULL_MESSAGE) from exc
        raise


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


class Database:
    #: read connections, used round-robin: each has its own thread, and SQLite
    #: releases the GIL while it works, so reads run in parallel beside the writer
    READERS = 4

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._write: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._next_reader = 0
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self.path != ":memory:":
            secure_dir(Path(self.path).parent)
            # Created 0600 before SQLite opens it: SQLite gives -wal and -shm the
            # database file's mode. Files left looser by older versions are tightened.
            secure_file(self.path, create=True)
            for suffix in ("-wal", "-shm"):
                secure_file(self.path + suffix)
        self._write = await self._connect()
        await self._migrate(self._write)
        readers = 1 if self.path == ":memory:" else self.READERS
        self._readers = [await self._connect() for _ in range(readers)]

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
        ):
            # Close every cursor: an unfinished statement would pin an old read snapshot.
            async with conn.execute(pragma) as cur:
                await cur.fetchall()
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"database {self.path} has schema version {version}, newer than this "
                f"Octopost ({len(MIGRATIONS)}); upgrade Octopost"
            )
        if 0 < version < len(MIGRATIONS) and self.path != ":memory:":
            # An upgrade: keep the database as it was before any migration touches it, so
            # a failed or regretted upgrade can go back (see README, "Upgrading").
            copy = await asyncio.to_thread(
                pre_migration_copy, self.path, version, datetime.now(UTC)
            )
            log.info(
                "database at schema %d, migrating to %d; copy of the old one: %s",
                version,
                len(MIGRATIONS),
                copy,
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("applying migration %d", number)
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version={number};\nCOMMIT;"
            )

    async def close(self) -> None:
        for conn in [*self._readers, self._write]:
            if conn is not None:
                await conn.close()
        self._readers = []
        self._write = None

    @property
    def reader(self) -> aiosqlite.Connection:
        assert self._readers, "database is not open"
        self._next_reader = (self._next_reader + 1) % len(self._readers)
        return self._readers[self._next_reader]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """An exclusive write transaction (BEGIN IMMEDIATE ... COMMIT)."""
        assert self._write is not None, "database is not open"
        async with self._lock:
            conn = self._write
            with _space_checked():
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    await conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # a failed COMMIT may leave it open, or not
                        await conn.execute("ROLLBACK")
                    raise

    async def write(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """One statement, atomic on its own (autocommit): one thread hop instead of three."""
        assert self._write is not None, "database is not open"
        async with self._lock:
            with _space_checked():
                return list(await self._write.execute_fetchall(sql, tuple(params)))

    # Reads run as one call on the connection's thread (execute + fetch + close):
    # an open statement interleaved with another read would share its older snapshot.
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.reader.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)  # type: ignore[arg-type]

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.reader.execute_fetchall(sql, tuple(params)))


async def one(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> aiosqlite.Row | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)  # type: ignore[arg-type]


async def many(
    conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))
