"""Connecting a Threads profile: Meta's authorization code, then the 60-day token.

Docs: https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions,
https://developers.facebook.com/docs/threads/get-started/long-lived-tokens.
The browser goes to threads.net/oauth/authorize (`authorize_url`); the code is redeemed
at graph.threads.net/oauth/access_token for a short-lived token (1 h) and the Threads
user id, which `th_exchange_token` turns into a 60-day token. From there the adapter
renews it in its last week (`_graph/session.py`, `octopost/upkeep.py`).

Threads' token answer does not list the scopes granted. The publishing quota
(`/me/threads_publishing_limit`) needs `threads_content_publish`, so reading it once
tells whether the user unticked publishing: then nothing is stored.
"""

from __future__ import annotations

from octopost.platforms._connect import Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms._graph.errors import PERMISSION_CODES, graph_error
from octopost.platforms._graph.oauth import MetaToken, long_lived, signin_http
from octopost.platforms.errors import RejectedError
from octopost.platforms.threads.api import EXCHANGE_GRANT
from octopost.platforms.threads.api import FLOW as CONTAINERS

#: threads_manage_replies to publish a thread's replies, threads_read_replies to find
#: a reply whose publish answer was lost (it is listed under its parent's replies)
SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_replies",
    "threads_read_replies",
)


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
    await _may_publish(ctx, str(creds["access_token"]))
    return creds


async def _may_publish(ctx: FlowContext, access_token: str) -> None:
    version = ctx.settings.api_version.strip("/")
    resp = await signin_http(ctx).request(
        "GET",
        f"{ctx.settings.base_url}/{version}/me/{CONTAINERS.quota_edge}",
        params={"fields": "quota_usage", "access_token": access_token},
        ok=(200, 400, 403),
    )
    err = graph_error(resp) if resp.status != 200 else None
    if err is not None and err.number in PERMISSION_CODES:
        raise RejectedError(
            "Threads granted access without threads_content_publish, which Octopost needs "
            "to publish: connect again and allow everything asked"
        )


FLOW = OAuthFlow(
    needs_secret=True,
    # threads_basic is required by Meta; threads_content_publish to post
    scopes=SCOPES,
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url="https://developers.facebook.com/apps/ (a Threads use case app)",
    pkce=False,  # Meta's code flow takes no PKCE; the app secret proves the client
    client_auth="form",
    scope_separator=",",
    token=MetaToken,
)
