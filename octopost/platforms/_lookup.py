"""Looking a post up after a lost answer, without mistaking "not listed yet" for "absent".

A platform may list a new post some time after it was created, and a request whose
answer was lost may still be running on the platform's side when we look (a restart
is quicker than a slow create). So "not found" proves absence only once the lookup
can see posts created as late as the interrupted request: when `window` seconds have
passed since it was sent (the request's own time limit plus the platform's listing
lag). Before that, `settled_lookup` waits and looks again; if it cannot wait the
window out (a bounded number of looks), the answer is "cannot tell", never "absent".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from octopost.platforms.base import Deps

T = TypeVar("T")

#: how long a platform may take to list a post it has created (seconds)
LISTING_LAG = 30.0
#: pause between two looks
LOOK_INTERVAL = 5.0
#: looks at most per lookup (bounds the work if the clock does not move)
MAX_LOOKS = 60


class Inconclusive(Exception):
    """The window since the interrupted request did not pass: absence is not proven."""


def window_for(deps: Deps, request_limit: float | None = None) -> float:
    """Seconds after a send before a listing that lacks the post proves its absence."""
    return max(request_limit or 0.0, deps.http.timeout) + LISTING_LAG


async def settled_lookup(
    look: Callable[[], Awaitable[T | None]],
    *,
    sent_at: float,
    window: float,
    deps: Deps,
    interval: float = LOOK_INTERVAL,
) -> T | None:
    """`look()` until it finds the post (returned) or `window` seconds have passed since
    `sent_at` without it (None: absent). Raises Inconclusive when neither happened."""
    for _ in range(MAX_LOOKS):
        found = await look()
        if found is not None:
            return found
        left = sent_at + window - deps.clock()
        if left <= 0:
            return None
        await deps.sleep(min(interval, left))
    raise Inconclusive
