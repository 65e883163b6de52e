"""Config as a new user meets it: ranges and types with key paths, env spellings, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from octopost.config import ConfigError, load_config


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "octopost.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("toml", "path", "message"),
    [
        ("[server]\nport = 70000\n", "server.port", "must be at most 65535"),
        ("[server]\nport = 0\n", "server.port", "must be at least 1"),
        ('[server]\nport = "9137"\n', "server.port", "must be an integer"),
        ("[server]\nport = 9137.0\n", "server.port", "must be an integer"),
        ('[server]\nhost = ""\n', "server.host", "must be at least 1 characters"),
        ("[publishing]\nmax_attempts = -1\n", "publishing.max_attempts", "must be at least 1"),
        ("[publishing]\nmax_attempts = 0\n", "publishing.max_attempts", "must be at least 1"),
        ("[publishing]\nrequest_timeout = 0\n", "publishing.request_timeout", "more than 0"),
        ("[publishing]\nmedia_max_bytes = 0\n", "publishing.media_max_bytes", "at least 1"),
        ("[webhooks]\ntimeout = -5\n", "webhooks.timeout", "must be more than 0"),
        ("[scheduler]\nmissed_grace = -1\n", "scheduler.missed_grace", "must be at least 0"),
        (
            '[security]\nallow_private_urls = "yes"\n',
            "security.allow_private_urls",
            "true or false",
        ),
        ('[database]\nbusy_timeout_ms = "5s"\n', "database.busy_timeout_ms", "must be an integer"),
        (
            '[platforms.mastodon]\nbase_url = "mastodon.example"\n',
            "platforms.mastodon.base_url",
            "must be a valid http(s) URL",
        ),
        ("[platforms.tiktok]\npoll_timeout = -1\n", "platforms.tiktok.poll_timeout", "at least 0"),
    ],
)
def test_ranges_and_types_name_the_key(tmp_path: Path, toml: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_file(tmp_path, toml), env={})
    assert info.value.path == path
    assert message in info.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("Off", False),
    ],
)
def test_boolean_spellings_in_the_environment(value: str, expected: bool) -> None:
    env = {"OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS": value}
    assert load_config(env=env).security.allow_private_urls is expected


def test_a_bad_boolean_says_which_spellings_work() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={"OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS": "maybe"})
    assert info.value.path == "security.allow_private_urls"
    assert "true/false, 1/0, yes/no, on/off" in info.value.message
    assert "OCTOPOST_SECURITY_ALLOW_PRIVATE_URLS" in info.value.message


def test_environment_numbers_are_checked_like_file_numbers() -> None:
    for name, value, path in [
        ("OCTOPOST_SERVER_PORT", "70000", "server.port"),
        ("OCTOPOST_SERVER_PORT", "80.5", "server.port"),
        ("OCTOPOST_PUBLISHING_MAX_ATTEMPTS", "-1", "publishing.max_attempts"),
        ("OCTOPOST_PUBLISHING_BACKOFF_BASE", "soon", "publishing.backoff_base"),
    ]:
        with pytest.raises(ConfigError) as info:
            load_config(env={name: value})
        assert info.value.path == path, name
    assert load_config(env={"OCTOPOST_SERVER_PORT": " 9137 "}).server.port == 9137


def test_only_section_variables_are_config(tmp_path: Path) -> None:
    warnings: list[str] = []
    env = {
        "OCTOPOST_URL": "http://127.0.0.1:8000",  # what client scripts set
        "OCTOPOST_KEY": "oct_live_x",
        "OCTOPOST_SERVR_PORT": "9000",
        "OCTOPOST_PORT": "9001",
        "OCTOPOST_SERVER_PORT": "9002",
    }
    config = load_config(env=env, warn=warnings.append)
    assert config.server.port == 9002
    assert len(warnings) == 2, warnings
    assert any(
        "OCTOPOST_SERVR_PORT" in w and "did you mean OCTOPOST_SERVER_PORT" in w for w in warnings
    )
    assert any("OCTOPOST_PORT" in w and "OCTOPOST_SERVER_PORT" in w for w in warnings)
    assert not any("OCTOPOST_URL" in w or "OCTOPOST_KEY" in w for w in warnings)
    with pytest.raises(ConfigError) as info:  # inside a section: a typo, not someone else's
        load_config(env={"OCTOPOST_PUBLISHING_MAX_ATTEMPT": "3"})
    assert info.value.path == "OCTOPOST_PUBLISHING_MAX_ATTEMPT"


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, env={})


def test_relative_database_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    path = _file(conf, '[database]\npath = "state/octopost.db"\n')
    assert load_config(path, env={}).database.path == str(conf.resolve() / "state/octopost.db")
    absolute = _file(conf, '[database]\npath = "/srv/octopost/octopost.db"\n')
    assert load_config(absolute, env={}).database.path == "/srv/octopost/octopost.db"
    # The environment (and the built-in default) stay relative to where the command runs.
    env = {"OCTOPOST_DATABASE_PATH": "here/x.db"}
    assert load_config(path, env=env).database.path == "here/x.db"
