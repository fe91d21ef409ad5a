"""HTTP surface in-process (TestClient): the codes, headers and shapes the client relies on (HUB_API §2-§4)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.hub_server.conftest import bearer
from tests.support.hub import ALICE_READ, BOB_WRITE

REPO = "alice/demo"


def _commit(client: TestClient, auth: dict[str, str], files: dict[str, bytes], rev: str = "main", **query: str) -> dict:
    lines = [{"key": "header", "value": {"summary": "add files", "description": ""}}]
    lines += [
        {"key": "file", "value": {"path": p, "content": base64.b64encode(c).decode(), "encoding": "base64"}}
        for p, c in files.items()
    ]
    body = "\n".join(json.dumps(line) for line in lines)
    headers = auth | {"content-type": "application/x-ndjson"}
    response = client.post(f"/api/models/{REPO}/commit/{rev}", content=body, headers=headers, params=query)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def repo(client: TestClient, alice: dict[str, str], student_path: Path) -> dict:
    response = client.post("/api/repos/create", json={"name": "demo", "organization": "alice"}, headers=alice)
    assert response.status_code == 200, response.text
    assert response.json()["url"] == f"http://127.0.0.1:8790/{REPO}"
    files = {
        "config.json": (student_path / "config.json").read_bytes(),
        "1_Pooling/config.json": (student_path / "1_Pooling" / "config.json").read_bytes(),
    }
    return _commit(client, alice, files) | {"files": files}


def test_whoami_and_bad_token(client: TestClient, alice: dict[str, str]) -> None:
    me = client.get("/api/whoami-v2", headers=alice).json()
    assert me["name"] == "alice" and me["auth"]["accessToken"]["role"] == "write"
    assert {o["name"] for o in me["orgs"]} == {"org", "testorg"}
    bad = client.get("/api/whoami-v2", headers=bearer("hf_not_a_token"))
    assert bad.status_code == 401
    assert bad.headers["x-error-message"] == "Invalid credentials in Authorization header"
    assert "x-error-code" not in bad.headers


def test_create_conflict_carries_url(client: TestClient, alice: dict[str, str], repo: dict) -> None:
    again = client.post("/api/repos/create", json={"name": "demo", "organization": "alice"}, headers=alice)
    assert again.status_code == 409 and again.json()["url"] == f"http://127.0.0.1:8790/{REPO}"
    assert "conflicting operation" not in again.text


def test_repo_info_siblings_and_dates(client: TestClient, repo: dict) -> None:
    info = client.get(f"/api/models/{REPO}/revision/main", params={"blobs": "true"}).json()
    assert info["sha"] == repo["commitOid"] and re.fullmatch(r"[0-9a-f]{40}", info["sha"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["lastModified"])
    siblings = {s["rfilename"]: s for s in info["siblings"]}
    content = repo["files"]["config.json"]
    assert siblings["config.json"]["size"] == len(content)
    assert siblings["config.json"]["blobId"] == hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    assert set(siblings) == {".gitattributes", "config.json", "1_Pooling/config.json"}


def test_not_found_codes(client: TestClient, alice: dict[str, str], repo: dict) -> None:
    anon = client.get("/api/models/alice/nope")
    assert (anon.status_code, anon.headers["x-error-code"]) == (401, "RepoNotFound")
    authed = client.get("/api/models/alice/nope", headers=alice)
    assert (authed.status_code, authed.headers["x-error-code"]) == (404, "RepoNotFound")
    rev = client.get(f"/api/models/{REPO}/revision/v9.9.9")
    assert (rev.status_code, rev.headers["x-error-code"]) == (404, "RevisionNotFound")
    head = client.head(f"/{REPO}/resolve/main/missing.json")
    assert (head.status_code, head.headers["x-error-code"]) == (404, "EntryNotFound")
    assert head.headers["x-repo-commit"] == repo["commitOid"]
    folder = client.get(f"/api/models/{REPO}/tree/main/additional_chat_templates", params={"recursive": "false"})
    assert (folder.status_code, folder.headers["x-error-code"]) == (404, "EntryNotFound")
    xet = client.get(f"/api/models/{REPO}/xet-write-token/main")
    assert xet.status_code == 404 and "HF_HUB_DISABLE_XET=1" in xet.headers["x-error-message"]


def test_resolve_headers_and_range(client: TestClient, repo: dict) -> None:
    content = repo["files"]["1_Pooling/config.json"]
    head = client.head(f"/{REPO}/resolve/main/1_Pooling/config.json")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(content))
    assert head.headers["x-repo-commit"] == repo["commitOid"]
    assert head.headers["etag"].strip('"') == hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
    assert client.get(f"/{REPO}/resolve/{repo['commitOid']}/1_Pooling/config.json").content == content
    part = client.get(f"/{REPO}/resolve/main/1_Pooling/config.json", headers={"range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(content)}"
    tail = client.get(f"/{REPO}/resolve/main/1_Pooling/config.json", headers={"range": "bytes=-5"})
    assert tail.content == content[-5:]
    beyond = client.get(f"/{REPO}/resolve/main/1_Pooling/config.json", headers={"range": f"bytes={len(content)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(content)}"


def test_tree_pagination_follows_link(client: TestClient, repo: dict) -> None:
    url = f"/api/models/{REPO}/tree/main?recursive=true&expand=false"
    paths: list[str] = []
    pages = 0
    while url:
        response = client.get(url)
        pages += 1
        paths += [e["path"] for e in response.json()]
        link = response.headers.get("link")
        url = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else ""
        if url:
            assert "recursive=true" in url and "expand=false" in url
    assert pages == 2  # page size 2, four entries
    assert sorted(paths) == [".gitattributes", "1_Pooling", "1_Pooling/config.json", "config.json"]
    sub = client.get(f"/api/models/{REPO}/tree/main/1_Pooling", params={"recursive": "false", "expand": "false"})
    assert [e["path"] for e in sub.json()] == ["1_Pooling/config.json"]


def test_pull_request_ref_with_encoded_slash(client: TestClient, alice: dict[str, str], repo: dict) -> None:
    pr = _commit(client, alice, {"notes.txt": b"proposal\n"}, create_pr="1")
    assert pr["pullRequestUrl"].endswith(f"/{REPO}/discussions/1")
    at_pr = client.get(f"/{REPO}/resolve/refs%2Fpr%2F1/notes.txt")
    assert at_pr.status_code == 200 and at_pr.content == b"proposal\n"
    assert at_pr.headers["x-repo-commit"] == pr["commitOid"]
    assert client.get(f"/{REPO}/resolve/main/notes.txt").status_code == 404
    refs = client.get(f"/api/models/{REPO}/refs", params={"include_prs": "1"}).json()
    assert refs["pullRequests"] == [{"name": "refs/pr/1", "ref": "refs/pr/1", "targetCommit": pr["commitOid"]}]
    assert set(refs) == {"branches", "converts", "tags", "pullRequests"}
    info = client.post(
        f"/api/models/{REPO}/paths-info/refs%2Fpr%2F1",
        content="paths=notes.txt&paths=1_Pooling&paths=nope&expand=false",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ).json()
    assert [(e["path"], e["type"]) for e in info] == [("notes.txt", "file"), ("1_Pooling", "directory")]


def test_preupload_decides_modes(client: TestClient, alice: dict[str, str], repo: dict, student_path: Path) -> None:
    weights = (student_path / "model.safetensors").open("rb").read(512)
    files = [
        {"path": "config.json", "sample": base64.b64encode(repo["files"]["config.json"][:512]).decode(), "size": 612},
        {"path": "model.safetensors", "sample": base64.b64encode(weights).decode(), "size": 90868376},
        {"path": "big.txt", "sample": base64.b64encode(b"text").decode(), "size": 20_000_000},
    ]
    answer = client.post(f"/api/models/{REPO}/preupload/main", json={"files": files}, headers=alice).json()
    modes = {f["path"]: (f["uploadMode"], f["shouldIgnore"], f["oid"]) for f in answer["files"]}
    content = repo["files"]["config.json"]
    assert modes["config.json"] == ("regular", False, hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest())
    assert modes["model.safetensors"] == ("lfs", False, None)
    assert modes["big.txt"][0] == "lfs"
    assert answer["commitOid"] == repo["commitOid"]


def test_write_permissions(client: TestClient, alice: dict[str, str], repo: dict) -> None:
    body = {"files": [{"path": "a.txt", "sample": "", "size": 1}]}
    read_only = client.post(f"/api/models/{REPO}/preupload/main", json=body, headers=bearer(ALICE_READ))
    assert read_only.status_code == 403
    foreign = client.post(f"/api/models/{REPO}/tag/main", json={"tag": "v1"}, headers=bearer(BOB_WRITE))
    assert foreign.status_code == 403
    anonymous = client.post(f"/api/models/{REPO}/tag/main", json={"tag": "v1"})
    assert anonymous.status_code == 401
    not_mine = client.post("/api/repos/create", json={"name": "x", "organization": "alice"}, headers=bearer(BOB_WRITE))
    assert not_mine.status_code == 403
    org = client.post("/api/repos/create", json={"name": "shared", "organization": "org"}, headers=alice)
    assert org.status_code == 200


def test_private_repo_is_invisible(client: TestClient, alice: dict[str, str]) -> None:
    created = client.post(
        "/api/repos/create", json={"name": "secret", "organization": "alice", "visibility": "private"}, headers=alice
    )
    assert created.status_code == 200
    assert client.get("/api/models/alice/secret", headers=alice).json()["private"] is True
    assert client.get("/api/models/alice/secret", headers=bearer(ALICE_READ)).status_code == 200
    for headers, status in (({}, 401), (bearer(BOB_WRITE), 404)):
        for response in (
            client.get("/api/models/alice/secret", headers=headers),
            client.head("/alice/secret/resolve/main/.gitattributes", headers=headers),
        ):
            assert (response.status_code, response.headers["x-error-code"]) == (status, "RepoNotFound")


def test_tags_branches_commits(client: TestClient, alice: dict[str, str], repo: dict) -> None:
    assert client.post(f"/api/models/{REPO}/tag/main", json={"tag": "v0.1.0"}, headers=alice).status_code == 200
    assert client.post(f"/api/models/{REPO}/tag/main", json={"tag": "v0.1.0"}, headers=alice).status_code == 409
    assert client.post(f"/api/models/{REPO}/branch/dev", json={}, headers=alice).status_code == 200
    second = _commit(client, alice, {"dev.txt": b"dev\n"}, rev="dev")
    refs = client.get(f"/api/models/{REPO}/refs").json()
    assert {b["name"]: b["targetCommit"] for b in refs["branches"]} == {
        "main": repo["commitOid"],
        "dev": second["commitOid"],
    }
    assert refs["tags"] == [{"name": "v0.1.0", "ref": "refs/tags/v0.1.0", "targetCommit": repo["commitOid"]}]
    commits = client.get(f"/api/models/{REPO}/commits/dev").json()
    assert [c["title"] for c in commits] == ["add files", "add files"]  # page 1 of 2 (page size 2)
    assert commits[0]["authors"] == [{"user": "alice"}] and commits[0]["date"].endswith("Z")
    assert client.delete(f"/api/models/{REPO}/tag/v0.1.0", headers=alice).status_code == 200
    gone = client.delete(f"/api/models/{REPO}/tag/v0.1.0", headers=alice)
    assert (gone.status_code, gone.headers["x-error-code"]) == (404, "RevisionNotFound")
    assert client.delete(f"/api/models/{REPO}/branch/main", headers=alice).status_code == 403
    assert client.delete(f"/api/models/{REPO}/branch/dev", headers=alice).status_code == 200
    deleted = client.request(
        "DELETE", "/api/repos/delete", json={"name": "demo", "organization": "alice"}, headers=alice
    )
    assert deleted.status_code == 200
    assert client.get(f"/api/models/{REPO}", headers=alice).headers["x-error-code"] == "RepoNotFound"


def test_validate_yaml_always_answers_json(client: TestClient) -> None:
    assert client.post("/api/validate-yaml", content=b"{not json").json() == {"errors": [], "warnings": []}
