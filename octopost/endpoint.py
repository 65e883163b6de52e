"""Where a client command finds its server and its API key.

The key is never a command-line argument (it would show in `ps` and the shell's
history). In order, first found wins:
- URL: `--url`, then `$OCTOPOST_URL`, then the credentials file's `url`, then
  the config's `server.host`/`server.port` (the same config `serve` reads);
- key: `$OCTOPOST_KEY`, then the credentials file's `key`.

The credentials file is TOML (`url = "..."`, `key = "oct_live_..."`) at
`$OCTOPOST_CREDENTIALS`, else `$XDG_CONFIG_HOME/octopost/credentials.toml`
(`~/.config/octopost/credentials.toml`). It must be readable by its owner only
(mode 0600): a key in a file others can read is refused, as ssh refuses such a key.
These variables are not config variables: config only reads OCTOPOST_<SECTION>_*.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from octopost.config import ConfigError, load_config

URL_ENV = "OCTOPOST_URL"
KEY_ENV = "OCTOPOST_KEY"
CREDENTIALS_ENV = "OCTOPOST_CREDENTIALS"
#: a server bound to every address is reached on this machine's loopback
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}


class EndpointError(Exception):
    """No usable URL or key (the message says where to put one)."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    key: str
    #: where the key came from, for messages ("$OCTOPOST_KEY", a file path)
    key_source: str


def credentials_path(env: Mapping[str, str]) -> Path:
    if env.get(CREDENTIALS_ENV):
        return Path(env[CREDENTIALS_ENV]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "octopost" / "credentials.toml"


def _read_credentials(path: Path) -> dict[str, str]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise EndpointError(f"cannot read the credentials file {path}: {exc.strerror}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise EndpointError(
            f"the credentials file {path} can be read by others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EndpointError(f"cannot read the credentials file {path}: {exc}") from exc
    unknown = sorted(set(data) - {"url", "key"})
    if unknown:
        raise EndpointError(f"{path}: unknown key '{unknown[0]}' (only url and key)")
    if not all(isinstance(v, str) for v in data.values()):
        raise EndpointError(f"{path}: url and key must be strings")
    return {k: str(v) for k, v in data.items()}


def _configured_url(config_path: str | None, env: Mapping[str, str]) -> str:
    try:
        config = load_config(config_path, env=env, warn=lambda _message: None)
    except ConfigError as exc:
        raise EndpointError(f"config error: {exc}") from exc
    host = _ANY_ADDRESS.get(config.server.host, config.server.host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{config.server.port}"


def resolve(
    *, url: str | None = None, config_path: str | None = None, env: Mapping[str, str] | None = None
) -> Endpoint:
    """The server URL and API key a client command uses (EndpointError if no key)."""
    env = os.environ if env is None else env
    path = credentials_path(env)
    stored = _read_credentials(path)
    chosen_url = url or env.get(URL_ENV) or stored.get("url") or _configured_url(config_path, env)
    if not chosen_url.startswith(("http://", "https://")):
        raise EndpointError(
            f"the server URL must start with http:// or https:// (got {chosen_url!r})"
        )
    if env.get(KEY_ENV):
        return Endpoint(chosen_url.rstrip("/"), env[KEY_ENV].strip(), f"${KEY_ENV}")
    if stored.get("key"):
        return Endpoint(chosen_url.rstrip("/"), stored["key"].strip(), str(path))
    raise EndpointError(
        f'no API key: set {KEY_ENV}, or put key = "oct_live_..." in {path} (chmod 600). '
        "Make a key with: octopost keys create --scope posts:read --scope posts:write"
    )
