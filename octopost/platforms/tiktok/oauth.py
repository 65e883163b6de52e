"""Connecting a TikTok account: Login Kit's authorization code.

Docs: https://developers.tiktok.com/doc/login-kit-web, /doc/login-kit-desktop,
/doc/oauth-user-access-token-management.

- The app's type decides PKCE. A desktop app is the only type TikTok lets redirect to
  http://127.0.0.1 or localhost (register `http://127.0.0.1:*/v1/oauth/callback/tiktok`
  and, for the command line's listener, `http://127.0.0.1:*/callback`: any port), and
  it must send a code challenge, which TikTok's desktop kit takes
  hex-encoded (its example writes `SHA256(verifier)` in hex; base64url gets "Code
  verifier or code challenge is invalid"). A web app redirects over https only and sends
  none. So a loopback redirect URI means a desktop app: PKCE, hex; any other a web app.
- The app is named `client_key` (on the authorize URL and in the token form), scopes are
  comma-separated, the app's secret goes in the form.
- Scopes: `user.info.basic` (open_id, display name, avatar) and `video.publish` (Direct
  Post; creator_info gives the username with it). TikTok's consent page lets the user
  untick one, and the connect service then refuses the grant.
- Refresh tokens rotate (the old one dies once a new one is issued): `api.py` stores the
  new pair before using it, through `_oauth.TokenKeeper`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from octopost.platforms._connect import Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms.tiktok.api import TOKEN_LIFETIME, TOKEN_PATH, TiktokToken

SCOPES = ("user.info.basic", "video.publish")


def desktop_app(redirect_uri: str) -> bool:
    """Whether this redirect URI is one only a desktop app may use (a loopback host)."""
    return (urlsplit(redirect_uri).hostname or "") in ("127.0.0.1", "localhost", "::1")


def _token_endpoint(ctx: FlowContext) -> str:
    return (ctx.settings.auth_url or ctx.settings.base_url) + TOKEN_PATH


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    token = grant.token
    creds: Credentials = {
        "client_key": grant.app.client_id,
        "client_secret": grant.app.client_secret,
        "access_token": token.access_token,
        "refresh_token": token.refresh_token or "",
        "expires_at": grant.now + float(token.expires_in or TOKEN_LIFETIME),
    }
    if isinstance(token, TiktokToken) and token.open_id:
        creds["open_id"] = token.open_id
    return creds


FLOW = OAuthFlow(
    scopes=SCOPES,
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url="https://developers.tiktok.com/apps/",
    pkce=desktop_app,
    pkce_encoding="hex",
    scope_separator=",",
    client_id_param="client_key",
    token=TiktokToken,
    # the token endpoint refuses a request without the app secret (desktop apps too)
    needs_secret=True,
    # a desktop app registered with http://127.0.0.1:*/callback (README) takes the
    # command line's listener on any port
    loopback=True,
)
