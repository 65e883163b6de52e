"""Dashboard sessions: a browser's cookie token (stored as a SHA-256 hash) -> API key."""

from __future__ import annotations

from datetime import datetime

from octopost.models import DashboardSession
from octopost.store.db import Database, Tx, from_ms_required, to_ms
from octopost.store.keys import COLUMNS as KEY_COLUMNS
from octopost.store.keys import _key

_KEY_COLUMNS = ", ".join(f"k.{c}" for c in KEY_COLUMNS.split(", "))


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(
        self, token_hash: bytes, api_key_id: str, csrf: str, now: datetime, expires_at: datetime
    ) -> None:
        await self.db.write(
            "INSERT INTO dashboard_sessions (token_hash, api_key_id, csrf, created_at, seen_at, expires_at) "
            "VALUES (?,?,?,?,?,?)",
            (token_hash, api_key_id, csrf, to_ms(now), to_ms(now), to_ms(expires_at)),
        )

    async def get(self, token_hash: bytes, now: datetime) -> DashboardSession | None:
        """The live session for this token: not expired, and its API key not revoked."""
        row = await self.db.fetchone(
            f"SELECT {_KEY_COLUMNS}, s.csrf, s.created_at AS s_created, s.seen_at, s.expires_at "
            "FROM dashboard_sessions s JOIN api_keys k ON k.id = s.api_key_id "
            "WHERE s.token_hash = ? AND s.expires_at > ? AND k.revoked_at IS NULL",
            [token_hash, to_ms(now)],
        )
        if row is None:
            return None
        return DashboardSession(
            key=_key(row),
            csrf=row["csrf"],
            created_at=from_ms_required(row["s_created"]),
            seen_at=from_ms_required(row["seen_at"]),
            expires_at=from_ms_required(row["expires_at"]),
        )

    async def touch(self, token_hash: bytes, now: datetime, expires_at: datetime) -> None:
        await self.db.write(
            "UPDATE dashboard_sessions SET seen_at = ?, expires_at = ? WHERE token_hash = ?",
            [to_ms(now), to_ms(expires_at), token_hash],
        )

    async def set_notice(self, token_hash: bytes, notice: str) -> None:
        """A one-time message for the next page (never a secret)."""
        await self.db.write(
            "UPDATE dashboard_sessions SET notice = ? WHERE token_hash = ?", [notice, token_hash]
        )

    async def pop_notice(self, token_hash: bytes) -> str | None:
        def work(tx: Tx) -> str | None:
            row = tx.one(
                "SELECT notice FROM dashboard_sessions WHERE token_hash = ? AND notice IS NOT NULL",
                [token_hash],
            )
            if row is None:
                return None
            tx.execute(
                "UPDATE dashboard_sessions SET notice = NULL WHERE token_hash = ?", [token_hash]
            )
            return str(row["notice"])

        return await self.db.run(work)

    async def delete(self, token_hash: bytes) -> None:
        await self.db.write("DELETE FROM dashboard_sessions WHERE token_hash = ?", [token_hash])

    async def purge(self, now: datetime) -> int:
        rows = await self.db.write(
            "DELETE FROM dashboard_sessions WHERE expires_at <= ? RETURNING 1", [to_ms(now)]
        )
        return len(rows)
