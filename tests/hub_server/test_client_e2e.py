"""The real huggingface_hub client and sentence-transformers against a server subprocess (issue 6 must-shows).

The client gets ``endpoint=`` explicitly (``HF_ENDPOINT`` is read at import time); the
sentence-transformers load runs in a subprocess with ``HF_ENDPOINT`` set before its imports.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from leaf_hub.hub_server import EmbeddedHub
from tests.support.hub import ALICE_READ, BOB_WRITE

REPO = "org/minilm"
TAG = "v0.1.0"


def _sha256_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def published(hub: EmbeddedHub, student_path: Path) -> dict[str, str]:
    """all-MiniLM-L6-v2 (90 MB LFS weights + small text files) uploaded in one commit and tagged."""
    api = HfApi(endpoint=hub.url, token=hub.write_token)
    assert api.create_repo(REPO).repo_id == REPO
    assert api.create_repo(REPO, exist_ok=True).repo_id == REPO
    commit = api.upload_folder(repo_id=REPO, folder_path=student_path, commit_message="all-MiniLM-L6-v2")
    api.create_tag(REPO, tag=TAG)
    return {"commit": commit.oid}


def test_publish_tag_list_and_download(hub: EmbeddedHub, published: dict, student_path: Path, tmp_path: Path) -> None:
    api = HfApi(endpoint=hub.url, token=hub.write_token)
    refs = api.list_repo_refs(REPO)
    assert [(t.name, t.target_commit) for t in refs.tags] == [(TAG, published["commit"])]
    assert "main" in [b.name for b in refs.branches]
    source = _sha256_tree(student_path)
    assert set(api.list_repo_files(REPO, revision=TAG)) == set(source) | {".gitattributes"}
    assert [c.title for c in api.list_repo_commits(REPO, revision=TAG)] == ["all-MiniLM-L6-v2", "initial commit"]
    info = api.model_info(REPO, revision=TAG, files_metadata=True)
    weights = next(s for s in info.siblings if s.rfilename == "model.safetensors")
    assert weights.lfs is not None and weights.lfs.sha256 == source["model.safetensors"]
    assert weights.size == (student_path / "model.safetensors").stat().st_size > 10_000_000
    folder = Path(snapshot_download(REPO, revision=TAG, endpoint=hub.url, cache_dir=tmp_path / "fresh-cache"))
    assert folder.name == published["commit"]
    downloaded = _sha256_tree(folder)
    downloaded.pop(".gitattributes")
    assert downloaded == source


def test_second_commit_leaves_the_tag_unchanged(
    hub: EmbeddedHub, published: dict, student_path: Path, tmp_path: Path
) -> None:
    api = HfApi(endpoint=hub.url, token=hub.write_token)
    second = api.delete_file("README.md", repo_id=REPO, commit_message="drop the card")
    assert second.oid != published["commit"]
    assert "README.md" not in api.list_repo_files(REPO)
    assert "README.md" in api.list_repo_files(REPO, revision=TAG)
    assert api.list_repo_refs(REPO).tags[0].target_commit == published["commit"]
    folder = Path(snapshot_download(REPO, revision=TAG, endpoint=hub.url, cache_dir=tmp_path / "cache-after"))
    assert folder.name == published["commit"]
    assert (
        hashlib.sha256((folder / "README.md").read_bytes()).digest()
        == hashlib.sha256((student_path / "README.md").read_bytes()).digest()
    )
    card = hf_hub_download(REPO, "README.md", revision=published["commit"], endpoint=hub.url, cache_dir=tmp_path / "c3")
    assert Path(card).read_bytes() == (student_path / "README.md").read_bytes()


_LOAD = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
repo, tag, local, texts = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.stdin.read())
hub_model = SentenceTransformer(repo, revision=tag, device="cpu")
local_model = SentenceTransformer(local, device="cpu")
a = hub_model.encode(texts, batch_size=32)
b = local_model.encode(texts, batch_size=32)
report = {"shape": list(a.shape), "identical": bool(np.array_equal(a, b)), "max_abs_diff": float(np.abs(a - b).max())}
print(json.dumps(report))
"""


@pytest.mark.slow  # ~30 s: a torch process, a 90 MB download, two models
def test_sentence_transformer_loads_the_tag(
    hub: EmbeddedHub, published: dict, student_path: Path, tmp_path: Path, real_sentences: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD, REPO, TAG, str(student_path)],
        input=json.dumps(real_sentences[:64]),
        env=hub.env(hf_home=tmp_path / "st-home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shape"] == [64, 384]
    assert report["identical"], report
    snapshots = list((tmp_path / "st-home" / "hub" / "models--org--minilm" / "snapshots").iterdir())
    assert [s.name for s in snapshots] == [published["commit"]]  # loaded through the hub, at the tag


def test_wrong_token_is_a_401_from_the_client(hub: EmbeddedHub, published: dict, tmp_path: Path) -> None:
    wrong = HfApi(endpoint=hub.url, token="hf_wrong_token")
    with pytest.raises(HfHubHTTPError) as info:
        wrong.model_info(REPO)
    assert info.value.response.status_code == 401
    assert not isinstance(info.value, RepositoryNotFoundError)
    with pytest.raises(HfHubHTTPError, match="Invalid user token"):
        wrong.whoami()
    with pytest.raises(HfHubHTTPError) as download:
        hf_hub_download(REPO, "config.json", endpoint=hub.url, token="hf_wrong_token", cache_dir=tmp_path / "c")
    assert download.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as write:
        HfApi(endpoint=hub.url, token=ALICE_READ).create_tag(REPO, tag="v-readonly")
    assert write.value.response.status_code == 403


def test_private_repo_needs_a_token(hub: EmbeddedHub, student_path: Path, tmp_path: Path) -> None:
    owner = HfApi(endpoint=hub.url, token=hub.write_token)
    owner.create_repo("alice/private-cfg", private=True)
    owner.upload_file(
        path_or_fileobj=student_path / "config.json", path_in_repo="config.json", repo_id="alice/private-cfg"
    )
    assert owner.model_info("alice/private-cfg").private is True
    for token in (False, BOB_WRITE):
        api = HfApi(endpoint=hub.url, token=token)
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("alice/private-cfg")
        assert api.repo_exists("alice/private-cfg") is False
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(
                "alice/private-cfg", "config.json", endpoint=hub.url, token=token, cache_dir=tmp_path / "anon"
            )
    path = hf_hub_download(
        "alice/private-cfg", "config.json", endpoint=hub.url, token=ALICE_READ, cache_dir=tmp_path / "ok"
    )
    assert Path(path).read_bytes() == (student_path / "config.json").read_bytes()
