"""The data-directory lock: one process per directory, released when the owner dies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from octopost.datadir import AlreadyRunningError, DataDirLock, running_pid

HOLD = """
import sys, time
from octopost.datadir import DataDirLock
lock = DataDirLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_second_lock_in_another_process_names_the_owner(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        assert running_pid(tmp_path) == proc.pid
        with pytest.raises(AlreadyRunningError) as info:
            DataDirLock(tmp_path).acquire()
        assert info.value.pid == proc.pid
        assert f"(pid {proc.pid})" in str(info.value)
    finally:
        proc.kill()  # SIGKILL: the OS drops the lock with the process
        proc.wait(timeout=10)
    assert running_pid(tmp_path) is None
    with DataDirLock(tmp_path) as lock:
        assert lock.held
        assert (tmp_path / "octopost.lock").read_text().strip() == str(os.getpid())
    assert not lock.held


def test_lock_creates_a_private_directory(tmp_path: Path) -> None:
    target = tmp_path / "new" / "data"
    with DataDirLock(target):
        # flock locks belong to an open file, so even this process sees it held
        assert running_pid(target) == os.getpid()
    assert (target.stat().st_mode & 0o777) == 0o700
    assert running_pid(target) is None
