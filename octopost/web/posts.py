"""Thin handlers for /v1/posts: decode, call one service, encode."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, Parameter

from octopost.services import Services
from octopost.web import examples as ex
from octopost.web.schemas import (
    CreatePostRequest,
    ErrorResponse,
    PostList,
    PostResponse,
    UpdatePostRequest,
)

Req = Request[Any, Any, Any]

ERRORS = {
    401: ResponseSpec(ErrorResponse, description="Missing, malformed, unknown or revoked API key"),
    404: ResponseSpec(ErrorResponse, description="No such post"),
    422: ResponseSpec(
        ErrorResponse, description="Invalid input", examples=[ex.ex("Unknown platform", ex.ERROR)]
    ),
}


def _sandbox(request: Req) -> bool:
    return bool(request.user.sandbox)


class PostController(Controller):
    path = "/v1/posts"
    tags = ["Posts"]

    @post(
        "/",
        summary="Create a post",
        description="Creates a `draft`, or a `scheduled` post when `scheduled_for` is given. "
        "Platform character limits are checked at publish time.",
        responses={
            201: ResponseSpec(
                PostResponse,
                description="The new post",
                examples=[ex.ex("Draft", ex.CREATED_DRAFT), ex.ex("Scheduled with media", ex.CREATED_SCHEDULED)],
            ),
            **ERRORS,
        },
    )
    async def create(
        self,
        request: Req,
        services: Services,
        data: Annotated[
            CreatePostRequest,
            Body(
                examples=[
                    ex.ex("Create a draft post", ex.CREATE_DRAFT),
                    ex.ex("Create a scheduled post with media", ex.CREATE_SCHEDULED),
                ]
            ),
        ],
    ) -> PostResponse:
        created = await services.posts.create(
            content=data.content,
            platforms=data.platforms,
            scheduled_for=data.scheduled_for,
            media=data.media,
            sandbox=_sandbox(request),
        )
        return PostResponse.of(created)

    @get(
        "/",
        summary="List posts",
        description="Newest first. `total` counts every post matching the filter.",
        responses={200: ResponseSpec(PostList, examples=[ex.ex("Published posts", ex.LISTED)]), **ERRORS},
    )
    async def list_posts(
        self,
        request: Req,
        services: Services,
        status: Annotated[
            str | None,
            Parameter(description="draft, scheduled, publishing, published or failed"),
        ] = None,
        limit: Annotated[int, Parameter(description="1 to 100")] = 10,
        offset: Annotated[int, Parameter(description="posts to skip")] = 0,
    ) -> PostList:
        found, total = await services.posts.list(
            sandbox=_sandbox(request), status=status, limit=limit, offset=offset
        )
        return PostList([PostResponse.of(p) for p in found], total)

    @get(
        "/{post_id:str}",
        summary="Get a post",
        responses={200: ResponseSpec(PostResponse, examples=[ex.ex("A published post", ex.GOT)]), **ERRORS},
    )
    async def get_post(self, request: Req, services: Services, post_id: str) -> PostResponse:
        return PostResponse.of(await services.posts.get(post_id, sandbox=_sandbox(request)))

    @put(
        "/{post_id:str}",
        summary="Update a post",
        description="Partial update of a `draft` or `scheduled` post (else 409). "
        "`scheduled_for: null` unschedules; `media: null` removes media.",
        responses={
            200: ResponseSpec(PostResponse, examples=[ex.ex("Updated draft", ex.UPDATED)]),
            409: ResponseSpec(ErrorResponse, description="The post is publishing, published or failed"),
            **ERRORS,
        },
    )
    async def update(
        self,
        request: Req,
        services: Services,
        post_id: str,
        data: Annotated[UpdatePostRequest, Body(examples=[ex.ex("Change content and platforms", ex.UPDATE)])],
    ) -> PostResponse:
        updated = await services.posts.update(post_id, data.changes(), sandbox=_sandbox(request))
        return PostResponse.of(updated)

    @delete(
        "/{post_id:str}",
        summary="Delete a post",
        description="Removes the post from Octopost (not from the platforms). 409 while publishing.",
        responses={409: ResponseSpec(ErrorResponse, description="The post is publishing"), **ERRORS},
    )
    async def delete_post(self, request: Req, services: Services, post_id: str) -> None:
        await services.posts.delete(post_id, sandbox=_sandbox(request))
