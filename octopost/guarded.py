"""The aiohttp side of the address guard (`netguard`): a resolver that drops
non-public addresses and a socket factory that refuses them again at connect time.

A module of its own so that aiohttp (~0.25 s to import, most of it loading the CA
bundle) is imported when the first outgoing session is made, not at start-up.
"""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from octopost.netguard import BlockedAddressError, is_public_address


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's threaded resolver, then drops non-public addresses."""

    def __init__(self, allow_private: bool, inner: AbstractResolver | None = None) -> None:
        self.inner = inner or aiohttp.ThreadedResolver()
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if self.allow_private:
            return results
        public = [r for r in results if is_public_address(r["host"])]
        if not public:
            raise BlockedAddressError(f"{host} resolves only to non-public addresses")
        return public

    async def close(self) -> None:
        await self.inner.close()


def _guarded_socket(addr_info: Any) -> socket.socket:
    family, kind, proto, _, address = addr_info
    if not is_public_address(str(address[0])):
        raise BlockedAddressError(f"{address[0]} is not a public address")
    return socket.socket(family=family, type=kind, proto=proto)


def guarded_connector(
    allow_private: bool, *, resolver: AbstractResolver | None = None, **kwargs: Any
) -> aiohttp.TCPConnector:
    """A connector that reaches public addresses only (everything, when `allow_private`).

    `resolver` replaces the system resolver underneath (tests use it to make a name
    fail without any network)."""
    if allow_private:
        return aiohttp.TCPConnector(resolver=resolver, **kwargs)
    return aiohttp.TCPConnector(
        resolver=GuardedResolver(False, resolver), socket_factory=_guarded_socket, **kwargs
    )
