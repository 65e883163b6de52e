"""OAuth connect flows in progress (by the hash of their state) and registered apps.

What is secret (a PKCE verifier, an app's client secret, a grant waiting for a choice)
arrives here already encrypted; the state itself is never stored, only its hash.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from octopost.store.db import Database, Row, from_ms_required, to_ms


class StoredFlow(msgspec.Struct, frozen=True):
    """One flow in progress (`kind` "state": waiting for the callback; "choice":
    waiting for the user to pick a Page or channel)."""

    kind: str
    api_key_id: str
    platform: str
    redirect_uri: str
    return_to: str | None
    secret: bytes
    created_at: datetime
    expires_at: datetime


_FLOW = "kind, api_key_id, platform, redirect_uri, return_to, secret, created_at, expires_at"


def _flow(row: Row) -> StoredFlow:
    return StoredFlow(
        kind=row["kind"],
        api_key_id=row["api_key_id"],
        platform=row["platform"],
        redirect_uri=row["redirect_uri"],
        return_to=row["return_to"],
        secret=bytes(row["secret"]),
        created_at=from_ms_required(row["created_at"]),
        expires_at=from_ms_required(row["expires_at"]),
    )


class OAuthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, key_hash: bytes, flow: StoredFlow) -> None:
        await self.db.write(
            f"INSERT INTO oauth_flows (hash, {_FLOW}) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                key_hash,
                flow.kind,
                flow.api_key_id,
                flow.platform,
                flow.redirect_uri,
                flow.return_to,
                flow.secret,
                to_ms(flow.created_at),
                to_ms(flow.expires_at),
            ),
        )

    async def take(self, key_hash: bytes, kind: str, platform: str) -> StoredFlow | None:
        """Remove and return the flow (single use: of two callbacks with one state, one
        gets it). A flow of another platform or kind, or started by an API key revoked
        since, is left alone."""
        rows = await self.db.write(
            f"DELETE FROM oauth_flows WHERE hash = ? AND kind = ? AND platform = ? "
            "AND api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NULL) "
            f"RETURNING {_FLOW}",
            [key_hash, kind, platform],
        )
        return _flow(rows[0]) if rows else None

    async def peek(self, key_hash: bytes) -> StoredFlow | None:
        """The flow with this hash whatever its platform (to say what is wrong)."""
        row = await self.db.fetchone(f"SELECT {_FLOW} FROM oauth_flows WHERE hash = ?", [key_hash])
        return _flow(row) if row else None

    async def purge(self, now: datetime) -> int:
        """Forget flows past their expiry."""
        rows = await self.db.write(
            "DELETE FROM oauth_flows WHERE expires_at <= ? RETURNING 1", [to_ms(now)]
        )
        return len(rows)

    async def app(self, platform: str, instance: str, redirect_uri: str) -> bytes | None:
        """An app Octopost registered (encrypted client id and secret), if any."""
        row = await self.db.fetchone(
            "SELECT secret FROM oauth_apps WHERE platform = ? AND instance = ? "
            "AND redirect_uri = ?",
            [platform, instance, redirect_uri],
        )
        return bytes(row["secret"]) if row else None

    async def put_app(
        self, platform: str, instance: str, redirect_uri: str, secret: bytes, now: datetime
    ) -> None:
        await self.db.write(
            "INSERT INTO oauth_apps (platform, instance, redirect_uri, secret, created_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT (platform, instance, redirect_uri) "
            "DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at",
            [platform, instance, redirect_uri, secret, to_ms(now)],
        )
