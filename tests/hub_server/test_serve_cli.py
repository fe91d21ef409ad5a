"""``leaf-hub serve``: prints the endpoint to export, serves the token file's users, fails cleanly on bad config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from leaf_hub.hub_server import write_token_file
from tests.support.hub import DEFAULT_TOKENS

_CLI = [sys.executable, "-c", "from leaf_hub.cli import main; main()"]


def test_serve_prints_hf_endpoint_and_serves(tmp_path: Path) -> None:
    tokens = write_token_file(tmp_path / "tokens", DEFAULT_TOKENS)
    command = [*_CLI, "serve", "--data-dir", str(tmp_path / "data"), "--port", "0", "--token-file", str(tokens)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("export HF_HUB_DISABLE_XET=1") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, (
                proc.stderr.read() if proc.poll() is not None else ""
            )
            lines.append(proc.stdout.readline())
        endpoint = next(line for line in lines if line.startswith("export HF_ENDPOINT=")).split("=", 1)[1].strip()
        me = httpx.get(f"{endpoint}/api/whoami-v2", headers={"authorization": f"Bearer {DEFAULT_TOKENS[0].token}"})
        assert me.json()["name"] == "alice"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after a graceful shutdown
    assert "Application shutdown complete" in stderr
    assert DEFAULT_TOKENS[0].token not in stderr  # tokens never logged
    assert "whoami-v2 200" in stderr  # the access log line


def test_serve_rejects_a_bad_token_file(tmp_path: Path) -> None:
    bad = tmp_path / "tokens"
    bad.write_text("hf_secret_value alice admin\n")
    result = subprocess.run(
        [*_CLI, "serve", "--data-dir", str(tmp_path / "data"), "--token-file", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "line 1: role must be 'read' or 'write'" in result.stderr
    assert "hf_secret_value" not in result.stderr + result.stdout


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_module_entry_point_runs_the_same_command(tmp_path: Path) -> None:
    """``python -m leaf_hub.hub_server`` (what EmbeddedHub starts) is ``leaf-hub serve``, not a second parser."""
    module = [sys.executable, "-m", "leaf_hub.hub_server"]
    as_module = subprocess.run([*module, "--help"], capture_output=True, text=True, timeout=60)
    as_command = subprocess.run([*_CLI, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert as_module.returncode == as_command.returncode == 0
    assert "--ready-file" in as_module.stdout and "--token-file" in as_module.stdout
    assert as_module.stdout == as_command.stdout

    bad = tmp_path / "tokens"
    bad.write_text("hf_secret_value alice admin\n")
    result = subprocess.run(
        [*module, "--data-dir", str(tmp_path / "data"), "--token-file", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    (line,) = _error_lines(result.stderr)
    assert line.startswith("leaf-hub: error: token file ") and "line 1: role must be 'read' or 'write'" in line
    assert "hf_secret_value" not in result.stderr + result.stdout


def test_serve_without_a_data_dir_or_with_a_bad_log_level_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAF_HUB_SERVER_")}
    missing = subprocess.run([*_CLI, "serve"], capture_output=True, text=True, timeout=60, env=env)
    assert missing.returncode == 2
    assert _error_lines(missing.stderr) == [
        "leaf-hub: error: no data directory: pass --data-dir or set LEAF_HUB_SERVER_DATA_DIR"
    ]
    level = [*_CLI, "serve", "--data-dir", str(tmp_path / "data"), "--log-level", "loud"]
    loud = subprocess.run(level, capture_output=True, text=True, timeout=60, env=env)
    assert loud.returncode == 2
    (line,) = _error_lines(loud.stderr)
    assert line.startswith("leaf-hub: error: --log-level must be one of ") and "'loud'" in line
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_serve_reads_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    tokens = write_token_file(tmp_path / "tokens", DEFAULT_TOKENS)
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAF_HUB_SERVER_")}
    env.update({"LEAF_HUB_SERVER_DATA_DIR": str(tmp_path / "env-data"), "LEAF_HUB_SERVER_PORT": "0"})
    command = [*_CLI, "serve", "--token-file", str(tokens), "--ready-file", str(ready)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert info["pid"] == proc.pid and info["port"] != 0
        me = httpx.get(f"{info['url']}/api/whoami-v2", headers={"authorization": f"Bearer {DEFAULT_TOKENS[2].token}"})
        assert me.json()["name"] == "bob"
        assert (tmp_path / "env-data" / "server.lock").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
