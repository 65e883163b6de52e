"""Command line: `octopost serve | keys create|list|revoke | check-config`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from octopost import __version__
from octopost.config import Config, ConfigError, load_config
from octopost.keys import KeyService
from octopost.models import iso
from octopost.store import Store

log = logging.getLogger("octopost")


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"octopost: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


async def _with_store(config: Config, work: Any) -> Any:
    store = await Store(
        config.database.path, busy_timeout_ms=config.database.busy_timeout_ms
    ).open()
    try:
        return await work(store)
    finally:
        await store.close()


def _first_key_banner(secret: str, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    line = "=" * 72
    return (
        f"\n{line}\n"
        "  Octopost created your first API key. It is shown only this once:\n\n"
        f"      {secret}\n\n"
        "  Try it:\n"
        f'      curl -H "Authorization: Bearer {secret}" {base}/v1/posts\n\n'
        "  More keys: `octopost keys create`   (sandbox keys: `--test`)\n"
        f"  API docs:  {base}/schema\n"
        f"{line}\n"
    )


async def _ensure_first_key(config: Config) -> str | None:
    async def work(store: Store) -> str | None:
        if await store.keys.all():
            return None
        _, secret = await KeyService(store).create("default")
        return secret

    result: str | None = await _with_store(config, work)
    return result


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from octopost.app import create_app
    from octopost.datadir import AlreadyRunningError, DataDirLock
    from octopost.serving import FORCED_EXIT, PortBusyError, Server, bind
    from octopost.web.requestlog import setup_logging

    config = _load(args.config)
    if args.host:
        config.server.host = args.host
    if args.port:
        config.server.port = args.port
    setup_logging(config.server.log_level)
    # Before anything is read, migrated or resumed: a second instance on the same data
    # directory would mark the first one's in-flight publishes failed.
    lock = DataDirLock(config.data_dir)
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        print(f"octopost: {exc}", file=sys.stderr)
        return 1
    try:
        # Bound here, before any background work starts, and handed to uvicorn.
        sock = bind(config.server.host, config.server.port)
    except PortBusyError as exc:
        lock.release()
        print(f"octopost: {exc}", file=sys.stderr)
        return 1
    try:
        secret = asyncio.run(_ensure_first_key(config))
        if secret is not None:
            print(_first_key_banner(secret, config.server.host, config.server.port), flush=True)
        log.info(
            "Octopost %s on http://%s:%d (database %s)",
            __version__,
            config.server.host,
            config.server.port,
            config.database.path,
        )
        app = create_app(config)

        def stop_now() -> None:
            services = getattr(app.state, "services", None)
            if services is not None:
                services.publisher.abort()

        server = Server(
            uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=int(config.server.shutdown_grace) + 5,
            ),
            on_force=stop_now,
        )
        server.run(sockets=[sock])
        if not server.started:
            return 1  # start-up failed; uvicorn logged why
        return FORCED_EXIT if server.forced else 0
    finally:
        sock.close()
        lock.release()


def cmd_keys_create(args: argparse.Namespace) -> int:
    config = _load(args.config)

    async def work(store: Store) -> tuple[Any, str]:
        return await KeyService(store).create(args.name, sandbox=args.test)

    key, secret = asyncio.run(_with_store(config, work))
    kind = "sandbox (oct_test_)" if key.sandbox else "live"
    print(f"Created {kind} key {key.id} named '{key.name}'. Store it now; it is not shown again:")
    print(secret)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    config = _load(args.config)

    async def work(store: Store) -> Any:
        return await store.keys.all()

    keys = asyncio.run(_with_store(config, work))
    rows = [("ID", "NAME", "PREFIX", "KIND", "CREATED", "LAST USED", "REVOKED")]
    for key in keys:
        rows.append(
            (
                key.id,
                key.name,
                key.prefix + "…",
                "sandbox" if key.sandbox else "live",
                iso(key.created_at) or "",
                iso(key.last_used_at) or "never",
                iso(key.revoked_at) or "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    config = _load(args.config)

    async def work(store: Store) -> Any:
        from octopost.models import utcnow

        return await store.keys.revoke(args.id, utcnow())

    key = asyncio.run(_with_store(config, work))
    if key is None:
        print(f"octopost: no key with id '{args.id}'", file=sys.stderr)
        return 1
    print(f"Revoked key {key.id} ('{key.name}', {key.prefix}…)")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config.security.encryption_key:
        from octopost.crypto import CredentialBox

        try:
            CredentialBox(config.security.encryption_key.encode())
        except ValueError:
            print(
                "octopost: config error: security.encryption_key: not a valid Fernet key",
                file=sys.stderr,
            )
            return 2
    print(
        f"Config OK (database {config.database.path}, http://{config.server.host}:{config.server.port})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="octopost", description="Self-hosted cross-posting service."
    )
    parser.add_argument("--version", action="version", version=f"octopost {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config", help="TOML config file (default: $OCTOPOST_CONFIG, else built-in defaults)"
        )
        return p

    serve = with_config(sub.add_parser("serve", help="run the HTTP API, publisher and scheduler"))
    serve.add_argument("--host", help="bind address (overrides server.host)")
    serve.add_argument("--port", type=int, help="port (overrides server.port)")
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = with_config(
        keys.add_parser("create", help="create a key; prints it alone on the last line")
    )
    create.add_argument("--name", default="cli", help="a label for the key")
    create.add_argument(
        "--test", action="store_true", help="a sandbox key (oct_test_): posts are simulated"
    )
    create.set_defaults(func=cmd_keys_create)
    listing = with_config(keys.add_parser("list", help="list keys (never the secrets)"))
    listing.set_defaults(func=cmd_keys_list)
    revoke = with_config(keys.add_parser("revoke", help="revoke a key by id"))
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_keys_revoke)

    check = with_config(sub.add_parser("check-config", help="validate the configuration and exit"))
    check.set_defaults(func=cmd_check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
