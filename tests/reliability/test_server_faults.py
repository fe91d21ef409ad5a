"""The embedded Hub server (a real uvicorn subprocess) under concurrency, crashes and hostile bytes.

In-process tests of malformed bodies, unsafe paths and invalid repo ids live in
``tests/hub_server/test_input_safety.py``; here the same kinds of input arrive as raw bytes on a
socket (things an HTTP client library would refuse to send), together with 50 concurrent commits
to one repo and a SIGKILL while commits are in flight.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.hub import running_test_hub

pytestmark = pytest.mark.slow


def repo_dir(hub, repo: str) -> Path:
    namespace, name = repo.split("/")
    return hub.data_dir / "repos" / "models" / namespace / f"{name}.git"


def first_parents(hub, repo: str) -> list[tuple[str, int]]:
    """``(commit, number of parents)`` from main back to the root, read by git itself."""
    out = subprocess.run(
        ["git", "--git-dir", str(repo_dir(hub, repo)), "rev-list", "--parents", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [(line.split()[0], len(line.split()) - 1) for line in out.splitlines()]


def fsck(hub, repo: str) -> None:
    proc = subprocess.run(
        ["git", "--git-dir", str(repo_dir(hub, repo)), "fsck", "--strict"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def commit_in_parallel(api: HfApi, repo: str, texts: list[str], parent: str | None, every: int) -> list:
    """One thread per text: a one-file commit; every ``every``-th one pinned to ``parent``."""
    results: list = [None] * len(texts)
    gate = threading.Barrier(len(texts))

    def one(i: int) -> None:
        operation = CommitOperationAdd(path_in_repo=f"notes/{i:02d}.txt", path_or_fileobj=texts[i].encode())
        gate.wait()
        try:
            results[i] = api.create_commit(
                repo,
                [operation],
                commit_message=f"note {i}",
                parent_commit=parent if i % every == 0 else None,
            ).oid
        except Exception as error:  # noqa: BLE001 - collected for the asserts
            results[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results


@pytest.mark.required  # the only check of concurrent commits: CI fails if it skips for want of git
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to read the history")
def test_50_parallel_commits_all_land_or_fail_cleanly(tmp_path: Path, real_sentences: list[str]) -> None:
    repo = "alice/busy"
    texts = real_sentences[:50]
    with running_test_hub(tmp_path / "hub" / "data") as hub:
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        api.create_repo(repo)
        initial = api.repo_info(repo).sha
        results = commit_in_parallel(api, repo, texts, initial, every=5)

        landed = {i: r for i, r in enumerate(results) if isinstance(r, str)}
        failed = {i: r for i, r in enumerate(results) if not isinstance(r, str)}
        assert all(isinstance(e, HfHubHTTPError) and e.response.status_code in (409, 412) for e in failed.values()), [
            repr(e) for e in failed.values()
        ]
        unpinned = {i for i in range(50) if i % 5}
        assert unpinned <= set(landed)  # nothing without a precondition is lost
        assert len(set(landed) - unpinned) <= 1  # at most one commit pinned to the initial head wins
        chain = first_parents(hub, repo)
        assert [n for _, n in chain] == [1] * len(landed) + [0]  # linear history
        assert {c for c, _ in chain} == set(landed.values()) | {initial}
        files = set(api.list_repo_files(repo))
        assert files == {".gitattributes"} | {f"notes/{i:02d}.txt" for i in landed}
        fsck(hub, repo)

        hub.kill()  # and a restart finds exactly the same repo
        hub.start()
        assert first_parents(hub, repo) == chain
        path = api.hf_hub_download(repo, "notes/07.txt", cache_dir=tmp_path / "dl")
        assert Path(path).read_text() == texts[7]


@pytest.mark.required  # the only check of concurrent commits: CI fails if it skips for want of git
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to read the history")
def test_sigkill_with_commits_in_flight_keeps_every_acknowledged_commit(
    tmp_path: Path, real_sentences: list[str]
) -> None:
    repo = "alice/crashy"
    texts = real_sentences[50:80]
    with running_test_hub(tmp_path / "hub" / "data") as hub:
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        api.create_repo(repo)
        initial = api.repo_info(repo).sha
        results: list = []
        worker = threading.Thread(target=lambda: results.extend(commit_in_parallel(api, repo, texts, None, 10**9)))
        worker.start()
        deadline = time.monotonic() + 120
        landed = f"POST /api/models/{repo}/commit/main 200"
        while hub.log_path.read_text().count(landed) < 5:
            assert time.monotonic() < deadline and worker.is_alive(), "no commit landed"
            time.sleep(0.005)
        hub.kill()
        assert hub.log_path.read_text().count(landed) < len(texts)  # killed with commits still to come
        hub.start()  # back at once: in-flight clients retry their uploads against the restarted server
        worker.join(300)
        acknowledged = {r for r in results if isinstance(r, str)}
        failures = [r for r in results if not isinstance(r, str)]
        assert acknowledged
        assert all(not isinstance(e, HfHubHTTPError) or e.response.status_code < 500 for e in failures), failures
        chain = first_parents(hub, repo)
        assert [n for _, n in chain] == [1] * (len(chain) - 1) + [0] and chain[-1][0] == initial
        assert acknowledged <= {c for c, _ in chain}  # every commit the client was told about survived
        fsck(hub, repo)
        assert not list((repo_dir(hub, repo) / "lfs" / "tmp").iterdir())
        after = api.create_commit(
            repo,
            [CommitOperationAdd(path_in_repo="after.txt", path_or_fileobj=b"still writable\n")],
            commit_message="after",
        ).oid
        assert api.repo_info(repo).sha == after


def raw(url: str, payload: bytes, *, then_close: bool = False, half_close: bool = True, timeout: float = 20) -> bytes:
    """Send raw bytes to the server, return whatever it answers before closing.

    ``then_close``: hang up right after sending; ``half_close``: signal the end of what we send.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        if then_close:
            return b""
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer.split(b" ", 2)[1])


def test_hostile_bytes_get_4xx_or_a_closed_socket_and_change_nothing(tmp_path: Path, student_path: Path) -> None:
    repo = "alice/hostile"
    with running_test_hub(tmp_path / "hub" / "data", extra_args=["--max-request-bytes", "65536"]) as hub:
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        api.create_repo(repo)
        head = api.repo_info(repo).sha
        auth = f"Authorization: Bearer {hub.write_token}\r\n".encode()
        ndjson = b"Content-Type: application/x-ndjson\r\n"
        commit = f"POST /api/models/{repo}/commit/main HTTP/1.1\r\nHost: x\r\n".encode() + auth + ndjson
        header = json.dumps({"key": "header", "value": {"summary": "s"}}).encode()
        line = json.dumps({"key": "file", "value": {"path": "a.txt", "content": "YQ==", "encoding": "base64"}})
        good_body = header + b"\n" + line.encode()
        hostile = {
            "garbage request line": b"GARBAGE\r\n\r\n",
            "binary junk": bytes(range(256)) * 4,
            "100 kB header": b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            "non-ascii path": b"GET /api/models/al\xffice/\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
            "traversal": b"GET /alice/hostile/resolve/main/../../../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            "encoded traversal": b"GET /alice/hostile/resolve/main/..%2F..%2F..%2Fupload.secret HTTP/1.1\r\n"
            b"Host: x\r\n\r\n",
            "repo id with dots": b"GET /api/models/../../etc HTTP/1.1\r\nHost: x\r\n\r\n",
            "repo id too deep": b"GET /api/models/a/b/c/d/e HTTP/1.1\r\nHost: x\r\n\r\n",
            "repo id too long": b"GET /api/models/alice/" + b"x" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            "bad chunked body": commit + b"Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n",
            "bad content-length": commit + b"Content-Length: -5\r\n\r\n" + good_body,
            "two content-lengths": commit + b"Content-Length: 3\r\nContent-Length: 300\r\n\r\n" + good_body,
            "oversized chunked": commit
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"10000\r\n" + b"x" * 0x10000 + b"\r\n" for _ in range(3))
            + b"0\r\n\r\n",
            "ndjson not json": commit + b"Content-Length: 9\r\n\r\n{\n}\n{{{\n",
            "json array body": b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            + auth
            + b"\r\n[]",
        }
        answers = {name: raw(hub.url, payload) for name, payload in hostile.items()}
        statuses = {name: status_of(answer) for name, answer in answers.items()}
        assert all(s is None or 400 <= s < 500 for s in statuses.values()), statuses
        assert b"root:" not in b"".join(answers.values())

        # a body cut short by a client that hangs up: nothing is committed
        raw(hub.url, commit + b"Content-Length: 5000\r\n\r\n" + good_body, then_close=True)
        # an LFS upload cut short: no object, no leftover partial file
        data = (student_path / "tokenizer.json").read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        batch = {"operation": "upload", "objects": [{"oid": sha, "size": len(data)}]}
        href = api_post_json(hub, f"/{repo}.git/info/lfs/objects/batch", batch)["objects"][0]["actions"]["upload"][
            "href"
        ]
        path = href.removeprefix(hub.url)
        raw(
            hub.url,
            f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data[:50_000],
            then_close=True,
        )
        # the whole object, one bit flipped: the sha256 check refuses it
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x01
        put = f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        wrong = raw(hub.url, put.encode() + flipped, half_close=False)
        assert status_of(wrong) == 400 and b"sha256 mismatch" in wrong
        time.sleep(1.0)

        assert api.repo_info(repo).sha == head
        assert api.list_repo_files(repo) == [".gitattributes"]
        assert not list((repo_dir(hub, repo) / "lfs" / "tmp").iterdir())
        again = api_post_json(hub, f"/{repo}.git/info/lfs/objects/batch", batch)["objects"][0]
        assert "actions" in again  # the half upload was never stored
        assert api.whoami()["name"] == "alice"  # still serving
        assert hub.pid is not None
        log = hub.log_path.read_text()
        assert "Traceback" not in log and " 500 " not in log
        print({name: s for name, s in statuses.items()})


def api_post_json(hub, path: str, body: dict) -> dict:
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {hub.url.removeprefix('http://')}\r\n"
        f"Authorization: Bearer {hub.write_token}\r\n"
        f"Content-Type: application/vnd.git-lfs+json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    answer = raw(hub.url, request, half_close=False)
    head, _, body_bytes = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 200, answer[:500]
    return json.loads(body_bytes)
