"""API keys: list, create (the secret shown once), revoke. Live sessions only."""

from __future__ import annotations

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from octopost.access import ANY_KEY, DESCRIPTIONS, SCOPES, Permission, check_scopes, needs
from octopost.dashboard.forms import Problems, checkbox
from octopost.dashboard.render import FORM_ERROR, Req, notify, once, page
from octopost.dashboard.session import Who, checked_form
from octopost.errors import FieldError, ValidationError
from octopost.services import Services

Svc = NamedDependency[Services]
MAX_NAME = 100


async def _keys_page(
    services: Services,
    viewer: Who,
    values: dict[str, object] | None = None,
    problems: Problems | None = None,
    status: int = 200,
) -> Template:
    keys = await services.keys.all() if viewer.can(Permission.KEYS) else []
    return await page(
        services,
        viewer,
        "keys.html",
        nav="keys",
        status=status,
        keys=sorted(keys, key=lambda k: (k.revoked_at is not None, k.created_at), reverse=False),
        values=values or {"name": "", "sandbox": False, "scopes": []},
        scopes=[(s, DESCRIPTIONS[Permission(s)]) for s in SCOPES],
        problems=problems or Problems(),
        may=viewer.can(Permission.KEYS),
        refusal=viewer.refusal(Permission.KEYS),
    )


@get("/keys", name="keys", opt=needs(ANY_KEY))
async def keys(services: Svc, viewer: Who) -> Template:
    return await _keys_page(services, viewer)


@post("/keys", status_code=200, opt=needs(Permission.KEYS))
async def create(request: Req, services: Svc, viewer: Who) -> Template | Redirect:
    form = await checked_form(request, viewer)
    name = str(form.get("name", "")).strip()
    sandbox = checkbox(form, "sandbox")
    scopes = [str(s) for s in form.getall("scopes", [])]
    created: list[str] = []

    async def run() -> str:
        if not name or len(name) > MAX_NAME:
            raise ValidationError(
                "Invalid key", [FieldError("name", f"must be 1 to {MAX_NAME} characters")]
            )
        try:
            _key, secret = await services.keys.create(name, sandbox=sandbox, scopes=scopes)
        except ValueError as exc:
            raise ValidationError("Invalid key", [FieldError("scopes", str(exc))]) from None
        created.append(secret)
        return "/keys"

    try:
        replayed = await once(request, services, viewer, form, run)
    except ValidationError as exc:
        values = {"name": name, "sandbox": sandbox, "scopes": scopes}
        return await _keys_page(
            services, viewer, values, Problems.from_error(exc), status=FORM_ERROR
        )
    if not created:
        await notify(services, viewer, "This key was already created; its secret was shown once.")
        return replayed
    kind = "sandbox (oct_test_)" if sandbox else "live"
    kind += (
        f" key limited to {', '.join(check_scopes(scopes))}" if scopes else " key with full access"
    )
    return await page(
        services,
        viewer,
        "secret.html",
        nav="keys",
        title=f"API key “{name}” created",
        what="API key",
        secret=created[0],
        detail=f"A {kind}. Copy it now: Octopost keeps only a hash and shows it only "
        "this once. Use it as `Authorization: Bearer <key>` or to sign in here.",
        next_url="/keys",
        next_label="Back to API keys",
    )


@get("/keys/{key_id:str}/revoke", name="revoke_key", opt=needs(Permission.KEYS))
async def confirm_revoke(services: Svc, viewer: Who, key_id: FromPath[str]) -> Template:
    found = next((k for k in await services.keys.all() if k.id == key_id), None)
    mine = key_id == viewer.key.id
    detail = (
        f"“{found.name}” ({found.prefix}…) stops working at once."
        if found
        else f"No API key with id '{key_id}'."
    )
    if mine:
        detail += " It is the key of this session: you will be signed out."
    return await page(
        services,
        viewer,
        "confirm.html",
        nav="keys",
        title="Revoke this API key?",
        detail=detail,
        action=f"/keys/{key_id}/revoke",
        button="Revoke key",
        back="/keys",
    )


@post("/keys/{key_id:str}/revoke", status_code=303, opt=needs(Permission.KEYS))
async def revoke(request: Req, services: Svc, viewer: Who, key_id: FromPath[str]) -> Redirect:
    await checked_form(request, viewer)
    key = await services.keys.revoke(key_id)
    if key.id == viewer.key.id:
        return Redirect("/signin", status_code=303)
    await notify(services, viewer, f"Revoked “{key.name}” ({key.prefix}…).")
    return Redirect("/keys", status_code=303)
