"""Rendering pages, one-time notices, and the idempotent form action."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from octopost import __version__
from octopost.dashboard.session import CSRF_FIELD, Viewer
from octopost.models import utcnow
from octopost.platforms import ADAPTERS
from octopost.services import Services
from octopost.web.idempotency import wait_for_first

Req = Request[Any, Any, Any]
IDEMPOTENCY_FIELD = "idempotency_key"
#: the stored "response" of a dashboard form action is where it redirected to
_LOCATION = "text/uri-list"

#: a form that comes back with the services' errors is a page that rendered fine (200):
#: browsers treat a 4xx document as a failed load, and the errors are in its content
FORM_ERROR = 200

LABELS = {platform: cls.label for platform, cls in ADAPTERS.items()}


def new_idempotency_key() -> str:
    return "dash_" + secrets.token_urlsafe(18)


async def page(
    services: Services,
    viewer: Viewer | None,
    template: str,
    *,
    status: int = 200,
    nav: str = "",
    **context: Any,
) -> Template:
    notice = await services.store.sessions.pop_notice(viewer.token_hash) if viewer else None
    return Template(
        template_name=template,
        context={
            "viewer": viewer,
            "csrf_field": CSRF_FIELD,
            "csrf": viewer.csrf if viewer else "",
            "notice": notice,
            "nav": nav,
            "labels": LABELS,
            "version": __version__,
            "idempotency_key": new_idempotency_key(),
            **context,
        },
        status_code=status,
    )


async def notify(services: Services, viewer: Viewer, message: str) -> None:
    """Show `message` once on the next page (never a secret)."""
    await services.store.sessions.set_notice(viewer.token_hash, message)


def _fingerprint(request: Req, form: FormMultiDict) -> bytes:
    fields = sorted(
        (k, str(v)) for k, v in form.multi_items() if k not in (CSRF_FIELD, IDEMPOTENCY_FIELD)
    )
    body = "\n".join(f"{k}={v}" for k, v in fields)
    return hashlib.sha256(f"DASHBOARD {request.url.path}\n{body}".encode()).digest()


async def once(
    request: Req,
    services: Services,
    viewer: Viewer,
    form: FormMultiDict,
    action: Callable[[], Awaitable[str]],
) -> Redirect:
    """Run a form action once per idempotency key (the API's idempotency store and rules,
    keyed by the session's API key), then redirect to where it leads.

    A double-click or a resent form waits for the first run and follows it to the same
    page. An action that raises (invalid input) releases the key: the form comes back
    with a fresh one. A key reused with other form values is an IdempotencyError."""
    key = str(form.get(IDEMPOTENCY_FIELD, ""))
    if not key:
        return Redirect(await action(), status_code=303)
    store = services.store.idempotency
    owner = viewer.key.id
    fingerprint = _fingerprint(request, form)
    existing = await store.begin(owner, key, fingerprint, utcnow())
    if existing is not None:
        outcome = await wait_for_first(store, owner, key, fingerprint, existing)
        if outcome is not None:
            status, content_type, body = outcome
            if content_type == _LOCATION and body:
                return Redirect(body.decode(), status_code=303)
            return Redirect("/", status_code=303)
        # the first attempt failed and released the key; this request now holds it
    try:
        location = await action()
    except BaseException:
        await store.release(owner, key)
        raise
    await store.complete(owner, key, 303, _LOCATION, location.encode())
    return Redirect(location, status_code=303)
