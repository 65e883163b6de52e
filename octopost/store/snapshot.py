"""Consistent copies of a live database with SQLite's online backup API.

A file copy of a WAL database in use can miss committed pages (they may still sit
in the -wal file) or catch a page half-written; the backup API copies a single
read snapshot instead, page by page, while the service keeps writing beside it.
Used by `octopost backup` and by the automatic copy taken before migrations.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

#: automatic pre-migration copies kept next to the database (older ones are removed)
KEEP_PRE_MIGRATION = 3


class SnapshotError(Exception):
    """A database could not be copied, or a copy failed its integrity check."""


def _connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"{Path(path).resolve().as_uri()}{'?mode=ro' if readonly else ''}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
    return conn


def schema_version(path: str | Path) -> int:
    """`PRAGMA user_version` of a database file (the number of migrations applied)."""
    if not Path(path).is_file():
        raise SnapshotError(f"{path}: no such database file")
    try:
        conn = _connect(path, readonly=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"{path}: not an SQLite database ({exc})") from exc


def check(path: str | Path) -> None:
    """Raise SnapshotError unless `PRAGMA quick_check` finds the file sound."""
    try:
        conn = _connect(path, readonly=True)
        try:
            result = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"{path}: not an SQLite database ({exc})") from exc
    if result != ["ok"]:
        raise SnapshotError(f"{path}: integrity check failed: {'; '.join(result[:5])}")


def snapshot(source: str | Path, dest: str | Path) -> int:
    """Copy the database `source` to the new file `dest`; return its schema version.

    The copy is one self-contained file (rollback journal, no -wal beside it), mode
    0600, checked with `quick_check`. It is written under a temporary name and
    renamed, so `dest` never holds half a copy.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise SnapshotError(f"{source}: no such database file")
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    # Created by us first, so the copy is private from its first byte (it holds hashes
    # of API keys and encrypted credentials).
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        src = _connect(source)
        try:
            out = sqlite3.connect(partial, isolation_level=None)
            try:
                # pages=-1: the whole database in one step, from one read snapshot; a
                # stepwise copy would restart every time the service commits.
                src.backup(out, pages=-1)
                # The copied header says WAL; a backup file should be a single file.
                out.execute("PRAGMA journal_mode=DELETE").fetchall()
                version = int(out.execute("PRAGMA user_version").fetchone()[0])
            finally:
                out.close()
        finally:
            src.close()
        check(partial)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise SnapshotError(f"cannot copy {source}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return version


def pre_migration_name(db_path: Path, version: int, now: datetime) -> Path:
    """`octopost.db.v3-20261201T101500Z.bak` beside `octopost.db`."""
    return db_path.with_name(f"{db_path.name}.v{version}-{now:%Y%m%dT%H%M%S%fZ}.bak")


def pre_migration_copy(db_path: str | Path, version: int, now: datetime) -> Path:
    """Copy an existing database before migrating it; keep the newest few copies."""
    db_path = Path(db_path)
    dest = pre_migration_name(db_path, version, now)
    snapshot(db_path, dest)
    # Names sort by time within a version; compare by the stamp so v10 does not sort before v9.
    copies = sorted(
        db_path.parent.glob(f"{db_path.name}.v*-*.bak"),
        key=lambda p: p.name.rsplit("-", 1)[-1],
    )
    for old in copies[:-KEEP_PRE_MIGRATION]:
        old.unlink(missing_ok=True)
    return dest
