"""Thin handlers of the OAuth connect flow: start, the platform's callback, a choice.

The callback needs no API key: the single-use state it carries, bound to the key that
started the flow, is the credential. A browser gets a small page (or is sent to the
flow's `return_to`); `Accept: application/json` gets JSON. Its errors go through the
one error map (`web/errors.py`), which renders them for a browser the same way.
"""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath
from litestar.status_codes import HTTP_303_SEE_OTHER

from octopost.access import Permission, needs
from octopost.connect import Finished
from octopost.models import iso
from octopost.services import Services
from octopost.web.openapi import errors
from octopost.web.schemas import (
    AccountResponse,
    ChooseRequest,
    ConnectChoice,
    ConnectResult,
    ConnectStarted,
    StartConnectRequest,
)

Svc = NamedDependency[Services]
Req = Request[Any, Any, Any]

#: routes whose errors a browser sees as a page (web/errors.py reads this opt)
BROWSER = {"browser_errors": True}


def wants_json(request: Req) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def page(title: str, text: str, status: int = 200) -> Response[str]:
    """A small self-contained page (no scripts, no external assets)."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)} · Octopost</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;"
        "padding:0 1rem;line-height:1.5'>"
        f"<h1 style='font-size:1.4rem'>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p></body></html>"
    )
    return Response(
        body,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def redirect(target: str, params: dict[str, str]) -> Response[None]:
    joiner = "&" if "?" in target else "?"
    return Response(
        None,
        status_code=HTTP_303_SEE_OTHER,
        headers={"Location": target + joiner + urlencode(params), "Cache-Control": "no-store"},
    )


def result(done: Finished) -> ConnectResult:
    if done.account is not None:
        return ConnectResult(
            status="connected", platform=done.platform, account=AccountResponse.of(done.account)
        )
    return ConnectResult(
        status="choose",
        platform=done.platform,
        connection=done.connection,
        choices=[ConnectChoice(c.id, c.name, c.username, c.avatar_url) for c in done.choices],
        expires_at=iso(done.expires_at),
    )


class ConnectController(Controller):
    path = "/v1/accounts/connect"
    tags = ["Accounts"]

    @post(
        "/",
        opt=needs(Permission.ACCOUNTS_WRITE),
        summary="Start connecting an account (OAuth)",
        description="Answers the platform's authorization URL: send the user's browser "
        "there. The platform sends it back to `GET /v1/oauth/callback/{platform}`, which "
        "connects the account. The `state` works once, for this key and platform, for 10 "
        "minutes. Needs the platform's `client_id`/`client_secret` in the config (Mastodon: "
        "`instance_url` instead; Octopost registers an app on the instance).",
        status_code=201,
        responses=errors(413, 415, 422, 502, s422="Unknown platform, app not configured, bad URL"),
    )
    async def start(
        self,
        request: Req,
        services: Svc,
        data: Annotated[StartConnectRequest, Body()],
    ) -> ConnectStarted:
        started = await services.connect.start(
            request.user.id,
            data.platform,
            redirect_uri=data.redirect_uri,
            return_to=data.return_to,
            instance_url=data.instance_url,
            extra=tuple(data.extra),
        )
        return ConnectStarted(started.authorize_url, started.state, iso(started.expires_at) or "")

    @get(
        "/{connection:str}",
        opt=needs(Permission.ACCOUNTS_WRITE),
        summary="The choices of a connection waiting for one",
        description="After a callback answered `status: choose` (or sent the browser to "
        "`return_to?choose=...&connection=...`): the Pages or channels to pick from.",
        responses=errors(404, s404="No such connection waiting (or it expired)"),
    )
    async def pending(
        self, request: Req, services: Svc, connection: FromPath[str]
    ) -> ConnectResult:
        return result(await services.connect.pending(request.user.id, connection))

    @post(
        "/{connection:str}/choose",
        opt=needs(Permission.ACCOUNTS_WRITE),
        summary="Pick the Page or channel of a connection",
        description="After a callback answered `status: choose`: connects the chosen one.",
        status_code=201,
        responses=errors(
            413, 415, 404, 422, 502, s404="No such connection waiting (or it expired)"
        ),
    )
    async def choose(
        self,
        request: Req,
        services: Svc,
        connection: FromPath[str],
        data: Annotated[ChooseRequest, Body()],
    ) -> AccountResponse:
        record = await services.connect.choose(request.user.id, connection, data.choice)
        return AccountResponse.of(record)


@get(
    "/v1/oauth/callback/{platform:str}",
    opt={"exclude_from_auth": True, **BROWSER},
    security=[],
    tags=["Accounts"],
    summary="The platform's redirect back (OAuth callback)",
    description="Needs no API key: the `state` is the credential. Exchanges the `code`, "
    "verifies and stores the account. A browser gets a page saying who is connected (or "
    "is sent to the flow's `return_to`); `Accept: application/json` gets JSON. Errors "
    "(`error=access_denied`, an unknown, used or expired state, the state of another "
    "platform) store nothing.",
    responses=errors(422, 502),
)
async def oauth_callback(request: Req, services: Svc, platform: FromPath[str]) -> Response[Any]:
    params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    done = await services.connect.callback(platform, params)
    if wants_json(request):
        return Response(result(done), status_code=200)
    if done.return_to:
        if done.account is not None:
            return redirect(done.return_to, {"connected": platform, "account": done.account.id})
        return redirect(done.return_to, {"choose": platform, "connection": done.connection or ""})
    if done.account is not None:
        label = done.account.display_name or done.account.username
        return page(
            "Connected",
            f"Connected as @{done.account.username} ({label}) on {platform}. "
            "You can close this page.",
        )
    names = ", ".join(c.name for c in done.choices)
    return page(
        "Pick one",
        f"Access granted. Choose one of: {names} (connection {done.connection}), with "
        "POST /v1/accounts/connect/{connection}/choose, the dashboard or the command line.",
    )
