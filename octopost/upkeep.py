"""Token upkeep: renew credentials that would die unused, between publishes.

A Threads or Instagram (Instagram Login) token lives 60 days and can be renewed only
while it is still valid; one nobody publishes with for two months is gone, and the
user has to consent again. Adapters renew a due token before they publish, but an
account that publishes rarely needs this job: the in-process scheduler runs it every
`UPKEEP_INTERVAL` (like the sweep and housekeeping), and it asks every active
account's adapter to `keep_alive()` (a no-op for credentials that need nothing).

When the platform refuses the token for good (revoked, expired), the account is
marked `reauth_required`, which sends the `account.reauth_required` webhook. A
platform that cannot be reached leaves the account as it is: the next run tries
again, days before the token's end (the adapters renew in its last week).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from octopost.accounts import AccountService, reconnect_message
from octopost.models import AccountStatus
from octopost.platforms.errors import AuthExpiredError, PlatformError

log = logging.getLogger("octopost.upkeep")

UPKEEP_JOB = "octopost-token-upkeep"
#: four runs a day: a token is renewed in its last 7 days, so a platform that is down
#: for days still leaves dozens of tries
UPKEEP_INTERVAL = 6 * 3600.0


@dataclass
class UpkeepRun:
    """What one run did, by account id (for logs and tests)."""

    renewed: list[str] = field(default_factory=list)
    reauth: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class TokenUpkeep:
    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts

    async def run(self) -> UpkeepRun:
        """One pass over the active accounts, one at a time (a few calls at most)."""
        done = UpkeepRun()
        for record in await self.accounts.all():
            if record.status is not AccountStatus.ACTIVE:
                continue
            handle = await self.accounts.handle(record)
            before = dict(handle.credentials)
            adapter = self.accounts.make_adapter(record.platform, handle)
            try:
                await adapter.keep_alive()
            except AuthExpiredError as exc:
                log.info("%s account %s: %s", record.platform, record.id, exc.message)
                await self.accounts.mark_reauth(record.id, reconnect_message(record.platform))
                done.reauth.append(record.id)
                continue
            except PlatformError as exc:
                log.warning(
                    "%s account %s: token upkeep failed, the next run tries again: %s",
                    record.platform,
                    record.id,
                    exc.message,
                )
                done.failed.append(record.id)
                continue
            except Exception:  # one account's bug must not stop the others' renewal
                log.exception("%s account %s: token upkeep failed", record.platform, record.id)
                done.failed.append(record.id)
                continue
            if dict(handle.credentials) != before:
                done.renewed.append(record.id)
        if done.renewed or done.reauth:
            log.info(
                "token upkeep: %d renewed, %d need reconnecting",
                len(done.renewed),
                len(done.reauth),
            )
        return done
