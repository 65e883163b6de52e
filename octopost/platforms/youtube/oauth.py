"""Connecting a YouTube channel: Google's OAuth 2.0 for installed apps.

Docs: https://developers.google.com/identity/protocols/oauth2/native-app (desktop
clients: any loopback port), /web-server (web clients: registered redirect URIs).

- `access_type=offline` brings the refresh token; Google sends one only from its consent
  screen, so `prompt=consent` shows it on every connect (a reconnect would get no
  refresh token otherwise), and `select_account` shows the account chooser, where the
  user picks their Google account or a brand account: the channel to connect.
- PKCE S256, as Google asks of installed apps. A "Desktop app" OAuth client takes any
  loopback redirect (http://127.0.0.1:<port>/...), so a server on localhost and the
  command line's loopback listener need no redirect URI registered; a "Web application"
  client needs `<public_url>/v1/oauth/callback/youtube` registered.
- The channel: `channels?mine=true` lists the channels the grant covers (one: the
  chooser's pick). More than one is offered as a choice; the one chosen is kept in the
  credentials (`channel_id`) so that the adapter publishes as, and verifies, that one.
"""

from __future__ import annotations

from octopost.platforms._connect import Choice, Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms.errors import RejectedError
from octopost.platforms.youtube.api import LABEL, TOKEN_LIFETIME, Channels

AUTH = "https://www.googleapis.com/auth/"
#: upload videos; read the channel (channels.list does not document youtube.upload)
SCOPES = (AUTH + "youtube.upload", AUTH + "youtube.readonly")


def _token_endpoint(ctx: FlowContext) -> str:
    return f"{ctx.settings.auth_url}/token"


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    token = grant.token
    if not token.refresh_token:
        # prompt=consent should always bring one; without it Octopost could post for an
        # hour only
        raise RejectedError(
            f"Google sent no refresh token for {LABEL}: remove Octopost's access at "
            "https://myaccount.google.com/permissions, then connect again."
        )
    return {
        "client_id": grant.app.client_id,
        "client_secret": grant.app.client_secret,
        "refresh_token": token.refresh_token,
        "access_token": token.access_token,
        "expires_at": grant.now + float(token.expires_in or TOKEN_LIFETIME),
    }


async def _channels(ctx: FlowContext, creds: Credentials) -> list[Choice]:
    resp = await ctx.http.request(
        "GET",
        f"{ctx.settings.base_url}/youtube/v3/channels",
        params={"part": "snippet", "mine": "true"},
        headers={"Authorization": f"Bearer {creds['access_token']}"},
    )
    items = resp.decode(Channels).items
    if not items:
        raise RejectedError(
            f"This Google account has no {LABEL} channel: create one (or pick a brand "
            "account that has one in Google's account chooser), then connect again."
        )
    return [
        Choice(
            id=c.id,
            name=c.snippet.title or c.id,
            username=(c.snippet.customUrl or "").lstrip("@") or None,
            avatar_url=c.snippet.thumbnails["default"].url
            if "default" in c.snippet.thumbnails
            else None,
        )
        for c in items
    ]


async def _choose(ctx: FlowContext, creds: Credentials, channel_id: str) -> Credentials:
    return {**creds, "channel_id": channel_id}


FLOW = OAuthFlow(
    scopes=SCOPES,
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url="https://console.cloud.google.com/apis/credentials",
    authorize_params={"access_type": "offline", "prompt": "consent select_account"},
    loopback=True,
    # the token endpoint refuses a request without the app secret (desktop apps too)
    needs_secret=True,
    choices=_channels,
    choose=_choose,
)
