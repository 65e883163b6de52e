"""Thin handlers for /v1/posts: decode, call one service, encode."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from octopost.access import Permission, needs
from octopost.errors import ValidationError
from octopost.models import Post, PostStatus
from octopost.posts import MAX_OFFSET
from octopost.services import Services
from octopost.web import examples as ex
from octopost.web.idempotency import IDEMPOTENT
from octopost.web.openapi import errors
from octopost.web.schemas import (
    CreatePostRequest,
    PlatformCheckResponse,
    PostList,
    PostResponse,
    RetryRequest,
    UpdatePostRequest,
    ValidationReport,
)

Req = Request[Any, Any, Any]
Svc = NamedDependency[Services]

#: a body that is not JSON (415), too large (413) or malformed (400, in COMMON)
BODY = (413, 415)
NO_POST = "No such post"
_PUBLISH_422 = (
    "Publish checks failed",
    {
        "error": {
            "code": "validation_error",
            "message": "The post cannot be published to: twitter. Nothing was sent.",
            "details": [
                {
                    "field": "platforms.twitter",
                    "message": "Content is 312 characters as X counts them; the limit is 280.",
                    "meta": {"length": 312, "limit": 280, "account": "active"},
                }
            ],
            "request_id": "3f2a9c1b7d4e8f60",
        }
    },
)
STATUS_FILTER = [s.value for s in PostStatus]


#: the permissions of the two routes `web/fastpath.py` also answers (one declaration)
READ = needs(Permission.POSTS_READ)
WRITE = needs(Permission.POSTS_WRITE)


def _sandbox(request: Req) -> bool:
    return bool(request.user.sandbox)


def new_post(services: Services, data: CreatePostRequest, *, sandbox: bool) -> Post:
    """The post a create body describes, checked and not yet stored (create, validate and
    the fast path's create)."""
    return services.posts.draft(
        content=data.text(),
        platforms=data.platforms,
        scheduled_for=data.scheduled_for,
        media=data.media,
        sandbox=sandbox,
        language=data.language,
        **data.shape(),
    )


class PostController(Controller):
    path = "/v1/posts"
    tags = ["Posts"]

    @post(
        "/",
        opt={**WRITE, IDEMPOTENT: True},
        summary="Create a post",
        description="Creates a `draft`, or a `scheduled` post when `scheduled_for` is given. "
        "Platform character limits are checked at publish time.",
        responses={
            201: ResponseSpec(
                PostResponse,
                description="The new post",
                examples=[
                    ex.ex("Draft", ex.CREATED_DRAFT),
                    ex.ex("Scheduled with media", ex.CREATED_SCHEDULED),
                ],
            ),
            **errors(*BODY, 422),
        },
    )
    async def create(
        self,
        request: Req,
        services: Svc,
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
        created = await services.posts.add(new_post(services, data, sandbox=_sandbox(request)))
        return PostResponse.of(created)

    @get(
        "/",
        opt=needs(Permission.POSTS_READ),
        summary="List posts",
        description="Newest first. `total` counts every post matching the filter.",
        responses={
            200: ResponseSpec(PostList, examples=[ex.ex("Published posts", ex.LISTED)]),
            **errors(422),
        },
    )
    async def list_posts(
        self,
        request: Req,
        services: Svc,
        status: Annotated[
            str | None,
            QueryParameter(
                description="only posts with this status", schema_extra={"enum": STATUS_FILTER}
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(description="posts per page", ge=1, le=100)] = 10,
        offset: Annotated[
            int, QueryParameter(description="posts to skip", ge=0, le=MAX_OFFSET)
        ] = 0,
    ) -> PostList:
        found, total = await services.posts.listing(
            sandbox=_sandbox(request), status=status, limit=limit, offset=offset
        )
        return PostList([PostResponse.listed(p) for p in found], total)

    @get(
        "/{post_id:str}",
        opt=READ,
        summary="Get a post",
        responses={
            200: ResponseSpec(PostResponse, examples=[ex.ex("A published post", ex.GOT)]),
            **errors(404, s404=NO_POST),
        },
    )
    async def get_post(self, request: Req, services: Svc, post_id: FromPath[str]) -> PostResponse:
        return PostResponse.of(await services.posts.get(post_id, sandbox=_sandbox(request)))

    @put(
        "/{post_id:str}",
        opt=needs(Permission.POSTS_WRITE),
        summary="Update a post",
        description="Partial update of a `draft` or `scheduled` post (else 409). "
        "`scheduled_for: null` unschedules; `media: null` removes media.",
        responses={
            200: ResponseSpec(PostResponse, examples=[ex.ex("Updated draft", ex.UPDATED)]),
            **errors(
                *BODY,
                404,
                409,
                422,
                s404=NO_POST,
                s409="The post is publishing, published or failed",
            ),
        },
    )
    async def update(
        self,
        request: Req,
        services: Svc,
        post_id: FromPath[str],
        data: Annotated[
            UpdatePostRequest, Body(examples=[ex.ex("Change content and platforms", ex.UPDATE)])
        ],
    ) -> PostResponse:
        updated = await services.posts.update(post_id, data.changes(), sandbox=_sandbox(request))
        return PostResponse.of(updated)

    @delete(
        "/{post_id:str}",
        opt=needs(Permission.POSTS_WRITE),
        summary="Delete a post",
        description="Removes the post from Octopost (not from the platforms). 409 while publishing.",
        responses=errors(404, 409, s404=NO_POST, s409="The post is publishing"),
    )
    async def delete_post(self, request: Req, services: Svc, post_id: FromPath[str]) -> None:
        await services.posts.delete(post_id, sandbox=_sandbox(request))

    @post(
        "/{post_id:str}/publish",
        opt={**needs(Permission.POSTS_WRITE), IDEMPOTENT: True},
        status_code=202,
        summary="Publish a post now",
        description="Checks every platform first (length by its own rule, media, connected account): "
        "any failure is a 422 listing each failing platform, and nothing is sent. Otherwise answers at "
        "once with status `publishing`; poll the post or use webhooks for the outcome.",
        responses={
            202: ResponseSpec(
                PostResponse,
                description="Publishing started",
                examples=[ex.ex("Publishing", ex.PUBLISHING)],
            ),
            **errors(
                *BODY,
                404,
                409,
                422,
                s404=NO_POST,
                s409="Already published or publishing",
                s422="A platform would refuse the post (details per platform), or the "
                "Idempotency-Key was used with another request",
                x422=_PUBLISH_422,
            ),
        },
    )
    async def publish(self, request: Req, services: Svc, post_id: FromPath[str]) -> PostResponse:
        return PostResponse.of(
            await services.publisher.publish_now(post_id, sandbox=_sandbox(request))
        )

    @post(
        "/{post_id:str}/retry",
        opt={**needs(Permission.POSTS_WRITE), IDEMPOTENT: True},
        status_code=202,
        summary="Retry what failed",
        description="Republishes the failed platforms of a `failed` or `published` post (optionally only "
        "`platforms`); platforms that succeeded are never touched. Same checks and 422s as publish.",
        responses=errors(
            *BODY,
            404,
            409,
            422,
            s404=NO_POST,
            s409="Publishing, or nothing failed",
            x422=_PUBLISH_422,
        ),
    )
    async def retry(
        self,
        request: Req,
        services: Svc,
        post_id: FromPath[str],
        data: JSONBody[RetryRequest | None] = None,
    ) -> PostResponse:
        chosen = data.platforms if data is not None else None
        return PostResponse.of(
            await services.publisher.retry(post_id, chosen, sandbox=_sandbox(request))
        )

    @post(
        "/validate",
        opt=needs(Permission.POSTS_READ),
        status_code=200,
        summary="Dry run: would this post publish?",
        description="Takes the same body as create (or `?post_id=` for a stored post) and reports per "
        "platform the measured length against its limit, media problems and account state. "
        "Nothing is stored or sent.",
        responses=errors(*BODY, 404, 422, s404="No such post (`?post_id=`)"),
    )
    async def validate(
        self,
        request: Req,
        services: Svc,
        data: JSONBody[CreatePostRequest | None] = None,
        post_id: Annotated[
            str | None, QueryParameter(description="check a stored post instead")
        ] = None,
    ) -> ValidationReport:
        sandbox = _sandbox(request)
        if post_id is not None:
            target = await services.posts.get(post_id, sandbox=sandbox)
            return await check_report(services, target)
        if data is None:
            raise ValidationError("Send a post body or ?post_id=")
        return await dry_run(services, data, sandbox=sandbox)


async def dry_run(
    services: Services, data: CreatePostRequest, *, sandbox: bool
) -> ValidationReport:
    """Would this post publish? (`POST /v1/posts/validate`; the dashboard's live counter.)"""
    return await check_report(services, new_post(services, data, sandbox=sandbox))


async def check_report(services: Services, target: Post) -> ValidationReport:
    checks = await services.publisher.check(target)
    report = {
        platform: PlatformCheckResponse(
            c.ok, c.length, c.limit, c.account, c.problems, mode=c.mode, segments=c.segments
        )
        for platform, c in checks.items()
    }
    return ValidationReport(valid=all(c.ok for c in checks.values()), platforms=report)
