"""`octopost serve`: one process per data directory, the port checked first, signals.

Order matters: the data-directory lock is taken before anything is read, migrated
or resumed (a second instance must not touch the first one's work), and the port
is bound before any background work starts (the socket is handed to uvicorn, so
the check is not racy). A first SIGINT/SIGTERM shuts down gracefully (in-flight
publishes get `server.shutdown_grace` seconds) and exits 0; a second one stops at
once, leaving what is unfinished to resume at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn

log = logging.getLogger("octopost")

HANDLED = (signal.SIGINT, signal.SIGTERM)
#: exit status after a second signal cut the graceful shutdown short
FORCED_EXIT = 1


class PortBusyError(Exception):
    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"cannot listen on {host}:{port}: {reason}. Choose another port with --port, "
            "server.port in the config file, or OCTOPOST_SERVER_PORT."
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on (host, port), or PortBusyError saying how to pick another."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise PortBusyError(host, port, f"unknown host ({exc.strerror})") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PortBusyError(host, port, exc.strerror or str(exc)) from exc
    sock.set_inheritable(True)
    return sock


class Server(uvicorn.Server):
    """uvicorn, with Octopost's signal handling: a clean shutdown exits 0 (uvicorn
    re-raises the signal, which made it 143), and a second signal stops at once."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # Everything made at start-up (modules, the app, compiled patterns) lives until
        # exit: moved out of the collector's sight, a full collection no longer walks it
        # (those walks were the tail of request latency under load). Not collected first:
        # that walk cost ~0.1 s before the first answer, for the little start-up garbage.
        gc.freeze()
        gc.enable()  # `octopost serve` disabled it for start-up
        # What the warm-up loads after start (aiohttp, cryptography, text rules:
        # octopost.warmup) lives until exit too: frozen once it is loaded.
        warming = self.warmup()
        if warming is not None:
            warming.add_done_callback(lambda _: gc.freeze())

    def __init__(
        self,
        config: uvicorn.Config,
        on_force: Callable[[], None],
        warmup: Callable[[], asyncio.Future[None] | None] = lambda: None,
    ) -> None:
        super().__init__(config)
        self.on_force = on_force
        #: the loading ahead of need started by the app's start-up (Services.prepared)
        self.warmup = warmup
        self.forced = False

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        name = signal.Signals(sig).name
        if not self.should_exit:
            log.info("%s: shutting down; send it again to stop at once", name)
            self.should_exit = True
            return
        if self.forced:
            return
        log.warning("%s again: stopping now; unfinished publishes resume at the next start", name)
        self.forced = True
        self.force_exit = True
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon_threadsafe(self.on_force)
