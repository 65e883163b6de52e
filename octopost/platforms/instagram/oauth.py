"""Connecting an Instagram professional account: Instagram Login's authorization code,
then the 60-day token.

Docs: https://developers.facebook.com/documentation/instagram-platform/instagram-api-with-instagram-login/business-login,
https://developers.facebook.com/documentation/instagram-platform/reference/access_token.
The browser goes to www.instagram.com/oauth/authorize (`authorize_url`); the code is
redeemed at api.instagram.com/oauth/access_token (`auth_url`) for a short-lived token
(1 h) and the scopes granted (`permissions`, checked by the connect service), which
`ig_exchange_token` on graph.instagram.com turns into a 60-day token. The user id in
that answer is app-scoped: `verify()` stores the professional account id from /me.
From there the adapter renews the token in its last week (`_graph/session.py`,
`octopost/upkeep.py`).

The Facebook Login variant (base_url https://graph.facebook.com) is connected with a
pasted Page token and the account id, not here.
"""

from __future__ import annotations

from octopost.platforms._connect import Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms._graph.oauth import MetaToken, long_lived
from octopost.platforms.errors import RejectedError
from octopost.platforms.instagram.api import EXCHANGE_GRANT


def _token_endpoint(ctx: FlowContext) -> str:
    return (ctx.settings.auth_url or ctx.settings.base_url) + "/oauth/access_token"


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    if "graph.facebook.com" in ctx.settings.base_url:
        raise RejectedError(
            "Connecting Instagram in the browser uses Instagram Login: leave "
            "platforms.instagram.base_url at https://graph.instagram.com (the Facebook "
            "Login variant connects with a pasted token and user_id)"
        )
    return await long_lived(
        ctx,
        ctx.settings.base_url + "/access_token",
        grant=EXCHANGE_GRANT,
        app_secret=grant.app.client_secret,
        short=grant.token.access_token,
        now=grant.now,
    )


FLOW = OAuthFlow(
    needs_secret=True,
    scopes=("instagram_business_basic", "instagram_business_content_publish"),
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url=(
        "https://developers.facebook.com/apps/ (an app with the Instagram product, "
        "'API setup with Instagram login')"
    ),
    pkce=False,
    client_auth="form",
    scope_separator=",",
    token=MetaToken,
)
