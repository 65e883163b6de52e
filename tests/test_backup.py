"""`octopost backup` / `octopost restore`: consistent copies of a live service, and safe restores."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from octopost.crypto import load_box
from octopost.store import Store
from tests.fakes._base import FakePlatform
from tests.platform_env import platform_env, started_fakes
from tests.server import ServerProcess, run_cli

POSTS = 30
#: per platform, this many publishes go through at once (the service writes while the
#: backup runs); the rest wait at the fake until the backup is done
LET_THROUGH = 10


async def _until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def _gate(fake: FakePlatform, gate: asyncio.Event) -> list[int]:
    """Hold the fake's post-creating requests after the first LET_THROUGH, until `gate`."""
    waiting = [0]
    seen = [0]

    async def slow_down() -> None:
        seen[0] += 1
        if seen[0] > LET_THROUGH:
            waiting[0] += 1
            await gate.wait()

    fake.slow_down = slow_down  # type: ignore[method-assign]
    return waiting


def _secret(server: ServerProcess) -> str:
    match = re.search(r"oct_live_[A-Za-z0-9]+", server.stdout())
    assert match, server.stdout()
    return match.group(0)


async def test_backup_during_a_publish_burst_restores_every_post_and_account(
    tmp_path: Path,
) -> None:
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    live.mkdir()
    fresh.mkdir()
    dest = tmp_path / "backups" / "octopost.tar.gz"
    gate = asyncio.Event()
    async with started_fakes("mastodon", "bluesky") as fakes:
        waiting = {name: _gate(fake, gate) for name, fake in fakes.items()}
        env = platform_env(list(fakes.values()))
        server = ServerProcess(live, env)
        try:
            await asyncio.to_thread(server.start)
            secret = _secret(server)
            headers = {"Authorization": f"Bearer {secret}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
                for fake in fakes.values():
                    resp = await http.post(
                        "/v1/accounts",
                        json={"platform": fake.platform, "credentials": fake.credentials()},
                    )
                    assert resp.status_code == 201, resp.text
                ids = []
                for n in range(POSTS):
                    resp = await http.post(
                        "/v1/posts",
                        json={"content": f"burst {n}", "platforms": ["mastodon", "bluesky"]},
                    )
                    assert resp.status_code == 201, resp.text
                    ids.append(resp.json()["id"])
                for post_id in ids:
                    assert (await http.post(f"/v1/posts/{post_id}/publish")).status_code == 202

                async def burst_under_way() -> bool:
                    return all(w[0] > 0 for w in waiting.values())

                await _until(burst_under_way)
                made = await asyncio.to_thread(run_cli, "backup", str(dest), env=server.env)
                assert made.returncode == 0, made.stderr
                assert str(dest) in made.stdout
                gate.set()  # the service kept running: the burst finishes

                async def all_published() -> bool:
                    page = (await http.get("/v1/posts", params={"limit": 100})).json()
                    return all(p["status"] == "published" for p in page["posts"])

                await _until(all_published)
            assert server.terminate() in (0, -15)
        finally:
            server.kill()

        with tarfile.open(dest) as tar:
            assert sorted(tar.getnames()) == ["manifest.json", "octopost.db", "secret.key"]
        assert (dest.stat().st_mode & 0o777) == 0o600

        fresh_env = {**server.env, "OCTOPOST_DATABASE_PATH": str(fresh / "octopost.db")}
        restored = await asyncio.to_thread(run_cli, "restore", str(dest), env=fresh_env)
        assert restored.returncode == 0, restored.stderr
        assert (fresh / "secret.key").read_bytes() == (live / "secret.key").read_bytes()

        # The copy is the database as it was mid-burst: every post, some still publishing.
        statuses = dict(
            sqlite3.connect(fresh / "octopost.db").execute("SELECT id, status FROM posts")
        )
        assert sorted(statuses) == sorted(ids)
        assert "publishing" in statuses.values()
        # The accounts decrypt with the restored key.
        store = await Store(fresh / "octopost.db").open()
        try:
            accounts = await store.accounts.all()
        finally:
            await store.close()
        box = load_box("", fresh)
        opened = {a.platform: box.open(a.credentials_enc) for a in accounts}
        assert set(opened) == set(fakes)
        for name, fake in fakes.items():  # what was pasted, plus what connecting added
            assert fake.credentials().items() <= opened[name].items(), name

        # And a service on the restored directory works: same key, same posts, publishes.
        again = ServerProcess(fresh, env)
        try:
            await asyncio.to_thread(again.start)
            async with httpx.AsyncClient(base_url=again.url, headers=headers, timeout=10) as http:
                page = (await http.get("/v1/posts", params={"limit": 100})).json()
                assert {p["id"] for p in page["posts"]} == set(ids)
                accounts_page = (await http.get("/v1/accounts")).json()
                assert {a["platform"] for a in accounts_page["accounts"]} == {"mastodon", "bluesky"}
                new = (
                    await http.post(
                        "/v1/posts",
                        json={"content": "after restore", "platforms": ["mastodon", "bluesky"]},
                    )
                ).json()
                assert (await http.post(f"/v1/posts/{new['id']}/publish")).status_code == 202

                async def published() -> bool:
                    body = (await http.get(f"/v1/posts/{new['id']}")).json()
                    return body["status"] in ("published", "failed")

                await _until(published)
                body = (await http.get(f"/v1/posts/{new['id']}")).json()
                assert body["status"] == "published", body
        finally:
            again.kill()


def _seed(tmp_path: Path) -> dict[str, str]:
    env = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "srv" / "octopost.db")}
    assert run_cli("keys", "create", "--name", "seed", env=env).returncode == 0
    # secret.key is made by the service at start; here, as the service would
    load_box("", tmp_path / "srv")
    return env


def test_backup_to_a_directory_and_back(tmp_path: Path) -> None:
    env = _seed(tmp_path)
    dest = tmp_path / "b" / "2026-12-01"
    made = run_cli("backup", str(dest), env=env)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", "octopost.db", "secret.key"]
    assert (dest.stat().st_mode & 0o777) == 0o700
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in dest.iterdir())
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["secret_key"] == "file" and manifest["schema_version"] >= 1
    # a single self-contained file: rollback journal, nothing beside it
    assert sqlite3.connect(dest / "octopost.db").execute("PRAGMA journal_mode").fetchone() == (
        "delete",
    )
    again = run_cli("backup", str(dest), env=env)
    assert again.returncode == 1 and "not an empty directory" in again.stderr

    target = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "other" / "octopost.db")}
    restored = run_cli("restore", str(dest), env=target)
    assert restored.returncode == 0, restored.stderr
    listing = run_cli("keys", "list", env=target)
    assert "seed" in listing.stdout


def test_restore_refuses_while_a_process_holds_the_data_directory(tmp_path: Path) -> None:
    env = _seed(tmp_path)
    dest = tmp_path / "b.tar.gz"
    assert run_cli("backup", str(dest), env=env).returncode == 0
    hold = (
        "import sys; from octopost.datadir import DataDirLock; "
        "DataDirLock(sys.argv[1]).acquire(); print('locked', flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path / "srv")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        refused = run_cli("restore", "--force", str(dest), env=env)
        assert refused.returncode == 1
        assert "already running" in refused.stderr and f"pid {proc.pid}" in refused.stderr
        assert "stop it first" in refused.stderr
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert run_cli("restore", "--force", str(dest), env=env).returncode == 0


def test_restore_refuses_while_the_service_runs(tmp_path: Path) -> None:
    data = tmp_path / "srv"
    data.mkdir()
    dest = tmp_path / "b.tar.gz"
    with ServerProcess(data) as server:
        server.start()
        assert run_cli("backup", str(dest), env=server.env).returncode == 0
        refused = run_cli("restore", "--force", str(dest), env=server.env)
        assert refused.returncode == 1
        assert server.proc is not None and f"pid {server.proc.pid}" in refused.stderr
        assert not list(data.glob("*.before-restore-*"))  # nothing touched
        assert server.terminate() == 0
    assert run_cli("restore", "--force", str(dest), env=server.env).returncode == 0


def test_restore_keeps_what_it_replaces(tmp_path: Path) -> None:
    env = _seed(tmp_path)
    dest = tmp_path / "b.tar.gz"
    assert run_cli("backup", str(dest), env=env).returncode == 0
    assert run_cli("keys", "create", "--name", "after-backup", env=env).returncode == 0

    plain = run_cli("restore", str(dest), env=env)
    assert plain.returncode == 1 and "--force" in plain.stderr
    assert "after-backup" in run_cli("keys", "list", env=env).stdout  # nothing touched

    forced = run_cli("restore", "--force", str(dest), env=env)
    assert forced.returncode == 0, forced.stderr
    assert "after-backup" not in run_cli("keys", "list", env=env).stdout
    kept = list((tmp_path / "srv").glob("octopost.db.before-restore-*"))
    assert len(kept) == 1 and str(kept[0]) in forced.stdout
    names = [r[0] for r in sqlite3.connect(kept[0]).execute("SELECT name FROM api_keys")]
    assert "after-backup" in names


def test_restore_rejects_damaged_and_foreign_backups(tmp_path: Path) -> None:
    env = _seed(tmp_path)
    dest = tmp_path / "b"
    assert run_cli("backup", str(dest), env=env).returncode == 0
    target = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "t" / "octopost.db")}

    with open(dest / "octopost.db", "r+b") as fh:  # one flipped byte
        fh.seek(200)
        byte = fh.read(1)
        fh.seek(200)
        fh.write(bytes([byte[0] ^ 0xFF]))
    damaged = run_cli("restore", str(dest), env=target)
    assert damaged.returncode == 1 and "checksum" in damaged.stderr

    assert run_cli("restore", str(tmp_path / "nothing.tar.gz"), env=target).returncode == 1
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("octopost.db")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    bad = run_cli("restore", str(evil), env=target)
    assert bad.returncode == 1 and "not a regular file" in bad.stderr
    assert not (tmp_path / "t" / "octopost.db").exists()


def test_restore_refuses_a_newer_schema(tmp_path: Path) -> None:
    env = _seed(tmp_path)
    dest = tmp_path / "b"
    assert run_cli("backup", str(dest), env=env).returncode == 0
    with sqlite3.connect(dest / "octopost.db") as conn:
        conn.execute("PRAGMA user_version=999")
    manifest = json.loads((dest / "manifest.json").read_text())
    import hashlib

    manifest["sha256"]["octopost.db"] = hashlib.sha256(
        (dest / "octopost.db").read_bytes()
    ).hexdigest()
    (dest / "manifest.json").write_text(json.dumps(manifest))
    target = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "t" / "octopost.db")}
    newer = run_cli("restore", str(dest), env=target)
    assert newer.returncode == 1 and "newer than this Octopost" in newer.stderr


def test_backup_without_a_database_says_so(tmp_path: Path) -> None:
    env = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "none" / "octopost.db")}
    result = run_cli("backup", str(tmp_path / "b.tar.gz"), env=env)
    assert result.returncode == 1 and "no database" in result.stderr


@pytest.mark.parametrize("name", ["x.tar.gz", "x.tgz"])
def test_tarball_names(tmp_path: Path, name: str) -> None:
    env = _seed(tmp_path)
    assert run_cli("backup", str(tmp_path / name), env=env).returncode == 0
    assert tarfile.is_tarfile(tmp_path / name)
    exists = run_cli("backup", str(tmp_path / name), env=env)
    assert exists.returncode == 1 and "already exists" in exists.stderr
