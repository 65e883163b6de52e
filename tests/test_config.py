"""Configuration: precedence, errors with key paths, and the example file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from octopost.config import Config, ConfigError, config_keys, load_config
from octopost.platforms import ENDPOINTS, PLATFORM_IDS

ROOT = Path(__file__).resolve().parents[1]


def _leaves(tree: dict, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _leaves(value, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def test_example_file_documents_every_key() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text())
    documented = _leaves(example)
    missing = set(config_keys()) - documented
    assert not missing, f"config keys missing from config.example.toml: {sorted(missing)}"
    extra = documented - set(config_keys())
    assert not extra, f"config.example.toml has keys the code does not know: {sorted(extra)}"


def test_platform_sections_are_the_keys_each_adapter_takes() -> None:
    """`[platforms.<id>]` is built from `platforms/endpoints.py`, and the example file says
    each default as the adapter has it."""
    example = (ROOT / "config.example.toml").read_text()
    for platform in PLATFORM_IDS:
        keys = {path[2] for path in config_keys() if path[:2] == ("platforms", platform)}
        assert keys == set(ENDPOINTS[platform]), platform
        section = example.split(f"[platforms.{platform}]\n", 1)[1].split("\n\n", 1)[0]
        for line in section.splitlines():
            key, _, comment = line.partition("#")
            default = ENDPOINTS[platform][key.split("=")[0].strip()]  # type: ignore[literal-required]
            shown = f"{default:g} s" if isinstance(default, float) else f'"{default}"'
            assert comment.strip() == shown or default == "", (platform, line)


def test_config_is_frozen() -> None:
    config = load_config(env={})
    with pytest.raises(AttributeError):
        config.server.port = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        config.platforms.twitter.base_url = "https://elsewhere.example"


def test_example_file_values_are_the_defaults() -> None:
    loaded = load_config(ROOT / "config.example.toml", env={})
    # a relative database path in a file is relative to the file
    assert loaded.database.path == str(ROOT / "data" / "octopost.db")
    assert (
        msgspec.structs.replace(loaded.database, path=Config().database.path) == Config().database
    )
    assert msgspec.structs.replace(loaded, database=Config().database) == Config()


def test_precedence_defaults_file_env(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 9001\nhost = "0.0.0.0"\n[database]\npath = "/tmp/x.db"\n')
    assert load_config(env={}).server.port == 8000
    from_file = load_config(path, env={})
    assert (from_file.server.port, from_file.server.host) == (9001, "0.0.0.0")
    env = {
        "OCTOPOST_SERVER_PORT": "9002",
        "OCTOPOST_DATABASE_PATH": "/tmp/y.db",
        "OCTOPOST_CONFIG": "ignored-when-path-given",
    }
    both = load_config(path, env=env)
    assert (both.server.port, both.server.host, both.database.path) == (
        9002,
        "0.0.0.0",
        "/tmp/y.db",
    )
    via_env_var = load_config(env={"OCTOPOST_CONFIG": str(path)})
    assert via_env_var.server.port == 9001


def test_env_covers_platform_sections_and_bools() -> None:
    config = load_config(
        env={
            "OCTOPOST_PLATFORMS_LINKEDIN_API_VERSION": "202611",
            "OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS": "true",
            "OCTOPOST_PUBLISHING_BACKOFF_BASE": "0.5",
        }
    )
    assert config.platforms.linkedin.api_version == "202611"
    assert config.security.allow_private_urls is True
    assert config.publishing.backoff_base == 0.5


@pytest.mark.parametrize(
    ("toml", "env", "path"),
    [
        ("[server]\nprot = 1\n", {}, "server.prot"),
        ('[server]\nport = "eighty"\n', {}, "server.port"),
        ('[platforms.myspace]\nbase_url = "x"\n', {}, "platforms.myspace"),
        ('[platforms.twitter]\nbase_urll = "x"\n', {}, "platforms.twitter.base_urll"),
        # a key the platform's adapter would not read is refused, not ignored
        ("[platforms.youtube]\npoll_interval = 3\n", {}, "platforms.youtube.poll_interval"),
        ('[platforms.mastodon]\nupload_url = "x"\n', {}, "platforms.mastodon.upload_url"),
        (
            "",
            {"OCTOPOST_PLATFORMS_TWITTER_API_VERSION": "2"},
            "OCTOPOST_PLATFORMS_TWITTER_API_VERSION",
        ),
        ('[server]\nlog_level = "loud"\n', {}, "server.log_level"),
        ("", {"OCTOPOST_SERVER_PORT": "abc"}, "server.port"),
        ("", {"OCTOPOST_SERVER_PROT": "1"}, "OCTOPOST_SERVER_PROT"),
        ("[scheduler]\nmissed_grace = true\n", {}, "scheduler.missed_grace"),
    ],
)
def test_errors_name_the_key_path(
    tmp_path: Path, toml: str, env: dict[str, str], path: str
) -> None:
    file = tmp_path / "c.toml"
    file.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_config(file, env=env)
    assert info.value.path == path


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})
