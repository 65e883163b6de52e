"""Thin handlers for /v1/accounts (connected platform accounts)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath

from octopost.access import Permission, needs
from octopost.services import Services
from octopost.web import examples as ex
from octopost.web.openapi import errors
from octopost.web.schemas import AccountList, AccountResponse, ConnectAccountRequest

Svc = NamedDependency[Services]

CONNECT_EXAMPLE = {
    "platform": "mastodon",
    "credentials": {"instance_url": "https://mastodon.social", "access_token": "…"},
}


class AccountController(Controller):
    path = "/v1/accounts"
    tags = ["Accounts"]

    @post(
        "/",
        opt=needs(Permission.ACCOUNTS_WRITE),
        summary="Connect an account",
        description="Checks the credentials with the platform, then stores them encrypted. "
        "One account per platform: connecting again replaces the previous one.",
        responses=errors(
            413,
            415,
            422,
            502,
            s422="The platform refused the credentials, or they are incomplete",
            x422=(
                "Refused",
                {
                    "error": {
                        "code": "validation_error",
                        "message": "Mastodon refused these credentials: The access token is invalid",
                        "details": [
                            {"field": "credentials", "message": "The access token is invalid"}
                        ],
                        "request_id": "3f2a9c1b7d4e8f60",
                    }
                },
            ),
        ),
    )
    async def connect(
        self,
        services: Svc,
        data: Annotated[ConnectAccountRequest, Body(examples=[ex.ex("Mastodon", CONNECT_EXAMPLE)])],
    ) -> AccountResponse:
        record = await services.accounts.connect(data.platform, data.credentials, data.settings)
        return AccountResponse.of(record)

    @get(
        "/",
        opt=needs(Permission.ACCOUNTS_READ),
        summary="List connected accounts",
        responses=errors(),
    )
    async def list_accounts(self, services: Svc) -> AccountList:
        return AccountList([AccountResponse.of(a) for a in await services.accounts.all()])

    @get(
        "/{account_id:str}",
        opt=needs(Permission.ACCOUNTS_READ),
        summary="Get a connected account",
        responses=errors(404, s404="No such account"),
    )
    async def get_account(self, services: Svc, account_id: FromPath[str]) -> AccountResponse:
        return AccountResponse.of(await services.accounts.get(account_id))

    @delete(
        "/{account_id:str}",
        opt=needs(Permission.ACCOUNTS_WRITE),
        summary="Disconnect an account",
        responses=errors(404, s404="No such account"),
    )
    async def delete_account(self, services: Svc, account_id: FromPath[str]) -> None:
        await services.accounts.delete(account_id)
