"""Connect with the platform's own sign-in page (OAuth): the accounts page's Connect and
Reconnect buttons, and the chooser when a grant offers several Pages or channels.

All of it runs the connect API's flow (`services.connect`, octopost/connect.py), the
same as `POST /v1/accounts/connect` and `octopost accounts connect`: the dashboard starts
it for the signed-in key and shows where it ended, nothing more.

- Start (a form POST, CSRF-checked) answers a short page that sends the browser on to
  the platform (a meta refresh, and a link to press). Not a 303: the dashboard's
  Content-Security-Policy says `form-action 'self'`, which browsers also apply to the
  redirects of a form's answer, and the platform is another origin.
- The platform sends the browser to the API's callback, which sends it on to `LANDING`
  with the outcome in the query. That request comes from the platform's site, so the
  browser leaves the session cookie out (SameSite=Strict): the landing page needs no
  session and moves on to /accounts itself, a same-site navigation that carries it.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from octopost import __version__
from octopost.access import Permission, needs
from octopost.dashboard.render import Req, notify, page
from octopost.dashboard.session import Who, checked_form
from octopost.errors import OctopostError
from octopost.platforms import ADAPTERS
from octopost.services import Services

Svc = NamedDependency[Services]

#: where the callback sends the browser back to (no session needed there)
LANDING = "/accounts/connected"
#: the callback's query parameters the landing page passes on to /accounts
OUTCOME = ("connected", "account", "choose", "connection", "error", "error_description")


def _label(platform: str) -> str:
    return ADAPTERS[platform].label if platform in ADAPTERS else platform


@post("/accounts/{platform:str}/oauth", status_code=200, opt=needs(Permission.ACCOUNTS_WRITE))
async def start(
    request: Req, services: Svc, viewer: Who, platform: FromPath[str]
) -> Template | Redirect:
    form = await checked_form(request, viewer)
    instance = str(form.get("instance_url", "")).strip() or None
    try:
        started = await services.connect.start(
            viewer.key.id, platform, return_to=LANDING, instance_url=instance
        )
    except OctopostError as exc:  # no app configured, unknown platform, a bad server URL
        await notify(services, viewer, f"Not connected: {exc.message}")
        return Redirect("/accounts", status_code=303)
    return await page(
        services,
        viewer,
        "leaving.html",
        nav="accounts",
        label=_label(platform),
        authorize_url=started.authorize_url,
    )


@get(LANDING, name="connected")
async def connected(request: Req) -> Template:
    query = {k: str(request.query_params[k]) for k in OUTCOME if k in request.query_params}
    target = "/accounts" + ("?" + urlencode(query) if query else "")
    if query.get("choose") and query.get("connection"):  # several Pages/channels: pick one
        target = "/accounts/choose/" + quote(query["connection"], safe="")
    return Template(
        template_name="landing.html",
        context={
            "target": target,
            "viewer": None,
            "csrf": "",
            "csrf_field": "",
            "notice": None,
            "nav": "",
            "version": __version__,
        },
    )


@get("/accounts/choose/{connection:str}", name="choose", opt=needs(Permission.ACCOUNTS_WRITE))
async def choose_form(services: Svc, viewer: Who, connection: FromPath[str]) -> Template:
    pending = await services.connect.pending(viewer.key.id, connection)
    return await page(
        services,
        viewer,
        "choose.html",
        nav="accounts",
        label=_label(pending.platform),
        connection=connection,
        choices=pending.choices,
    )


@post("/accounts/choose/{connection:str}", status_code=303, opt=needs(Permission.ACCOUNTS_WRITE))
async def choose(request: Req, services: Svc, viewer: Who, connection: FromPath[str]) -> Redirect:
    form = await checked_form(request, viewer)
    record = await services.connect.choose(viewer.key.id, connection, str(form.get("choice", "")))
    label = _label(record.platform)
    await notify(services, viewer, f"Connected {label} as @{record.username}.")
    return Redirect("/accounts", status_code=303)
