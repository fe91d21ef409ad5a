"""Hostile or broken input gets a 4xx in the Hub's error format, never a 5xx, and never touches storage."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

REPO = "alice/safe"
NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def repo(client: TestClient, alice: dict[str, str]) -> str:
    assert (
        client.post("/api/repos/create", json={"name": "safe", "organization": "alice"}, headers=alice).status_code
        == 200
    )
    return client.get(f"/api/models/{REPO}").json()["sha"]


def _lines(*ops: dict) -> str:
    header = {"key": "header", "value": {"summary": "s", "description": ""}}
    return "\n".join(json.dumps(op) for op in (header, *ops))


def _assert_4xx(response, status: int) -> None:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["x-error-message"]
    assert "error" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "\n".join(['{"key": "header", "value": {"summary": "s"}}', "{broken"]),
        '{"key": "file", "value": {"path": "a.txt", "content": "", "encoding": "base64"}}',  # no header
        _lines({"key": "file", "value": {"path": "a.txt", "content": "!!not base64!!", "encoding": "base64"}}),
        _lines({"key": "file", "value": {"path": "a.txt", "content": "YQ==", "encoding": "utf-7"}}),
        _lines({"key": "rmrf", "value": {"path": "a.txt"}}),
        _lines({"key": "lfsFile", "value": {"path": "a.bin", "algo": "sha256", "oid": "abc", "size": 3}}),
        _lines({"key": "lfsFile", "value": {"path": "a.bin", "algo": "sha256", "oid": "a" * 64, "size": -1}}),
        _lines({"key": "file", "value": {"path": 7, "content": "YQ=="}}),
        _lines({"key": "header", "value": {"summary": "again"}}),
        "[1, 2, 3]",
    ],
)
def test_malformed_ndjson_commit_is_400(client: TestClient, alice: dict[str, str], repo: str, body: str) -> None:
    _assert_4xx(client.post(f"/api/models/{REPO}/commit/main", content=body, headers=alice | NDJSON), 400)
    assert client.get(f"/api/models/{REPO}").json()["sha"] == repo


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "/etc/passwd",
        "a\\b.txt",
        "a\x00b.txt",
        "a//b.txt",
        "./a.txt",
        ".git/config",
        ".GIT/config",
        "a/.git/config",
        ".eval_results/../../escape.txt",
        "",
    ],
)
def test_unsafe_commit_paths_are_400(client: TestClient, alice: dict[str, str], repo: str, path: str) -> None:
    op = {"key": "file", "value": {"path": path, "content": base64.b64encode(b"x").decode(), "encoding": "base64"}}
    _assert_4xx(client.post(f"/api/models/{REPO}/commit/main", content=_lines(op), headers=alice | NDJSON), 400)
    preupload = client.post(
        f"/api/models/{REPO}/preupload/main", json={"files": [{"path": path, "sample": "", "size": 1}]}, headers=alice
    )
    _assert_4xx(preupload, 400)
    assert client.get(f"/api/models/{REPO}").json()["sha"] == repo


def test_dot_folders_other_than_git_are_stored_and_served(client: TestClient, alice: dict[str, str], repo: str) -> None:
    """The Hub's ``.eval_results/`` folder (a leading-dot folder) is an ordinary path: committed, listed, served."""
    text = b"- dataset:\n    id: mteb/scifact\n    task_id: SciFact\n  value: 64.51\n"
    content = base64.b64encode(text).decode()
    op = {"key": "file", "value": {"path": ".eval_results/SciFact.yaml", "content": content, "encoding": "base64"}}
    assert client.post(f"/api/models/{REPO}/commit/main", content=_lines(op), headers=alice | NDJSON).status_code == 200
    tree = client.get(f"/api/models/{REPO}/tree/main/.eval_results").json()
    assert [(e["type"], e["path"]) for e in tree] == [("file", ".eval_results/SciFact.yaml")]
    assert client.get(f"/{REPO}/resolve/main/.eval_results/SciFact.yaml").content == text


@pytest.mark.parametrize(
    "url",
    [
        "/alice/safe/resolve/main/%2E%2E/%2E%2E/leaf_hub.json",
        "/alice/safe/resolve/main/.git/config",
        "/alice/safe/resolve/main/a%5Cb",
        "/alice/safe/resolve/main/a%00b",
    ],
)
def test_unsafe_download_paths_are_400(client: TestClient, repo: str, url: str) -> None:
    _assert_4xx(client.get(url), 400)
    tree = client.get(
        "/api/models/alice/safe/tree/main/%2E%2E%2F%2E%2E", params={"recursive": "true", "expand": "false"}
    )
    _assert_4xx(tree, 400)


@pytest.mark.parametrize("name", ["a--b", "..", ".hidden", "x" * 97, "name.git", "sp ace", "ünï"])
def test_invalid_repo_names_are_400(client: TestClient, alice: dict[str, str], name: str) -> None:
    _assert_4xx(client.post("/api/repos/create", json={"name": name, "organization": "alice"}, headers=alice), 400)


def test_malformed_json_bodies_are_400(client: TestClient, alice: dict[str, str], repo: str) -> None:
    _assert_4xx(client.post("/api/repos/create", content=b"{oops", headers=alice), 400)
    _assert_4xx(client.post("/api/repos/create", json={"organization": "alice"}, headers=alice), 400)
    _assert_4xx(client.post(f"/api/models/{REPO}/preupload/main", json={"files": "nope"}, headers=alice), 400)
    bad_sample = {"files": [{"path": "a.txt", "sample": "%%%", "size": 1}]}
    _assert_4xx(client.post(f"/api/models/{REPO}/preupload/main", json=bad_sample, headers=alice), 400)
    _assert_4xx(client.post(f"/api/models/{REPO}/tag/main", json={"tag": "../../x"}, headers=alice), 400)
    lfs = {"content-type": "application/vnd.git-lfs+json"}
    _assert_4xx(client.post(f"/{REPO}.git/info/lfs/objects/batch", content=b"[[", headers=alice | lfs), 400)


def test_oversized_bodies_are_413(
    client: TestClient, alice: dict[str, str], repo: str, real_sentences: list[str]
) -> None:
    text = "\n".join(real_sentences).encode()
    big = text * (2 * 1024 * 1024 // len(text) + 1)  # > the 1 MiB limit of the test settings
    op = {"key": "file", "value": {"path": "big.txt", "content": base64.b64encode(big).decode(), "encoding": "base64"}}
    _assert_4xx(client.post(f"/api/models/{REPO}/commit/main", content=_lines(op), headers=alice | NDJSON), 413)

    def chunks():  # noqa: ANN202 - no Content-Length: the limit must hold while streaming
        for _ in range(3):
            yield big[: 512 * 1024]

    streamed = client.post(f"/api/models/{REPO}/commit/main", content=chunks(), headers=alice | NDJSON)
    _assert_4xx(streamed, 413)
    batch = {"operation": "upload", "objects": [{"oid": "a" * 64, "size": 65 * 1024 * 1024}]}
    objects = client.post(f"/{REPO}.git/info/lfs/objects/batch", json=batch, headers=alice).json()["objects"]
    assert objects[0]["error"]["code"] == 422 and "actions" not in objects[0]
    assert client.get(f"/api/models/{REPO}").json()["sha"] == repo


def test_lfs_put_checks_size_and_hash(client: TestClient, alice: dict[str, str], repo: str, student_path: Path) -> None:
    data = (student_path / "vocab.txt").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    batch = {"operation": "upload", "objects": [{"oid": sha, "size": len(data)}], "ref": {"name": "main"}}
    answer = client.post(f"/{REPO}.git/info/lfs/objects/batch", json=batch, headers=alice).json()
    href = answer["objects"][0]["actions"]["upload"]["href"]
    assert href.startswith("http://127.0.0.1:8790/lfs-upload/")
    _assert_4xx(client.put(href, content=data[:-1] + b"!"), 400)  # right size, wrong sha256
    _assert_4xx(client.put(href, content=data + b"extra"), 400)  # wrong size
    _assert_4xx(client.put(href[:-4] + "AAAA", content=data), 404)  # forged link
    lfs_file = {"key": "lfsFile", "value": {"path": "vocab.txt", "algo": "sha256", "oid": sha, "size": len(data)}}
    _assert_4xx(client.post(f"/api/models/{REPO}/commit/main", content=_lines(lfs_file), headers=alice | NDJSON), 400)
    assert client.put(href, content=data).status_code == 200
    again = client.post(f"/{REPO}.git/info/lfs/objects/batch", json=batch, headers=alice).json()
    assert "actions" not in again["objects"][0]  # stored: the client skips the upload
    assert (
        client.post(f"/api/models/{REPO}/commit/main", content=_lines(lfs_file), headers=alice | NDJSON).status_code
        == 200
    )
    assert client.get(f"/{REPO}/resolve/main/vocab.txt").content == data
