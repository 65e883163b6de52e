"""A full disk, made with SQLite's own limits (no mount needed, nothing mocked).

`PRAGMA max_page_count` caps the database at its current size on the write
connection, and a TEMP trigger on every table makes each insert or update also
store a 64 KiB filler row, which needs new pages: every write then fails with
SQLITE_FULL ("database or disk is full"), exactly as on a full disk, while reads
keep working. `free()` lifts both.
"""

from __future__ import annotations

from typing import Any

from octopost.store.db import Database

TABLES = (
    "posts",
    "deliveries",
    "idempotency_keys",
    "api_keys",
    "accounts",
    "webhooks",
    "events",
    "webhook_deliveries",
    "webhook_attempts",
)


async def _run(db: Database, sql: str) -> list[Any]:
    # on the write connection (max_page_count and TEMP triggers are per connection)
    return await db.maintain(lambda conn: conn.execute(sql).fetchall())


async def fill(db: Database) -> None:
    await _run(db, "CREATE TABLE IF NOT EXISTS disk_filler (blob BLOB)")
    pages = (await _run(db, "PRAGMA page_count"))[0][0]
    await _run(db, f"PRAGMA max_page_count = {int(pages)}")
    for table in TABLES:
        for op in ("INSERT", "UPDATE"):
            await _run(
                db,
                f"CREATE TEMP TRIGGER IF NOT EXISTS full_{table}_{op.lower()} AFTER {op} ON "
                f"main.{table} BEGIN INSERT INTO disk_filler VALUES (zeroblob(65536)); END",
            )


async def free(db: Database) -> None:
    for table in TABLES:
        for op in ("insert", "update"):
            await _run(db, f"DROP TRIGGER IF EXISTS temp.full_{table}_{op}")
    await _run(db, "PRAGMA max_page_count = 1073741823")
