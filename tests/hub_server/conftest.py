"""Fixtures of the hub server tests: an in-process app (TestClient) and a real server subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leaf_hub.hub_server import EmbeddedHub, ServerSettings, TokenRecord, create_app
from tests.support.hub import ALICE_WRITE, DEFAULT_TOKENS, running_test_hub


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
def hub(module_tmp) -> Iterator[EmbeddedHub]:
    """A real server subprocess on an ephemeral loopback port, shared by a test module."""
    with running_test_hub(module_tmp("hub") / "data") as server:
        yield server
