"""`octopost serve` as a process: one per data directory, the port checked first,
clean exits, and a second signal that stops at once (issue 9, point 7 and "Also")."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.platform_env import platform_env, started_fakes
from tests.server import ServerProcess
from tests.test_crash import _connect, _final, _secret, _start, _until


def _serve(env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octopost", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def test_a_second_instance_refuses_to_start_and_leaves_the_first_alone(
    tmp_path: Path,
) -> None:
    async with started_fakes("mastodon", delay=3.0) as fakes:
        fake = fakes["mastodon"]
        first = ServerProcess(tmp_path, platform_env([fake]))
        try:
            await _start(first)
            headers = {"Authorization": f"Bearer {_secret(first)}"}
            async with httpx.AsyncClient(base_url=first.url, headers=headers, timeout=10) as http:
                await _connect(http, fake)
                pid = (
                    await http.post(
                        "/v1/posts", json={"content": "mine", "platforms": ["mastodon"]}
                    )
                ).json()["id"]
                await http.post(f"/v1/posts/{pid}/publish")
                await _until(lambda: _sent(fake))
                # Same data directory, another port: it must not resume (and fail) our publish.
                second = ServerProcess(tmp_path, platform_env([fake]))
                run = await asyncio.to_thread(_serve, second.env)
                assert run.returncode != 0
                assert first.proc is not None
                assert (
                    f"Octopost is already running with this data directory (pid {first.proc.pid})"
                    in run.stderr
                )
                assert "resuming" not in run.stderr
                final = await _final(http, pid)
            assert final["status"] == "published", final
            assert len(fake.posts) == 1
        finally:
            first.kill()


async def _sent(fake) -> bool:  # type: ignore[no-untyped-def]
    return bool(fake.calls("POST", "/api/v1/statuses"))


def test_a_busy_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = ServerProcess(tmp_path, {"OCTOPOST_SERVER_PORT": str(port)})
        run = _serve(server.env)
    assert run.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in run.stderr
    assert "--port" in run.stderr and "OCTOPOST_SERVER_PORT" in run.stderr
    assert not (tmp_path / "octopost.db").exists()  # nothing was read, migrated or resumed


def test_a_clean_sigterm_exits_0(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server:
        server.start()
        assert server.terminate() == 0, server.stderr()


async def test_a_second_sigint_stops_at_once_and_the_publish_resumes(tmp_path: Path) -> None:
    async with started_fakes("mastodon", delay=60.0) as fakes:
        fake = fakes["mastodon"]
        env = {**platform_env([fake]), "OCTOPOST_SERVER_SHUTDOWN_GRACE": "120"}
        server = ServerProcess(tmp_path, env)
        try:
            await _start(server)
            headers = {"Authorization": f"Bearer {_secret(server)}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
                await _connect(http, fake)
                pid = (
                    await http.post(
                        "/v1/posts", json={"content": "interrupted", "platforms": ["mastodon"]}
                    )
                ).json()["id"]
                await http.post(f"/v1/posts/{pid}/publish")
                await _until(lambda: _sent(fake))
                assert server.proc is not None
                server.proc.send_signal(signal.SIGINT)
                await _until(lambda: _logged(server, "waiting up to 120 s for 1 publishes"))
                stopped_at = time.monotonic()
                server.proc.send_signal(signal.SIGINT)
                code = await asyncio.to_thread(server.proc.wait, 30)
                assert time.monotonic() - stopped_at < 20  # not the 120 s grace
                assert code == 1, server.stderr()
                assert "stopping now" in server.stderr()
                fake.delay = 0.0
                await _start(server)
                final = await _final(http, pid)
            assert final["status"] == "published", final
            assert len(fake.posts) == 1
        finally:
            server.kill()


async def _logged(server: ServerProcess, text: str) -> bool:
    return text in server.stderr()
