"""Connecting a LinkedIn member: OAuth 2.0 authorization code (3-legged).

Docs: https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow,
https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2,
https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens.
`openid profile` give /v2/userinfo, whose `sub` is the member URN posts are authored
by (`verify()` records it); `w_member_social` lets the member post. The client secret
goes in the form; PKCE is for LinkedIn's native-app clients only, so none here. Access
tokens live 60 days; only apps approved for programmatic refresh get a refresh token
(then `api.py` refreshes), otherwise the member reconnects when it expires.
"""

from __future__ import annotations

from octopost.platforms._connect import Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms._oauth import Token


class LinkedinToken(Token):
    refresh_token_expires_in: float | None = None


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    token = grant.token
    creds: Credentials = {"access_token": token.access_token}
    if token.expires_in:
        creds["expires_at"] = grant.now + float(token.expires_in)
    if token.refresh_token:  # the app is approved for programmatic refresh
        creds |= {
            "refresh_token": token.refresh_token,
            "client_id": grant.app.client_id,
            "client_secret": grant.app.client_secret,
        }
    return creds


FLOW = OAuthFlow(
    scopes=("openid", "profile", "w_member_social"),
    token_endpoint=lambda ctx: ctx.settings.auth_url + "/oauth/v2/accessToken",
    credentials=_credentials,
    register_url="https://www.linkedin.com/developers/apps",
    pkce=False,
    client_auth="form",
    token=LinkedinToken,
)
