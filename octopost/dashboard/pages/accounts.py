"""Accounts: every platform's connection state; connect (or reconnect) with the platform's
own sign-in page where it has one (pages/oauth.py) or its credential form, disconnect with
a confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from octopost.access import Permission, needs
from octopost.dashboard.forms import Problems
from octopost.dashboard.render import FORM_ERROR, Req, notify, page
from octopost.dashboard.session import Who, checked_form
from octopost.errors import OctopostError
from octopost.models import AccountRecord
from octopost.platforms import ADAPTERS, PLATFORM_IDS
from octopost.platforms.forms import FORMS, ConnectForm, Field
from octopost.services import Services

Svc = NamedDependency[Services]


def _form_of(platform: str) -> ConnectForm:
    if platform not in FORMS:
        raise NotFoundException(f"No platform '{platform}'")
    return FORMS[platform]


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _row(platform: str, account: AccountRecord | None) -> dict[str, Any]:
    flow = getattr(ADAPTERS[platform], "oauth", None)
    return {
        "id": platform,
        "label": ADAPTERS[platform].label,
        "account": account,
        # a Connect button for the platform's own sign-in page (pages/oauth.py)
        "oauth": flow is not None,
        "instance": bool(getattr(flow, "needs_instance", False)),
        # reconnecting a Mastodon account: its server, from its profile's address
        "instance_url": _origin(account.profile_url) if account else "",
    }


async def _outcome(services: Services, query: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the OAuth callback reported (pages/oauth.py brings its query here)."""
    if query.get("error"):
        said = str(query.get("error_description") or query.get("error"))
        return {"error": True, "text": f"Not connected: {said}"}
    platform = str(query.get("connected") or "")
    if platform in ADAPTERS:
        label = ADAPTERS[platform].label
        try:
            record = await services.accounts.get(str(query.get("account") or ""))
        except OctopostError:
            return {"error": False, "text": f"Connected {label}."}
        return {"error": False, "text": f"Connected {label} as @{record.username}."}
    return None


@get("/accounts", name="accounts", opt=needs(Permission.ACCOUNTS_READ))
async def accounts(request: Req, services: Svc, viewer: Who) -> Template:
    by_platform = {a.platform: a for a in await services.accounts.all()}
    rows = [_row(p, by_platform.get(p)) for p in PLATFORM_IDS]
    return await page(
        services,
        viewer,
        "accounts.html",
        nav="accounts",
        rows=rows,
        outcome=await _outcome(services, request.query_params),
        may=viewer.can(Permission.ACCOUNTS_WRITE),
        refusal=viewer.refusal(Permission.ACCOUNTS_WRITE),
    )


async def _connect_page(
    services: Services,
    viewer: Who,
    platform: str,
    *,
    values: dict[str, str] | None = None,
    variant: int = 0,
    problems: Problems | None = None,
    status: int = 200,
) -> Template:
    record = await services.accounts.for_platform(platform)
    return await page(
        services,
        viewer,
        "connect.html",
        nav="accounts",
        status=status,
        platform=platform,
        label=ADAPTERS[platform].label,
        spec=_form_of(platform),
        record=record,
        values=values or {},
        chosen=variant,
        problems=problems or Problems(),
        may=viewer.can(Permission.ACCOUNTS_WRITE),
        refusal=viewer.refusal(Permission.ACCOUNTS_WRITE),
    )


@get("/accounts/{platform:str}/connect", name="connect", opt=needs(Permission.ACCOUNTS_READ))
async def connect_form(services: Svc, viewer: Who, platform: FromPath[str]) -> Template:
    _form_of(platform)
    return await _connect_page(services, viewer, platform)


def _value(spec: Field, raw: str) -> Any:
    """Typed as the adapter's struct expects (numbers and yes/no are not strings)."""
    if spec.kind == "bool":
        return raw == "yes"
    if spec.kind == "number":
        try:
            return float(raw) if "." in raw else int(raw)
        except ValueError:
            return raw  # the adapter's own check names the field
    return raw


def _collect(fields: tuple[Field, ...], form: FormMultiDict, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in fields:
        raw = str(form.get(prefix + spec.name, "")).strip()
        if raw:
            out[spec.name] = _value(spec, raw)
    return out


@post("/accounts/{platform:str}/connect", status_code=303, opt=needs(Permission.ACCOUNTS_WRITE))
async def connect(
    request: Req, services: Svc, viewer: Who, platform: FromPath[str]
) -> Template | Redirect:
    spec = _form_of(platform)
    form = await checked_form(request, viewer)
    try:
        variant = min(max(int(str(form.get("variant", "0"))), 0), len(spec.variants) - 1)
    except ValueError:
        variant = 0
    chosen = spec.variants[variant]
    values = {k: str(v) for k, v in form.items()}
    problems = Problems()
    for field_spec in chosen.fields:
        if field_spec.required and not values.get(f"credentials.{field_spec.name}", "").strip():
            problems.add(f"credentials.{field_spec.name}", "this field is required")
    if problems:
        problems.message = "Fill in the required fields."
        return await _connect_page(
            services,
            viewer,
            platform,
            values=values,
            variant=variant,
            problems=problems,
            status=FORM_ERROR,
        )
    credentials = _collect(chosen.fields, form, "credentials.")
    if chosen.kind:
        credentials["kind"] = chosen.kind
    settings = _collect(spec.settings, form, "settings.")
    try:
        record = await services.accounts.connect(platform, credentials, settings)
    except OctopostError as exc:
        return await _connect_page(
            services,
            viewer,
            platform,
            values=values,
            variant=variant,
            problems=Problems.from_error(exc),
            status=FORM_ERROR,
        )
    await notify(services, viewer, f"Connected {ADAPTERS[platform].label} as @{record.username}.")
    return Redirect("/accounts", status_code=303)


@get(
    "/accounts/{account_id:str}/disconnect", name="disconnect", opt=needs(Permission.ACCOUNTS_WRITE)
)
async def confirm_disconnect(services: Svc, viewer: Who, account_id: FromPath[str]) -> Template:
    record = await services.accounts.get(account_id)
    label = ADAPTERS[record.platform].label
    return await page(
        services,
        viewer,
        "confirm.html",
        nav="accounts",
        title=f"Disconnect {label}?",
        detail=f"Octopost forgets the credentials of @{record.username}. Posts already "
        f"published stay on {label}; new posts cannot go there until you connect again.",
        action=f"/accounts/{account_id}/disconnect",
        button=f"Disconnect {label}",
        back="/accounts",
    )


@post(
    "/accounts/{account_id:str}/disconnect", status_code=303, opt=needs(Permission.ACCOUNTS_WRITE)
)
async def disconnect(
    request: Req, services: Svc, viewer: Who, account_id: FromPath[str]
) -> Redirect:
    await checked_form(request, viewer)
    record = await services.accounts.get(account_id)
    await services.accounts.delete(account_id)
    await notify(services, viewer, f"Disconnected {ADAPTERS[record.platform].label}.")
    return Redirect("/accounts", status_code=303)
