"""What `octopost serve` imports before its first answer.

Start-up time and idle memory are mostly imports. The MCP SDK (~1 s, ~30 MB) loads with the
first /mcp request, and twitter-text (~0.4 s, ~18 MB) with the first count of an X,
Mastodon or Threads text; aiohttp (~0.25 s), cryptography (~60 ms) and Jinja2 with the
first outgoing request, credential or dashboard page, or by the warm-up after start
(`octopost.warmup`); APScheduler (~50 ms) in a worker thread once the scheduler has
claimed what came due while down (`octopost.scheduler`). None
may creep back into the start-up imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

LOADED_ON_FIRST_USE = (
    "mcp",
    "mcp_types",
    "twitter_text",
    "pydantic",
    "aiohttp",
    "cryptography",
    "jinja2",
    "apscheduler",
)


def _loaded(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def test_the_app_and_every_adapter_import_without_the_heavy_libraries() -> None:
    code = (
        "from octopost.app import create_app\n"
        "from octopost.platforms.registry import ADAPTERS\n"
        "from octopost.config import load_config\n"
    )
    loaded = _loaded(code)
    heavy = [m for m in loaded if m.split(".")[0] in LOADED_ON_FIRST_USE]
    assert heavy == []


def test_counting_an_x_post_loads_twitter_text_then() -> None:
    code = (
        "from octopost.platforms.twitter.text import weighted_length\n"
        "assert weighted_length('see example.com 👍') == 30\n"
    )
    assert "twitter_text" in _loaded(code)


def test_start_up_prepares_the_text_rules_of_the_platforms_with_an_account() -> None:
    """`Services.start_background` (and connecting an account) builds them in a worker
    thread (octopost.platforms.registry.prepare) for those platforms, and only those."""
    prepare = "from octopost.platforms.registry import prepare as _prepare\n"
    assert "twitter_text" not in _loaded(prepare + "_prepare(['bluesky', 'linkedin', 'youtube'])")
    for platform in ("twitter", "mastodon", "threads"):
        assert "twitter_text" in _loaded(prepare + f"_prepare([{platform!r}])"), platform


def test_the_warm_up_after_start_loads_the_libraries_a_start_leaves_out() -> None:
    loaded = _loaded("from octopost.warmup import ahead_of_need\nahead_of_need([])")
    assert "aiohttp" in loaded
    assert "cryptography.fernet" in loaded
    assert "jinja2" in loaded
    assert "twitter_text" not in loaded


def test_a_credential_box_checks_its_key_without_loading_cryptography() -> None:
    code = (
        "import base64\n"
        "from octopost.crypto import CredentialBox\n"
        "CredentialBox(base64.urlsafe_b64encode(bytes(32)))\n"
        "try:\n"
        "    CredentialBox(b'not a key')\n"
        "except ValueError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('a bad key was accepted')\n"
    )
    assert "cryptography" not in _loaded(code)
