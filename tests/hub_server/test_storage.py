"""Storage: real git objects, atomic commits, serialized writers, immutable tags, checked LFS objects."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from leaf_hub.hub_server import storage as storage_module
from leaf_hub.hub_server.errors import (
    BadRequestError,
    ConflictError,
    EntryNotFoundError,
    PreconditionFailedError,
    RevisionNotFoundError,
)
from leaf_hub.hub_server.storage import AddFile, AddLfsFile, DeleteFile, RepoKey, Storage

KEY = RepoKey("model", "alice", "demo")


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "data")
    storage.create_repo(KEY, private=False, user="alice")
    return storage


def _upload(storage: Storage, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    upload = storage.open_lfs_upload(KEY, sha, len(data))
    upload.write(data)
    upload.commit()
    return sha


def test_commits_are_real_git_history(store: Storage, student_path: Path) -> None:
    config = (student_path / "config.json").read_bytes()
    first = store.resolve(KEY, "main")
    result = store.commit(
        KEY, revision="main", operations=[AddFile("config.json", config)], summary="add config", author="alice"
    )
    assert len(result.commit_id) == 40 and result.commit_id != first
    assert [c.title for c in store.history(KEY, result.commit_id)] == ["add config", "initial commit"]
    entry = store.snapshot(KEY, result.commit_id).files["config.json"]
    assert entry.size == len(config)
    assert entry.oid == hashlib.sha1(b"blob %d\0" % len(config) + config).hexdigest()  # git blob id
    if shutil.which("git"):
        repo = store.repo_path(KEY)
        log = subprocess.run(
            ["git", "--git-dir", str(repo), "log", "--format=%H %s", "main"], capture_output=True, text=True
        )
        assert log.stdout.split("\n")[0] == f"{result.commit_id} add config"
        fsck = subprocess.run(["git", "--git-dir", str(repo), "fsck", "--strict"], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stderr


def test_lfs_file_is_a_pointer_in_git_and_content_in_the_store(store: Storage, student_path: Path) -> None:
    data = (student_path / "vocab.txt").read_bytes()
    sha = _upload(store, data)
    commit = store.commit(
        KEY, revision="main", operations=[AddLfsFile("vocab.txt", sha, len(data))], summary="lfs", author="alice"
    )
    entry = store.snapshot(KEY, commit.commit_id).files["vocab.txt"]
    assert entry.lfs is not None and entry.lfs.sha256 == sha and entry.size == len(data)
    pointer = store.read_blob(KEY, entry.oid)
    assert pointer == storage_module.lfs_pointer(sha, len(data)) and entry.lfs.pointer_size == len(pointer)
    assert store.lfs_object_path(KEY, sha).read_bytes() == data


def test_lfs_upload_with_wrong_hash_or_size_is_rejected(store: Storage, student_path: Path) -> None:
    data = (student_path / "tokenizer_config.json").read_bytes()
    wrong = hashlib.sha256(b"other").hexdigest()
    upload = store.open_lfs_upload(KEY, wrong, len(data))
    upload.write(data)
    with pytest.raises(BadRequestError, match="sha256 mismatch"):
        upload.commit()
    assert store.lfs_object_path(KEY, wrong) is None
    sha = hashlib.sha256(data).hexdigest()
    upload = store.open_lfs_upload(KEY, sha, len(data) - 1)
    with pytest.raises(BadRequestError, match="larger than its announced size"):
        upload.write(data)
    assert store.lfs_object_path(KEY, sha) is None
    assert list((store.repo_path(KEY) / "lfs" / "tmp").iterdir()) == []
    with pytest.raises(BadRequestError, match="never uploaded"):
        store.commit(
            KEY, revision="main", operations=[AddLfsFile("x.bin", sha, len(data))], summary="x", author="alice"
        )


def test_crash_before_ref_swap_keeps_previous_head(store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    head = store.resolve(KEY, "main")
    real_write = storage_module._atomic_write

    def crash_on_ref(path: Path, data: bytes, *, fsync: bool) -> None:
        if "refs" in path.parts:
            raise OSError("simulated crash before the ref moves")
        real_write(path, data, fsync=fsync)

    monkeypatch.setattr(storage_module, "_atomic_write", crash_on_ref)
    with pytest.raises(OSError, match="simulated crash"):
        store.commit(KEY, revision="main", operations=[AddFile("new.txt", b"text\n")], summary="lost", author="alice")
    monkeypatch.undo()
    fresh = Storage(store.root)  # as after a restart
    assert fresh.resolve(KEY, "main") == head
    assert "new.txt" not in fresh.snapshot(KEY, head).files
    assert [c.title for c in fresh.history(KEY, head)] == ["initial commit"]


def test_concurrent_writers_are_serialized(store: Storage, real_sentences: list[str]) -> None:
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            op = AddFile(f"notes/{i}.txt", real_sentences[i].encode())
            store.commit(KEY, revision="main", operations=[op], summary=f"note {i}", author="alice")
        except BaseException as error:  # noqa: BLE001 - collected for the assert
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    head = store.resolve(KEY, "main")
    history = list(store.history(KEY, head))
    assert len(history) == 13  # 12 notes + initial commit, none lost
    files = store.snapshot(KEY, head).files
    assert all(f"notes/{i}.txt" in files for i in range(12))


def test_tags_are_immutable_and_revisions_resolve(store: Storage) -> None:
    first = store.commit(KEY, revision="main", operations=[AddFile("a.txt", b"a\n")], summary="a", author="alice")
    store.create_tag(KEY, "v0.1.0", revision="main", message=None, user="alice")
    store.create_tag(KEY, "v0.1.0-annotated", revision="main", message="release", user="alice")
    second = store.commit(KEY, revision="main", operations=[DeleteFile("a.txt")], summary="drop a", author="alice")
    assert store.resolve(KEY, "v0.1.0") == first.commit_id
    assert store.resolve(KEY, "refs/tags/v0.1.0-annotated") == first.commit_id
    assert store.resolve(KEY, "main") == store.resolve(KEY, "refs/heads/main") == second.commit_id
    assert store.resolve(KEY, first.commit_id) == first.commit_id
    with pytest.raises(ConflictError):
        store.create_tag(KEY, "v0.1.0", revision="main", message=None, user="alice")
    with pytest.raises(BadRequestError, match="tags are immutable"):
        store.commit(KEY, revision="v0.1.0", operations=[AddFile("b.txt", b"b")], summary="b", author="alice")
    for bad in ("v9", "0" * 40, "../../leaf_hub.json", "refs/heads/../../x", "refs/other/main"):
        with pytest.raises(RevisionNotFoundError):
            store.resolve(KEY, bad)
    with pytest.raises(PreconditionFailedError):
        store.commit(KEY, revision="main", operations=[], summary="x", author="alice", parent_commit=first.commit_id)
    with pytest.raises(EntryNotFoundError):
        store.commit(KEY, revision="main", operations=[DeleteFile("a.txt")], summary="x", author="alice")
    with pytest.raises(ConflictError):
        store.commit(KEY, revision="main", operations=[AddFile(".gitattributes/x", b"x")], summary="x", author="alice")


def test_cleanup_removes_leftovers_of_a_crash(store: Storage) -> None:
    partial = store.repo_path(KEY) / "lfs" / "tmp" / "abc.part"
    partial.write_bytes(b"half an upload")
    staging = store.root / "tmp" / "create-123"
    staging.mkdir()
    assert store.cleanup_temporary() == 2
    assert not partial.exists() and not staging.exists()
    assert store.resolve(KEY, "main")
