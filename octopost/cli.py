"""Command line: `octopost serve | keys create|list|revoke | check-config | healthcheck |
backup | restore | posts ... | mcp`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import logging
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from octopost import __version__
from octopost.access import DESCRIPTIONS, SCOPES, Permission
from octopost.config import Config, ConfigError, load_config
from octopost.keys import KeyService
from octopost.models import ApiKey, iso, utcnow
from octopost.store import Store

#: the database file inside a data directory given with --data-dir
DB_FILE = "octopost.db"

log = logging.getLogger("octopost")


def _warn(message: str) -> None:
    print(f"octopost: warning: {message}", file=sys.stderr)


def _load(args: argparse.Namespace | str | None) -> Config:
    """The config for a command: its --config (or a path), then its --data-dir."""
    path = args if not isinstance(args, argparse.Namespace) else args.config
    try:
        config = load_config(path, warn=_warn)
    except ConfigError as exc:
        print(f"octopost: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    data_dir = getattr(args, "data_dir", None)
    if data_dir:
        database = replace(
            config.database, path=str(Path(data_dir).expanduser().resolve() / DB_FILE)
        )
        config = replace(config, database=database)
    return config


def _with_store(config: Config, work: Any, *, create: bool = True) -> Any:
    """Run `work` on the configured database, saying on stderr which one it is.

    `create=False`: a missing database is an error (listing or revoking keys in an
    empty database created by accident helps nobody)."""
    path = Path(config.database.path).expanduser().resolve()
    exists = path.exists()
    if not exists and not create:
        print(
            f"octopost: no database at {path}. Point this command at your Octopost with "
            "--config FILE or --data-dir DIR (or OCTOPOST_DATABASE_PATH).",
            file=sys.stderr,
        )
        raise SystemExit(1)
    note = "" if exists else " (new: it did not exist; if your server uses another one, "
    note += "" if exists else "pass --config or --data-dir)"
    print(f"octopost: database {path}{note}", file=sys.stderr)

    async def session() -> Any:
        store = await Store(str(path), busy_timeout_ms=config.database.busy_timeout_ms).open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(session())


def _first_key_banner(key_id: str, secret: str, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    line = "=" * 76
    return (
        f"\n{line}\n"
        f"  Octopost created its first API key ({key_id}, named 'default').\n"
        "  It is shown ONLY THIS ONCE and stored only as a hash. Copy it now:\n\n"
        f"      {secret}\n\n"
        "  Try it:\n"
        f'      curl -H "Authorization: Bearer {secret}" {base}/v1/posts\n\n'
        "  Lost it, or are these logs kept or shared? Make another key, then revoke this one:\n"
        "      octopost keys create --name laptop\n"
        f"      octopost keys revoke {key_id}\n"
        "  (in a container: docker compose exec <service> octopost keys create)\n"
        f"  API docs: {base}/schema\n"
        f"{line}\n"
    )


def _ensure_first_key(config: Config) -> tuple[str, str] | None:
    async def work(store: Store) -> tuple[str, str] | None:
        if await store.keys.all():
            return None
        key, secret = await KeyService(store).create("default")
        return key.id, secret

    result: tuple[str, str] | None = _with_store(config, work)
    return result


def cmd_serve(args: argparse.Namespace) -> int:
    # No collections while start-up builds its long-lived objects (modules, the app, the
    # routes): they would be walked again and again for nothing. Server.startup freezes
    # what start-up made and turns the collector back on.
    gc.disable()
    import uvicorn

    from octopost.app import create_app
    from octopost.datadir import AlreadyRunningError, DataDirLock
    from octopost.serving import FORCED_EXIT, PortBusyError, Server, bind
    from octopost.web.requestlog import setup_logging

    config = _load(args)
    if args.host:
        config = replace(config, server=replace(config.server, host=args.host))
    if args.port:
        config = replace(config, server=replace(config.server, port=args.port))
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
        first = _ensure_first_key(config)
        if first is not None:
            # stdout, not the log (stderr): shown once, where `docker compose logs` finds it
            key_id, secret = first
            banner = _first_key_banner(key_id, secret, config.server.host, config.server.port)
            print(banner, flush=True)
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

        def warmup() -> asyncio.Future[None] | None:
            services = getattr(app.state, "services", None)
            return None if services is None else services.prepared

        server = Server(
            uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=int(config.server.shutdown_grace) + 5,
            ),
            on_force=stop_now,
            warmup=warmup,
        )
        server.run(sockets=[sock])
        if not server.started:
            return 1  # start-up failed; uvicorn logged why
        return FORCED_EXIT if server.forced else 0
    finally:
        sock.close()
        lock.release()


def cmd_keys_create(args: argparse.Namespace) -> int:
    config = _load(args)

    async def work(store: Store) -> tuple[Any, str]:
        return await KeyService(store).create(args.name, sandbox=args.test, scopes=args.scope)

    key, secret = _with_store(config, work)
    kind = "sandbox (oct_test_)" if key.sandbox else "live"
    reach = f"limited to {', '.join(key.scopes)}" if key.scopes else "with full access"
    print(
        f"Created {kind} key {key.id} named '{key.name}', {reach}. "
        "Store it now; it is not shown again:"
    )
    print(secret)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    config = _load(args)

    async def work(store: Store) -> Any:
        return await store.keys.all()

    keys = _with_store(config, work, create=False)
    rows = [("ID", "NAME", "PREFIX", "KIND", "SCOPES", "CREATED", "LAST USED", "REVOKED")]
    for key in keys:
        rows.append(
            (
                key.id,
                key.name,
                key.prefix + "…",
                "sandbox" if key.sandbox else "live",
                ",".join(key.scopes) or "full access",
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
    config = _load(args)

    async def work(store: Store) -> tuple[ApiKey | None, ApiKey | None]:
        before = next((k for k in await store.keys.all() if k.id == args.id), None)
        if before is None or before.revoked_at is not None:
            return before, None
        return before, await store.keys.revoke(args.id, utcnow())

    before, key = _with_store(config, work, create=False)
    if before is None:
        print(f"octopost: no key with id '{args.id}' (see `octopost keys list`)", file=sys.stderr)
        return 1
    if key is None:
        print(f"Key {before.id} ('{before.name}') was already revoked at {iso(before.revoked_at)}")
        return 0
    print(f"Revoked key {key.id} ('{key.name}', {key.prefix}…)")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args)
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
    database = Path(config.database.path).expanduser().resolve()
    print(f"Config OK (database {database}, http://{config.server.host}:{config.server.port})")
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    config = _load(args)
    host = config.server.host
    # A wildcard bind address is reached on loopback (inside a container, for example).
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    url = args.url or f"http://{host}:{config.server.port}/healthz"
    # No proxy: HTTP(S)_PROXY in the environment must not send a local probe elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=args.timeout) as resp:
            body = json.loads(resp.read())
    except (OSError, ValueError, http.client.HTTPException) as exc:
        print(f"octopost: unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(body, dict) or body.get("status") != "ok":
        print(f"octopost: unhealthy: {url} answered {body!r}", file=sys.stderr)
        return 1
    print(f"healthy: {url} (octopost {body.get('version', '?')})")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from octopost.backup import BackupError, create_backup

    config = _load(args)
    try:
        result = create_backup(config, args.dest)
    except BackupError as exc:
        print(f"octopost: backup failed: {exc}", file=sys.stderr)
        return 1
    manifest = result.manifest
    print(f"Backed up {config.database.path} (schema {manifest.schema_version}) to {result.path}")
    if manifest.secret_key == "config":
        print(
            "note: the credentials key is security.encryption_key in your configuration and is "
            "not in the backup; keep it with the backup",
            file=sys.stderr,
        )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from octopost.backup import BackupError, restore_backup
    from octopost.datadir import AlreadyRunningError

    config = _load(args)
    try:
        result = restore_backup(config, args.src, force=args.force)
    except AlreadyRunningError as exc:
        print(f"octopost: restore refused: {exc}; stop it first", file=sys.stderr)
        return 1
    except BackupError as exc:
        print(f"octopost: restore failed: {exc}", file=sys.stderr)
        return 1
    manifest = result.manifest
    print(
        f"Restored {args.src} (made {manifest.created_at} by Octopost "
        f"{manifest.octopost_version}, schema {manifest.schema_version}) into {result.database}"
    )
    for path in result.kept:
        print(f"kept the replaced file as {path}")
    if manifest.secret_key == "config" and not config.security.encryption_key:
        print(
            "warning: this backup's accounts are encrypted with a security.encryption_key from "
            "its configuration; set the same key, or reconnect the accounts",
            file=sys.stderr,
        )
    elif manifest.secret_key == "file" and config.security.encryption_key:
        print(
            "warning: security.encryption_key is set, so the restored secret.key is not used; "
            "unset it to use the backup's key, or reconnect the accounts",
            file=sys.stderr,
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="octopost", description="Self-hosted cross-posting service."
    )
    parser.add_argument("--version", action="version", version=f"octopost {__version__}")
    parser.set_defaults(func=lambda _: _help(parser))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config", help="TOML config file (default: $OCTOPOST_CONFIG, else built-in defaults)"
        )
        p.add_argument(
            "--data-dir",
            metavar="DIR",
            help=f"data directory: use DIR/{DB_FILE} (overrides database.path)",
        )
        return p

    serve = with_config(sub.add_parser("serve", help="run the HTTP API, publisher and scheduler"))
    serve.add_argument("--host", help="bind address (overrides server.host)")
    serve.add_argument("--port", type=int, help="port (overrides server.port)")
    serve.set_defaults(func=cmd_serve)

    keys_parser = sub.add_parser("keys", help="manage API keys")
    keys_parser.set_defaults(func=lambda _: _help(keys_parser))
    keys = keys_parser.add_subparsers(dest="keys_command", metavar="COMMAND")
    create = with_config(
        keys.add_parser("create", help="create a key; prints it alone on the last line")
    )
    create.add_argument("--name", default="cli", help="a label for the key")
    create.add_argument(
        "--test", action="store_true", help="a sandbox key (oct_test_): posts are simulated"
    )
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        choices=SCOPES,
        metavar="PERMISSION",
        help="a permission the key holds (repeatable); none given: full access",
    )
    create.epilog = "permissions:\n" + "\n".join(
        f"  {p:<16}{DESCRIPTIONS[Permission(p)]}" for p in SCOPES
    )
    create.formatter_class = argparse.RawDescriptionHelpFormatter
    create.set_defaults(func=cmd_keys_create)
    listing = with_config(keys.add_parser("list", help="list keys (never the secrets)"))
    listing.set_defaults(func=cmd_keys_list)
    revoke = with_config(keys.add_parser("revoke", help="revoke a key by id"))
    revoke.add_argument("id")
    revoke.set_defaults(func=cmd_keys_revoke)

    check = with_config(sub.add_parser("check-config", help="validate the configuration and exit"))
    check.set_defaults(func=cmd_check_config)

    health = with_config(
        sub.add_parser("healthcheck", help="exit 0 when the running service answers /healthz")
    )
    health.add_argument("--url", help="probe this URL instead of server.host/server.port")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    health.set_defaults(func=cmd_healthcheck)

    backup = with_config(
        sub.add_parser("backup", help="copy the database and secret.key, even while serving")
    )
    backup.add_argument("dest", help="a new directory, or a file ending in .tar.gz")
    backup.set_defaults(func=cmd_backup)
    restore = with_config(
        sub.add_parser("restore", help="put a backup back (refused while the service runs)")
    )
    restore.add_argument("src", help="a backup directory or .tar.gz made by `octopost backup`")
    restore.add_argument(
        "--force", action="store_true", help="replace an existing database (kept beside it)"
    )
    restore.set_defaults(func=cmd_restore)

    # clients of a running server: their own modules
    from octopost import cli_accounts, cli_posts
    from octopost.mcp import stdio as mcp_stdio

    cli_posts.add_parser(sub)
    cli_accounts.add_parser(sub)
    mcp_stdio.add_parser(sub)
    return parser


def _help(parser: argparse.ArgumentParser) -> int:
    """No command given: the help, not just "arguments are required"."""
    parser.print_help()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
