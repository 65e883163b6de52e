"""Schemathesis over the served OpenAPI description, against the real server process.

Every operation gets a bounded number of generated requests (positive and negative
data, a live and a sandbox key, fixed seed): no answer may be a 5xx, and every
answer must have a documented status code, content type and body schema.

Nothing leaves the machine: every platform endpoint in the config points at a
local stub that refuses every credential (so connecting answers 422, as a real
platform would, not a 502 for an unreachable one), and every URL a request
carries (webhook receivers, media, a Mastodon instance, a Bluesky PDS) is
rewritten to that stub before it is sent, so no generated host name is ever
resolved.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from octopost.models import PLATFORM_IDS
from octopost.platforms import ENDPOINTS
from tests.server import ServerProcess, run_cli

#: generated requests per operation, per generation mode (kept small: the suite has a budget)
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
URL_KEYS = {"url", "thumbnail_url", "instance_url", "pds_url"}


def _local(value: Any, dead: str) -> Any:
    """`value` with every URL-ish field pointed at a closed local port."""
    if isinstance(value, dict):
        out = {
            k: dead if k in URL_KEYS and isinstance(v, str) else _local(v, dead)
            for k, v in value.items()
        }
        credentials = out.get("credentials")
        if isinstance(credentials, dict):  # hosts a user may name for a platform
            credentials["instance_url"] = dead
            credentials["pds_url"] = dead
        return out
    if isinstance(value, list):
        return [_local(v, dead) for v in value]
    return value


class Refuse(BaseHTTPRequestHandler):
    """Every platform, as far as a request with made-up credentials gets: 401."""

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"error": "The access token is invalid", "message": "invalid credentials"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("contract")
    stub = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    dead = f"http://127.0.0.1:{stub.server_address[1]}"
    env = {
        f"OCTOPOST_PLATFORMS_{p.upper()}_{k.upper()}": dead
        for p in PLATFORM_IDS
        for k in ("base_url", "upload_url", "auth_url")
        if k in ENDPOINTS[p]  # the URL settings each platform takes
    }
    env |= {
        "OCTOPOST_PUBLISHING_MAX_ATTEMPTS": "1",
        "OCTOPOST_PUBLISHING_REQUEST_TIMEOUT": "2",
        "OCTOPOST_WEBHOOKS_TIMEOUT": "2",
    }
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OCTOPOST_")},
        "OCTOPOST_DATABASE_PATH": str(data / "octopost.db"),
    }
    keys = []
    for extra in ((), ("--test",)):
        created = run_cli("keys", "create", "--name", "contract", *extra, env=base)
        assert created.returncode == 0, created.stderr
        keys.append(created.stdout.strip().splitlines()[-1])
    with ServerProcess(data, env=env) as proc:
        proc.start()
        try:
            yield proc, keys, dead
        finally:
            proc.terminate()
            stub.shutdown()
            stub.server_close()


class Run:
    """Counts and problems across every operation."""

    def __init__(self, proc: ServerProcess, keys: list[str], dead: str) -> None:
        self.proc, self.keys, self.dead = proc, keys, dead
        self.session = requests.Session()
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []

    def operation(
        self,
        operation: Any,
        mode: GenerationMode,
        examples: int,
        *,
        path_parameters: dict[str, str] | None = None,
        keys: list[str] | None = None,
    ) -> None:
        name = f"{operation.method.upper()} {operation.path}"
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, key=st.sampled_from(keys or self.keys))
        def run(case: Any, key: str) -> None:
            case.body = _local(case.body, self.dead)
            if case.query:
                case.query = _local(case.query, self.dead)
            headers = {"Authorization": f"Bearer {key}"}
            response = case.call(
                base_url=self.proc.url, session=self.session, headers=headers, timeout=20
            )
            self.counts["requests"] += 1
            if response.status_code >= 500:
                self.counts["5xx"] += 1
            self.counts[f"{name} {response.status_code}"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                self.counts["mismatches"] += 1
                self.problems.append(f"{name} [{mode.value}]: {group}")

        # Unsatisfiable: no negative data exists for an operation without parameters or body
        with contextlib.suppress(Unsatisfiable):
            run()


def test_the_served_description_holds_for_generated_requests(server: Any) -> None:
    proc, keys, dead = server
    schema = schemathesis.openapi.from_url(f"{proc.url}/schema/openapi.json")
    run = Run(proc, keys, dead)
    started = time.monotonic()
    sandbox = keys[1]
    auth = {"Authorization": f"Bearer {sandbox}"}
    # Real ids too, so the handlers behind the 404s run (sandbox key: no platform is called).
    ids = {
        "post_id": requests.post(
            f"{proc.url}/v1/posts",
            json={"content": "contract", "platforms": ["mastodon", "bluesky"]},
            headers=auth,
            timeout=10,
        ).json()["id"],
        "webhook_id": requests.post(
            f"{proc.url}/v1/webhooks",
            json={"url": f"{dead}/hook", "events": ["post.published"]},
            headers=auth,
            timeout=10,
        ).json()["id"],
    }
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, examples in EXAMPLES.items():
            run.operation(operation, mode, examples)
        known = {name: ids[name] for name in ids if "{" + name + "}" in operation.path}
        if known:
            run.operation(
                operation, GenerationMode.POSITIVE, 15, path_parameters=known, keys=[sandbox]
            )
    elapsed = time.monotonic() - started
    counts = run.counts
    summary = (
        f"{counts['requests']} requests, {counts['5xx']} 5xx, {counts['mismatches']} schema "
        f"mismatches in {elapsed:.1f} s"
    )
    print(f"\nschemathesis: {summary}")
    for name, count in sorted(counts.items()):
        if name.startswith(("GET", "POST", "PUT", "DELETE")):
            print(f"  {name}: {count}")
    assert counts["requests"] > 300, summary
    assert not run.problems, summary + "\n\n" + "\n\n".join(run.problems[:5])
    assert counts["5xx"] == 0, summary
    assert "Traceback" not in proc.stderr()


def test_no_generated_request_reached_a_name_server(server: Any) -> None:
    """The rewrite left nothing for the resolver: no log line mentions a DNS failure."""
    proc, _, _ = server
    assert "DNS lookup failed" not in proc.stderr()
    assert not Path(proc.data_dir, "never").exists()
