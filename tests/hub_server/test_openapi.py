"""The server's OpenAPI schema: every operation has its own id (schemathesis and client generators rely on it)."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path


def test_operation_ids_are_unique(tmp_path: Path) -> None:
    from leaf_hub.hub_server import create_app
    from leaf_hub.hub_server.settings import ServerSettings

    app = create_app(ServerSettings(data_dir=tmp_path / "hub"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns "Duplicate Operation ID"
        schema = app.openapi()
    ids = Counter(op["operationId"] for path in schema["paths"].values() for op in path.values())
    assert ids and max(ids.values()) == 1, [k for k, n in ids.items() if n > 1]
    resolve = schema["paths"]["/{namespace}/{name}/resolve/{rest}"]
    assert {"get", "head"} <= set(resolve)
