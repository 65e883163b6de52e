"""The MCP server over the tools: listing, calling, errors, and the platform rules resource."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
import msgspec
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from octopost import __version__
from octopost.client import ApiError, Client, UnreachableError
from octopost.mcp.tools import ToolInputError, ToolSpec, platform_rules, summary, tools

log = logging.getLogger("octopost.mcp")

RULES_URI = "octopost://platforms"
INSTRUCTIONS = (
    "Octopost publishes one post to several social platforms. A good order: list_accounts "
    "(which platforms are connected), create_post (a draft), validate_post (the length as "
    "each platform counts it, against its limit), then publish_post, and retry_post for "
    "platforms that failed. The resource octopost://platforms lists each platform's limits."
)


@dataclass
class Connection:
    """The API client one MCP request uses, and whether its key is a sandbox key."""

    client: Client
    #: None when unknown
    sandbox: bool | None


Connect = Callable[[ServerRequestContext[Any, Any]], Connection]


def _key_note(sandbox: bool | None) -> str:
    if sandbox is True:
        return "This connection uses a SANDBOX key: publishing is simulated, nothing is sent. "
    if sandbox is False:
        return "This connection uses a live key. "
    return ""


def _tool(spec: ToolSpec, sandbox: bool | None) -> types.Tool:
    description = spec.description
    if spec.destructive and spec.name != "delete_post":
        description = _key_note(sandbox) + description
    description += f"\n(API key permission: {spec.permission}.)"
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=description,
        input_schema=spec.schema,
        annotations=types.ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.read_only,
            open_world_hint=spec.destructive,
        ),
    )


def _failure(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _success(result: Any) -> types.CallToolResult:
    body = msgspec.json.format(msgspec.json.encode(result), indent=2).decode()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=f"{summary(result)}\n\n{body}")],
        structured_content=result if isinstance(result, dict) else None,
        is_error=False,
    )


async def run_tool(
    spec: ToolSpec, client: Client, arguments: dict[str, Any]
) -> types.CallToolResult:
    """One tool call; every failure is a tool error carrying the API's words."""
    try:
        return _success(await spec.run(client, dict(arguments)))
    except ToolInputError as exc:
        return _failure(str(exc))
    except ApiError as exc:
        return _failure("\n".join(exc.lines()) + f"\n(HTTP {exc.status} {exc.code})")
    except UnreachableError as exc:
        return _failure(str(exc))
    except Exception:
        log.exception("MCP tool %s failed", spec.name)
        return _failure(f"{spec.name} failed inside Octopost; the details are in its log.")


def build_server(connect: Connect) -> Server[Any]:
    """The MCP server; `connect` gives the API client of each request."""
    specs = {spec.name: spec for spec in tools()}

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        sandbox = connect(ctx).sandbox
        return types.ListToolsResult(tools=[_tool(s, sandbox) for s in specs.values()])

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        spec = specs.get(params.name)
        if spec is None:
            return _failure(f"Unknown tool '{params.name}'; the tools are: {', '.join(specs)}")
        arguments = params.arguments or {}
        if not isinstance(arguments, dict):
            return _failure("The arguments must be a JSON object")
        return await run_tool(spec, connect(ctx).client, arguments)

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=RULES_URI,
                    name="platforms",
                    title="What each platform accepts",
                    description="Character limits, images, video and media rules per platform",
                    mime_type="text/markdown",
                )
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) != RULES_URI:
            from mcp.shared.exceptions import MCPError

            raise MCPError(
                code=types.INVALID_PARAMS, message=f"Unknown resource {params.uri}; try {RULES_URI}"
            )
        text = "# What each platform accepts\n\n" + platform_rules() + "\n"
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(uri=RULES_URI, text=text, mime_type="text/markdown")
            ]
        )

    return Server(
        "octopost",
        version=__version__,
        title="Octopost",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )
