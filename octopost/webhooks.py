"""Webhooks: subscriptions, Standard Webhooks signing, and the outbox dispatcher.

An event is written to the outbox in the same SQLite transaction as the state
change that causes it; the dispatcher sends it afterwards with a timeout,
retrying non-2xx answers and network failures with exponential backoff until
`webhooks.retry_window` has passed. A slow or dead receiver never slows
publishing: publishing only writes rows.

Signatures follow https://www.standardwebhooks.com: headers `webhook-id`,
`webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
keyed with the base64-decoded part of the `whsec_...` secret.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from octopost import netguard
from octopost.config import WebhooksConfig
from octopost.crypto import CredentialBox
from octopost.errors import FieldError, NotFoundError, ValidationError
from octopost.keys import random_id
from octopost.models import AccountRecord, OutboxItem, Post, Webhook, WebhookDelivery, iso, utcnow
from octopost.platforms._http import LazySession
from octopost.retry import backoff
from octopost.store import Store, Tx

if TYPE_CHECKING:
    import aiohttp
    from aiohttp.abc import AbstractResolver

log = logging.getLogger("octopost.webhooks")

EVENT_TYPES = ("post.published", "post.failed", "post.scheduled", "account.reauth_required")
PING = "webhook.test"
MAX_DESCRIPTION = 500
_encoder = msgspec.json.Encoder()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event_payload(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> bytes:
    return _encoder.encode({"id": event_id, "type": event_type, "timestamp": iso(at), "data": data})


def next_delay(attempts: int, config: WebhooksConfig) -> float:
    """The wait after a delivery's `attempts`-th failure: the publisher's backoff schedule
    (`retry.backoff`), 80-100 % of it, so a receiver that comes back is not swamped."""
    return backoff(attempts, base=config.backoff_base, cap=config.backoff_max, spread=0.2)


class Events:
    """Writes events into the outbox inside the caller's transaction."""

    def __init__(
        self,
        store: Store,
        *,
        post_view: Callable[[Post], Any],
        account_view: Callable[[AccountRecord], Any],
        wake: Callable[[], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`post_view`/`account_view` build the objects a payload carries (the API's
        response shapes); `wake` tells the dispatcher an event is waiting."""
        self.store = store
        self.clock = clock
        self.post_view = post_view
        self.account_view = account_view
        self.wake = wake

    def emit(
        self,
        tx: Tx,
        event_type: str,
        sandbox: bool,
        data: dict[str, Any] | Callable[[], dict[str, Any]],
        only_webhook: str | None = None,
        wake: bool = True,
    ) -> str:
        """`data` may be a function: it is called only when some webhook subscribes (a
        publish burst with no webhooks builds no payloads)."""
        now = self.clock()
        event_id = random_id("evt_")
        count = self.store.webhooks.enqueue(
            tx,
            event_id=event_id,
            event_type=event_type,
            sandbox=sandbox,
            payload=lambda: event_payload(
                event_id, event_type, now, data() if callable(data) else data
            ),
            now=now,
            new_id=random_id,
            only_webhook=only_webhook,
        )
        if count and wake:
            tx.after_commit(self.wake)  # in the event loop, once the event is stored
        return event_id

    def post_finished(self, tx: Tx, post: Post) -> None:
        def data() -> dict[str, Any]:
            results = post.platform_results() or {}
            return {
                "post": self.post_view(post),
                "succeeded_platforms": [p for p, r in results.items() if r.success],
                "failed_platforms": [p for p, r in results.items() if not r.success],
            }

        event = "post.published" if post.status.value == "published" else "post.failed"
        self.emit(tx, event, post.sandbox, data)

    def post_scheduled(self, tx: Tx, post: Post) -> None:
        self.emit(tx, "post.scheduled", post.sandbox, lambda: {"post": self.post_view(post)})

    def account_reauth(self, tx: Tx, account: AccountRecord) -> None:
        self.emit(
            tx, "account.reauth_required", False, lambda: {"account": self.account_view(account)}
        )


def _check_events(events: list[str], errors: list[FieldError]) -> None:
    if not events:
        errors.append(FieldError("events", f"name at least one of: {', '.join(EVENT_TYPES)}"))
    for index, name in enumerate(events):
        if name not in EVENT_TYPES:
            errors.append(
                FieldError(
                    f"events[{index}]", f"unknown event '{name}'; valid: {', '.join(EVENT_TYPES)}"
                )
            )


async def check_webhook_url(url: str, allow_private: bool, *, resolve: bool = True) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can.

    Host names are resolved only when `resolve` (at creation); at send time the
    guarded connector checks the addresses actually used."""
    try:
        parts = netguard.parse_http_url(url)
    except netguard.InvalidUrlError as exc:
        return str(exc)
    if allow_private:
        return None
    host = parts.hostname or ""
    if not resolve:
        return netguard.literal_problem(host)
    return await netguard.resolve_problem(host, parts.port)


def _check_description(description: Any, errors: list[FieldError]) -> None:
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION:
        errors.append(FieldError("description", f"must be at most {MAX_DESCRIPTION} characters"))


class WebhookService:
    def __init__(
        self,
        store: Store,
        box: CredentialBox,
        events: Events,
        dispatcher: Dispatcher,
        *,
        allow_private: bool,
    ) -> None:
        self.store = store
        self.box = box
        self.events = events
        self.dispatcher = dispatcher
        self.allow_private = allow_private

    async def create(
        self, url: str, events: list[str], description: str | None, *, sandbox: bool
    ) -> tuple[Webhook, str]:
        errors: list[FieldError] = []
        problem = await check_webhook_url(url, self.allow_private)
        if problem:
            errors.append(FieldError("url", problem))
        _check_events(events, errors)
        _check_description(description, errors)
        if errors:
            raise ValidationError(
                "Invalid webhook: " + "; ".join(f"{e.field}: {e.message}" for e in errors), errors
            )
        secret = new_secret()
        now = utcnow().replace(microsecond=0)
        hook = Webhook(
            id=random_id("wh_"),
            url=url,
            events=list(dict.fromkeys(events)),
            description=description,
            enabled=True,
            sandbox=sandbox,
            secret_enc=self.box.seal({"secret": secret}),
            created_at=now,
            updated_at=now,
        )
        await self.store.webhooks.insert(hook)
        return hook, secret

    async def get(self, hook_id: str, *, sandbox: bool) -> Webhook:
        hook = await self.store.webhooks.get(hook_id, sandbox)
        if hook is None:
            raise NotFoundError(f"No webhook with id '{hook_id}'")
        return hook

    async def all(self, *, sandbox: bool) -> list[Webhook]:
        return await self.store.webhooks.all(sandbox)

    async def update(self, hook_id: str, changes: dict[str, Any], *, sandbox: bool) -> Webhook:
        errors: list[FieldError] = []
        if "url" in changes:
            problem = await check_webhook_url(changes["url"], self.allow_private)
            if problem:
                errors.append(FieldError("url", problem))
        if "events" in changes:
            _check_events(changes["events"], errors)
            changes["events"] = list(dict.fromkeys(changes["events"]))
        if "description" in changes:
            _check_description(changes["description"], errors)
        if errors:
            raise ValidationError(
                "Invalid webhook: " + "; ".join(f"{e.field}: {e.message}" for e in errors), errors
            )
        hook = await self.store.webhooks.update(
            hook_id, sandbox, changes, utcnow().replace(microsecond=0)
        )
        if hook is None:
            raise NotFoundError(f"No webhook with id '{hook_id}'")
        return hook

    async def delete(self, hook_id: str, *, sandbox: bool) -> None:
        if not await self.store.webhooks.delete(hook_id, sandbox):
            raise NotFoundError(f"No webhook with id '{hook_id}'")

    async def deliveries(
        self, hook_id: str, *, sandbox: bool, limit: int, offset: int
    ) -> tuple[list[WebhookDelivery], int]:
        await self.get(hook_id, sandbox=sandbox)
        return await self.store.webhooks.deliveries(hook_id, limit, offset)

    async def test(self, hook_id: str, *, sandbox: bool) -> WebhookDelivery:
        """Send a `webhook.test` ping now and return its delivery record."""
        hook = await self.get(hook_id, sandbox=sandbox)
        event_id = await self.store.db.run(
            lambda tx: self.events.emit(
                tx,
                PING,
                sandbox,
                {"webhook": {"id": hook.id, "url": hook.url}},
                only_webhook=hook.id,
                wake=False,
            )
        )
        deliveries, _ = await self.store.webhooks.deliveries(hook.id, 20, 0)
        delivery_id = next(d.id for d in deliveries if d.event_id == event_id)
        await self.dispatcher.deliver_now(delivery_id)
        # If the dispatcher loop leased it first, wait for that attempt (bounded).
        deadline = time.monotonic() + self.dispatcher.config.timeout + 5
        while True:
            found = await self.store.webhooks.delivery(delivery_id)
            assert found is not None
            if found.attempts or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        history, _ = await self.store.webhooks.deliveries(hook.id, 20, 0)
        return next((d for d in history if d.id == delivery_id), found)


class Dispatcher:
    """Sends due outbox deliveries; one loop per process, deliveries leased in SQLite."""

    BATCH = 50

    def __init__(
        self,
        store: Store,
        box: CredentialBox,
        config: WebhooksConfig,
        *,
        allow_private: bool,
        clock: Callable[[], datetime] = utcnow,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.store = store
        self.box = box
        self.config = config
        self.allow_private = allow_private
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session = LazySession.guarded(
            allow_private, user_agent="Octopost-Webhooks/1", resolver=resolver, limit=50
        )
        self._slots = asyncio.Semaphore(10)
        #: deliveries whose request has started (monotonic start), for an interrupted attempt
        self._started: dict[str, float] = {}

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="webhook dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._session.close()

    def session(self) -> aiohttp.ClientSession:
        return self._session.get()

    def _lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.config.timeout + 30)

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatcher iteration failed")
                sent = 0
            if sent:
                continue
            self._wake.clear()
            wait = self.config.poll_interval
            due = await self.store.webhooks.next_due()
            if due is not None:
                wait = max(0.0, min(wait, (due - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def run_once(self) -> int:
        now = self.clock()
        items = await self.store.webhooks.claim_due(now, self._lease(now), self.BATCH)
        await asyncio.gather(*(self._send(item) for item in items))
        return len(items)

    async def deliver_now(self, delivery_id: str) -> None:
        now = self.clock()
        for item in await self.store.webhooks.claim_due(now, self._lease(now), 1, delivery_id):
            await self._send(item)

    async def _send(self, item: OutboxItem) -> None:
        try:
            await self._send_leased(item)
        except asyncio.CancelledError:
            # Shutdown: hand the lease back, so the next start sends it at once instead
            # of waiting for the lease to run out (an interrupted attempt is recorded).
            await asyncio.shield(self._interrupted(item))
            raise

    async def _interrupted(self, item: OutboxItem) -> None:
        started = self._started.pop(item.delivery_id, None)
        now = self.clock()
        try:
            if started is None:
                await self.store.webhooks.release_lease(item.delivery_id, now)
                return
            await self.store.webhooks.record_attempt(
                item.delivery_id,
                at=now,
                status=None,
                error="interrupted: Octopost shut down during the request",
                duration_ms=int((time.monotonic() - started) * 1000),
                state="pending",
                next_attempt_at=now,
            )
        except Exception:
            log.exception("could not release the lease of webhook delivery %s", item.delivery_id)

    async def _send_leased(self, item: OutboxItem) -> None:
        import aiohttp  # not at module level: a start does not import it

        async with self._slots:
            secret = self.box.open(item.secret_enc)["secret"]
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "webhook-id": item.event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, item.event_id, timestamp, item.payload),
            }
            status: int | None = None
            error: str | None = None
            started = time.monotonic()
            self._started[item.delivery_id] = started
            problem = await check_webhook_url(item.url, self.allow_private, resolve=False)
            if problem:
                error = f"URL refused: {problem}"
            else:
                try:
                    async with self.session().post(
                        item.url,
                        data=item.payload,
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                        allow_redirects=False,
                    ) as resp:
                        status = resp.status
                        await resp.content.read(64 * 1024)
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"Could not reach the receiver: {netguard.network_reason(exc)}"
            duration_ms = int((time.monotonic() - started) * 1000)
            self._started.pop(item.delivery_id, None)
            now = self.clock()
            if status is not None and 200 <= status < 300:
                state, next_at = "succeeded", None
            else:
                if error is None:
                    error = f"HTTP {status}"
                attempts = item.attempts + 1
                next_at = now + timedelta(seconds=next_delay(attempts, self.config))
                expired = (next_at - item.created_at).total_seconds() > self.config.retry_window
                state = "failed" if expired else "pending"
                if expired:
                    next_at = None
            await self.store.webhooks.record_attempt(
                item.delivery_id,
                at=now,
                status=status,
                error=error if state != "succeeded" else None,
                duration_ms=duration_ms,
                state=state,
                next_attempt_at=next_at,
            )
            log.info(
                "webhook %s to %s: %s (%s, %d ms)",
                item.event_id,
                item.webhook_id,
                state,
                status if status is not None else error,
                duration_ms,
            )
