"""The web dashboard: server-rendered pages at `/` over the same services as the API.

Templates (Jinja2) and static files (CSS, JS, SVG icons) ship inside this package;
no page loads anything from another origin (the Content-Security-Policy says so too).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from octopost import __version__
from octopost.dashboard import filters
from octopost.dashboard.engine import LazyJinja
from octopost.dashboard.pages import accounts, auth, compose, keys, oauth, posts, webhooks
from octopost.dashboard.session import CsrfError, SignInRequired, provide_viewer
from octopost.errors import ForbiddenError, NotFoundError, OctopostError
from octopost.web.errors import DOMAIN_STATUS

HERE = Path(__file__).parent
log = logging.getLogger("octopost.dashboard")
Req = Request[Any, Any, Any]

#: pages hold the account's posts and secrets: never cached, never framed, nothing foreign
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _jinja() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from litestar.plugins.jinja import JinjaTemplateEngine

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters.install(env)
    return JinjaTemplateEngine.from_environment(env)


def template_config() -> TemplateConfig[LazyJinja]:
    return TemplateConfig(instance=LazyJinja(_jinja))


def _error_page(request: Req, status: int, title: str, message: str) -> Template:
    return Template(
        template_name="error.html",
        context={
            "title": title,
            "message": message,
            "status": status,
            "viewer": None,
            "csrf": "",
            "csrf_field": "",
            "notice": None,
            "nav": "",
            "version": __version__,
        },
        status_code=status,
        headers=SECURITY_HEADERS,
    )


def _sign_in(request: Req, exc: SignInRequired) -> Response[Any]:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = "/"
    location = "/signin" if target == "/" else f"/signin?next={quote(target, safe='/')}"
    return Redirect(location, status_code=303)


def _csrf(request: Req, exc: CsrfError) -> Template:
    return _error_page(
        request,
        403,
        "This form has expired",
        "The form was not sent by this dashboard session (its security token is missing "
        "or old). Go back, reload the page and send it again.",
    )


def _domain(request: Req, exc: OctopostError) -> Template:
    status = next((s for kind, s in DOMAIN_STATUS.items() if isinstance(exc, kind)), 400)
    titles = {NotFoundError: "Not found", ForbiddenError: "Not allowed with this key"}
    title = next((t for kind, t in titles.items() if isinstance(exc, kind)), "Something is wrong")
    return _error_page(request, status, title, exc.message)


def _http(request: Req, exc: HTTPException) -> Template:
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "Not found", str(exc.detail))
    if exc.status_code >= 500:
        return _error_page(
            request, exc.status_code, "Server error", "The details are in the server log."
        )
    return _error_page(request, exc.status_code, "Bad request", str(exc.detail))


def _unexpected(request: Req, exc: Exception) -> Template:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(
        request, 500, "Server error", "Something went wrong; the details are in the server log."
    )


async def _security_headers(response: Response[Any]) -> Response[Any]:
    # a coroutine: Litestar would run a plain function in a worker thread
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


PAGES = [
    auth.signin_form,
    auth.signin,
    auth.signout,
    posts.list_posts,
    posts.show_post,
    posts.publish,
    posts.retry,
    posts.confirm_delete,
    posts.delete_post,
    compose.compose,
    compose.edit,
    compose.create,
    compose.update,
    compose.check,
    accounts.accounts,
    accounts.connect_form,
    accounts.connect,
    accounts.confirm_disconnect,
    accounts.disconnect,
    oauth.start,
    oauth.connected,
    oauth.choose_form,
    oauth.choose,
    webhooks.webhooks,
    webhooks.create,
    webhooks.show,
    webhooks.update,
    webhooks.ping,
    webhooks.confirm_delete,
    webhooks.delete,
    keys.keys,
    keys.create,
    keys.confirm_revoke,
    keys.revoke,
]


def dashboard_routes() -> list[Router]:
    """Every page and the static files. The API's key middleware skips them
    (`exclude_from_auth`); the session dependency signs pages in instead."""
    static = create_static_files_router(
        path="/static",
        directories=[HERE / "static"],
        opt={"exclude_from_auth": True},
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600),
    )
    pages = Router(
        path="/",
        route_handlers=PAGES,
        dependencies={"viewer": Provide(provide_viewer)},
        exception_handlers={
            SignInRequired: _sign_in,
            CsrfError: _csrf,
            OctopostError: _domain,
            HTTPException: _http,
            Exception: _unexpected,
        },
        after_request=_security_headers,
        opt={"exclude_from_auth": True},
        include_in_schema=False,
    )
    return [pages, static]
