"""Running it as a service: `octopost healthcheck`, and a clean exit on SIGTERM."""

from __future__ import annotations

from pathlib import Path

from tests.server import ServerProcess, free_port, run_cli


def test_healthcheck_exits_0_while_serving_and_1_when_down(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server:
        server.start()
        env = {"OCTOPOST_SERVER_PORT": str(server.port)}
        up = run_cli("healthcheck", env=env)
        assert up.returncode == 0, up.stderr
        assert f"http://127.0.0.1:{server.port}/healthz" in up.stdout
        # a wildcard bind address (as in the container) is probed on loopback
        wildcard = run_cli("healthcheck", env={**env, "OCTOPOST_SERVER_HOST": "0.0.0.0"})
        assert wildcard.returncode == 0, wildcard.stderr
        # a proxy in the environment is not used for the local probe
        proxied = run_cli(
            "healthcheck",
            env={**env, "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"},
        )
        assert proxied.returncode == 0, proxied.stderr
        # `docker stop` / `systemctl stop`: a clean shutdown exits 0, not 143
        assert server.terminate() == 0
        assert "Application shutdown complete" in server.stderr()
        down = run_cli("healthcheck", env=env)
        assert down.returncode == 1
        assert "unhealthy" in down.stderr


def test_healthcheck_url_option_names_what_it_probed(tmp_path: Path) -> None:
    port = free_port()
    result = run_cli("healthcheck", "--url", f"http://127.0.0.1:{port}/healthz", "--timeout", "1")
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
