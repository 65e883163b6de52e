"""Connecting a Facebook Page: Facebook Login, a long-lived user token, then the Page.

Docs: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow,
https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived,
https://developers.facebook.com/docs/pages-api/getting-started.

1. The browser goes to www.facebook.com/{version}/dialog/oauth (`authorize_url`),
   where the user grants the scopes and picks the Pages the app may use.
2. The connect service redeems the code at /{version}/oauth/access_token for a
   short-lived user token (1-2 h); `_credentials` exchanges it (`fb_exchange_token`)
   for a long-lived one and checks the permissions granted (`/me/permissions`:
   Facebook's token answer does not list them).
3. `_choices` lists the Pages (`/me/accounts`, every page of the answer) the user may
   create content on; the connect service asks which one (one: no question), and
   `_choose` keeps that Page's token. A Page token from a long-lived user token has no
   expiry (it ends when the user removes the app, changes password or loses the
   role; then the account is `reauth_required`); there is no refresh grant.

The user token is only held while the choice is open (the connect service keeps it
encrypted for 10 minutes); the account stores the Page id, the Page token and the
app's secret (every call then carries `appsecret_proof`, which apps with "Require App
Secret" on need).
"""

from __future__ import annotations

from typing import Any

import msgspec

from octopost.platforms._connect import Choice, Credentials, FlowContext, Grant, OAuthFlow
from octopost.platforms._graph.oauth import MetaToken, graph_token, proof, signin_http
from octopost.platforms.errors import RejectedError

SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
#: /me/accounts pages read at most (of 100 Pages each)
MAX_LIST_PAGES = 10
#: the Page task that allows publishing
CREATE_CONTENT = "CREATE_CONTENT"


class PageEntry(msgspec.Struct):
    id: str
    name: str = ""
    username: str = ""
    access_token: str = ""
    #: absent when the token may not read them: then the Page is offered anyway
    tasks: list[str] | None = None


class PagePaging(msgspec.Struct):
    next: str = ""


class PageList(msgspec.Struct):
    data: list[PageEntry] = []
    paging: PagePaging | None = None


def _graph(ctx: FlowContext, path: str) -> str:
    version = ctx.settings.api_version.strip("/")
    base = ctx.settings.base_url.rstrip("/")
    return f"{base}/{version}/{path}" if version else f"{base}/{path}"


def _token_endpoint(ctx: FlowContext) -> str:
    return _graph(ctx, "oauth/access_token")


async def _credentials(ctx: FlowContext, grant: Grant) -> Credentials:
    """The long-lived user token (held until a Page is chosen), its scopes checked."""
    secret = grant.app.client_secret
    if not secret:
        raise RejectedError(
            "Facebook exchanges tokens only with the app's secret: set "
            "platforms.facebook.client_secret"
        )
    http = signin_http(ctx)
    user_token, _ = await graph_token(
        http,
        _token_endpoint(ctx),
        {
            "grant_type": "fb_exchange_token",
            "client_id": grant.app.client_id,
            "client_secret": secret,
            "fb_exchange_token": grant.token.access_token,
        },
    )
    resp = await http.request(
        "GET",
        _graph(ctx, "me/permissions"),
        params={"access_token": user_token, **proof(user_token, secret)},
    )
    rows = resp.json().get("data") if isinstance(resp.json(), dict) else None
    granted = {
        str(row.get("permission"))
        for row in rows or []
        if isinstance(row, dict) and row.get("status") == "granted"
    }
    missing = [scope for scope in SCOPES if scope not in granted]
    if missing:
        raise RejectedError(
            f"Facebook granted access without {', '.join(missing)}, which Octopost needs to "
            "publish to a Page: connect again and allow everything asked"
        )
    return {"user_access_token": user_token, "app_secret": secret}


async def _pages(ctx: FlowContext, held: Credentials) -> list[PageEntry]:
    """Every Page the user granted and may publish on (all pages of /me/accounts)."""
    token, secret = str(held["user_access_token"]), str(held.get("app_secret") or "")
    http = signin_http(ctx)
    url = _graph(ctx, "me/accounts")
    params: dict[str, str] | None = {
        "fields": "id,name,username,access_token,tasks",
        "limit": "100",
        "access_token": token,
        **proof(token, secret),
    }
    found: list[PageEntry] = []
    for _ in range(MAX_LIST_PAGES):
        listing = (await http.request("GET", url, params=params)).decode(PageList)
        found += listing.data
        nxt = listing.paging.next if listing.paging else ""
        if not nxt or not listing.data:
            break
        # `next` carries the cursor (and usually the token: then nothing is added)
        carried = "access_token=" in nxt.partition("?")[2]
        url, params = nxt, None if carried else {"access_token": token, **proof(token, secret)}
    usable = [p for p in found if p.access_token and (p.tasks is None or CREATE_CONTENT in p.tasks)]
    if not usable:
        raise RejectedError(
            "Facebook shows no Page this login may publish on: choose at least one Page you "
            "manage (with the 'create content' task) in the Facebook dialog"
        )
    return usable


async def _choices(ctx: FlowContext, held: Credentials) -> list[Choice]:
    return [
        Choice(id=p.id, name=p.name or p.id, username=p.username or None)
        for p in await _pages(ctx, held)
    ]


async def _choose(ctx: FlowContext, held: Credentials, page_id: str) -> Credentials:
    """The chosen Page's own token (read again: the list is not kept)."""
    page = next((p for p in await _pages(ctx, held) if p.id == page_id), None)
    if page is None:
        raise RejectedError(
            f"Facebook no longer lists the Page {page_id} for this login: connect again"
        )
    creds: dict[str, Any] = {"page_id": page.id, "page_access_token": page.access_token}
    if held.get("app_secret"):
        creds["app_secret"] = held["app_secret"]
    return creds


FLOW = OAuthFlow(
    needs_secret=True,
    scopes=SCOPES,
    token_endpoint=_token_endpoint,
    credentials=_credentials,
    register_url="https://developers.facebook.com/apps/ (an app with Facebook Login for Business)",
    pkce=False,
    client_auth="form",
    scope_separator=",",
    token=MetaToken,
    choices=_choices,
    choose=_choose,
)
