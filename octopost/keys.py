"""API keys: generation, hashing and constant-time verification.

Keys are `oct_live_` or `oct_test_` (sandbox) followed by 40 random base62
characters. Only a SHA-256 digest is stored; the secret is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import string
import time
from datetime import datetime

from octopost.access import check_scopes
from octopost.errors import NotFoundError
from octopost.models import ApiKey, utcnow
from octopost.store import Store

LIVE_PREFIX = "oct_live_"
TEST_PREFIX = "oct_test_"
SECRET_LENGTH = 40
_ALPHABET = string.ascii_letters + string.digits
#: last_used_at is written at most this often per key (seconds), not on every request
TOUCH_INTERVAL = 60.0
#: a verified key is trusted from memory this long (seconds); revoking through the
#: API of this process applies at once, `octopost keys revoke` within this delay
CACHE_TTL = 5.0


_pool = bytearray()
_POOL_REFILL = 4096


def random_bytes(n: int) -> bytes:
    """`n` bytes from the OS's CSPRNG, drawn 4 KiB at a time: one getrandom call costs
    ~50 µs on the benchmark VM, which was a fifth of a create. Each byte is handed out
    once; the process never forks, so no two processes share a pool."""
    global _pool
    if len(_pool) < n:
        _pool += os.urandom(max(_POOL_REFILL, n))
    out = bytes(_pool[:n])
    del _pool[:n]
    return out


def random_id(prefix: str, length: int = 24) -> str:
    """`prefix` + `length` random base62 characters (≈ 143 bits for 24)."""
    # Bytes 0-247 map to 62 characters four times over (uniform); 248-255 are dropped.
    # One C-level translate instead of a per-character loop (measurable on a create).
    out = b""
    while len(out) < length:
        out += random_bytes(length + 8).translate(_BASE62, _DROPPED)
    return prefix + out[:length].decode("ascii")


_BASE62 = bytes(ord(_ALPHABET[b % 62]) for b in range(248)) + bytes(8)
_DROPPED = bytes(range(248, 256))


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def looks_like_key(secret: str) -> bool:
    body = secret[len(LIVE_PREFIX) :]
    return (
        secret.startswith((LIVE_PREFIX, TEST_PREFIX))
        and len(body) >= 32
        and all(c in _ALPHABET for c in body)
    )


class KeyService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._touched: dict[str, float] = {}
        self._cache: dict[bytes, tuple[ApiKey, float]] = {}

    async def create(
        self,
        name: str,
        *,
        sandbox: bool = False,
        scopes: list[str] | None = None,
        now: datetime | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (the only time the secret exists in clear).

        `scopes`: the permissions it holds (octopost.access.SCOPES); none = full access.
        Raises ValueError naming an unknown scope."""
        chosen = check_scopes(scopes or [])
        secret = random_id(TEST_PREFIX if sandbox else LIVE_PREFIX, SECRET_LENGTH)
        key = ApiKey(
            id=random_id("key_", 16),
            name=name,
            prefix=secret[: len(LIVE_PREFIX) + 6],
            sandbox=sandbox,
            created_at=(now or utcnow()).replace(microsecond=0),
            scopes=chosen,
        )
        await self.store.keys.insert(key, digest(secret))
        return key, secret

    async def authenticate(self, secret: str) -> ApiKey | None:
        """The active key for `secret`, or None (unknown, malformed or revoked)."""
        wanted = digest(secret)
        now = time.monotonic()
        cached = self._cache.get(wanted)
        if cached is not None and now - cached[1] < CACHE_TTL:
            return cached[0]  # only a well-formed key is ever cached
        if not looks_like_key(secret):
            return None
        found = await self.store.keys.by_hash(wanted)
        if found is None:
            return None
        key, stored = found
        if not hmac.compare_digest(stored, wanted) or key.revoked_at is not None:
            self._cache.pop(wanted, None)
            return None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[wanted] = (key, now)
        if now - self._touched.get(key.id, -TOUCH_INTERVAL) >= TOUCH_INTERVAL:
            self._touched[key.id] = now
            await self.store.keys.touch(key.id, utcnow())
        return key

    async def all(self) -> list[ApiKey]:
        """Every key, revoked ones included (never a secret: only hashes are stored)."""
        return await self.store.keys.all()

    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke at once in this process (the verified-key cache forgets it too)."""
        key = await self.store.keys.revoke(key_id, utcnow())
        if key is None:
            raise NotFoundError(f"No API key with id '{key_id}'")
        self._cache = {h: v for h, v in self._cache.items() if v[0].id != key_id}
        return key
