"""Typed configuration: built-in defaults, then a TOML file, then environment variables.

`load_config()` is the one entry point. Unknown keys, wrong types and values out
of range fail with the exact key path (`server.port: must be at most 65535`).
A file's values must have the right TOML type (`port = "9137"` is an error);
environment values are text, read by the key's type (booleans: true/false,
1/0, yes/no, on/off). Environment variables are `OCTOPOST_<SECTION>_<KEY>` (e.g.
`OCTOPOST_SERVER_PORT`) and `OCTOPOST_PLATFORMS_<ID>_<KEY>`; only variables that
name a config section are config (client scripts set OCTOPOST_URL or
OCTOPOST_KEY), and near-misses such as OCTOPOST_SERVR_PORT are warned about.
A relative `database.path` in a config file is relative to that file.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast
from urllib.parse import urlsplit

import msgspec

from octopost.errors import in_words
from octopost.platforms import ENDPOINTS, PLATFORM_IDS

log = logging.getLogger("octopost.config")

ENV_PREFIX = "OCTOPOST_"
CONFIG_ENV = "OCTOPOST_CONFIG"


class ConfigError(Exception):
    """Bad configuration; `path` is the offending key path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


#: keys whose values are never shown (reprs, logs): they grant access to something
SECRET_KEYS = frozenset({"client_secret", "encryption_key"})


class Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A config table: unknown keys are refused, and a loaded config is never changed
    (`msgspec.structs.replace` makes a changed copy). Secrets show as '***' in a repr."""

    def __repr__(self) -> str:
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            shown.append(f"{name}={'***' if name in SECRET_KEYS and value else repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


# Ranges every key must respect (checked when the config is decoded).
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Count = Annotated[int, msgspec.Meta(ge=1)]
Millis = Annotated[int, msgspec.Meta(ge=0)]
Seconds = Annotated[float, msgspec.Meta(ge=0)]
#: a duration that must not be zero (a timeout, a polling interval)
Positive = Annotated[float, msgspec.Meta(gt=0)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class ServerConfig(Section, frozen=True):
    host: NonEmpty = "127.0.0.1"
    port: Port = 8000
    #: the URL people's browsers reach Octopost at (behind a reverse proxy: its public
    #: https URL); OAuth redirect URIs are built from it. Empty: http://<host>:<port>
    public_url: str = ""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: seconds in-flight publishes get to finish after SIGTERM before the process exits
    shutdown_grace: Seconds = 20.0
    #: requests handled at once; more wait their turn (writes first), so publishing
    #: and scheduling never queue behind a flood of requests
    max_active_requests: Count = 32


class DatabaseConfig(Section, frozen=True):
    path: NonEmpty = "data/octopost.db"
    busy_timeout_ms: Millis = 5000
    #: "full": every commit is synced to disk before it is answered (survives power
    #: loss); "normal": synced at checkpoints only (survives a crash of Octopost, but
    #: the last commits can be lost if the machine loses power). See the README.
    synchronous: Literal["full", "normal"] = "full"


class SecurityConfig(Section, frozen=True):
    #: Fernet key for credentials at rest; empty: generated into <data dir>/secret.key
    encryption_key: str = ""
    #: allow media, link-card and webhook URLs on loopback/private/link-local addresses
    allow_private_urls: bool = False


class PublishingConfig(Section, frozen=True):
    #: attempts per platform for transient failures (5xx, 429, connection refused)
    max_attempts: Count = 4
    #: first backoff delay in seconds; doubles per attempt, with full jitter
    backoff_base: Seconds = 2.0
    #: cap of one backoff delay in seconds
    backoff_max: Seconds = 60.0
    #: longest platform-requested wait (Retry-After / reset) honoured before giving up
    max_retry_delay: Seconds = 300.0
    #: timeout of one platform HTTP request in seconds
    request_timeout: Positive = 60.0
    #: largest media file downloaded, in bytes
    media_max_bytes: Count = 512 * 1024 * 1024
    #: platform deliveries in flight at once, across all posts (a delivery waiting
    #: to retry does not hold one)
    max_in_flight: Count = 64


class SchedulerConfig(Section, frozen=True):
    #: a post whose time passed while the service was down is still published when
    #: it is late by less than this many seconds; otherwise it fails as missed
    missed_grace: Seconds = 3600.0
    #: seconds between sweeps for due posts (a safety net behind the exact timers)
    sweep_interval: Positive = 30.0


class WebhooksConfig(Section, frozen=True):
    #: seconds to wait for a receiver's answer
    timeout: Positive = 10.0
    #: seconds between outbox polls (new events are also sent at once)
    poll_interval: Positive = 5.0
    #: first retry delay in seconds; doubles per attempt up to `backoff_max`
    backoff_base: Seconds = 5.0
    #: deliveries are abandoned after `retry_window` seconds
    backoff_max: Seconds = 3 * 3600.0
    retry_window: Seconds = 3 * 24 * 3600.0


#: the type of each platform setting; "" and 0 mean the adapter's built-in default
_PLATFORM_KEYS: dict[str, tuple[Any, Any]] = {
    # "" or an http(s) URL (checked in load_config with the one URL validator)
    "base_url": (str, ""),
    "upload_url": (str, ""),
    "auth_url": (str, ""),
    "authorize_url": (str, ""),
    "client_id": (str, ""),
    "client_secret": (str, ""),
    "api_version": (str, ""),
    "poll_interval": (Seconds, 0.0),
    "poll_timeout": (Seconds, 0.0),
}


def _platform_section(platform: str) -> type[Section]:
    """`[platforms.<id>]`: exactly the settings that platform's adapter takes
    (`platforms/endpoints.py`), so a key it would ignore is refused."""
    section = msgspec.defstruct(
        f"{platform.capitalize()}Config",
        [(key, *_PLATFORM_KEYS[key]) for key in ENDPOINTS[platform]],
        bases=(Section,),
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=True,
    )
    return cast(type[Section], section)  # defstruct is typed as returning a plain Struct


if TYPE_CHECKING:

    class PlatformsConfig(Section, frozen=True):
        """One section per platform id (built from `platforms/endpoints.py`)."""

        def __getattr__(self, platform: str) -> Section: ...

else:
    PlatformsConfig = msgspec.defstruct(
        "PlatformsConfig",
        [
            (platform, section, msgspec.field(default_factory=section))
            for platform in PLATFORM_IDS
            for section in [_platform_section(platform)]
        ],
        bases=(Section,),
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=True,
    )


class Config(Section, frozen=True):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    database: DatabaseConfig = msgspec.field(default_factory=DatabaseConfig)
    security: SecurityConfig = msgspec.field(default_factory=SecurityConfig)
    publishing: PublishingConfig = msgspec.field(default_factory=PublishingConfig)
    scheduler: SchedulerConfig = msgspec.field(default_factory=SchedulerConfig)
    webhooks: WebhooksConfig = msgspec.field(default_factory=WebhooksConfig)
    platforms: PlatformsConfig = msgspec.field(default_factory=PlatformsConfig)

    @property
    def public_url(self) -> str:
        """Where browsers reach this Octopost (no trailing slash)."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.server.port}"

    @property
    def data_dir(self) -> Path:
        return Path(self.database.path).expanduser().resolve().parent

    def platform(self, platform: str) -> dict[str, Any]:
        """The `[platforms.<id>]` values of `platform` (only the keys it takes)."""
        return msgspec.structs.asdict(getattr(self.platforms, platform))


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
#: OCTOPOST_<SECTION>_...: the variables that are config (anything else is not ours)
SECTIONS = tuple(name.upper() for name in Config.__struct_fields__)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _leaf_types() -> dict[tuple[str, ...], Any]:
    """The msgspec type of every key path."""
    types: dict[tuple[str, ...], Any] = {}

    def walk(info: Any, prefix: tuple[str, ...]) -> None:
        for field in info.fields:
            kind = field.type
            if isinstance(kind, msgspec.inspect.Metadata):
                kind = kind.type
            if isinstance(kind, msgspec.inspect.StructType):
                walk(kind, (*prefix, field.name))
            else:
                types[(*prefix, field.name)] = kind

    walk(msgspec.inspect.type_info(Config), ())
    return types


_TYPES = _leaf_types()


def _from_env(name: str, path: tuple[str, ...], raw: str) -> Any:
    """An environment value read as its key's type (environment values are all text)."""
    kind = _TYPES[path]
    key = ".".join(path)
    text = raw.strip()
    try:
        if isinstance(kind, msgspec.inspect.BoolType):
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("must be true or false (accepted: true/false, 1/0, yes/no, on/off)")
        if isinstance(kind, msgspec.inspect.IntType):
            if not re.fullmatch(r"[+-]?\d+", text):
                raise ValueError("must be an integer")
            return int(text)
        if isinstance(kind, msgspec.inspect.FloatType):
            try:
                return float(text)
            except ValueError:
                raise ValueError("must be a number") from None
    except ValueError as exc:
        raise ConfigError(key, f"{exc} (from {name}={raw!r})") from None
    return raw


def _near_miss(name: str) -> str | None:
    """The config variable `name` was probably meant to be, if it looks like one."""
    close = difflib.get_close_matches(name, ENV_VARS, n=1, cutoff=0.8)
    if close:
        return close[0]
    tail = name[len(ENV_PREFIX) :]
    for var, path in ENV_VARS.items():  # the section left out: OCTOPOST_PORT
        if path[0] != "platforms" and "_".join(path[1:]).upper() == tail:
            return var
    section = name[len(ENV_PREFIX) :].split("_", 1)[0]
    meant = difflib.get_close_matches(section, SECTIONS, n=1, cutoff=0.75)
    if not meant:
        return None
    guess = difflib.get_close_matches(name, ENV_VARS, n=1, cutoff=0.5)
    return guess[0] if guess else f"{ENV_PREFIX}{meant[0]}_<KEY>"


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
    elif message.startswith("Invalid enum value"):
        message = in_words(message).replace("is not one of the allowed", "is not one of the valid")
    else:
        message = in_words(message)
    return ConfigError(path, message)


def _read_file(file_path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(file_path, "rb") as fh:
            tree = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError("", f"config file not found: {file_path}") from exc
    except IsADirectoryError as exc:
        raise ConfigError("", f"{file_path} is a directory, not a config file") from exc
    except PermissionError as exc:
        raise ConfigError(
            "", f"cannot read the config file {file_path}: permission denied"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{file_path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError("", f"cannot read the config file {file_path}: {exc.strerror}") from exc
    # A relative database path in a file means: next to that file, not wherever the
    # command happens to run.
    database = tree.get("database")
    if isinstance(database, dict) and isinstance(database.get("path"), str):
        db_path = Path(database["path"]).expanduser()
        if not db_path.is_absolute():
            database["path"] = str(Path(file_path).resolve().parent / db_path)
    return tree


def _check_urls(config: Config) -> None:
    from octopost.netguard import url_problem

    for platform in PLATFORM_IDS:
        section = config.platform(platform)
        for key in ("base_url", "upload_url", "auth_url", "authorize_url"):
            value = section.get(key)
            problem = url_problem(value) if value else None
            if problem is not None:
                raise ConfigError(f"platforms.{platform}.{key}", problem)
    public = config.server.public_url
    problem = url_problem(public) if public else None
    if problem is None and public and (urlsplit(public).query or urlsplit(public).fragment):
        problem = "must be a URL without a query or fragment, e.g. https://octopost.example.com"
    if problem is not None:
        raise ConfigError("server.public_url", problem)


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> Config:
    """Defaults, then the TOML file (`path` or $OCTOPOST_CONFIG), then OCTOPOST_* variables.

    `warn` is told about environment variables that look like config but are not."""
    env = os.environ if env is None else env
    warn = warn or log.warning
    file_path = path if path is not None else env.get(CONFIG_ENV) or None
    tree: dict[str, Any] = _read_file(file_path) if file_path is not None else {}
    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key_path = ENV_VARS.get(name)
        if key_path is None:
            section = name[len(ENV_PREFIX) :].split("_", 1)[0]
            if section in SECTIONS:
                raise ConfigError(name, "unknown environment variable (not a config key)")
            meant = _near_miss(name)
            if meant is not None:
                warn(f"{name} is not a config variable (did you mean {meant}?); ignored")
            continue
        _set_path(tree, key_path, _from_env(name, key_path, value))
    try:
        config = msgspec.convert(tree, Config)
    except msgspec.ValidationError as exc:
        raise _struct_error(exc) from exc
    _check_urls(config)
    return config
