"""Idempotency keys: the first response to (API key, Idempotency-Key) is kept and replayed."""

from __future__ import annotations

import secrets
from datetime import datetime

from octopost.store.db import Database, Tx, to_ms


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        #: this process's (this open store's) start id: a reservation without a response
        #: is in progress only while the boot that made it runs; one left by a crashed
        #: process is abandoned, and the repeat runs the request
        self.boot = secrets.token_hex(8)

    async def begin(
        self, api_key_id: str, key: str, fingerprint: bytes, now: datetime
    ) -> tuple[bytes, int | None, str | None, bytes | None] | None:
        """Reserve the key. None: reserved now (go ahead). Otherwise the existing
        (fingerprint, status, content type, body); status None means still in progress."""

        def work(tx: Tx) -> tuple[bytes, int | None, str | None, bytes | None] | None:
            row = tx.one(
                "SELECT fingerprint, status, content_type, body, boot FROM idempotency_keys "
                "WHERE api_key_id = ? AND key = ?",
                [api_key_id, key],
            )
            if row is not None and (row[1] is not None or row[4] == self.boot):
                return bytes(row[0]), row[1], row[2], bytes(row[3]) if row[3] is not None else None
            # New, or abandoned by a process that died mid-request: reserve it for us.
            tx.execute(
                "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, boot, created_at) "
                "VALUES (?,?,?,?,?) ON CONFLICT (api_key_id, key) DO UPDATE SET "
                "fingerprint = excluded.fingerprint, boot = excluded.boot, "
                "created_at = excluded.created_at",
                (api_key_id, key, fingerprint, self.boot, to_ms(now)),
            )
            return None

        return await self.db.run(work)

    async def complete(
        self, api_key_id: str, key: str, status: int, content_type: str, body: bytes
    ) -> None:
        await self.db.write(
            "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE api_key_id = ? AND key = ?",
            [status, content_type, body, api_key_id, key],
        )

    async def release(self, api_key_id: str, key: str) -> None:
        """Forget a key whose request failed unexpectedly, so the client can try again."""
        await self.db.write(
            "DELETE FROM idempotency_keys WHERE api_key_id = ? AND key = ?", [api_key_id, key]
        )

    async def purge(self, older_than: datetime) -> int:
        rows = await self.db.write(
            "DELETE FROM idempotency_keys WHERE created_at < ? RETURNING 1", [to_ms(older_than)]
        )
        return len(rows)
