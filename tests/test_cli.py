"""The command line and the real server process: keys, check-config, restart persistence."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
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


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_arguments_print_the_help() -> None:
    for args in ((), ("keys",)):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        assert "usage: octopost" in result.stdout and "arguments are required" not in result.stderr
    assert "serve" in run_cli().stdout and "revoke" in run_cli("keys").stdout


def test_every_database_command_says_which_database(tmp_path: Path) -> None:
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    conf = conf_dir / "octopost.toml"
    conf.write_text('[database]\npath = "state/octopost.db"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    created = subprocess.run(
        [sys.executable, "-m", "octopost", "keys", "create", "--config", str(conf)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OCTOPOST_")},
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    expected = conf_dir.resolve() / "state" / "octopost.db"
    assert f"octopost: database {expected} (new" in created.stderr
    assert expected.exists() and not (elsewhere / "data").exists()
    listed = run_cli("keys", "list", "--config", str(conf))
    assert f"octopost: database {expected}\n" in listed.stderr

    data = tmp_path / "d"
    with_dir = run_cli("keys", "create", "--data-dir", str(data))
    assert with_dir.returncode == 0 and f"database {data / 'octopost.db'}" in with_dir.stderr

    missing = run_cli("keys", "list", "--data-dir", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert not (tmp_path / "nothing" / "octopost.db").exists()


def test_revoke_twice_and_unknown_ids(tmp_path: Path) -> None:
    args = ("--data-dir", str(tmp_path))
    assert run_cli("keys", "create", "--name", "old", *args).returncode == 0
    key_id = next(
        line.split()[0]
        for line in run_cli("keys", "list", *args).stdout.splitlines()
        if "old" in line
    )
    first = run_cli("keys", "revoke", key_id, *args)
    assert first.returncode == 0 and first.stdout.startswith(f"Revoked key {key_id}")
    again = run_cli("keys", "revoke", key_id, *args)
    assert again.returncode == 0 and "already revoked at 20" in again.stdout
    unknown = run_cli("keys", "revoke", "key_nope", *args)
    assert unknown.returncode == 1 and "no key with id 'key_nope'" in unknown.stderr


def test_check_config_on_a_directory_and_out_of_range_values(tmp_path: Path) -> None:
    as_dir = run_cli("check-config", "--config", str(tmp_path))
    assert as_dir.returncode == 2 and "is a directory" in as_dir.stderr
    assert "Traceback" not in as_dir.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 70000\n")
    result = run_cli("check-config", "--config", str(bad))
    assert result.returncode == 2
    assert "server.port: must be at most 65535" in result.stderr
    warned = run_cli("check-config", env={"OCTOPOST_SERVR_PORT": "1", "OCTOPOST_URL": "x"})
    assert warned.returncode == 0
    assert (
        "did you mean OCTOPOST_SERVER_PORT" in warned.stderr and "OCTOPOST_URL" not in warned.stderr
    )


def test_data_dir_and_database_files_are_private(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    assert run_cli("keys", "create", "--data-dir", str(fresh)).returncode == 0
    assert _mode(fresh) == 0o700
    for path in fresh.iterdir():
        if path.name.startswith("octopost.db"):
            assert _mode(path) == 0o600, path

    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    (loose / "octopost.db").touch()
    os.chmod(loose / "octopost.db", 0o644)
    result = run_cli("keys", "create", "--data-dir", str(loose))
    assert result.returncode == 0, result.stderr
    assert _mode(loose) == 0o700 and _mode(loose / "octopost.db") == 0o600
    assert "tightened the permissions of data directory" in result.stderr
    assert "from 0755 to 0700" in result.stderr


def test_first_start_banner_says_once_and_how_to_replace_it(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as server:
        server.start()
        banner = server.stdout()
        assert "ONLY THIS ONCE" in banner and "stored only as a hash" in banner
        assert "octopost keys create" in banner and "octopost keys revoke key_" in banner
        for path in tmp_path.iterdir():
            if path.name.startswith("octopost.db"):
                assert _mode(path) == 0o600, path  # -wal and -shm too, while running
        assert _mode(tmp_path) == 0o700
        server.terminate()
