"""Connecting a Threads profile: Meta's authorization code, then the 60-day token.

Docs: https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions,
https://developers.facebook.com/docs/threads/get-started/long-lived-tokens.
The browser goes to threads.net/oauth/authorize (`authorize_url`); the code is redeemed
at graph.threads.net/oauth/access_token for a short-lived token (1 h) and the Threads
user id, which `th_exchange_token` turns into a 60-day token. From there the adapter
renews it in its last week (`_graph/session.py`, `octopost/upkeep.py`).

Threads' token answer does not list the scopes granted; a profile that unticked
`threads_content_publish` is connected, and its first publish is refused (#10), which
asks the user to reconnect.
"""

from __future__ import annotations

from octopost.platforms._connect import Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms._graph.oauth import MetaToken, long_lived
from octopost.platforms.threads.api import EXCHANGE_GRANT


def _token_endpoint(ctx: FlowContext) -> str:
    return ctx.settings.base_url + "/oauth/access_token"  # unversioned


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    token = grant.token
    assert isinstance(token, MetaToken)
    creds = await long_lived(
        ctx,
        ctx.settings.base_url + "/access_token",
        grant=EXCHANGE_GRANT,
        app_secret=grant.app.client_secret,
        short=token.access_token,
        now=grant.now,
    )
    if token.user:
        creds["user_id"] = token.user  # the Threads user id (verify() checks it)
    return creds


FLOW = OAuthFlow(
    # threads_basic is required by Meta; threads_content_publish to post
    scopes=("threads_basic", "threads_content_publish"),
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url="https://developers.facebook.com/apps/ (a Threads use case app)",
    pkce=False,  # Meta's code flow takes no PKCE; the app secret proves the client
    client_auth="form",
    scope_separator=",",
    token=MetaToken,
)
