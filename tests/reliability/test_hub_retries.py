"""The client side of publishing (``leaf_hub.hub.HubClient``) under real network faults.

The real embedded server runs in a subprocess; between it and the client sits
:class:`~tests.reliability.faultproxy.FaultProxy`, a loopback proxy that answers 503, resets
connections before or after the request reached the server, or strips response headers, for
chosen requests. Nothing in the HTTP stack is mocked.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from leaf_hub.errors import HubAuthError, HubError, RepoNotFound, TagExistsError
from leaf_hub.hub import HubClient
from tests.reliability.faultproxy import FaultProxy
from tests.support.hub import DEFAULT_TOKENS, running_test_hub

ALICE = DEFAULT_TOKENS[0].token
BOB = DEFAULT_TOKENS[2].token


@pytest.fixture(scope="module")
def hub(module_tmp):
    with running_test_hub(module_tmp("retry-hub") / "data") as server:
        yield server


@pytest.fixture
def proxy(hub) -> FaultProxy:
    with FaultProxy(hub.url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def folder(tmp_path: Path, real_sentences: list[str]) -> Path:
    """A small folder of real text to upload."""
    out = tmp_path / "upload"
    (out / "notes").mkdir(parents=True)
    (out / "sentences.txt").write_text("\n".join(real_sentences[:50]) + "\n")
    (out / "notes" / "more.txt").write_text("\n".join(real_sentences[50:80]) + "\n")
    return out


def client_for(proxy: FaultProxy, token: str = ALICE, attempts: int = 3) -> HubClient:
    return HubClient(proxy.url, token, attempts=attempts, backoff=0.1, max_wait=0.5)


def history(hub, repo: str) -> list[str]:
    return [c.commit_id for c in HfApi(endpoint=hub.url, token=ALICE).list_repo_commits(repo)]


def test_transient_503s_are_retried_on_every_call_the_hub_library_sends_once(hub, proxy, folder) -> None:
    repo = "alice/retry-503"
    client = client_for(proxy)
    for method, path in [
        ("POST", r"^/api/repos/create$"),
        ("GET", rf"^/api/models/{repo}/refs$"),
        ("GET", rf"^/api/models/{repo}/revision/main$"),
        ("POST", rf"^/api/models/{repo}/commit/main$"),
        ("POST", rf"^/api/models/{repo}/tag/"),
    ]:
        proxy.add(method, path, "503", times=2)
    client.ensure_repo(repo)
    assert client.tag_target(repo, "v1.0.0") is None
    before = client.head(repo)
    commit = client.upload_folder(repo, folder, "upload through a flaky proxy")
    client.create_tag(repo, "v1.0.0", commit, "release")

    assert [rule.hits for rule in proxy.rules] == [2, 2, 2, 2, 2]  # every fault was hit, and survived
    assert proxy.count("POST", r"/commit/main$", "forwarded") == 1
    assert history(hub, repo) == [commit, before]  # exactly one commit landed
    assert client.tag_target(repo, "v1.0.0") == commit
    api = HfApi(endpoint=hub.url, token=ALICE)
    assert set(api.list_repo_files(repo, revision="v1.0.0")) == {".gitattributes", "sentences.txt", "notes/more.txt"}


def test_connection_resets_before_the_server_are_retried(hub, proxy, folder) -> None:
    repo = "alice/retry-reset"
    client = client_for(proxy)
    proxy.add("POST", r"^/api/repos/create$", "reset")
    proxy.add("POST", rf"^/api/models/{repo}/commit/main$", "reset")
    proxy.add("POST", rf"^/api/models/{repo}/tag/", "reset")
    client.ensure_repo(repo)
    before = client.head(repo)
    commit = client.upload_folder(repo, folder, "upload")
    client.create_tag(repo, "v1.0.0", commit, "release")
    assert all(rule.hits == 1 for rule in proxy.rules)
    assert history(hub, repo) == [commit, before]
    assert client.tag_target(repo, "v1.0.0") == commit


def test_a_commit_whose_answer_is_lost_is_not_committed_twice(hub, proxy, folder) -> None:
    repo = "alice/lost-commit"
    client = client_for(proxy)
    client.ensure_repo(repo)
    before = client.head(repo)
    proxy.add("POST", rf"^/api/models/{repo}/commit/main$", "reset_after")  # lands, answer lost
    commit = client.upload_folder(repo, folder, "upload")
    assert proxy.count("POST", r"/commit/main$") == 1  # never sent again
    assert proxy.count("POST", r"/commit/main$", "reset_after") == 1
    assert history(hub, repo) == [commit, before]
    assert client.head(repo) == commit


def test_a_tag_whose_answer_is_lost_is_accepted_only_for_the_same_commit(hub, proxy, folder) -> None:
    repo = "alice/lost-tag"
    client = client_for(proxy)
    client.ensure_repo(repo)
    first = client.upload_folder(repo, folder, "first")
    (folder / "sentences.txt").write_text("A different file now.\n")
    second = client.upload_folder(repo, folder, "second")
    proxy.add("POST", rf"^/api/models/{repo}/tag/", "reset_after")
    client.create_tag(repo, "v1.0.0", first, "release")  # created, answer lost, retry answers 409: same commit
    assert proxy.count("POST", r"/tag/") == 2
    assert client.tag_target(repo, "v1.0.0") == first

    proxy.clear()
    with pytest.raises(TagExistsError, match="tags are never moved"):
        client.create_tag(repo, "v1.0.0", second, "release")  # a real conflict: never retried, never moved
    assert proxy.count("POST", r"/tag/") == 1
    assert client.tag_target(repo, "v1.0.0") == first


def test_persistent_5xx_gives_up_after_bounded_attempts(proxy) -> None:
    client = client_for(proxy)
    proxy.add("GET", r"/refs$", "503", times=-1)
    start = time.monotonic()
    with pytest.raises(HubError, match=r"\(503\).*after 3 attempts") as info:
        client.tag_target("alice/anything", "v1.0.0")
    assert time.monotonic() - start < 10
    assert proxy.count("GET", r"/refs$") == 3
    assert "\n" not in str(info.value)


def test_4xx_fails_at_once(proxy) -> None:
    bob = client_for(proxy, BOB)
    with pytest.raises(HubAuthError, match="403"):
        bob.ensure_repo("alice/not-bobs")
    assert proxy.count("POST", r"^/api/repos/create$") == 1
    alice = client_for(proxy)
    with pytest.raises(RepoNotFound):
        alice.head("alice/does-not-exist")
    assert proxy.count("GET", r"/does-not-exist/revision/main$") == 1


def test_a_failed_lookup_is_not_mistaken_for_a_missing_file(hub, proxy, folder) -> None:
    """A proxy that mangles answers must not make ``release.json`` look absent (that reads as 'different content')."""
    repo = "alice/mangled"
    client = client_for(proxy)
    client.ensure_repo(repo)
    (folder / "release.json").write_text('{"version": "1.0.0"}\n')
    commit = client.upload_folder(repo, folder, "with a manifest")
    assert client.read_json(repo, "release.json", commit) == {"version": "1.0.0"}
    assert client.read_json(repo, "absent.json", commit) is None  # a real 404 still means absent

    proxy.add("HEAD", r"/resolve/", "strip:x-repo-commit", times=-1)
    with pytest.raises(HubError, match="reading release.json"):
        client.read_json(repo, "release.json", commit)
