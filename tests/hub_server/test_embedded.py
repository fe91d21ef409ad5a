"""The supported embedded-server API: ``running_hub_server`` with generated tokens, as release uses it."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from leaf_hub.errors import ServerConfigError
from leaf_hub.hub_server import EmbeddedHub, TokenSpec, running_hub_server
from tests.support.hub import ALICE_WRITE


def test_generated_tokens_are_fresh_secrets_hidden_from_repr() -> None:
    first, second = TokenSpec.generate("alice", orgs=["org"]), TokenSpec.generate("alice")
    assert first.token != second.token
    assert first.token.startswith("hf_leafhub_") and len(first.token) == len("hf_leafhub_") + 32
    assert (first.user, first.role, first.orgs) == ("alice", "write", ("org",))
    assert first.token not in repr(first)
    assert first.line() == f"{first.token} alice write org"


def test_running_hub_server_serves_the_given_tokens_only_and_cleans_its_temporary_folder() -> None:
    writer, reader = TokenSpec.generate("carol", orgs=["team"]), TokenSpec.generate("carol", "read")
    with running_hub_server(tokens=[writer, reader]) as hub:
        assert isinstance(hub, EmbeddedHub) and hub.url.startswith("http://127.0.0.1:")
        assert (hub.write_token, hub.read_token) == (writer.token, reader.token)
        assert stat.S_IMODE(hub.token_file.stat().st_mode) == 0o600
        me = httpx.get(f"{hub.url}/api/whoami-v2", headers={"authorization": f"Bearer {writer.token}"})
        assert me.status_code == 200 and me.json()["name"] == "carol"
        assert [org["name"] for org in me.json()["orgs"]] == ["team"]
        stranger = httpx.get(f"{hub.url}/api/whoami-v2", headers={"authorization": f"Bearer {ALICE_WRITE}"})
        assert stranger.status_code == 401  # the test users exist only where a test passes them
        env = hub.env(token=reader.token)
        assert env["HF_ENDPOINT"] == hub.url and env["HF_TOKEN"] == reader.token and env["HF_HUB_DISABLE_XET"] == "1"
        root = hub.data_dir.parent
    assert not root.exists()
    assert hub.pid is None


def test_a_server_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "hub" / "data"
    with running_hub_server(data, tokens=[TokenSpec.generate("a")]) as hub:
        with pytest.raises(ServerConfigError, match=r"hub server exited with code 2; see .*server\.log"):
            with running_hub_server(data, tokens=[TokenSpec.generate("b")]):
                pass
        assert hub.pid is not None  # the first server still owns its data dir
    assert "is in use by another leaf-hub server" in (data / "server.log").read_text()
