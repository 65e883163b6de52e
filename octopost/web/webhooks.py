"""Thin handlers for /v1/webhooks."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from octopost.access import Permission, needs
from octopost.posts import MAX_OFFSET
from octopost.services import Services
from octopost.web import examples as ex
from octopost.web.openapi import errors
from octopost.web.schemas import (
    CreateWebhookRequest,
    DeliveryList,
    DeliveryResponse,
    UpdateWebhookRequest,
    WebhookList,
    WebhookResponse,
)

Req = Request[Any, Any, Any]
Svc = NamedDependency[Services]
NO_HOOK = "No such webhook"
BODY = (413, 415)

CREATE_EXAMPLE = {
    "url": "https://hooks.example.com/octopost",
    "events": ["post.published", "post.failed"],
    "description": "Notify my automation",
}


def _sandbox(request: Req) -> bool:
    return bool(request.user.sandbox)


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["Webhooks"]

    @post(
        "/",
        opt=needs(Permission.WEBHOOKS_WRITE),
        summary="Create a webhook",
        description="Events: post.published, post.failed, post.scheduled, account.reauth_required. "
        "The answer holds the signing secret (`whsec_…`), shown only this once.",
        responses=errors(*BODY, 422, s422="Invalid URL, events or description"),
    )
    async def create(
        self,
        request: Req,
        services: Svc,
        data: Annotated[
            CreateWebhookRequest, Body(examples=[ex.ex("Publish outcomes", CREATE_EXAMPLE)])
        ],
    ) -> WebhookResponse:
        hook, secret = await services.webhooks.create(
            data.url, data.events, data.description, sandbox=_sandbox(request)
        )
        return WebhookResponse.of(hook, secret)

    @get("/", opt=needs(Permission.WEBHOOKS_READ), summary="List webhooks", responses=errors())
    async def list_webhooks(self, request: Req, services: Svc) -> WebhookList:
        return WebhookList(
            [WebhookResponse.of(h) for h in await services.webhooks.all(sandbox=_sandbox(request))]
        )

    @get(
        "/{webhook_id:str}",
        opt=needs(Permission.WEBHOOKS_READ),
        summary="Get a webhook",
        responses=errors(404, s404=NO_HOOK),
    )
    async def get_webhook(
        self, request: Req, services: Svc, webhook_id: FromPath[str]
    ) -> WebhookResponse:
        return WebhookResponse.of(
            await services.webhooks.get(webhook_id, sandbox=_sandbox(request))
        )

    @put(
        "/{webhook_id:str}",
        opt=needs(Permission.WEBHOOKS_WRITE),
        summary="Update a webhook (url, events, enabled, description)",
        responses=errors(*BODY, 404, 422, s404=NO_HOOK),
    )
    async def update(
        self,
        request: Req,
        services: Svc,
        webhook_id: FromPath[str],
        data: JSONBody[UpdateWebhookRequest],
    ) -> WebhookResponse:
        hook = await services.webhooks.update(webhook_id, data.changes(), sandbox=_sandbox(request))
        return WebhookResponse.of(hook)

    @delete(
        "/{webhook_id:str}",
        opt=needs(Permission.WEBHOOKS_WRITE),
        summary="Delete a webhook",
        responses=errors(404, s404=NO_HOOK),
    )
    async def delete_webhook(self, request: Req, services: Svc, webhook_id: FromPath[str]) -> None:
        await services.webhooks.delete(webhook_id, sandbox=_sandbox(request))

    @get(
        "/{webhook_id:str}/deliveries",
        opt=needs(Permission.WEBHOOKS_READ),
        summary="Delivery attempts",
        description="Newest first: status (pending, succeeded, failed), response code, duration, next retry.",
        responses=errors(404, 422, s404=NO_HOOK),
    )
    async def deliveries(
        self,
        request: Req,
        services: Svc,
        webhook_id: FromPath[str],
        limit: Annotated[int, QueryParameter(description="deliveries per page", ge=1, le=100)] = 20,
        offset: Annotated[
            int, QueryParameter(description="deliveries to skip", ge=0, le=MAX_OFFSET)
        ] = 0,
    ) -> DeliveryList:
        found, total = await services.webhooks.deliveries(
            webhook_id, sandbox=_sandbox(request), limit=limit, offset=offset
        )
        return DeliveryList([DeliveryResponse.of(d) for d in found], total)

    @post(
        "/{webhook_id:str}/test",
        opt=needs(Permission.WEBHOOKS_WRITE),
        status_code=200,
        summary="Send a test ping",
        description="Sends a signed `webhook.test` event now and returns the delivery record.",
        responses=errors(*BODY, 404, s404=NO_HOOK),
    )
    async def test(
        self, request: Req, services: Svc, webhook_id: FromPath[str]
    ) -> DeliveryResponse:
        return DeliveryResponse.of(
            await services.webhooks.test(webhook_id, sandbox=_sandbox(request))
        )
