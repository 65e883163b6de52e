"""The command line and the real server process: keys, check-config, restart persistence."""

from __future__ import annotations

from pathlib import Path

from tests.server import ServerProcess, run_cli


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    env = {"OCTOPOST_DATABASE_PATH": str(tmp_path / "db.sqlite")}
    created = run_cli("keys", "create", "--name", "laptop", env=env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("oct_live_") and len(secret) >= len("oct_live_") + 32
    sandbox = run_cli("keys", "create", "--test", env=env).stdout.strip().splitlines()[-1]
    assert sandbox.startswith("oct_test_")

    listing = run_cli("keys", "list", env=env)
    assert listing.returncode == 0
    assert "laptop" in listing.stdout and secret[:15] in listing.stdout
    assert secret not in listing.stdout and sandbox not in listing.stdout
    key_id = next(line.split()[0] for line in listing.stdout.splitlines() if "laptop" in line)

    revoked = run_cli("keys", "revoke", key_id, env=env)
    assert revoked.returncode == 0
    assert run_cli("keys", "revoke", "key_nope", env=env).returncode == 1
    assert "never" in run_cli("keys", "list", env=env).stdout


def test_check_config_names_the_bad_key(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[server]\nport = 9000\n")
    assert run_cli("check-config", "--config", str(good)).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[publishing]\nmax_attempts = "many"\n')
    result = run_cli("check-config", "--config", str(bad))
    assert result.returncode != 0
    assert "publishing.max_attempts" in result.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text('[databse]\npath = "x"\n')
    result = run_cli("check-config", "--config", str(typo))
    assert result.returncode != 0 and "databse" in result.stderr
    env_bad = run_cli("check-config", env={"OCTOPOST_SERVER_PORT": "x"})
    assert env_bad.returncode != 0 and "server.port" in env_bad.stderr


def test_first_start_prints_a_key_once_and_data_survives_restart(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server:
        server.start()
        banner = server.stdout()
        secret = next(word for word in banner.split() if word.startswith("oct_live_"))
        assert "curl" in banner
        assert secret not in server.stderr()  # never in the logs
        with server.client(secret) as http:
            created = http.post(
                "/v1/posts", json={"content": "survive", "platforms": ["mastodon"]}
            ).json()
        # uvicorn shuts down gracefully, then re-raises SIGTERM: exit status -15
        assert server.terminate() in (0, -15)
        assert "Application shutdown complete" in server.stderr()

        server.start()
        assert "oct_live_" not in server.stdout()  # not printed again
        with server.client(secret) as http:
            again = http.get(f"/v1/posts/{created['id']}")
        assert again.status_code == 200
        assert again.json() == created
        assert server.terminate() in (0, -15)
    assert (tmp_path / "octopost.db").exists()
    assert (tmp_path / "secret.key").exists()
