"""``leaf-hub serve``: prints the endpoint to export, serves the token file's users, fails cleanly on bad config."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from leaf_hub.hub_server.testing import DEFAULT_TOKENS, write_token_file

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
