"""The MCP tools: each one is a call of the HTTP API, through octopost.client.

Inputs are the API's request structs (their JSON Schema is generated from the same
msgspec structs that decode the requests), and the arguments go to the API as the
request body, so validation and its messages are the API's own. Descriptions state
what each platform accepts (read off the adapters' limits) and that publishing is
real unless the key is a sandbox key.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from octopost.client import Client, outcomes
from octopost.models import PostStatus
from octopost.platforms import ADAPTERS
from octopost.web.schemas import CreatePostRequest, RetryRequest, UpdatePostRequest

#: how long publish_post / retry_post wait for the outcome before answering
WAIT_SECONDS = 60.0
#: statuses delete_post removes (published or failed posts are history: the API,
#: the dashboard and `octopost posts delete` can still remove them)
DELETABLE = (PostStatus.DRAFT.value, PostStatus.SCHEDULED.value)


class ToolInputError(Exception):
    """Arguments the tool itself cannot use (the API never saw them)."""


Run = Callable[[Client, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    schema: dict[str, Any]
    run: Run
    #: the key permission the API route behind it needs
    permission: str
    read_only: bool = False
    destructive: bool = False


def platform_rules() -> str:
    """What every platform accepts, one line each (from the adapters' limits)."""
    lines = []
    for platform, adapter in ADAPTERS.items():
        limits = adapter.limits
        parts = [f"up to {limits.max_chars} characters"]
        if limits.max_images:
            parts.append(f"up to {limits.max_images} images")
        else:
            parts.append("no images")
        if limits.requires_video:
            parts.append("needs a video")
        elif limits.requires_media:
            parts.append("needs an image or a video")
        elif limits.video:
            parts.append("or one video")
        if limits.needs_public_media:
            parts.append("media at public URLs (the platform fetches them)")
        lines.append(f"- {platform} ({adapter.label}): {', '.join(parts)}")
    return "\n".join(lines)


REAL = (
    "Publishing is REAL: it posts to the connected accounts, in public, at once. With a "
    "sandbox key (oct_test_...) nothing leaves Octopost: it is the safe playground."
)
LENGTHS = (
    "Each platform counts length its own way (X counts a link as 23 and an emoji as 2, "
    "Bluesky counts graphemes...): use validate_post for the exact count against each limit."
)
SHAPES = (
    "A thread: give segments [{content, media?}] instead of content (a reply chain on "
    "twitter, bluesky, mastodon and threads; joined by blank lines on linkedin and "
    "facebook; the first segment only on instagram, tiktok and youtube), or thread: "
    '"auto" to split content by each platform\'s own count (thread_marker: true adds '
    '"i/n"). overrides: {platform: {content?, media?, segments?}} gives one platform '
    "its own version."
)


def _struct_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """The struct's JSON Schema as an object schema with its `$defs` beside it."""
    generated = msgspec.json.schema(struct)
    defs = copy.deepcopy(generated.get("$defs", {}))
    top = defs.pop(struct.__name__)
    top.pop("title", None)
    if defs:
        top["$defs"] = defs
    result: dict[str, Any] = top
    return result


POST_ID = {"type": "string", "minLength": 1, "description": "the post's id (post_...)"}
WAIT = {
    "type": "boolean",
    "default": True,
    "description": f"wait (up to {WAIT_SECONDS:g} s) for every platform's outcome",
}


def _with(schema: dict[str, Any], required: list[str], **props: Any) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    schema.setdefault("properties", {})
    schema["properties"] = {**props, **schema["properties"]}
    schema["required"] = [*required, *[r for r in schema.get("required", []) if r not in required]]
    schema["type"] = "object"
    return schema


def _object(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": required or [],
        "additionalProperties": False,
    }


def _post_id(args: dict[str, Any]) -> str:
    value = args.pop("post_id", None)
    if not isinstance(value, str) or not value.strip():
        raise ToolInputError("post_id: this field is required (a post id such as post_...)")
    return value.strip()


def _wait(args: dict[str, Any]) -> bool:
    value = args.pop("wait", True)
    if not isinstance(value, bool):
        raise ToolInputError("wait: must be true or false")
    return value


def _no_more(args: dict[str, Any]) -> None:
    if args:
        raise ToolInputError(f"{sorted(args)[0]}: unknown field")


async def _create(client: Client, args: dict[str, Any]) -> Any:
    return await client.create_post(args)


async def _update(client: Client, args: dict[str, Any]) -> Any:
    post_id = _post_id(args)
    return await client.update_post(post_id, args)


async def _publish(client: Client, args: dict[str, Any]) -> Any:
    post_id, wait = _post_id(args), _wait(args)
    _no_more(args)
    post = await client.publish(post_id)
    return await client.wait_final(post, timeout=WAIT_SECONDS) if wait else post


async def _retry(client: Client, args: dict[str, Any]) -> Any:
    post_id, wait = _post_id(args), _wait(args)
    # the rest is the API's RetryRequest body, checked by the API
    post = await client.retry(post_id, args or None)
    return await client.wait_final(post, timeout=WAIT_SECONDS) if wait else post


async def _validate(client: Client, args: dict[str, Any]) -> Any:
    if "post_id" in args:
        post_id = _post_id(args)
        _no_more(args)
        return await client.validate(post_id=post_id)
    return await client.validate(args)


async def _list_posts(client: Client, args: dict[str, Any]) -> Any:
    # Query parameters as the API takes them: it validates ranges and the status.
    query: dict[str, Any] = {k: args.pop(k) for k in ("status", "limit", "offset") if k in args}
    _no_more(args)
    return await client.call("GET", "/v1/posts", query=query)


async def _get_post(client: Client, args: dict[str, Any]) -> Any:
    post_id = _post_id(args)
    _no_more(args)
    return await client.get_post(post_id)


async def _list_accounts(client: Client, args: dict[str, Any]) -> Any:
    _no_more(args)
    return await client.list_accounts()


async def _delete(client: Client, args: dict[str, Any]) -> Any:
    post_id = _post_id(args)
    _no_more(args)
    post = await client.get_post(post_id)
    if post["status"] not in DELETABLE:
        raise ToolInputError(
            f"Post '{post_id}' is {post['status']}; delete_post removes drafts and scheduled "
            "posts only (a published post stays on the platforms either way)"
        )
    await client.delete_post(post_id)
    return {"deleted": post_id, "status": post["status"]}


def tools() -> list[ToolSpec]:
    create = _struct_schema(CreatePostRequest)
    update = _struct_schema(UpdatePostRequest)
    retry = _struct_schema(RetryRequest)
    rules = platform_rules()
    stored = {**POST_ID, "description": "check this stored post instead (and no other field)"}
    validate = _with(create, [], post_id=stored)
    validate["required"] = []
    return [
        ToolSpec(
            "create_post",
            "Create a post",
            "Create a draft post, or a scheduled one when scheduled_for (RFC 3339, e.g. "
            "2030-01-01T09:00:00Z) is given: a scheduled post is published automatically at "
            "that time. Nothing is sent now. Platform limits:\n"
            f"{rules}\n{LENGTHS}\n{SHAPES}",
            create,
            _create,
            "posts:write",
        ),
        ToolSpec(
            "validate_post",
            "Validate a post (dry run)",
            "Would this post publish? Give the same fields as create_post (or post_id for a "
            "stored post): the answer has, per platform, the length as that platform counts "
            "it, its limit, the account state and every problem, and what the post becomes "
            "there (mode: single, thread, joined, first), a thread's segments each with its "
            "count. Nothing is stored or sent.",
            validate,
            _validate,
            "posts:read",
            read_only=True,
        ),
        ToolSpec(
            "update_post",
            "Update a draft or scheduled post",
            "Change only the fields given: content, platforms, scheduled_for (null: back to "
            "draft), media (null: none), segments, overrides, thread, thread_marker. Only "
            "draft and scheduled posts can change.",
            _with(update, ["post_id"], post_id=POST_ID),
            _update,
            "posts:write",
        ),
        ToolSpec(
            "publish_post",
            "Publish a post now",
            f"{REAL} Every platform is checked first (length, media, connected account): if "
            "any would refuse, nothing is sent and the error lists each problem. Then waits "
            "for each platform's outcome (link or error) unless wait is false.",
            _object(["post_id"], post_id=POST_ID, wait=WAIT),
            _publish,
            "posts:write",
            destructive=True,
        ),
        ToolSpec(
            "retry_post",
            "Retry the failed platforms",
            f"{REAL} Publishes again only the platforms that failed (or only `platforms`); "
            "platforms that succeeded are never posted twice.",
            _with(retry, ["post_id"], post_id=POST_ID, wait=WAIT),
            _retry,
            "posts:write",
            destructive=True,
        ),
        ToolSpec(
            "list_posts",
            "List posts",
            "Newest first, with each post's status and per-platform results; `total` counts "
            "all posts matching the status filter.",
            _object(
                status={"type": "string", "enum": [s.value for s in PostStatus]},
                limit={"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
                offset={"type": "integer", "minimum": 0, "default": 0},
            ),
            _list_posts,
            "posts:read",
            read_only=True,
        ),
        ToolSpec(
            "get_post",
            "Get a post",
            "One post with each platform's outcome: the link of the published post, or the "
            "platform's error and whether retrying can help.",
            _object(["post_id"], post_id=POST_ID),
            _get_post,
            "posts:read",
            read_only=True,
        ),
        ToolSpec(
            "delete_post",
            "Delete a draft",
            "Delete a draft or scheduled post (a scheduled one will then not be published).",
            _object(["post_id"], post_id=POST_ID),
            _delete,
            "posts:write",
            destructive=True,
        ),
        ToolSpec(
            "list_accounts",
            "List connected accounts",
            "The connected platform accounts (one per platform) and whether each is active "
            "or needs reconnecting. Posts go only to platforms with an active account.",
            _object(),
            _list_accounts,
            "accounts:read",
            read_only=True,
        ),
    ]


def summary(result: Any) -> str:
    """A line or a few a person (or a model) reads first, before the JSON."""
    if not isinstance(result, dict):
        return "Done."
    if "platform_results" in result and "status" in result:
        head = f"Post {result['id']} is {result['status']}."
        if result.get("scheduled_for") and result["status"] == "scheduled":
            head += f" Scheduled for {result['scheduled_for']} (UTC)."
        lines = [head]
        for platform, state, detail in outcomes(result):
            lines.append(f"- {platform}: {state}" + (f" {detail}" if detail else ""))
        if result["status"] == "publishing":
            lines.append("Still publishing: call get_post later for the outcome.")
        return "\n".join(lines)
    if "valid" in result and "platforms" in result:
        lines = ["Would publish." if result["valid"] else "Would NOT publish:"]
        for platform, check in result["platforms"].items():
            state = "ok" if check["ok"] else "FAIL"
            problems = " ".join(check.get("problems") or [])
            lines.append(
                f"- {platform}: {state}, {check['length']}/{check['limit']} characters, "
                f"account {check['account']}" + (f": {problems}" if problems else "")
            )
        return "\n".join(lines)
    if "posts" in result and "total" in result:
        return f"{len(result['posts'])} of {result['total']} posts."
    if "accounts" in result:
        names = [f"{a['platform']} @{a['username']} ({a['status']})" for a in result["accounts"]]
        return "Connected: " + (", ".join(names) if names else "none")
    if "deleted" in result:
        return f"Deleted {result['status']} post {result['deleted']}."
    return "Done."
