"""Platform adapters: one package per platform id, and what the rest of Octopost sees.

`PLATFORM_IDS`, `ENDPOINTS` and `settings_for` are plain data and are read at start
(config, the command line) without loading any adapter. `ADAPTERS`, the literal
registry (`registry.py`), is loaded on first use: the adapters bring their HTTP and text
machinery, about a second of imports that a command such as `octopost keys list` does
not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from octopost.platforms.endpoints import ENDPOINTS, PLATFORM_IDS, PlatformSettings, settings_for

if TYPE_CHECKING:
    from octopost.platforms.registry import ADAPTERS

__all__ = ["ADAPTERS", "ENDPOINTS", "PLATFORM_IDS", "PlatformSettings", "settings_for"]


def __getattr__(name: str) -> Any:
    if name == "ADAPTERS":
        from octopost.platforms.registry import ADAPTERS

        return ADAPTERS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
