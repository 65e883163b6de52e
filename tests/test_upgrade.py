"""Upgrades: an existing database is copied beside itself before migrations touch it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from octopost.store import Store
from octopost.store.schema import MIGRATIONS
from octopost.store.snapshot import KEEP_PRE_MIGRATION, snapshot


def _old_database(path: Path, version: int) -> None:
    """A database as an older Octopost left it: `version` migrations, plus a marker row."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for script in MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute("CREATE TABLE upgrade_marker (note TEXT)")
    conn.execute("INSERT INTO upgrade_marker VALUES ('before the upgrade')")
    conn.execute(f"PRAGMA user_version={version}")
    conn.close()


def _copies(db: Path) -> list[Path]:
    return sorted(db.parent.glob("octopost.db.v*-*.bak"))


async def test_existing_database_is_copied_before_migrating(tmp_path: Path) -> None:
    db = tmp_path / "octopost.db"
    _old_database(db, 1)
    store = await Store(db).open()
    await store.close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)

    [copy] = _copies(db)
    assert copy.name.startswith("octopost.db.v1-")
    assert (copy.stat().st_mode & 0o777) == 0o600
    old = sqlite3.connect(copy)
    assert old.execute("PRAGMA user_version").fetchone() == (1,)
    assert old.execute("SELECT note FROM upgrade_marker").fetchall() == [("before the upgrade",)]
    assert old.execute("PRAGMA quick_check").fetchone() == ("ok",)

    # Already current: no new copy on the next start.
    store = await Store(db).open()
    await store.close()
    assert len(_copies(db)) == 1


async def test_a_new_database_gets_no_copy(tmp_path: Path) -> None:
    store = await Store(tmp_path / "octopost.db").open()
    await store.close()
    assert _copies(tmp_path / "octopost.db") == []


async def test_only_the_newest_copies_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "octopost.db"
    _old_database(db, 1)
    older = [db.with_name(f"octopost.db.v{9 + n}-2020010{n}T000000000000Z.bak") for n in range(4)]
    for path in older:
        path.write_bytes(b"")
    store = await Store(db).open()
    await store.close()
    kept = _copies(db)
    assert len(kept) == KEEP_PRE_MIGRATION
    # the one just made, and the newest older ones (by time, whatever their version)
    assert any(p.name.startswith("octopost.db.v1-") for p in kept)
    assert set(older[-(KEEP_PRE_MIGRATION - 1) :]) <= set(kept)


def test_snapshot_includes_commits_still_in_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # committed pages stay in -wal
    writer.execute("CREATE TABLE t (n INTEGER)")
    writer.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(1000)])
    try:
        # What a plain copy of the main file would get: not the committed rows.
        shutil.copyfile(db, tmp_path / "copied.db")
        plain = sqlite3.connect(tmp_path / "copied.db")
        assert plain.execute("SELECT name FROM sqlite_master").fetchall() == []
        plain.close()

        snapshot(db, tmp_path / "snap.db")
        copy = sqlite3.connect(tmp_path / "snap.db")
        assert copy.execute("SELECT count(*) FROM t").fetchone() == (1000,)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert not (tmp_path / "snap.db-wal").exists()
    finally:
        writer.close()
