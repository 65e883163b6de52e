"""API keys: only a SHA-256 hash of each secret is stored."""

from __future__ import annotations

from datetime import datetime

from octopost.models import ApiKey
from octopost.store.db import Database, Row, Tx, from_ms, from_ms_required, to_ms

COLUMNS = "id, name, prefix, sandbox, created_at, last_used_at, revoked_at, scopes"


def _key(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        sandbox=bool(row["sandbox"]),
        created_at=from_ms_required(row["created_at"]),
        last_used_at=from_ms(row["last_used_at"]),
        revoked_at=from_ms(row["revoked_at"]),
        scopes=row["scopes"].split(),
    )


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, key: ApiKey, digest: bytes) -> None:
        await self.db.write(
            "INSERT INTO api_keys (id, name, prefix, hash, sandbox, created_at, scopes) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                key.id,
                key.name,
                key.prefix,
                digest,
                int(key.sandbox),
                to_ms(key.created_at),
                " ".join(key.scopes),
            ),
        )

    async def by_hash(self, digest: bytes) -> tuple[ApiKey, bytes] | None:
        """The key with this hash (revoked ones included) and the stored hash."""
        row = await self.db.fetchone(
            f"SELECT {COLUMNS}, hash FROM api_keys WHERE hash = ?", [digest]
        )
        if row is None:
            return None
        return _key(row), bytes(row["hash"])

    async def all(self) -> list[ApiKey]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id")
        return [_key(r) for r in rows]

    async def count_active(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL")
        return int(row[0]) if row else 0

    async def revoke(self, key_id: str, now: datetime) -> ApiKey | None:
        def work(tx: Tx) -> ApiKey | None:
            tx.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                [to_ms(now), key_id],
            )
            row = tx.one(f"SELECT {COLUMNS} FROM api_keys WHERE id = ?", [key_id])
            return _key(row) if row else None

        return await self.db.run(work)

    async def touch(self, key_id: str, now: datetime) -> None:
        await self.db.write(
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?", [to_ms(now), key_id]
        )
