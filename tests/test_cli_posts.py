"""`octopost posts ...` end to end: the real server, the platform fakes, the command's
output and exit codes as a shell script sees them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.platform_env import platform_env, started_fakes
from tests.server import ServerProcess, run_cli

POST_ID = re.compile(r"post_[A-Za-z0-9]+")


class Shell:
    """Runs `octopost posts ...` as a script would, with the key in the environment."""

    def __init__(self, server: ServerProcess, key: str, tmp: Path) -> None:
        self.env = {
            "OCTOPOST_URL": server.url,
            "OCTOPOST_KEY": key,
            # no credentials file of the machine's user
            "OCTOPOST_CREDENTIALS": str(tmp / "no-credentials.toml"),
        }

    async def __call__(self, *args: str, stdin: str = "", **env: str) -> Any:
        # In a thread: the fakes in this event loop must keep answering the server.
        return await asyncio.to_thread(_run, ["posts", *args], {**self.env, **env}, stdin)


def _run(args: list[str], env: dict[str, str], stdin: str) -> Any:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "octopost", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("OCTOPOST_")}, **env},
        timeout=120,
    )


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[Shell, dict[str, Any], ServerProcess]]:
    async with started_fakes("mastodon", "bluesky") as fakes:
        server = ServerProcess(tmp_path, platform_env(list(fakes.values())))
        try:
            await asyncio.to_thread(server.start)
            admin = re.search(r"oct_live_[A-Za-z0-9]+", server.stdout())
            assert admin
            headers = {"Authorization": f"Bearer {admin.group(0)}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
                for fake in fakes.values():
                    body = {"platform": fake.platform, "credentials": fake.credentials()}
                    assert (await http.post("/v1/accounts", json=body)).status_code == 201
            made = run_cli(
                "keys", "create", "--scope", "posts:read", "--scope", "posts:write",
                env={"OCTOPOST_DATABASE_PATH": str(tmp_path / "octopost.db")},
            )  # fmt: skip
            key = made.stdout.strip().splitlines()[-1]
            yield Shell(server, key, tmp_path), fakes, server
        finally:
            server.kill()


async def test_a_script_drafts_checks_publishes_and_reads_the_exit_code(tmp_path: Path) -> None:
    async with running(tmp_path) as (posts, fakes, _server):
        made = await posts("create", "Hello from a shell script", "--platform", "mastodon",
                           "--platform", "bluesky")  # fmt: skip
        assert made.returncode == 0, made.stderr
        post_id = POST_ID.search(made.stdout).group(0)  # type: ignore[union-attr]
        assert made.stdout.startswith(f"Created draft post {post_id}")

        checked = await posts("validate", "--id", post_id)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        lines = checked.stdout.splitlines()
        assert re.match(r"mastodon\s+ok\s+25/500", lines[0]), checked.stdout
        assert re.match(r"bluesky\s+ok\s+25/300", lines[1]), checked.stdout
        assert lines[-1] == "Would publish."

        published = await posts("publish", post_id, "--wait")
        assert published.returncode == 0, published.stdout + published.stderr
        out = published.stdout
        assert out.startswith(f"{post_id}  published")
        for platform in ("mastodon", "bluesky"):
            line = next(x for x in out.splitlines() if x.strip().startswith(platform))
            assert re.search(rf"{platform}\s+ok\s+https?://\S+", line), out
        assert [p["text"] for p in fakes["mastodon"].posts] == ["Hello from a shell script"]

        as_json = await posts("get", post_id, "--json")
        data = json.loads(as_json.stdout)
        assert data["status"] == "published" and set(data["platform_results"]) == {
            "mastodon",
            "bluesky",
        }

        listed = await posts("list")
        header, row = listed.stdout.splitlines()[:2]
        assert header.split() == ["ID", "STATUS", "PLATFORMS", "WHEN", "CONTENT"]
        assert row.split()[:3] == [post_id, "published", "mastodon,bluesky"]
        again = await posts("publish", post_id)
        assert again.returncode == 1 and "published" in again.stderr


async def test_a_platform_failure_exits_1_with_its_error_and_retry_fixes_it(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as (posts, fakes, _server):
        made = await posts("create", "--platform", "mastodon", "--platform", "bluesky",
                           stdin="From stdin\n")  # fmt: skip
        post_id = POST_ID.search(made.stdout).group(0)  # type: ignore[union-attr]
        fakes["mastodon"].fail_next("reject")
        failed = await posts("publish", post_id, "--wait")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert re.search(r"mastodon\s+failed\s+\S", failed.stdout), failed.stdout
        assert re.search(r"bluesky\s+ok\s+http", failed.stdout), failed.stdout
        assert "octopost: mastodon failed: " in failed.stderr
        assert [p["text"] for p in fakes["bluesky"].posts] == ["From stdin"]  # no newline

        retried = await posts("retry", post_id, "--wait")
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert re.search(r"mastodon\s+ok\s+http", retried.stdout)
        assert len(fakes["bluesky"].posts) == 1  # the platform that worked is not posted twice


async def test_schedule_update_delete_and_content_from_a_file(tmp_path: Path) -> None:
    async with running(tmp_path) as (posts, _fakes, _server):
        text = tmp_path / "post.txt"
        text.write_text("From a file\n")
        made = await posts("create", "--file", str(text), "--platform", "mastodon",
                           "--schedule", "2031-01-01T09:00:00+01:00")  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert "Scheduled for 2031-01-01T08:00:00Z UTC (you gave 2031-01-01T09:00:00+01:00)" in (
            made.stdout
        )
        post_id = POST_ID.search(made.stdout).group(0)  # type: ignore[union-attr]
        shown = await posts("get", post_id)
        assert "scheduled for 2031-01-01T08:00:00Z" in shown.stdout
        assert re.search(r"mastodon\s+waiting", shown.stdout)

        changed = await posts("update", post_id, "New words", "--unschedule", "--language", "pt-br")
        assert changed.returncode == 0 and f"Updated post {post_id} (draft)" in changed.stdout
        got = json.loads((await posts("get", post_id, "--json")).stdout)
        assert got["content"] == "New words" and got["scheduled_for"] is None
        assert got["language"] == "pt-BR"

        nothing = await posts("update", post_id)
        assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
        gone = await posts("delete", post_id)
        assert gone.returncode == 0 and f"Deleted post {post_id}" in gone.stdout
        missing = await posts("get", post_id)
        assert missing.returncode == 1
        assert f"octopost: No post with id '{post_id}'" in missing.stderr


async def test_bad_input_and_failed_checks_say_why(tmp_path: Path) -> None:
    async with running(tmp_path) as (posts, fakes, _server):
        bad = await posts("create", "hi", "--platform", "myspace")
        assert bad.returncode == 1
        assert "platforms[0]: unknown platform 'myspace'" in bad.stderr
        assert "Traceback" not in bad.stderr
        past = await posts("create", "hi", "--platform", "mastodon", "--schedule", "2020-01-01")
        assert past.returncode == 1 and "scheduled_for" in past.stderr

        long = await posts("validate", "x" * 320, "--platform", "bluesky", "--platform", "mastodon")
        assert long.returncode == 1
        assert re.search(r"bluesky\s+FAIL\s+320/300\s+\S", long.stdout), long.stdout
        assert long.stdout.splitlines()[-1] == "Would NOT publish; nothing was sent."

        made = await posts("create", "x" * 320, "--platform", "bluesky")
        post_id = POST_ID.search(made.stdout).group(0)  # type: ignore[union-attr]
        refused = await posts("publish", post_id, "--wait")
        assert refused.returncode == 1
        assert "The post cannot be published to: bluesky. Nothing was sent." in refused.stderr
        assert "platforms.bluesky: " in refused.stderr
        assert fakes["bluesky"].posts == []


async def test_wait_runs_out_of_time_with_exit_4(tmp_path: Path) -> None:
    async with running(tmp_path) as (posts, fakes, _server):
        made = await posts("create", "slow", "--platform", "mastodon")
        post_id = POST_ID.search(made.stdout).group(0)  # type: ignore[union-attr]
        fakes["mastodon"].delay = 3.0
        slow = await posts("publish", post_id, "--wait", "--timeout", "0.5")
        assert slow.returncode == 4, slow.stdout + slow.stderr
        assert f"still publishing after 0.5 s; see later with: octopost posts get {post_id}" in (
            slow.stderr
        )


async def test_where_the_key_and_server_come_from(tmp_path: Path) -> None:
    async with running(tmp_path) as (posts, _fakes, server):
        key = posts.env["OCTOPOST_KEY"]
        creds = tmp_path / "credentials.toml"
        creds.write_text(f'url = "{server.url}"\nkey = "{key}"\n')
        creds.chmod(0o644)
        no_env = {"OCTOPOST_KEY": "", "OCTOPOST_URL": "", "OCTOPOST_CREDENTIALS": str(creds)}
        loose = await posts("list", **no_env)
        assert loose.returncode == 2
        assert "can be read by others (mode 0644); run: chmod 600" in loose.stderr
        creds.chmod(0o600)
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        fine = await posts("list", **no_env)
        assert fine.returncode == 0, fine.stderr
        assert fine.stdout.startswith("No posts")

        none = await posts("list", OCTOPOST_KEY="")
        assert none.returncode == 2 and "no API key: set OCTOPOST_KEY" in none.stderr
        down = await posts("list", "--url", "http://127.0.0.1:9")
        assert down.returncode == 3 and "Cannot reach Octopost at http://127.0.0.1:9" in down.stderr
        wrong = await posts("list", OCTOPOST_KEY="oct_live_" + "b" * 40)
        assert wrong.returncode == 1 and "Invalid or revoked API key" in wrong.stderr
        # the config's server port gives the default URL (the same config `serve` reads)
        from_config = await posts("list", OCTOPOST_URL="", OCTOPOST_SERVER_PORT=str(server.port))
        assert from_config.returncode == 0, from_config.stderr
        helped = await posts("--help")
        assert "4  --wait ran out of time" in helped.stdout
