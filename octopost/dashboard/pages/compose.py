"""Compose and edit: one form for new posts and for drafts / scheduled posts.

Saving goes through PostService (create / update) and publishing through
Publisher.publish_now, as the API does. "Publish now" first asks the same dry run
as `POST /v1/posts/validate`, so a post that cannot go out is not stored: the
form comes back with each platform's problems."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template

from octopost.access import Permission, needs
from octopost.dashboard.forms import ComposeForm, Problems
from octopost.dashboard.render import FORM_ERROR, Req, once, page
from octopost.dashboard.session import Who, check_header, checked_form
from octopost.errors import ConflictError, FieldError, OctopostError, ValidationError
from octopost.models import EDITABLE, AccountStatus, Post, Segment
from octopost.platforms import ADAPTERS, PLATFORM_IDS
from octopost.services import Services
from octopost.web.errors import EXCEPTION_HANDLERS, domain_handler
from octopost.web.posts import dry_run, new_post
from octopost.web.schemas import CreatePostRequest, ErrorResponse, ValidationReport

Svc = NamedDependency[Services]


async def _platforms(services: Services, viewer: Who) -> list[dict[str, Any]]:
    """Every platform with its account state for the toggles."""
    accounts = {a.platform: a for a in await services.accounts.all()}
    shows_accounts = viewer.can(Permission.ACCOUNTS_READ)
    rows = []
    for platform in PLATFORM_IDS:
        cls = ADAPTERS[platform]
        record = accounts.get(platform)
        if viewer.sandbox:
            state = "sandbox"
        elif record is None:
            state = "missing"
        elif record.status is AccountStatus.ACTIVE:
            state = "active"
        else:
            state = "reauth_required"
        rows.append(
            {
                "id": platform,
                "label": cls.label,
                "state": state,
                # which account posts is accounts:read's to show
                "username": record.username if record and shows_accounts else "",
                "limit": cls.limits.max_chars,
                "requires_media": cls.limits.requires_media,
                "requires_video": cls.limits.requires_video,
            }
        )
    return rows


async def _form_page(
    services: Services,
    viewer: Who,
    form: ComposeForm,
    *,
    problems: Problems | None = None,
    report: ValidationReport | None = None,
    post_id: str | None = None,
    status: int = 200,
    thread: list[Segment] | None = None,
) -> Template:
    return await page(
        services,
        viewer,
        "compose.html",
        status=status,
        nav="compose" if post_id is None else "posts",
        form=form,
        problems=problems or Problems(),
        report=report.platforms if report else {},
        platforms=await _platforms(services, viewer),
        post_id=post_id,
        # a thread's posts after the first, which the form leaves as they are
        thread=thread or [],
    )


@get("/compose", name="compose", opt=needs(Permission.POSTS_WRITE))
async def compose(services: Svc, viewer: Who) -> Template:
    return await _form_page(services, viewer, ComposeForm())


@get("/posts/{post_id:str}/edit", name="edit_post", opt=needs(Permission.POSTS_WRITE))
async def edit(services: Svc, viewer: Who, post_id: FromPath[str]) -> Template | Redirect:
    found = await services.posts.get(post_id, sandbox=viewer.sandbox)
    if found.status not in EDITABLE:
        return Redirect(f"/posts/{post_id}", status_code=303)
    return await _form_page(
        services, viewer, ComposeForm.of(found), post_id=post_id, thread=_rest(found)
    )


def _rest(post: Post) -> list[Segment]:
    """A thread's posts after the first (the form edits the first one's text and media)."""
    return list(post.segments[1:]) if post.segments else []


def _blocked(report: ValidationReport) -> ValidationError:
    """Publish's own refusal (Publisher's 422): every failing platform, nothing sent."""
    failing = [p for p, check in report.platforms.items() if not check.ok]
    return ValidationError(
        f"The post cannot be published to: {', '.join(failing)}. Nothing was sent.",
        [FieldError(f"platforms.{p}", " ".join(report.platforms[p].problems)) for p in failing],
    )


async def _save(
    request: Req, services: Services, viewer: Who, post_id: str | None
) -> Template | Redirect:
    raw = await checked_form(request, viewer)
    form = ComposeForm.parse(raw)
    report: ValidationReport | None = None
    current = await services.posts.get(post_id, sandbox=viewer.sandbox) if post_id else None
    thread = _rest(current) if current else []

    async def run() -> str:
        nonlocal report
        data = form.request()
        if thread:  # the form's text and media are the thread's first post
            first = Segment(data.text() or "", data.media)
            data = msgspec.structs.replace(data, segments=[first, *thread])
        if form.action == "schedule" and data.scheduled_for is None:
            raise ValidationError(
                "Choose a date and time to schedule",
                [FieldError("scheduled_for", "choose a date and time to schedule")],
            )
        if form.action == "publish":
            report = await dry_run(services, data, sandbox=viewer.sandbox)
            if not report.valid:
                raise _blocked(report)
        if post_id is None:
            created = await services.posts.add(new_post(services, data, sandbox=viewer.sandbox))
            target = created.id
        else:
            changes: dict[str, Any] = {
                "platforms": data.platforms,
                "scheduled_for": data.scheduled_for,
            }
            if thread:
                changes["segments"] = data.segments
            else:
                changes.update(content=data.text(), media=data.media)
            await services.posts.update(post_id, changes, sandbox=viewer.sandbox)
            target = post_id
        if form.action == "publish":
            await services.publisher.publish_now(target, sandbox=viewer.sandbox)
        return f"/posts/{target}"

    try:
        return await once(request, services, viewer, raw, run)
    except (ValidationError, ConflictError) as exc:
        problems = Problems.from_error(exc, form.renames())
        if report is None and form.content.strip() and form.platforms:
            report = await _quiet_report(services, viewer, form.request())
        return await _form_page(
            services,
            viewer,
            form,
            problems=problems,
            report=report,
            post_id=post_id,
            status=FORM_ERROR,
            thread=thread,
        )


async def _quiet_report(
    services: Services, viewer: Who, data: CreatePostRequest
) -> ValidationReport | None:
    """The counters for a form that came back with errors (None if it cannot be measured)."""
    try:
        return await dry_run(
            services, msgspec.structs.replace(data, scheduled_for=None), sandbox=viewer.sandbox
        )
    except OctopostError:
        return None


@post("/compose", status_code=303, opt=needs(Permission.POSTS_WRITE))
async def create(request: Req, services: Svc, viewer: Who) -> Template | Redirect:
    return await _save(request, services, viewer, None)


@post("/posts/{post_id:str}/edit", status_code=303, opt=needs(Permission.POSTS_WRITE))
async def update(
    request: Req, services: Svc, viewer: Who, post_id: FromPath[str]
) -> Template | Redirect:
    return await _save(request, services, viewer, post_id)


@post(
    "/compose/check",
    status_code=200,
    opt=needs(Permission.POSTS_READ),
    exception_handlers=EXCEPTION_HANDLERS,
)
async def check(
    request: Req, services: Svc, viewer: Who, data: JSONBody[CreatePostRequest]
) -> Response[ValidationReport] | Response[ErrorResponse]:
    """The live counter: `POST /v1/posts/validate` for this session (debounced by the page)."""
    check_header(request, viewer)
    try:
        return Response(await dry_run(services, data, sandbox=viewer.sandbox))
    except OctopostError as exc:
        return domain_handler(request, exc)
