"""`octopost mcp`: MCP over stdin/stdout for a desktop client that starts it.

It talks to a running Octopost over HTTP with an API key (octopost.endpoint: the
URL from --url, $OCTOPOST_URL, the credentials file or the config; the key from
$OCTOPOST_KEY or the credentials file), rather than opening the data directory:
`octopost serve` holds the directory's exclusive lock (octopost.datadir) and
owns publishing, the scheduler and webhooks, and going through the API gives MCP
the same checks, permissions and messages as every other client.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from octopost.endpoint import KEY_ENV, URL_ENV, EndpointError, resolve


async def serve(url: str, key: str) -> None:
    # Imported here, not at the top: `octopost <any command>` imports this module for
    # its parser, and the SDK and the platform adapters take seconds to import.
    from mcp.server.stdio import stdio_server

    from octopost.client import Client, HttpTransport
    from octopost.keys import TEST_PREFIX
    from octopost.mcp.server import Connection, build_server

    client = Client(HttpTransport(url, key))
    connection = Connection(client, key.startswith(TEST_PREFIX))
    server = build_server(lambda _ctx: connection)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        await client.close()


def cmd_mcp(args: argparse.Namespace) -> int:
    # stdout is the protocol's: every log line goes to stderr
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="octopost mcp: %(levelname)s %(message)s"
    )
    try:
        endpoint = resolve(url=args.url, config_path=args.config)
    except EndpointError as exc:
        print(f"octopost: {exc}", file=sys.stderr)
        return 2
    print(f"octopost mcp: serving MCP on stdio for {endpoint.url}", file=sys.stderr)
    asyncio.run(serve(endpoint.url, endpoint.key))
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "mcp",
        help="MCP server on stdin/stdout (for a desktop MCP client) over a running Octopost",
        description="Serve MCP on stdin/stdout for a desktop client that starts this command. "
        f"It calls the API of a running Octopost: the URL from --url, ${URL_ENV}, the "
        f"credentials file or the config; the key from ${KEY_ENV} or the credentials file.",
    )
    p.add_argument("--url", help=f"the server (default: ${URL_ENV}, credentials, config)")
    p.add_argument("--config", help="TOML config whose server.host/port give the URL")
    p.set_defaults(func=cmd_mcp)
