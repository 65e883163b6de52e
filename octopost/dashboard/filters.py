"""Jinja filters: times (UTC on the server; the page's script shows them in local time)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from octopost.models import iso

if TYPE_CHECKING:
    from jinja2 import Environment


def utc(value: str | None) -> str:
    """`2026-04-10T09:00:00Z` -> `2026-04-10 09:00 UTC` (the script localises it)."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed.strftime("%Y-%m-%d %H:%M UTC")


def excerpt(text: str, length: int = 140) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


def fid(name: str) -> str:
    """An input name (`media.images[0].url`) as an HTML id (`media-images-0-url`)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


def install(env: Environment) -> None:
    env.filters["iso"] = iso
    env.filters["fid"] = fid
    env.filters["utc"] = utc
    env.filters["excerpt"] = excerpt
