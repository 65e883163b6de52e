"""Webhooks and their durable outbox (events, deliveries, attempts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from octopost.models import OutboxItem, Webhook, WebhookAttempt, WebhookDelivery
from octopost.store.db import Database, Row, Tx, from_ms, from_ms_required, to_ms

HOOK_COLUMNS = "id, url, events, description, enabled, sandbox, secret, created_at, updated_at"
DELIVERY_COLUMNS = (
    "d.id, d.webhook_id, d.event_id, e.type, d.state, d.attempts, d.next_attempt_at, d.last_status, "
    "d.last_error, d.last_duration_ms, d.created_at, d.updated_at"
)
_events = msgspec.json.Decoder(list[str])


def _hook(row: Row) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=_events.decode(row["events"]),
        description=row["description"],
        enabled=bool(row["enabled"]),
        sandbox=bool(row["sandbox"]),
        secret_enc=bytes(row["secret"]),
        created_at=from_ms_required(row["created_at"]),
        updated_at=from_ms_required(row["updated_at"]),
    )


def _delivery(row: Row) -> WebhookDelivery:
    return WebhookDelivery(
        id=row[0],
        webhook_id=row[1],
        event_id=row[2],
        event_type=row[3],
        state=row[4],
        attempts=row[5],
        next_attempt_at=from_ms(row[6]),
        last_status=row[7],
        last_error=row[8],
        last_duration_ms=row[9],
        created_at=from_ms_required(row[10]),
        updated_at=from_ms_required(row[11]),
    )


class WebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- webhooks ------------------------------------------------------------
    async def insert(self, hook: Webhook) -> None:
        await self.db.write(
            f"INSERT INTO webhooks ({HOOK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                hook.id,
                hook.url,
                msgspec.json.encode(hook.events),
                hook.description,
                int(hook.enabled),
                int(hook.sandbox),
                hook.secret_enc,
                to_ms(hook.created_at),
                to_ms(hook.updated_at),
            ),
        )

    async def get(self, hook_id: str, sandbox: bool) -> Webhook | None:
        row = await self.db.fetchone(
            f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = ? AND sandbox = ?",
            [hook_id, int(sandbox)],
        )
        return _hook(row) if row else None

    async def all(self, sandbox: bool) -> list[Webhook]:
        rows = await self.db.fetchall(
            f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE sandbox = ? ORDER BY created_at, id",
            [int(sandbox)],
        )
        return [_hook(r) for r in rows]

    async def update(
        self, hook_id: str, sandbox: bool, changes: dict[str, Any], now: datetime
    ) -> Webhook | None:
        columns: dict[str, Any] = {"updated_at": to_ms(now)}
        for key, value in changes.items():
            columns[key] = (
                msgspec.json.encode(value)
                if key == "events"
                else (int(value) if key == "enabled" else value)
            )
        assignments = ", ".join(f"{name} = ?" for name in columns)
        rows = await self.db.write(
            f"UPDATE webhooks SET {assignments} WHERE id = ? AND sandbox = ? RETURNING {HOOK_COLUMNS}",
            [*columns.values(), hook_id, int(sandbox)],
        )
        return _hook(rows[0]) if rows else None

    async def delete(self, hook_id: str, sandbox: bool) -> bool:
        rows = await self.db.write(
            "DELETE FROM webhooks WHERE id = ? AND sandbox = ? RETURNING 1", [hook_id, int(sandbox)]
        )
        return bool(rows)

    # -- outbox --------------------------------------------------------------
    def enqueue(
        self,
        tx: Tx,
        *,
        event_id: str,
        event_type: str,
        sandbox: bool,
        payload: Callable[[], bytes],
        now: datetime,
        new_id: Any,
        only_webhook: str | None = None,
    ) -> int:
        """Inside the caller's transaction: store the event and one delivery per subscribed
        enabled webhook. Returns the number of deliveries. An event nobody subscribes to
        is not stored (its `payload()` is never built): only deliveries refer to events."""
        if only_webhook is not None:
            rows = tx.all("SELECT id, events FROM webhooks WHERE id = ?", [only_webhook])
            targets = [r["id"] for r in rows]
        else:
            rows = tx.all(
                "SELECT id, events FROM webhooks WHERE enabled = 1 AND sandbox = ?",
                [int(sandbox)],
            )
            targets = [r["id"] for r in rows if event_type in _events.decode(r["events"])]
        if not targets:
            return 0
        tx.execute(
            "INSERT INTO events (id, type, sandbox, payload, created_at) VALUES (?,?,?,?,?)",
            (event_id, event_type, int(sandbox), payload(), to_ms(now)),
        )
        for hook_id in targets:
            tx.execute(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, state, next_attempt_at, created_at, updated_at) "
                "VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                (new_id("whd_"), hook_id, event_id, to_ms(now), to_ms(now), to_ms(now)),
            )
        return len(targets)

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, delivery_id: str | None = None
    ) -> list[OutboxItem]:
        """Lease due deliveries (pushing their next attempt to `lease_until`) so only one sender
        holds each; a crash mid-send lets the lease expire and the delivery is sent again."""
        where = "d.state = 'pending' AND d.next_attempt_at <= ?"
        params: list[Any] = [to_ms(now)]
        if delivery_id is not None:
            where += " AND d.id = ?"
            params.append(delivery_id)

        def work(tx: Tx) -> list[Row]:
            rows = tx.all(
                "SELECT d.id, d.webhook_id, w.url, w.secret, d.event_id, e.payload, d.attempts, d.created_at "
                "FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id "
                f"WHERE {where} ORDER BY d.next_attempt_at LIMIT ?",
                [*params, limit],
            )
            tx.executemany(
                "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?",
                [(to_ms(lease_until), row[0]) for row in rows],
            )
            return rows

        rows = await self.db.run(work)
        return [
            OutboxItem(
                delivery_id=r[0],
                webhook_id=r[1],
                url=r[2],
                secret_enc=bytes(r[3]),
                event_id=r[4],
                payload=bytes(r[5]),
                attempts=r[6],
                created_at=from_ms_required(r[7]),
            )
            for r in rows
        ]

    async def release_lease(self, delivery_id: str, now: datetime) -> None:
        """Give a leased delivery back unsent: due again at `now`."""
        await self.db.write(
            "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? AND state = 'pending'",
            [to_ms(now), delivery_id],
        )

    async def record_attempt(
        self,
        delivery_id: str,
        *,
        at: datetime,
        status: int | None,
        error: str | None,
        duration_ms: int,
        state: str,
        next_attempt_at: datetime | None,
    ) -> None:
        def work(tx: Tx) -> None:
            row = tx.one(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, next_attempt_at = ?, "
                "last_status = ?, last_error = ?, last_duration_ms = ?, updated_at = ? WHERE id = ? RETURNING attempts",
                [state, to_ms(next_attempt_at), status, error, duration_ms, to_ms(at), delivery_id],
            )
            if row is not None:
                tx.execute(
                    "INSERT INTO webhook_attempts (delivery_id, number, at, status, error, duration_ms) VALUES (?,?,?,?,?,?)",
                    (delivery_id, row[0], to_ms(at), status, error, duration_ms),
                )

        await self.db.run(work)

    async def deliveries(
        self, hook_id: str, limit: int, offset: int
    ) -> tuple[list[WebhookDelivery], int]:
        total_row = await self.db.fetchone(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?", [hook_id]
        )
        rows = await self.db.fetchall(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
            "WHERE d.webhook_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ? OFFSET ?",
            [hook_id, limit, offset],
        )
        found = [_delivery(r) for r in rows]
        if found:
            ids = [d.id for d in found]
            attempts = await self.db.fetchall(
                "SELECT delivery_id, number, at, status, error, duration_ms FROM webhook_attempts "
                f"WHERE delivery_id IN ({','.join('?' * len(ids))}) ORDER BY number",
                ids,
            )
            by_id = {d.id: d for d in found}
            for a in attempts:
                by_id[a[0]].history.append(
                    WebhookAttempt(
                        number=a[1],
                        at=from_ms_required(a[2]),
                        status=a[3],
                        error=a[4],
                        duration_ms=a[5],
                    )
                )
        return found, int(total_row[0]) if total_row else 0

    async def delivery(self, delivery_id: str) -> WebhookDelivery | None:
        row = await self.db.fetchone(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?",
            [delivery_id],
        )
        return _delivery(row) if row else None

    async def next_due(self) -> datetime | None:
        row = await self.db.fetchone(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'"
        )
        return from_ms(row[0]) if row and row[0] is not None else None

    async def purge(self, older_than: datetime) -> int:
        """Forget finished deliveries (and their events) created before `older_than`."""
        cutoff = to_ms(older_than)

        def work(tx: Tx) -> int:
            removed = tx.execute(
                "DELETE FROM webhook_deliveries WHERE state != 'pending' AND created_at < ?",
                [cutoff],
            ).rowcount
            tx.execute(
                "DELETE FROM events WHERE created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)",
                [cutoff],
            )
            return removed

        return await self.db.run(work)
