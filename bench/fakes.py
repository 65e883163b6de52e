"""The platform fakes and the media server in a process of their own, so the figures
are Octopost's and not the fakes' CPU.

    python -m bench.fakes DELAY PLATFORM...

prints one JSON line (each fake's config environment and credentials, the media
server's URL, a control URL), then serves until its standard input closes. Control:
GET /counts -> {platform: posts created}; POST /delay?seconds=S sets every fake's delay.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web

from bench.common import cpu_seconds
from tests.fakes.media import MediaServer
from tests.platform_env import platform_env
from tests.platforms.harness import fake_class


async def serve(delay: float, platforms: list[str]) -> None:
    async with AsyncExitStack() as stack:
        media = await MediaServer().start()
        stack.push_async_callback(media.stop)
        fakes = {p: await stack.enter_async_context(fake_class(p)(delay=delay)) for p in platforms}
        for fake in fakes.values():
            if hasattr(fake, "quota_limit"):  # YouTube: a project whose quota was raised
                fake.quota_limit = 10**12

        async def counts(request: web.Request) -> web.Response:
            return web.json_response({p: len(f.posts) for p, f in fakes.items()})

        async def set_delay(request: web.Request) -> web.Response:
            for fake in fakes.values():
                fake.delay = float(request.query["seconds"])
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_get("/counts", counts)
        app.router.add_post("/delay", set_delay)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(
            json.dumps(
                {
                    "env": platform_env(list(fakes.values())),
                    "credentials": {p: f.credentials() for p, f in fakes.items()},
                    "media": media.at(""),
                    "control": f"http://127.0.0.1:{port}",
                }
            ),
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


class FakesProcess:
    """`with FakesProcess(0.05, ["mastodon"]) as fakes:` the fakes in a child process."""

    def __init__(self, delay: float, platforms: list[str]) -> None:
        self.args = [sys.executable, "-m", "bench.fakes", str(delay), *platforms]
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> FakesProcess:
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def cpu(self) -> float:
        """CPU seconds the fakes' process has used."""
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    @property
    def env(self) -> dict[str, str]:
        return dict(self.info["env"])

    @property
    def credentials(self) -> dict[str, dict[str, Any]]:
        return dict(self.info["credentials"])

    def media(self, name: str) -> str:
        return str(self.info["media"]) + name

    @property
    def control(self) -> str:
        return str(self.info["control"])


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]), sys.argv[2:]))
