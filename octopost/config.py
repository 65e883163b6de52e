"""Typed configuration: built-in defaults, then a TOML file, then environment variables.

`load_config()` is the one entry point. Unknown keys and wrong types fail with
the exact key path (`server.port`, `platforms.linkedin.api_version`).
Environment variables are `OCTOPOST_<SECTION>_<KEY>` (e.g. `OCTOPOST_SERVER_PORT`)
and `OCTOPOST_PLATFORMS_<ID>_<KEY>` for platform sections.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

ENV_PREFIX = "OCTOPOST_"
CONFIG_ENV = "OCTOPOST_CONFIG"


class ConfigError(Exception):
    """Bad configuration; `path` is the offending key path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: seconds in-flight publishes get to finish after SIGTERM before the process exits
    shutdown_grace: float = 20.0


class DatabaseConfig(Section):
    path: str = "data/octopost.db"
    busy_timeout_ms: int = 5000


class SecurityConfig(Section):
    #: Fernet key for credentials at rest; empty: generated into <data dir>/secret.key
    encryption_key: str = ""
    #: allow media, link-card and webhook URLs on loopback/private/link-local addresses
    allow_private_urls: bool = False


class PublishingConfig(Section):
    #: attempts per platform for transient failures (5xx, 429, connection refused)
    max_attempts: int = 4
    #: first backoff delay in seconds; doubles per attempt, with full jitter
    backoff_base: float = 2.0
    #: cap of one backoff delay in seconds
    backoff_max: float = 60.0
    #: longest platform-requested wait (Retry-After / reset) honoured before giving up
    max_retry_delay: float = 300.0
    #: timeout of one platform HTTP request in seconds
    request_timeout: float = 60.0
    #: largest media file downloaded, in bytes
    media_max_bytes: int = 512 * 1024 * 1024
    #: platform deliveries in flight at once, across all posts (a delivery waiting
    #: to retry does not hold one)
    max_in_flight: int = 64


class SchedulerConfig(Section):
    #: a post whose time passed while the service was down is still published when
    #: it is late by less than this many seconds; otherwise it fails as missed
    missed_grace: float = 3600.0
    #: seconds between sweeps for due posts (a safety net behind the exact timers)
    sweep_interval: float = 30.0


class WebhooksConfig(Section):
    #: seconds to wait for a receiver's answer
    timeout: float = 10.0
    #: seconds between outbox polls (new events are also sent at once)
    poll_interval: float = 5.0
    #: first retry delay in seconds; doubles per attempt up to `backoff_max`
    backoff_base: float = 5.0
    #: deliveries are abandoned after `retry_window` seconds
    backoff_max: float = 3 * 3600.0
    retry_window: float = 3 * 24 * 3600.0


class PlatformConfig(Section):
    """Per-platform overrides; empty or 0 means the adapter's built-in default."""

    base_url: str = ""
    upload_url: str = ""
    auth_url: str = ""
    api_version: str = ""
    poll_interval: float = 0.0
    poll_timeout: float = 0.0


class PlatformsConfig(Section):
    twitter: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    bluesky: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    mastodon: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    linkedin: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    threads: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    instagram: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    facebook: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    tiktok: PlatformConfig = msgspec.field(default_factory=PlatformConfig)
    youtube: PlatformConfig = msgspec.field(default_factory=PlatformConfig)


class Config(Section):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    security: SecurityConfig = msgspec.field(default_factory=SecurityConfig)
    publishing: PublishingConfig = msgspec.field(default_factory=PublishingConfig)
    scheduler: SchedulerConfig = msgspec.field(default_factory=SchedulerConfig)
    webhooks: WebhooksConfig = msgspec.field(default_factory=WebhooksConfig)
    platforms: PlatformsConfig = msgspec.field(default_factory=PlatformsConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.database.path).expanduser().resolve().parent

    def platform(self, platform: str) -> PlatformConfig:
        value = getattr(self.platforms, platform, None)
        return value if isinstance(value, PlatformConfig) else PlatformConfig()


def _leaf_paths(node: msgspec.Struct, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name in type(node).__struct_fields__:
        value = getattr(node, name)
        if isinstance(value, msgspec.Struct):
            paths.extend(_leaf_paths(value, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


def config_keys() -> list[tuple[str, ...]]:
    """Every config key path, e.g. ("server", "port"), ("platforms", "x", "base_url")."""
    return _leaf_paths(Config())


ENV_VARS = {ENV_PREFIX + "_".join(p).upper(): p for p in config_keys()}


def _set_path(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(".".join(path[:-1]), "expected a table")
        node = child
    node[path[-1]] = value


_PATH_RE = re.compile(r"at `\$\.?([^`]*)`")


def _struct_error(exc: msgspec.ValidationError) -> ConfigError:
    text = str(exc)
    match = _PATH_RE.search(text)
    raw = match.group(1) if match else ""
    path = re.sub(r"\[(\d+)\]", r"[\1]", raw)
    message = _PATH_RE.sub("", text).strip(" -")
    unknown = re.match(r"Object contains unknown field `([^`]+)`", message)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
        message = "unknown key"
    return ConfigError(path, message)


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Defaults, then the TOML file (`path` or $OCTOPOST_CONFIG), then OCTOPOST_* variables."""
    env = os.environ if env is None else env
    file_path = path if path is not None else env.get(CONFIG_ENV) or None
    tree: dict[str, Any] = {}
    if file_path is not None:
        try:
            with open(file_path, "rb") as fh:
                tree = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError("", f"config file not found: {file_path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("", f"{file_path} is not valid TOML: {exc}") from exc
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key_path = ENV_VARS.get(name)
        if key_path is None:
            raise ConfigError(name, "unknown environment variable")
        _set_path(tree, key_path, value)
    try:
        # strict=False lets environment strings become ints, floats and booleans.
        return msgspec.convert(tree, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise _struct_error(exc) from exc
