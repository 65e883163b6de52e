"""The store: owns the SQLite database and every SQL string, returns structs."""

from __future__ import annotations

from pathlib import Path

from octopost.store.accounts import AccountStore
from octopost.store.db import AccountHook, Database, PostChangeHook, PostHook, Synchronous, Tx
from octopost.store.deliveries import DeliveryStore
from octopost.store.idempotency import IdempotencyStore
from octopost.store.keys import KeyStore
from octopost.store.oauth import OAuthStore
from octopost.store.posts import PostStore, StalePostError
from octopost.store.segments import SegmentStore
from octopost.store.sessions import SessionStore
from octopost.store.webhooks import WebhookStore


class Store:
    """Facade over the database: posts, their deliveries (and their threads' segments), keys, accounts, webhooks, idempotency, dashboard sessions."""

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 5000, synchronous: Synchronous = "full"
    ) -> None:
        self.db = Database(path, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
        self.posts = PostStore(self.db)
        self.deliveries = DeliveryStore(self.db)
        self.segments = SegmentStore(self.db)
        self.keys = KeyStore(self.db)
        self.accounts = AccountStore(self.db)
        self.webhooks = WebhookStore(self.db)
        self.idempotency = IdempotencyStore(self.db)
        self.sessions = SessionStore(self.db)
        self.oauth = OAuthStore(self.db)

    async def open(self) -> Store:
        await self.db.open()
        return self

    async def close(self) -> None:
        await self.db.close()


__all__ = ["AccountHook", "PostChangeHook", "PostHook", "StalePostError", "Store", "Tx"]
