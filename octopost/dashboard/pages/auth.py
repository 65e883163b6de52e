"""Sign in with an API key (exchanged for a session cookie), sign out."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from octopost.dashboard import session as sess
from octopost.dashboard.render import FORM_ERROR, Req, page
from octopost.services import Services

Svc = NamedDependency[Services]


def _next(value: Any) -> str:
    """Only a path on this site (never //host or a URL) is followed after signing in."""
    target = str(value or "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def _signin_page(
    request: Req, services: Services, token: str, next_path: str, error: str = "", status: int = 200
) -> Template:
    response = await page(
        services,
        None,
        "signin.html",
        status=status,
        signin_csrf=token,
        next_path=next_path,
        error=error,
    )
    response.set_cookie(sess.SIGNIN_COOKIE, token, max_age=3600, **sess.cookie_flags(request))
    return response


@get("/signin", name="signin")
async def signin_form(request: Req, services: Svc) -> Template | Redirect:
    try:
        await sess.provide_viewer(request, services)
        return Redirect(_next(request.query_params.get("next")), status_code=303)
    except sess.SignInRequired:
        pass
    token = sess.new_token()
    return await _signin_page(request, services, token, _next(request.query_params.get("next")))


@post("/signin", status_code=303)
async def signin(request: Req, services: Svc) -> Template | Redirect:
    form = await request.form()
    expected = request.cookies.get(sess.SIGNIN_COOKIE, "")
    sess.check_token(request, expected, form.get(sess.CSRF_FIELD) if expected else None)
    next_path = _next(form.get("next"))
    key = await services.keys.authenticate(str(form.get("api_key", "")).strip())
    if key is None:
        # The API's words for a bad key (web/auth.py); a new sign-in token for the retry.
        return await _signin_page(
            request,
            services,
            sess.new_token(),
            next_path,
            "Invalid or revoked API key",
            status=FORM_ERROR,
        )
    token, _expires = await sess.start_session(services, key)
    response = Redirect(next_path, status_code=303)
    response.set_cookie(
        sess.COOKIE, token, max_age=int(sess.MAX_AGE.total_seconds()), **sess.cookie_flags(request)
    )
    response.delete_cookie(sess.SIGNIN_COOKIE, path="/")
    return response


@post("/signout", status_code=303)
async def signout(request: Req, services: Svc, viewer: sess.Who) -> Redirect:
    await sess.checked_form(request, viewer)
    await services.store.sessions.delete(viewer.token_hash)
    response = Redirect("/signin", status_code=303)
    response.delete_cookie(sess.COOKIE, path="/")
    return response
