"""Connected platform accounts; credentials arrive here already encrypted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from octopost.models import AccountRecord, AccountStatus
from octopost.store.db import AccountHook, Database, Row, Tx, from_ms, from_ms_required, to_ms

COLUMNS = (
    "id, platform, username, display_name, remote_id, profile_url, status, status_reason, "
    "credentials, settings, created_at, updated_at, avatar_url, connected_at, last_used_at"
)
_settings = msgspec.json.Decoder(dict[str, Any])


def _account(row: Row) -> AccountRecord:
    return AccountRecord(
        id=row["id"],
        platform=row["platform"],
        username=row["username"],
        display_name=row["display_name"],
        remote_id=row["remote_id"],
        profile_url=row["profile_url"],
        status=AccountStatus(row["status"]),
        status_reason=row["status_reason"],
        credentials_enc=bytes(row["credentials"]),
        settings=_settings.decode(row["settings"]),
        created_at=from_ms_required(row["created_at"]),
        updated_at=from_ms_required(row["updated_at"]),
        avatar_url=row["avatar_url"],
        connected_at=from_ms(row["connected_at"]),
        last_used_at=from_ms(row["last_used_at"]),
    )


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace(self, account: AccountRecord) -> AccountRecord | None:
        """Store `account`, replacing the platform's previous account. Returns the old one."""

        def work(tx: Tx) -> AccountRecord | None:
            row = tx.one(f"SELECT {COLUMNS} FROM accounts WHERE platform = ?", [account.platform])
            tx.execute("DELETE FROM accounts WHERE platform = ?", [account.platform])
            tx.execute(
                f"INSERT INTO accounts ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    account.id,
                    account.platform,
                    account.username,
                    account.display_name,
                    account.remote_id,
                    account.profile_url,
                    str(account.status),
                    account.status_reason,
                    account.credentials_enc,
                    msgspec.json.encode(account.settings),
                    to_ms(account.created_at),
                    to_ms(account.updated_at),
                    account.avatar_url,
                    to_ms(account.connected_at or account.created_at),
                    to_ms(account.last_used_at) if account.last_used_at else None,
                ),
            )
            return _account(row) if row else None

        return await self.db.run(work)

    async def get(self, account_id: str) -> AccountRecord | None:
        row = await self.db.fetchone(f"SELECT {COLUMNS} FROM accounts WHERE id = ?", [account_id])
        return _account(row) if row else None

    async def for_platform(self, platform: str) -> AccountRecord | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM accounts WHERE platform = ?", [platform]
        )
        return _account(row) if row else None

    async def all(self) -> list[AccountRecord]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM accounts ORDER BY created_at, id")
        return [_account(r) for r in rows]

    async def delete(self, account_id: str) -> bool:
        rows = await self.db.write("DELETE FROM accounts WHERE id = ? RETURNING 1", [account_id])
        return bool(rows)

    async def save_credentials(self, account_id: str, encrypted: bytes, now: datetime) -> None:
        await self.db.write(
            "UPDATE accounts SET credentials = ?, updated_at = ? WHERE id = ?",
            [encrypted, to_ms(now), account_id],
            urgent=True,  # a token refreshed while publishing
        )

    async def used(self, account_id: str, now: datetime) -> None:
        """A publish used the account (`last_used_at`; not urgent: a hint, not a record)."""
        await self.db.write(
            "UPDATE accounts SET last_used_at = ? WHERE id = ?", [to_ms(now), account_id]
        )

    async def set_status(
        self,
        account_id: str,
        status: AccountStatus,
        reason: str | None,
        now: datetime,
        *,
        on_change: AccountHook | None = None,
    ) -> AccountRecord | None:
        """Change the account's status; `on_change(tx, account)` runs in the same transaction
        when the status actually changed (webhook outbox)."""

        def work(tx: Tx) -> AccountRecord | None:
            row = tx.one(
                "UPDATE accounts SET status = ?, status_reason = ?, updated_at = ? "
                "WHERE id = ? AND status != ? RETURNING " + COLUMNS,
                [str(status), reason, to_ms(now), account_id, str(status)],
            )
            if row is None:
                return None
            account = _account(row)
            if on_change is not None:
                on_change(tx, account)
            return account

        return await self.db.run(work)
