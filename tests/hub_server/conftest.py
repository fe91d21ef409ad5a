"""Fixtures of the hub server tests: an in-process app (TestClient) and a real server subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leaf_hub.hub_server import ServerSettings, TokenRecord, create_app
from leaf_hub.hub_server.testing import DEFAULT_TOKENS, HubServerProcess, running_hub_server

ALICE_WRITE, ALICE_READ, BOB_WRITE = (t.token for t in DEFAULT_TOKENS)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def settings(tmp_path: Path) -> ServerSettings:
    """Small limits so the tests can cross them; page size 2 to exercise ``Link`` pagination."""
    return ServerSettings(
        data_dir=tmp_path / "hub",
        tokens=tuple(TokenRecord(t.token, t.user, t.role, t.orgs) for t in DEFAULT_TOKENS),
        page_size=2,
        max_request_bytes=1024 * 1024,
        max_file_bytes=64 * 1024 * 1024,
    )


@pytest.fixture
def client(settings: ServerSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8790") as test_client:
        yield test_client


@pytest.fixture
def alice() -> dict[str, str]:
    return bearer(ALICE_WRITE)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServerProcess]:
    """A real server subprocess on an ephemeral loopback port, shared by a test module."""
    with running_hub_server(tmp_path_factory.mktemp("hub") / "data") as server:
        yield server
