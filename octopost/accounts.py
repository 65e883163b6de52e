"""Connected accounts: verify on connect, encrypt credentials, hand adapters a live handle."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from octopost.crypto import CredentialBox
from octopost.errors import (
    FieldError,
    NotFoundError,
    OctopostError,
    UpstreamError,
    ValidationError,
)
from octopost.keys import random_id
from octopost.models import AccountRecord, AccountStatus, utcnow
from octopost.platforms import ADAPTERS, PLATFORM_IDS
from octopost.platforms._http import reconnect_message as platform_reconnect_message
from octopost.platforms.base import Account, Adapter
from octopost.platforms.errors import (
    AddressRefusedError,
    AuthExpiredError,
    OutcomeUnknownError,
    PlatformError,
    RateLimitedError,
    UnavailableError,
)
from octopost.platforms.registry import prepare
from octopost.store import Store

log = logging.getLogger("octopost.accounts")

#: bounds of what a connect request may carry (the longest real token is a few KB)
MAX_ACCOUNT_KEYS = 32
MAX_VALUE_CHARS = 10_000

AdapterFactory = Callable[[str, Account], Adapter]
#: runs inside the transaction of the change, on the store's writer thread: synchronous
AccountHook = Callable[[Any, AccountRecord], None]


#: seconds between two writes of an account's `last_used_at`
USED_EVERY = 60.0
#: seconds an account read for publishing is reused (a burst publishes thousands at once)
RECORD_TTL = 2.0


def reconnect_message(platform: str) -> str:
    """The one text of an expired login (the platforms' own, `_http.reconnect_message`)."""
    return platform_reconnect_message(ADAPTERS[platform].label)


def _check_bounds(credentials: dict[str, Any], settings: dict[str, Any]) -> None:
    problems: list[FieldError] = []
    for name, values in (("credentials", credentials), ("settings", settings)):
        if len(values) > MAX_ACCOUNT_KEYS:
            problems.append(FieldError(name, f"must have at most {MAX_ACCOUNT_KEYS} keys"))
        for key, value in values.items():
            if len(key) > 100 or (isinstance(value, str) and len(value) > MAX_VALUE_CHARS):
                problems.append(
                    FieldError(
                        f"{name}.{key[:100]}",
                        f"keys are at most 100 and values at most {MAX_VALUE_CHARS} characters",
                    )
                )
    if problems:
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems)
        raise ValidationError(f"Invalid account: {summary}", problems)


def _connect_error(label: str, exc: PlatformError) -> OctopostError:
    """Not reaching a platform is no verdict on the credentials: 502, retry later;
    a refusal by the platform (or of the input) is a 422."""
    if isinstance(exc, UnavailableError | RateLimitedError | OutcomeUnknownError):
        delay = exc.retry_after
        return UpstreamError(
            f"{exc.message}. The credentials were not checked and nothing was stored; "
            "try again later.",
            [FieldError("credentials", exc.message)],
            retry_after=delay,
        )
    reason = exc.detail or exc.message
    if isinstance(exc, AddressRefusedError):
        # Octopost's own address guard, not the platform's verdict on the credentials
        return ValidationError(
            f"{label} account not connected: {reason} (set security.allow_private_urls "
            "= true to connect to a server on your own network)",
            [FieldError("credentials", reason)],
        )
    if isinstance(exc, AuthExpiredError):
        message = f"{label} refused these credentials: {reason}"
    else:
        message = f"{label} did not accept these credentials: {reason}"
    return ValidationError(message, [FieldError("credentials", reason)])


class AccountService:
    """Owns connected accounts and the per-account handles adapters share.

    Handles are cached per account id so that every publish of one account
    shares the same lock and the latest (refreshed) credentials.
    """

    def __init__(
        self,
        store: Store,
        box: CredentialBox,
        make_adapter: AdapterFactory,
        *,
        on_reauth: AccountHook | None = None,
    ) -> None:
        self.store = store
        self.box = box
        self.make_adapter = make_adapter
        self.on_reauth = on_reauth
        self._handles: dict[str, Account] = {}
        self._guard = asyncio.Lock()
        #: platform -> (account, monotonic time read): every delivery of a burst asks
        self._records: dict[str, tuple[AccountRecord | None, float]] = {}
        #: account id -> monotonic time `last_used_at` was last written
        self._used: dict[str, float] = {}

    async def connect(
        self, platform: str, credentials: dict[str, Any], settings: dict[str, Any]
    ) -> AccountRecord:
        """Verify `credentials` with the platform, then store them (replacing the old account)."""
        if platform not in PLATFORM_IDS:
            raise ValidationError(
                f"Unknown platform '{platform}'",
                [FieldError("platform", f"must be one of: {', '.join(PLATFORM_IDS)}")],
            )
        _check_bounds(credentials, settings)
        handle = Account(
            id=random_id("acc_"),
            platform=platform,
            credentials=dict(credentials),
            settings=dict(settings),
        )
        adapter = self.make_adapter(platform, handle)
        try:
            identity = await adapter.verify()
        except PlatformError as exc:
            raise _connect_error(ADAPTERS[platform].label, exc) from exc
        now = utcnow().replace(microsecond=0)
        # The same platform account connected again keeps its id and history; another
        # one replaces it (one account per platform).
        previous = await self.store.accounts.for_platform(platform)
        same = (
            previous is not None
            and bool(identity.remote_id)
            and (previous.remote_id == identity.remote_id)
        )
        record = AccountRecord(
            id=previous.id if same and previous else handle.id,
            platform=platform,
            username=identity.username,
            display_name=identity.display_name,
            remote_id=identity.remote_id,
            profile_url=identity.profile_url,
            status=AccountStatus.ACTIVE,
            # verify() may have added to the credentials (a user id, a session)
            credentials_enc=self.box.seal(handle.credentials),
            settings=dict(settings),
            created_at=previous.created_at if same and previous else now,
            updated_at=now,
            avatar_url=identity.avatar_url,
            connected_at=now,
            last_used_at=previous.last_used_at if same and previous else None,
        )
        old = await self.store.accounts.replace(record)
        self._records.clear()
        # its text rules now, in a worker thread, rather than at its first publish
        await asyncio.to_thread(prepare, [platform])
        if old is not None:
            self._handles.pop(old.id, None)
        log.info("connected %s account %s (@%s)", platform, record.id, record.username)
        return record

    async def all(self) -> list[AccountRecord]:
        return await self.store.accounts.all()

    async def get(self, account_id: str) -> AccountRecord:
        record = await self.store.accounts.get(account_id)
        if record is None:
            raise NotFoundError(f"No account with id '{account_id}'")
        return record

    async def delete(self, account_id: str) -> None:
        deleted = await self.store.accounts.delete(account_id)
        self._records.clear()
        if not deleted:
            raise NotFoundError(f"No account with id '{account_id}'")
        self._handles.pop(account_id, None)

    async def for_platform(self, platform: str) -> AccountRecord | None:
        """The platform's account, read at most every RECORD_TTL seconds (every change made
        through this service is seen at once)."""
        now = time.monotonic()
        cached = self._records.get(platform)
        if cached is not None and now - cached[1] < RECORD_TTL:
            return cached[0]
        record = await self.store.accounts.for_platform(platform)
        self._records[platform] = (record, now)
        return record

    async def handle(self, record: AccountRecord) -> Account:
        """The shared live handle of an account (decrypted credentials, refresh lock)."""
        async with self._guard:
            handle = self._handles.get(record.id)
            if handle is None:
                account_id = record.id

                async def save(credentials: dict[str, Any]) -> None:
                    await self.store.accounts.save_credentials(
                        account_id, self.box.seal(credentials), utcnow()
                    )

                handle = Account(
                    id=record.id,
                    platform=record.platform,
                    credentials=self.box.open(record.credentials_enc),
                    settings=dict(record.settings),
                    username=record.username,
                    saver=save,
                )
                self._handles[record.id] = handle
            return handle

    async def used(self, account_id: str) -> None:
        """A publish used the account (shown as `last_used_at`): written at most once a
        minute per account, so a burst of publishes costs one write, not thousands."""
        now = time.monotonic()
        last = self._used.get(account_id)
        if last is not None and now - last < USED_EVERY:
            return
        self._used[account_id] = now
        await self.store.accounts.used(account_id, utcnow())

    async def mark_reauth(self, account_id: str, reason: str) -> None:
        """The platform refused the credentials for good: the user must reconnect."""
        changed = await self.store.accounts.set_status(
            account_id, AccountStatus.REAUTH_REQUIRED, reason, utcnow(), on_change=self.on_reauth
        )
        self._records.clear()
        self._handles.pop(account_id, None)
        if changed is not None:
            log.warning(
                "%s account %s needs to be reconnected: %s", changed.platform, account_id, reason
            )
