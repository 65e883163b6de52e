"""The files that run Octopost (Dockerfile, compose.yaml, the systemd unit, the Makefile) and
the ones that describe it (LICENSE, CHANGELOG.md, README) agree with the code."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from octopost.cli import build_parser
from octopost.config import ENV_VARS, load_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in _dockerfile():
        if word == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", rest))
    return env


def test_dockerfile_base_is_an_argument_with_the_hub_default() -> None:
    steps = _dockerfile()
    assert steps[0] == ("ARG", "BASE=python:3.12-slim")
    froms = [rest for word, rest in steps if word == "FROM"]
    assert froms and all(f.startswith("${BASE}") for f in froms)
    # the legacy builder must build it: no BuildKit-only syntax
    text = (ROOT / "Dockerfile").read_text()
    assert "--chmod" not in text and "--mount" not in text and "<<" not in text
    assert not text.startswith("# syntax")


def test_dockerfile_runs_octopost_as_a_service() -> None:
    steps = dict(_dockerfile())  # the last of each instruction wins, as in Docker
    assert json.loads(steps["ENTRYPOINT"]) == ["octopost"]  # exec form: SIGTERM reaches it
    assert json.loads(steps["CMD"]) == ["serve"]
    assert steps["USER"] not in ("root", "0")
    assert json.loads(steps["VOLUME"]) == ["/data"]
    assert steps["EXPOSE"] == "8000"
    assert steps["HEALTHCHECK"].endswith('CMD ["octopost", "healthcheck"]')
    env = _image_env()
    config = load_config(env={k: v for k, v in env.items() if k.startswith("OCTOPOST_")})
    assert config.database.path == "/data/octopost.db"
    assert config.server.host == "0.0.0.0" and config.server.port == 8000
    # runtime dependencies only
    assert ".[dev]" not in (ROOT / "Dockerfile").read_text()
    assert ".[test]" not in (ROOT / "Dockerfile").read_text()


def test_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["octopost"]
    assert service["restart"] == "unless-stopped"
    assert all(str(p).startswith("127.0.0.1:") for p in service["ports"])
    assert service["ports"][0].endswith(":8000")
    volumes = [v for v in service["volumes"] if v.endswith(":/data")]
    assert volumes and volumes[0].split(":")[0] in compose["volumes"]
    # every variable it sets is a config key, so the service starts with them
    assert set(service["environment"]) <= set(ENV_VARS)
    assert "${BASE:-python:3.12-slim}" in service["build"]["args"]["BASE"]
    ci = yaml.safe_load((ROOT / ".ci" / "compose.ci.yaml").read_text())
    assert set(ci["services"]) == {"octopost"}


def test_systemd_unit() -> None:
    lines = (ROOT / "contrib" / "octopost.service").read_text().splitlines()
    settings: dict[str, list[str]] = {}
    for line in lines:
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    assert settings["ExecStart"] == ["/opt/octopost/bin/octopost serve"]
    assert settings["StateDirectory"] == ["octopost"]
    assert "User" in settings or settings.get("DynamicUser") == ["yes"]
    env = dict(v.split("=", 1) for v in settings["Environment"])
    assert env["OCTOPOST_DATABASE_PATH"].startswith("/var/lib/octopost/")
    assert set(env) <= set(ENV_VARS)
    for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "SystemCallFilter"):
        assert hardening in settings, hardening


def test_licence_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"  # the SPDX string, not the deprecated table
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in text
    assert "## [Unreleased]" in text
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"## [{version}]" in text


def test_readme_documents_every_command_and_the_ways_to_run() -> None:
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"octopost {name}" in section, name
    for needle in (
        "docker compose up -d",
        "make run",
        "docker compose logs octopost",
        "docker compose exec octopost octopost keys create",
        "## Backup and restore",
        "## Upgrading",
        "crontab",
        "contrib/octopost.service",
    ):
        assert needle in README, needle


def test_make_run_installs_the_runtime_only() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run_deps = re.search(r"^run: (\S+)", makefile, re.M)
    assert run_deps and run_deps.group(1) == "$(RUN_STAMP)"
    recipe = makefile.split("$(RUN_STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    assert "pip install --quiet -e ." in recipe and "[" not in recipe
