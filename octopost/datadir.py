"""The data directory: one Octopost process per directory, enforced by an OS lock.

The lock is `fcntl.flock(LOCK_EX | LOCK_NB)` on `<data dir>/octopost.lock`, taken
before anything is read or resumed and held for the life of the process. The OS
drops it when the process dies (even on SIGKILL), so a stale lock file never
blocks a restart. The file holds the owner's PID, for the error message only.
Commands that must not run beside a server on the same directory (restore, for
example) take the same lock; commands that may (keys, backup) don't.

The directory is 0700 and the database files 0600 (`secure_dir`, `secure_file`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
from pathlib import Path
from types import TracebackType

LOCK_FILE = "octopost.lock"
log = logging.getLogger("octopost.datadir")


class AlreadyRunningError(Exception):
    """Another process holds the data directory's lock."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        owner = f" (pid {pid})" if pid else ""
        super().__init__(f"Octopost is already running with this data directory{owner}: {data_dir}")
        self.data_dir = data_dir
        self.pid = pid


class DataDirLock:
    """An exclusive, non-blocking lock on a data directory."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        """Take the lock or raise AlreadyRunningError naming the owner's PID."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunningError(self.data_dir, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def running_pid(data_dir: str | os.PathLike[str]) -> int | None:
    """The PID of the process holding the lock, 0 when held but unreadable, None when free."""
    path = Path(data_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def secure_dir(data_dir: str | os.PathLike[str]) -> Path:
    """Create the data directory with mode 0700, or tighten an existing looser one.

    It holds the database (every post, stored idempotency answer and webhook URL)
    and secret.key: no other local user has any business reading it. A directory
    that is not ours, or is shared (sticky bit, like /tmp), is left alone with a
    warning instead."""
    path = Path(data_dir)
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask only downwards
        return path
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return path
    if info.st_uid != os.geteuid() or mode & stat.S_ISVTX:
        log.warning(
            "data directory %s is readable by other users (mode %04o) and not ours to "
            "change: move the database into a directory only Octopost can read",
            path,
            mode,
        )
        return path
    os.chmod(path, 0o700)
    log.warning(
        "tightened the permissions of data directory %s from %04o to 0700 "
        "(it holds the database and secret.key)",
        path,
        mode,
    )
    return path


def secure_file(path: str | os.PathLike[str], *, create: bool = False) -> None:
    """Make `path` 0600 (creating it empty first when `create`); log when it was looser."""
    target = Path(path)
    if create and not target.exists():
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
        return
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(target, 0o600)
        log.warning("tightened the permissions of %s from %04o to 0600", target, mode)
