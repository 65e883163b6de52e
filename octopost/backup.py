"""`octopost backup DEST` and `octopost restore SRC`.

A backup is the database (an online-backup snapshot, consistent while the service
writes), the credentials key `secret.key` when the data directory has one, and
`manifest.json` (versions and SHA-256 of each file). DEST is a new directory, or a
`.tar.gz`/`.tgz` file holding the same three files.

Restore takes the data directory's lock (the one `serve` holds), so it refuses while
a service runs there; it never deletes data: what it replaces is kept beside it as
`*.before-restore-<time>`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from octopost import __version__
from octopost.config import Config
from octopost.crypto import KEY_FILE
from octopost.datadir import LOCK_FILE, DataDirLock
from octopost.store.schema import MIGRATIONS
from octopost.store.snapshot import SnapshotError, check, schema_version, snapshot

DB_FILE = "octopost.db"
MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


class Manifest(msgspec.Struct, forbid_unknown_fields=False):
    format: int
    octopost_version: str
    created_at: str
    schema_version: int
    #: "file": secret.key is in the backup; "config": the key is security.encryption_key
    #: (not in the backup); "none": no key existed (no account was ever connected)
    secret_key: str
    sha256: dict[str, str]


class BackupResult(msgspec.Struct):
    path: Path
    manifest: Manifest


class RestoreResult(msgspec.Struct):
    database: Path
    manifest: Manifest
    #: files that were replaced, kept under their new names
    kept: list[Path]


def _is_tarball(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _stamp(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}"


def create_backup(
    config: Config, dest: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None
) -> BackupResult:
    """Copy the live database and its key into `dest` (a new directory or a .tar.gz)."""
    now = (clock or (lambda: datetime.now(UTC)))()
    dest = Path(dest).expanduser().absolute()
    db_path = Path(config.database.path).expanduser()
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path} (check database.path)")
    tarball = _is_tarball(dest)
    if tarball and dest.exists():
        raise BackupError(f"{dest} already exists; choose a new name")
    if not tarball and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory; choose a new one")
    dest.parent.mkdir(parents=True, exist_ok=True)

    # Staged beside the destination (same filesystem), so the final step is a rename.
    staging = Path(tempfile.mkdtemp(prefix=".octopost-backup-", dir=dest.parent))
    try:
        try:
            version = snapshot(db_path, staging / DB_FILE)
        except SnapshotError as exc:
            raise BackupError(str(exc)) from exc
        key_file = config.data_dir / KEY_FILE
        if key_file.is_file():
            _write_private(staging / KEY_FILE, key_file.read_bytes())
            secret_key = "file"
        else:
            secret_key = "config" if config.security.encryption_key else "none"
        files = [DB_FILE] + ([KEY_FILE] if secret_key == "file" else [])
        manifest = Manifest(
            format=FORMAT,
            octopost_version=__version__,
            created_at=now.isoformat().replace("+00:00", "Z"),
            schema_version=version,
            secret_key=secret_key,
            sha256={name: _sha256(staging / name) for name in files},
        )
        _write_private(staging / MANIFEST, msgspec.json.format(msgspec.json.encode(manifest)))
        if tarball:
            partial = dest.with_name(dest.name + ".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                for name in [*files, MANIFEST]:
                    tar.add(staging / name, arcname=name, recursive=False)
            os.replace(partial, dest)
        else:
            if dest.exists():
                dest.rmdir()
            staging.chmod(0o700)
            os.replace(staging, dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return BackupResult(path=dest, manifest=manifest)


def _read_source(src: Path, into: Path) -> Manifest:
    """Copy a backup's files into the directory `into` and verify them."""
    if _is_tarball(src):
        if not src.is_file():
            raise BackupError(f"{src}: no such file")
        try:
            with tarfile.open(src, mode="r:gz") as tar:
                # Only the known names, only regular files: never extract paths a
                # tarball chooses (no "../", links or devices).
                for name in (DB_FILE, KEY_FILE, MANIFEST):
                    try:
                        member = tar.getmember(name)
                    except KeyError:
                        continue
                    handle = tar.extractfile(member) if member.isfile() else None
                    if handle is None:
                        raise BackupError(f"{src}: {name} is not a regular file")
                    with handle, open(into / name, "xb") as out:
                        shutil.copyfileobj(handle, out)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{src}: not a readable .tar.gz backup ({exc})") from exc
    elif src.is_dir():
        for name in (DB_FILE, KEY_FILE, MANIFEST):
            if (src / name).is_file():
                shutil.copyfile(src / name, into / name)
    else:
        raise BackupError(f"{src}: no such backup directory or .tar.gz file")

    if not (into / MANIFEST).is_file() or not (into / DB_FILE).is_file():
        raise BackupError(f"{src}: not an Octopost backup ({MANIFEST} or {DB_FILE} missing)")
    try:
        manifest = msgspec.json.decode((into / MANIFEST).read_bytes(), type=Manifest)
    except msgspec.DecodeError as exc:
        raise BackupError(f"{src}: unreadable {MANIFEST} ({exc})") from exc
    if manifest.format > FORMAT:
        raise BackupError(f"{src}: backup format {manifest.format} is newer than this Octopost")
    for name, expected in manifest.sha256.items():
        if not (into / name).is_file():
            raise BackupError(f"{src}: {name} is missing")
        if _sha256(into / name) != expected:
            raise BackupError(f"{src}: {name} does not match its checksum (damaged backup)")
    try:
        check(into / DB_FILE)
        version = schema_version(into / DB_FILE)
    except SnapshotError as exc:
        raise BackupError(str(exc)) from exc
    if version > len(MIGRATIONS):
        raise BackupError(
            f"{src}: the database has schema version {version}, newer than this Octopost "
            f"({len(MIGRATIONS)}); install the version that made the backup "
            f"({manifest.octopost_version}) or newer"
        )
    return manifest


def restore_backup(
    config: Config,
    src: str | os.PathLike[str],
    *,
    force: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> RestoreResult:
    """Put a backup back into the configured data directory.

    Raises AlreadyRunningError (from the data directory lock) while a service runs
    there, and BackupError when the backup is unusable or, without `force`, when the
    data directory already holds a database.
    """
    now = (clock or (lambda: datetime.now(UTC)))()
    src = Path(src).expanduser().absolute()
    db_path = Path(config.database.path).expanduser().absolute()
    key_path = config.data_dir / KEY_FILE
    with DataDirLock(config.data_dir):
        existing = [p for p in _db_files(db_path) if p.exists()]
        if existing and not force:
            raise BackupError(
                f"{db_path.parent} already holds a database ({db_path.name}); "
                "pass --force to replace it (the current files are kept beside it)"
            )
        staging = Path(tempfile.mkdtemp(prefix=".octopost-restore-", dir=db_path.parent))
        try:
            manifest = _read_source(src, staging)
            kept: list[Path] = []
            suffix = f".before-restore-{_stamp(now)}"
            if db_path.exists():
                # A consistent single-file copy of what is there (its -wal may hold
                # committed pages that a plain rename would leave behind).
                aside = db_path.with_name(db_path.name + suffix)
                try:
                    snapshot(db_path, aside)
                except SnapshotError as exc:
                    raise BackupError(f"cannot keep the current database: {exc}") from exc
                kept.append(aside)
            for path in existing:
                path.unlink(missing_ok=True)
            os.chmod(staging / DB_FILE, 0o600)
            os.replace(staging / DB_FILE, db_path)
            if (staging / KEY_FILE).is_file():
                new_key = (staging / KEY_FILE).read_bytes()
                if key_path.is_file() and key_path.read_bytes() != new_key:
                    aside = key_path.with_name(KEY_FILE + suffix)
                    os.replace(key_path, aside)
                    kept.append(aside)
                os.chmod(staging / KEY_FILE, 0o600)
                os.replace(staging / KEY_FILE, key_path)
            lock_file = config.data_dir / LOCK_FILE
            _same_owner_as_directory([db_path, key_path, lock_file, *kept], db_path.parent)
            _fsync_dir(db_path.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(database=db_path, manifest=manifest, kept=kept)


def _db_files(db_path: Path) -> list[Path]:
    return [
        db_path,
        db_path.with_name(db_path.name + "-wal"),
        db_path.with_name(db_path.name + "-shm"),
    ]


def _same_owner_as_directory(paths: list[Path], directory: Path) -> None:
    """Run as root (sudo, `docker compose run --user root`), restore would leave files the
    service's own user cannot open; give them to whoever owns the data directory."""
    if os.geteuid() != 0:
        return
    owner = directory.stat()
    for path in paths:
        if path.exists():
            os.chown(path, owner.st_uid, owner.st_gid)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["BackupError", "create_backup", "restore_backup"]
