"""Connecting a LinkedIn member: OAuth 2.0 authorization code (3-legged).

Docs: https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow,
https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2,
https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens.
`openid profile` give /v2/userinfo, whose `sub` is the member URN posts are authored
by (`verify()` records it); `w_member_social` lets the member post. The client secret
goes in the form; PKCE is for LinkedIn's native-app clients only, so none here. Access
tokens live 60 days; only apps approved for programmatic refresh get a refresh token
(then `api.py` refreshes), otherwise the member reconnects when it expires.

Company pages: asked for with the extra "organization" (Community Management API,
approval-gated): `w_organization_social` to post as a page and `r_organization_admin` to
list the member's pages (GET /rest/organizationAcls?q=roleAssignee), then the member
picks the page (or themself) and it becomes the credentials' `author`. Docs:
https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role
"""

from __future__ import annotations

from typing import Any

import msgspec
from yarl import URL

from octopost.platforms._connect import Choice, Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms._oauth import Token
from octopost.platforms.errors import RejectedError

PERSON = "urn:li:person:"
ORGANIZATION = "urn:li:organization:"
#: page roles that may post as the page
POSTING_ROLES = frozenset({"ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER", "CONTENT_ADMIN"})


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


class Acl(msgspec.Struct):
    organization: str = ""
    role: str = ""
    state: str = ""


class Acls(msgspec.Struct):
    elements: list[Acl] = []


class Me(msgspec.Struct):
    sub: str
    name: str | None = None


class Page(msgspec.Struct):
    localizedName: str | None = None
    vanityName: str | None = None


async def _get(ctx: FlowContext, creds: Credentials, path: str, **kw: Any) -> Any:
    headers = {
        "Authorization": f"Bearer {creds['access_token']}",
        "LinkedIn-Version": ctx.settings.api_version,
        "X-Restli-Protocol-Version": "2.0.0",
    }
    url = URL(ctx.settings.base_url + path, encoded=True)
    return await ctx.http.request("GET", url, headers=headers, safe_to_retry=True, **kw)


async def _choices(ctx: FlowContext, creds: Credentials) -> list[Choice]:
    """With "organization": the member and each page they may post as; else no question."""
    if "organization" not in ctx.extra:
        return []
    me = (await _get(ctx, creds, "/v2/userinfo")).decode(Me)
    query = "/rest/organizationAcls?q=roleAssignee&state=APPROVED"
    acls = (await _get(ctx, creds, query)).decode(Acls).elements
    pages = []
    for acl in acls:
        if acl.role not in POSTING_ROLES or not acl.organization.startswith(ORGANIZATION):
            continue
        org_id = acl.organization.removeprefix(ORGANIZATION)
        resp = await _get(ctx, creds, f"/rest/organizations/{org_id}", ok=(200, 403))
        page = resp.decode(Page) if resp.status == 200 else Page()
        pages.append(
            Choice(acl.organization, page.localizedName or acl.organization, page.vanityName)
        )
    if not pages:
        raise RejectedError(
            "This LinkedIn member administers no company page Octopost may post to (page "
            "roles: administrator, content admin, sponsored content poster)."
        )
    return [Choice(PERSON + me.sub, me.name or "Your profile"), *pages]


async def _choose(ctx: FlowContext, creds: Credentials, choice: str) -> Credentials:
    return {**creds, "author": choice}  # verify() checks the member may post as it


FLOW = OAuthFlow(
    needs_secret=True,
    scopes=("openid", "profile", "w_member_social"),
    token_endpoint=lambda ctx: ctx.settings.auth_url + "/oauth/v2/accessToken",
    credentials=_credentials,
    register_url="https://www.linkedin.com/developers/apps",
    pkce=False,
    client_auth="form",
    token=LinkedinToken,
    extra_scopes={"organization": ("w_organization_social", "r_organization_admin")},
    choices=_choices,
    choose=_choose,
)
