"""The README is a tested artifact: its platform table must match the adapters."""

from __future__ import annotations

import re
from pathlib import Path

from octopost.platforms import ADAPTERS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _platform_rows() -> dict[str, list[str]]:
    rows = {}
    for line in README.splitlines():
        match = re.match(r"\| `([a-z]+)` \|", line)
        if match and match.group(1) in ADAPTERS:
            rows[match.group(1)] = [cell.strip() for cell in line.strip("|").split("|")]
    return rows


def test_readme_shows_the_commands() -> None:
    assert "make run" in README and "make test" in README


def test_platform_table_lists_every_adapter() -> None:
    assert set(_platform_rows()) == set(ADAPTERS)


def test_public_media_column_matches_the_adapters() -> None:
    for platform, cells in _platform_rows().items():
        needs = ADAPTERS[platform].limits.needs_public_media
        assert cells[-1] == ("yes" if needs else "no"), platform


def test_required_media_is_documented() -> None:
    for platform, cells in _platform_rows().items():
        limits = ADAPTERS[platform].limits
        if limits.requires_video:
            assert "video required" in cells[2], platform
        elif limits.requires_media:
            assert "media required" in cells[2], platform


def test_thread_column_matches_the_adapters() -> None:
    words = {"native": "reply chain", "joined": "joined", "first": "first segment only"}
    for platform, cells in _platform_rows().items():
        assert cells[-2].startswith(words[ADAPTERS[platform].threading]), platform
