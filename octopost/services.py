"""The service container: everything a handler or the CLI may call, built once at start."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from octopost.accounts import AccountService
from octopost.config import Config
from octopost.connect import ConnectService
from octopost.crypto import load_box
from octopost.keys import KeyService
from octopost.media import Fetcher
from octopost.models import utcnow
from octopost.platforms import ADAPTERS, settings_for
from octopost.platforms._http import HttpClient, LazySession, trusted_endpoints
from octopost.platforms.base import Account, Adapter, Deps
from octopost.platforms.endpoints import configured_urls
from octopost.posts import PostService
from octopost.publisher import Publisher
from octopost.scheduler import Scheduler
from octopost.store import Store
from octopost.upkeep import UPKEEP_INTERVAL, UPKEEP_JOB, TokenUpkeep
from octopost.warmup import ahead_of_need
from octopost.webhooks import Dispatcher, Events, WebhookService

if TYPE_CHECKING:
    from aiohttp.abc import AbstractResolver

log = logging.getLogger("octopost")


@dataclass
class Services:
    config: Config
    store: Store
    keys: KeyService
    posts: PostService
    accounts: AccountService
    connect: ConnectService
    publisher: Publisher
    scheduler: Scheduler
    fetcher: Fetcher
    http: HttpClient
    webhooks: WebhookService
    dispatcher: Dispatcher
    upkeep: TokenUpkeep
    #: loading what a start leaves to first use (start_background, octopost.warmup)
    prepared: asyncio.Future[None] | None = None

    async def start_background(self) -> None:
        """Resume interrupted publishes, then arm the scheduler."""
        resumed = await self.publisher.resume()
        if resumed:
            log.info("resumed %d interrupted publishes", resumed)
        await self.scheduler.start()
        self.scheduler.every(3600, self.housekeeping, "octopost-housekeeping")
        # first a minute after start: a server restarted more often than the interval
        # still renews its tokens
        self.scheduler.every(UPKEEP_INTERVAL, self.upkeep.run, UPKEEP_JOB, first_after=60)
        self.dispatcher.start()
        # aiohttp, cryptography and the text rules (compiled patterns, tables) of the
        # platforms that have an account, loaded in a worker thread now rather than by
        # the first publish or validation that needs them; a server with no such
        # account never loads those rules.
        platforms = sorted({a.platform for a in await self.store.accounts.all()})
        self.prepared = asyncio.ensure_future(asyncio.to_thread(ahead_of_need, platforms))

    async def housekeeping(self) -> None:
        """Forget idempotency keys after their 24-hour replay window (plus a margin), and
        finished webhook deliveries (with their events) after 30 days, and expired
        dashboard sessions and connect flows."""
        now = utcnow()
        await self.store.sessions.purge(now)
        await self.store.oauth.purge(now)
        await self.store.idempotency.purge(now - timedelta(hours=25))
        await self.store.webhooks.purge(now - timedelta(days=30))

    async def close(self) -> None:
        if self.prepared is not None:
            await self.prepared
        self.scheduler.shutdown()
        await self.publisher.stop(self.config.server.shutdown_grace)
        await self.dispatcher.stop()
        await self.fetcher.close()
        await self.http.close()
        await self.store.close()


async def build_services(
    config: Config,
    *,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    resolver: AbstractResolver | None = None,
    platform_clock: Callable[[], float] = time.time,
) -> Services:
    """Everything wired from config. `resolver` replaces the system DNS resolver of
    every outgoing connection (tests: names that fail without a network);
    `platform_clock` is the adapters' clock (epoch seconds: token expiry)."""
    store = await Store(
        config.database.path,
        busy_timeout_ms=config.database.busy_timeout_ms,
        synchronous=config.database.synchronous,
    ).open()
    box = load_box(config.security.encryption_key, config.data_dir)

    def session(allow_private: bool) -> LazySession:
        return LazySession.guarded(
            allow_private,
            user_agent="Octopost/0.1 (self-hosted cross-poster)",
            resolver=resolver,
            limit=200,
            limit_per_host=50,
        )

    # Hosts a user names (a Mastodon instance, a Bluesky PDS) or a platform hands
    # back go through the address guard; the configured endpoints do not. Both
    # sessions are made by their first request (aiohttp is not imported at start-up).
    plain = session(True)
    guarded = None if config.security.allow_private_urls else session(False)
    platform_settings = {p: settings_for(p, config.platform(p)) for p in ADAPTERS}
    http = HttpClient(
        plain,
        timeout=config.publishing.request_timeout,
        guarded=guarded,
        trusted=trusted_endpoints(
            [url for s in platform_settings.values() for url in configured_urls(s)]
        ),
    )
    fetcher = Fetcher(
        allow_private=config.security.allow_private_urls,
        max_bytes=config.publishing.media_max_bytes,
        timeout=config.publishing.request_timeout,
        resolver=resolver,
    )
    deps = {
        platform: Deps(
            http=http,
            settings=platform_settings[platform],
            pages=fetcher,
            sleep=sleep,
            clock=platform_clock,
        )
        for platform in ADAPTERS
    }

    def make_adapter(platform: str, account: Account) -> Adapter:
        return ADAPTERS[platform](account, deps[platform])

    # Imported here: the web layer's response shapes are what webhook payloads carry.
    from octopost.web.schemas import AccountResponse, PostResponse

    dispatcher = Dispatcher(
        store,
        box,
        config.webhooks,
        allow_private=config.security.allow_private_urls,
        clock=clock,
        resolver=resolver,
    )
    events = Events(
        store,
        post_view=lambda post: msgspec.to_builtins(PostResponse.of(post)),
        account_view=lambda account: msgspec.to_builtins(AccountResponse.of(account)),
        wake=dispatcher.wake,
        clock=clock,
    )
    webhooks = WebhookService(
        store, box, events, dispatcher, allow_private=config.security.allow_private_urls
    )
    accounts = AccountService(store, box, make_adapter, on_reauth=events.account_reauth)
    publisher = Publisher(
        store,
        accounts,
        make_adapter,
        fetcher,
        config.publishing,
        clock=clock,
        sleep=sleep,
        on_finish=events.post_finished,
    )
    scheduler = Scheduler(store, publisher, config.scheduler, clock=clock)
    posts = PostService(
        store, clock=clock, on_schedule=scheduler.sync, on_scheduled_event=events.post_scheduled
    )
    return Services(
        config=config,
        store=store,
        keys=KeyService(store),
        posts=posts,
        accounts=accounts,
        connect=ConnectService(store, box, accounts, config, deps, clock=clock),
        publisher=publisher,
        scheduler=scheduler,
        fetcher=fetcher,
        http=http,
        webhooks=webhooks,
        dispatcher=dispatcher,
        upkeep=TokenUpkeep(accounts),
    )
