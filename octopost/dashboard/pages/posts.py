"""Posts: the list (status filter, pagination), a post's page, publish / retry / delete."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from octopost.access import ANY_KEY, Permission, needs
from octopost.dashboard.forms import Problems
from octopost.dashboard.render import Req, notify, once, page
from octopost.dashboard.session import Who, checked_form
from octopost.errors import ConflictError, OctopostError, ValidationError
from octopost.models import EDITABLE, Category, DeliveryState, Post, PostStatus
from octopost.services import Services
from octopost.web.schemas import PostResponse

Svc = NamedDependency[Services]
PAGE_SIZE = 20
STATUSES = [s.value for s in PostStatus]


def outcomes(post: Post) -> list[dict[str, Any]]:
    """One row per target platform: its state, link or error, and what to do about it."""
    by_platform = {d.platform: d for d in post.deliveries}
    rows = []
    for platform in post.platforms:
        d = by_platform.get(platform)
        if d is None:
            state = "waiting" if post.status in EDITABLE else "none"
        elif d.state is DeliveryState.SUCCEEDED:
            state = "succeeded"
        elif d.state is DeliveryState.FAILED:
            # the request may have reached the platform: the person must look there first
            state = "check" if d.error_category == Category.UNKNOWN else "failed"
        else:
            state = "sending"
        rows.append(
            {
                "platform": platform,
                "state": state,
                "delivery": d,
                "result": d.result() if d is not None else None,
            }
        )
    return rows


def retryable(post: Post) -> list[str]:
    """Platforms the retry button would send again (as Publisher.retry chooses them)."""
    if post.status not in (PostStatus.PUBLISHED, PostStatus.FAILED):
        return []
    done = {d.platform for d in post.deliveries}
    failed = [d.platform for d in post.deliveries if d.state is DeliveryState.FAILED]
    return failed + [p for p in post.platforms if p not in done]


#: where a session without posts:read lands instead of the post list (the home page)
_HOMES = [
    (Permission.ACCOUNTS_READ, "/accounts"),
    (Permission.WEBHOOKS_READ, "/webhooks"),
]


@get("/", name="posts", opt=needs(ANY_KEY))
async def list_posts(request: Req, services: Svc, viewer: Who) -> Template | Redirect:
    if not viewer.can(Permission.POSTS_READ):
        home = next((path for p, path in _HOMES if viewer.can(p)), "/keys")
        return Redirect(home, status_code=303)
    status = request.query_params.get("status") or None
    try:
        number = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        number = 1
    problems = Problems()
    found: list[Post] = []
    total = 0
    try:
        found, total = await services.posts.page(
            sandbox=viewer.sandbox, status=status, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
    except ValidationError as exc:
        problems = Problems.from_error(exc)
    pages = max(1, -(-total // PAGE_SIZE))
    return await page(
        services,
        viewer,
        "posts.html",
        nav="posts",
        posts=[(PostResponse.of(p), outcomes(p)) for p in found],
        total=total,
        filter_status=status or "",
        statuses=STATUSES,
        number=number,
        pages=pages,
        problems=problems,
    )


@get("/posts/{post_id:str}", name="post", opt=needs(Permission.POSTS_READ))
async def show_post(services: Svc, viewer: Who, post_id: FromPath[str]) -> Template:
    found = await services.posts.get(post_id, sandbox=viewer.sandbox)
    return await page(
        services,
        viewer,
        "post.html",
        nav="posts",
        post=PostResponse.of(found),
        rows=outcomes(found),
        retry=retryable(found),
        editable=found.status in EDITABLE,
        publishing=found.status is PostStatus.PUBLISHING,
    )


async def _report(services: Services, viewer: Who, exc: OctopostError) -> None:
    lines = [exc.message] + [f"{d.field}: {d.message}" for d in exc.details]
    await notify(services, viewer, "\n".join(lines))


@post("/posts/{post_id:str}/publish", status_code=303, opt=needs(Permission.POSTS_WRITE))
async def publish(request: Req, services: Svc, viewer: Who, post_id: FromPath[str]) -> Redirect:
    form = await checked_form(request, viewer)

    async def run() -> str:
        await services.publisher.publish_now(post_id, sandbox=viewer.sandbox)
        return f"/posts/{post_id}"

    try:
        return await once(request, services, viewer, form, run)
    except (ValidationError, ConflictError) as exc:
        await _report(services, viewer, exc)
        return Redirect(f"/posts/{post_id}", status_code=303)


@post("/posts/{post_id:str}/retry", status_code=303, opt=needs(Permission.POSTS_WRITE))
async def retry(request: Req, services: Svc, viewer: Who, post_id: FromPath[str]) -> Redirect:
    form = await checked_form(request, viewer)
    platform = form.get("platform")

    async def run() -> str:
        chosen = [str(platform)] if platform else None
        await services.publisher.retry(post_id, chosen, sandbox=viewer.sandbox)
        return f"/posts/{post_id}"

    try:
        return await once(request, services, viewer, form, run)
    except (ValidationError, ConflictError) as exc:
        await _report(services, viewer, exc)
        return Redirect(f"/posts/{post_id}", status_code=303)


@get("/posts/{post_id:str}/delete", name="delete_post", opt=needs(Permission.POSTS_WRITE))
async def confirm_delete(services: Svc, viewer: Who, post_id: FromPath[str]) -> Template:
    found = await services.posts.get(post_id, sandbox=viewer.sandbox)
    return await page(
        services,
        viewer,
        "confirm.html",
        nav="posts",
        title="Delete this post?",
        detail=f"“{found.content[:120]}” is removed from Octopost. Posts already on the "
        "platforms stay there.",
        action=f"/posts/{post_id}/delete",
        button="Delete post",
        back=f"/posts/{post_id}",
    )


@post("/posts/{post_id:str}/delete", status_code=303, opt=needs(Permission.POSTS_WRITE))
async def delete_post(request: Req, services: Svc, viewer: Who, post_id: FromPath[str]) -> Redirect:
    await checked_form(request, viewer)
    try:
        await services.posts.delete(post_id, sandbox=viewer.sandbox)
    except ConflictError as exc:
        await _report(services, viewer, exc)
        return Redirect(f"/posts/{post_id}", status_code=303)
    await notify(services, viewer, "Post deleted.")
    return Redirect("/", status_code=303)
