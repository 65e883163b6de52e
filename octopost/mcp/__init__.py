"""Octopost as an MCP server: the API's post and account operations as MCP tools.

- `tools`: the tools, each one API call through octopost.client;
- `server`: the MCP server (the SDK's low-level `Server`) over those tools;
- `http`: streamable HTTP at `/mcp` inside `octopost serve`, with the API's keys;
- `stdio`: `octopost mcp`, for a desktop client that starts it, talking to a
  running server over HTTP.

The package is `octopost.mcp`; `mcp` alone is the official SDK it is built on.
"""
