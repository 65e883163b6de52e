"""Webhooks: create (the secret shown once), edit, delete, test ping, deliveries."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from octopost.access import Permission, needs
from octopost.dashboard.forms import Problems, checkbox
from octopost.dashboard.render import FORM_ERROR, Req, notify, once, page
from octopost.dashboard.session import Who, checked_form
from octopost.errors import OctopostError
from octopost.services import Services
from octopost.web.schemas import DeliveryResponse, WebhookResponse
from octopost.webhooks import EVENT_TYPES

Svc = NamedDependency[Services]
DELIVERIES = 20


def _fields(form: FormMultiDict) -> dict[str, Any]:
    return {
        "url": str(form.get("url", "")).strip(),
        "events": [str(e) for e in form.getall("events", [])],
        "description": str(form.get("description", "")).strip() or None,
    }


def _events_renames(events: list[str]) -> dict[str, str]:
    return {f"events[{i}]": "events" for i in range(len(events))}


@get("/webhooks", name="webhooks", opt=needs(Permission.WEBHOOKS_READ))
async def webhooks(services: Svc, viewer: Who) -> Template:
    return await _list_page(services, viewer, {"url": "", "events": [], "description": ""})


async def _list_page(
    services: Services,
    viewer: Who,
    values: dict[str, Any],
    problems: Problems | None = None,
    status: int = 200,
) -> Template:
    hooks = await services.webhooks.all(sandbox=viewer.sandbox)
    return await page(
        services,
        viewer,
        "webhooks.html",
        nav="webhooks",
        status=status,
        hooks=[WebhookResponse.of(h) for h in hooks],
        event_types=EVENT_TYPES,
        values=values,
        problems=problems or Problems(),
    )


@post("/webhooks", status_code=200, opt=needs(Permission.WEBHOOKS_WRITE))
async def create(request: Req, services: Svc, viewer: Who) -> Template | Redirect:
    form = await checked_form(request, viewer)
    values = _fields(form)
    events = list(values["events"])
    created: list[tuple[str, str]] = []

    async def run() -> str:
        hook, secret = await services.webhooks.create(
            str(values["url"]),
            events,
            values["description"],
            sandbox=viewer.sandbox,
        )
        created.append((hook.id, secret))
        return f"/webhooks/{hook.id}"

    try:
        replayed = await once(request, services, viewer, form, run)
    except OctopostError as exc:
        problems = Problems.from_error(exc, _events_renames(events))
        return await _list_page(services, viewer, values, problems, status=FORM_ERROR)
    if not created:  # a resent form: the secret was shown the first time only
        await notify(
            services, viewer, "This webhook was already created; its secret was shown once."
        )
        return replayed
    hook_id, secret = created[0]
    hook = await services.webhooks.get(hook_id, sandbox=viewer.sandbox)
    response = await page(
        services,
        viewer,
        "secret.html",
        nav="webhooks",
        title="Webhook created",
        what="signing secret",
        secret=secret,
        detail=f"Deliveries to {hook.url} are signed with this secret (Standard Webhooks). "
        "Copy it now: it is shown only this once.",
        next_url=f"/webhooks/{hook.id}",
        next_label="Go to the webhook",
    )
    return response


@get("/webhooks/{hook_id:str}", name="webhook", opt=needs(Permission.WEBHOOKS_READ))
async def show(request: Req, services: Svc, viewer: Who, hook_id: FromPath[str]) -> Template:
    hook = await services.webhooks.get(hook_id, sandbox=viewer.sandbox)
    return await _hook_page(services, viewer, hook_id, WebhookResponse.of(hook))


async def _hook_page(
    services: Services,
    viewer: Who,
    hook_id: str,
    hook: WebhookResponse,
    problems: Problems | None = None,
    status: int = 200,
) -> Template:
    found, total = await services.webhooks.deliveries(
        hook_id, sandbox=viewer.sandbox, limit=DELIVERIES, offset=0
    )
    return await page(
        services,
        viewer,
        "webhook.html",
        nav="webhooks",
        status=status,
        hook=hook,
        event_types=EVENT_TYPES,
        deliveries=[DeliveryResponse.of(d) for d in found],
        total=total,
        problems=problems or Problems(),
    )


@post("/webhooks/{hook_id:str}", status_code=303, opt=needs(Permission.WEBHOOKS_WRITE))
async def update(
    request: Req, services: Svc, viewer: Who, hook_id: FromPath[str]
) -> Template | Redirect:
    form = await checked_form(request, viewer)
    values = _fields(form)
    changes = {**values, "enabled": checkbox(form, "enabled")}
    try:
        await services.webhooks.update(hook_id, dict(changes), sandbox=viewer.sandbox)
    except OctopostError as exc:
        current = await services.webhooks.get(hook_id, sandbox=viewer.sandbox)
        typed = WebhookResponse.of(current)
        typed.url = str(values["url"])
        typed.events = list(values["events"])
        typed.description = values["description"]
        typed.enabled = bool(changes["enabled"])
        problems = Problems.from_error(exc, _events_renames(typed.events))
        return await _hook_page(services, viewer, hook_id, typed, problems, status=FORM_ERROR)
    await notify(services, viewer, "Webhook saved.")
    return Redirect(f"/webhooks/{hook_id}", status_code=303)


@post("/webhooks/{hook_id:str}/test", status_code=303, opt=needs(Permission.WEBHOOKS_WRITE))
async def ping(request: Req, services: Svc, viewer: Who, hook_id: FromPath[str]) -> Redirect:
    await checked_form(request, viewer)
    delivery = await services.webhooks.test(hook_id, sandbox=viewer.sandbox)
    if delivery.state == "succeeded":
        outcome = f"answered {delivery.last_status} in {delivery.last_duration_ms} ms"
    else:
        outcome = f"failed: {delivery.last_error or delivery.last_status}"
    await notify(services, viewer, f"Test ping sent: {outcome}.")
    return Redirect(f"/webhooks/{hook_id}", status_code=303)


@get("/webhooks/{hook_id:str}/delete", name="delete_webhook", opt=needs(Permission.WEBHOOKS_WRITE))
async def confirm_delete(services: Svc, viewer: Who, hook_id: FromPath[str]) -> Template:
    hook = await services.webhooks.get(hook_id, sandbox=viewer.sandbox)
    return await page(
        services,
        viewer,
        "confirm.html",
        nav="webhooks",
        title="Delete this webhook?",
        detail=f"{hook.url} will get no more events; its delivery history is deleted too.",
        action=f"/webhooks/{hook_id}/delete",
        button="Delete webhook",
        back=f"/webhooks/{hook_id}",
    )


@post("/webhooks/{hook_id:str}/delete", status_code=303, opt=needs(Permission.WEBHOOKS_WRITE))
async def delete(request: Req, services: Svc, viewer: Who, hook_id: FromPath[str]) -> Redirect:
    await checked_form(request, viewer)
    await services.webhooks.delete(hook_id, sandbox=viewer.sandbox)
    await notify(services, viewer, "Webhook deleted.")
    return Redirect("/webhooks", status_code=303)
