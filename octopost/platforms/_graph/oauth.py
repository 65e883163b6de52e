"""Meta's sign-in steps after the authorization code, shared by Threads, Instagram
(Instagram Login) and Facebook Login; each platform's `oauth.py` declares its flow
(`_connect.OAuthFlow`) with these pieces.

The connect service redeems the code itself (a form POSTed to the token endpoint,
RFC 6749 4.1.3). What Meta adds is a second step: the short-lived token (1-2 hours)
that comes back is exchanged, server-side with the app's secret, for a long-lived one
(60 days): `GET .../access_token?grant_type=th_exchange_token|ig_exchange_token&
client_secret=...&access_token=<short>` (Threads, Instagram; docs:
developers.facebook.com/docs/threads/get-started/long-lived-tokens,
developers.facebook.com/documentation/instagram-platform/reference/access_token), or
`GET /{version}/oauth/access_token?grant_type=fb_exchange_token&client_id=...&
client_secret=...&fb_exchange_token=<short>` (Facebook,
developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived).

The result for Threads/Instagram is what `GraphSession` stores (`GraphCredentials`:
access_token, user_id, expires_at, issued_at), so the adapters and the upkeep job
renew it from there. Each step's refusal is a `RejectedError` with Meta's own reason;
Meta not answering is an `UnavailableError` (try again).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from octopost.platforms._connect import FlowContext
from octopost.platforms._graph.errors import TRANSIENT_CODES, describe, graph_error, reason
from octopost.platforms._http import PlatformHttp, Response
from octopost.platforms._oauth import Token
from octopost.platforms.errors import PlatformError, RejectedError, UnavailableError

#: the documented lifetime of a long-lived token, when an answer gives none
LONG_LIVED = 60 * 86400.0


class MetaToken(Token):
    """A Meta code exchange's answer, read in every shape Meta sends.

    Threads: `{access_token, user_id}` (the id a number or a string). Instagram:
    `{"data": [{access_token, user_id, permissions}]}` as documented, or the same
    object flat as many integrations read it; `permissions` (comma-separated or a
    list) are the scopes granted, copied to `scope` for the connect service's check.
    Facebook: `{access_token, token_type, expires_in}`.
    """

    user_id: int | str | None = None
    permissions: str | list[str] | None = None
    data: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not self.access_token and self.data:
            first = self.data[0]
            token = first.get("access_token")
            self.access_token = token if isinstance(token, str) else ""
            user_id = first.get("user_id")
            self.user_id = user_id if isinstance(user_id, int | str) else None
            permissions = first.get("permissions")
            if isinstance(permissions, str | list):
                self.permissions = permissions
        if self.scope is None and self.permissions is not None:
            names = (
                self.permissions.split(",")
                if isinstance(self.permissions, str)
                else [str(p) for p in self.permissions]
            )
            self.scope = " ".join(n.strip() for n in names if n.strip())

    @property
    def user(self) -> str:
        """`user_id` as text ("" when none was sent)."""
        return "" if self.user_id in (None, "") else str(self.user_id)


def _refused(resp: Response, now: float) -> PlatformError | None:
    """Every Meta error answer to a sign-in step, as a clear refusal (or a transient)."""
    err = graph_error(resp)
    if err is None:
        return None
    text = describe(err)
    if resp.status >= 500 or err.is_transient or err.number in TRANSIENT_CODES:
        return UnavailableError(f"{resp.label} is unavailable: {text}", status=resp.status)
    return RejectedError(f"{resp.label} refused the sign-in: {text}", status=resp.status)


def signin_http(ctx: FlowContext) -> PlatformHttp:
    """Requests for the sign-in steps: their refusals are no post's rejection."""
    return ctx.http.client.bind(ctx.label, reason=reason, classify=_refused, clock=ctx.clock)


def proof(token: str, app_secret: str) -> dict[str, str]:
    """`appsecret_proof` (HMAC-SHA256 of the token with the app's secret): Meta takes it
    always and requires it from apps with "Require App Secret" on."""
    if not app_secret:
        return {}
    digest = hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    return {"appsecret_proof": digest}


async def graph_token(http: PlatformHttp, url: str, params: Mapping[str, str]) -> tuple[str, float]:
    """One `GET .../access_token` step: (the new token, its lifetime in seconds)."""
    resp = await http.request("GET", url, params=params, safe_to_retry=True)
    data = resp.json()
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
        raise UnavailableError(f"{http.label} answered the token exchange with an unexpected body")
    life = data.get("expires_in")
    lifetime = float(life) if isinstance(life, int | float) and life > 0 else LONG_LIVED
    return data["access_token"], lifetime


async def long_lived(
    ctx: FlowContext, url: str, *, grant: str, app_secret: str, short: str, now: float
) -> dict[str, Any]:
    """Threads/Instagram: the 60-day token for the short one, as `GraphCredentials`."""
    if not app_secret:
        raise RejectedError(
            f"{ctx.label} exchanges tokens only with the app's secret: set "
            f"platforms.{ctx.platform}.client_secret"
        )
    token, lifetime = await graph_token(
        signin_http(ctx),
        url,
        {"grant_type": grant, "client_secret": app_secret, "access_token": short},
    )
    return {"access_token": token, "expires_at": now + lifetime, "issued_at": now}
