"""Persistent storage of Hub repositories: one bare git repository each, plus a git-LFS object store.

Layout under ``data_dir``::

    repos/<models|datasets|spaces>/<namespace>/<name>.git/   a bare git repository (``git log`` works)
        objects/..., refs/heads/main, refs/tags/..., refs/pr/<n>, HEAD, config
        leaf_hub.json          repo metadata (private flag, creation time and user)
        leaf_hub.lock          target of the per-repo ``flock``
        lfs/objects/ab/cd/<sha256>   LFS contents (git-lfs layout); the git tree holds the pointer
        lfs/tmp/               partial LFS uploads (removed at server start)
    tmp/                       repos being created or deleted (removed at server start)

Guarantees:

* **Content addressing.** Regular files are git blobs (id = git blob sha1); LFS files are stored
  once per repo under their sha256, checked on upload, and referenced by a canonical pointer blob.
* **Atomic commits.** A commit writes every new blob, tree and commit object first (each to a
  temporary name, fsync'ed, then renamed), and only then swaps the branch ref file with
  ``os.replace`` after an fsync. A crash at any point leaves the previous head, and objects that
  no ref points to are never listed.
* **Serialised writers.** Writes to one repo hold a per-repo lock: a ``threading.Lock`` for the
  threads of this process and an ``fcntl.flock`` for other processes on the same data dir.
* Refs are loose files (no ``packed-refs``); don't run ``git gc``/``git pack-refs`` on a live data dir.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from dulwich.object_store import DiskObjectStore
from dulwich.objects import Blob, Commit, ShaFile, Tag, Tree

from leaf_hub.hub_server.errors import (
    BadRequestError,
    ConflictError,
    EntryNotFoundError,
    ForbiddenError,
    PreconditionFailedError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from leaf_hub.hub_server.validation import REPO_TYPES, is_commit_id, validate_ref_name

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BRANCH",
    "AddFile",
    "AddLfsFile",
    "CommitRecord",
    "CommitResult",
    "DeleteFile",
    "DeleteFolder",
    "FileEntry",
    "LfsInfo",
    "LfsUpload",
    "Operation",
    "RepoKey",
    "RepoMeta",
    "RepoRefs",
    "Snapshot",
    "Storage",
    "lfs_pointer",
    "parse_lfs_pointer",
]

DEFAULT_BRANCH = "main"

#: The ``.gitattributes`` of a new repo, as the Hub writes it in its "initial commit".
INITIAL_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*",
        "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb",
        "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*",
        "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
    )
)  # fmt: skip

_FILE_MODE = 0o100644
_TREE_MODE = 0o040000
_POINTER_RE = re.compile(rb"^version https://git-lfs\.github\.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n$")
_REF_PREFIXES = ("refs/heads/", "refs/tags/", "refs/pr/", "refs/convert/")
_SNAPSHOT_CACHE_SIZE = 256
_COPY_CHUNK = 8 * 1024 * 1024


# ---------------------------------------------------------------------------
# RECORDS
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoKey:
    """Which repository: type, namespace and name.

    Attributes:
        repo_type: ``"model"``, ``"dataset"`` or ``"space"``.
        namespace: user or organisation.
        name: repository name.
    """

    repo_type: str
    namespace: str
    name: str

    @property
    def repo_id(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @property
    def plural(self) -> str:
        """The API path word: ``models``, ``datasets`` or ``spaces``."""
        return f"{self.repo_type}s"

    @property
    def web_prefix(self) -> str:
        """The prefix of web/resolve URLs: ``""``, ``"datasets/"`` or ``"spaces/"``."""
        return "" if self.repo_type == "model" else f"{self.repo_type}s/"


@dataclass(frozen=True)
class RepoMeta:
    """What the storage keeps about a repo besides its git data."""

    private: bool
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class LfsInfo:
    """LFS identity of a file: content sha256, size, and the byte length of its pointer blob."""

    sha256: str
    size: int
    pointer_size: int


@dataclass(frozen=True)
class FileEntry:
    """A file of a snapshot.

    Attributes:
        path: path inside the repo.
        oid: git blob sha1 of the stored blob (the content, or the LFS pointer for LFS files).
        size: size of the file content in bytes.
        lfs: LFS identity, for LFS files.
    """

    path: str
    oid: str
    size: int
    lfs: LfsInfo | None = None

    @property
    def etag(self) -> str:
        """Content identity used as the client's cache file name: sha256 for LFS, blob sha1 otherwise."""
        return self.lfs.sha256 if self.lfs else self.oid


@dataclass(frozen=True)
class CommitRecord:
    """One commit: id, title (first message line), rest of the message, author name and date (UTC)."""

    id: str
    title: str
    message: str
    author: str
    date: datetime
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """All files and folders at one commit (immutable, cached per commit id).

    Attributes:
        commit: the commit.
        files: path -> entry.
        folders: folder path -> git tree sha1 (the root is ``""``).
    """

    commit: CommitRecord
    files: dict[str, FileEntry]
    folders: dict[str, str]

    def list_folder(self, path: str, *, recursive: bool) -> list[FileEntry | str]:
        """List a folder: files as :class:`FileEntry`, subfolders as their path strings.

        Raises:
            EntryNotFoundError: If ``path`` is not a folder at this commit.
        """
        if path not in self.folders:
            raise EntryNotFoundError("Entry not found", headers={"X-Repo-Commit": self.commit.id})
        prefix = f"{path}/" if path else ""
        out: list[FileEntry | str] = []
        for name in sorted(self.folders):
            if name and name.startswith(prefix) and (recursive or "/" not in name[len(prefix) :]):
                out.append(name)
        for name in sorted(self.files):
            if name.startswith(prefix) and (recursive or "/" not in name[len(prefix) :]):
                out.append(self.files[name])
        return out


@dataclass(frozen=True)
class RepoRefs:
    """Branch, tag, pull-request and convert refs: name -> commit id (tags peeled)."""

    branches: dict[str, str]
    tags: dict[str, str]
    pull_requests: dict[int, str]
    converts: dict[str, str]


@dataclass(frozen=True)
class AddFile:
    """Add or replace a regular file with inline content."""

    path: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class AddLfsFile:
    """Add or replace a file whose content is an already uploaded LFS object (``size`` optional)."""

    path: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class DeleteFile:
    """Delete one file."""

    path: str


@dataclass(frozen=True)
class DeleteFolder:
    """Delete every file under a folder."""

    path: str


Operation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


@dataclass(frozen=True)
class CommitResult:
    """Outcome of a commit: the new commit id, the ref it moved, and the PR number for ``create_pr``."""

    commit_id: str
    ref: str
    pr_number: int | None = None


# ---------------------------------------------------------------------------
# HELPERS
# ---------------------------------------------------------------------------


def lfs_pointer(sha256: str, size: int) -> bytes:
    """Return the canonical git-lfs v1 pointer text of an object."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def parse_lfs_pointer(data: bytes) -> tuple[str, int] | None:
    """Return ``(sha256, size)`` if ``data`` is a canonical LFS pointer, else ``None``."""
    match = _POINTER_RE.match(data) if len(data) < 256 else None
    return (match.group(1).decode(), int(match.group(2))) if match else None


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes, *, fsync: bool) -> None:
    """Write ``data`` to ``path`` via a unique temporary file and ``os.replace``."""
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with tmp.open("xb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_dir(path.parent)


class LfsUpload:
    """An LFS object being received: hashed while written to a temporary file, renamed in when right.

    Use :meth:`Storage.open_lfs_upload`; call :meth:`write` per chunk, then :meth:`commit`
    (or :meth:`abort`). Nothing is visible under the object's name until the size and the sha256
    both match.
    """

    def __init__(self, final_path: Path, tmp_dir: Path, sha256: str, size: int, *, fsync: bool) -> None:
        self._final = final_path
        self._sha256 = sha256
        self._size = size
        self._fsync = fsync
        self._hasher = hashlib.sha256()
        self._written = 0
        self._tmp = tmp_dir / f"{sha256}.{uuid.uuid4().hex}.part"
        self._handle: BinaryIO | None = self._tmp.open("xb")

    @property
    def received(self) -> int:
        """Bytes received so far."""
        return self._written

    def write(self, data: bytes) -> None:
        """Append a chunk.

        Raises:
            BadRequestError: If the object grows past its announced size.
        """
        if self._handle is None:
            raise RuntimeError("upload already finished")
        if self._written + len(data) > self._size:
            self.abort()
            raise BadRequestError(f"LFS object {self._sha256} is larger than its announced size {self._size}")
        self._handle.write(data)
        self._hasher.update(data)
        self._written += len(data)

    def commit(self) -> None:
        """Check size and sha256, then make the object visible atomically.

        Raises:
            BadRequestError: If the size or the sha256 differ from the announced ones.
            RepoNotFoundError: If the repo was deleted during the upload.
        """
        if self._handle is None:
            raise RuntimeError("upload already finished")
        if self._written != self._size:
            self.abort()
            raise BadRequestError(f"LFS object {self._sha256}: received {self._written} bytes, expected {self._size}")
        digest = self._hasher.hexdigest()
        if digest != self._sha256:
            self.abort()
            raise BadRequestError(f"LFS object sha256 mismatch: announced {self._sha256}, received {digest}")
        handle, self._handle = self._handle, None
        try:
            if self._fsync:
                handle.flush()
                os.fsync(handle.fileno())
            handle.close()
            try:
                self._final.parent.parent.mkdir(exist_ok=True)
                self._final.parent.mkdir(exist_ok=True)
                os.replace(self._tmp, self._final)
            except FileNotFoundError as error:
                raise RepoNotFoundError("Repository not found") from error
            if self._fsync:
                _fsync_dir(self._final.parent)
        finally:
            handle.close()
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Drop the partial object."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# STORAGE
# ---------------------------------------------------------------------------


class Storage:
    """All repositories under one data directory.

    Thread-safe: reads need no lock (refs are swapped atomically, objects are immutable), writes
    to one repo are serialised (see the module docstring).

    Args:
        root: the data directory (created if missing).
        fsync: fsync objects and refs before a commit becomes visible.

    Example:
        >>> storage = Storage(tmp_path)
        >>> key = RepoKey("model", "alice", "demo")
        >>> storage.create_repo(key, private=False, user="alice")
        >>> storage.commit(key, revision="main", operations=[AddFile("a.txt", b"hi")], summary="add", author="alice")
    """

    def __init__(self, root: str | Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._stores: dict[str, DiskObjectStore] = {}
        self._snapshots: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()
        self._cache_guard = threading.Lock()

    # -- paths and housekeeping ------------------------------------------------

    def repo_path(self, key: RepoKey) -> Path:
        """Return the bare git repository folder of ``key`` (it may not exist)."""
        return self.root / "repos" / key.plural / key.namespace / f"{key.name}.git"

    def iter_repos(self) -> Iterator[RepoKey]:
        """Yield every existing repository."""
        for plural, repo_type in REPO_TYPES.items():
            base = self.root / "repos" / plural
            for meta in sorted(base.glob("*/*.git/leaf_hub.json")):
                repo_dir = meta.parent
                yield RepoKey(repo_type, repo_dir.parent.name, repo_dir.name[: -len(".git")])

    def cleanup_temporary(self) -> int:
        """Remove leftovers of interrupted work (partial uploads, half-created repos, temp files).

        Call only when no other process serves this data dir (the server does it at start).

        Returns:
            The number of entries removed.
        """
        removed = 0
        for entry in (self.root / "tmp").iterdir():
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed += 1
        for key in self.iter_repos():
            repo = self.repo_path(key)
            for pattern in ("lfs/tmp/*", "objects/*/*.tmp-*", "refs/**/*.tmp-*", "*.tmp-*"):
                for leftover in repo.glob(pattern):
                    leftover.unlink(missing_ok=True)
                    removed += 1
        if removed:
            logger.info("removed %d leftovers of interrupted writes", removed)
        return removed

    @contextlib.contextmanager
    def _lock(self, key: RepoKey) -> Iterator[Path]:
        repo = self.repo_path(key)
        with self._locks_guard:
            thread_lock = self._locks.setdefault(str(repo), threading.Lock())
        with thread_lock:
            try:
                fd = os.open(repo / "leaf_hub.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except FileNotFoundError as error:
                raise RepoNotFoundError("Repository not found") from error
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # The repo may have been deleted (and re-created) while we waited.
                try:
                    same = os.stat(repo / "leaf_hub.lock").st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same or not (repo / "leaf_hub.json").is_file():
                    raise RepoNotFoundError("Repository not found")
                yield repo
            finally:
                os.close(fd)  # releases the flock

    def _store(self, repo: Path) -> DiskObjectStore:
        with self._cache_guard:
            store = self._stores.get(str(repo))
            if store is None:
                store = self._stores[str(repo)] = DiskObjectStore(str(repo / "objects"))
            return store

    def _forget(self, repo: Path) -> None:
        with self._cache_guard:
            self._stores.pop(str(repo), None)
            for cache_key in [k for k in self._snapshots if k[0] == str(repo)]:
                del self._snapshots[cache_key]

    # -- repositories ----------------------------------------------------------

    def meta(self, key: RepoKey) -> RepoMeta | None:
        """Return the repo's metadata, or ``None`` if the repo does not exist."""
        try:
            raw = json.loads((self.repo_path(key) / "leaf_hub.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return RepoMeta(
            private=bool(raw["private"]),
            created_at=datetime.fromisoformat(raw["created_at"]),
            created_by=raw["created_by"],
        )

    def create_repo(self, key: RepoKey, *, private: bool, user: str) -> str:
        """Create a repo with an initial commit on ``main`` holding the Hub's default ``.gitattributes``.

        The repo is assembled in ``tmp/`` and renamed into place, so it appears complete or not at all.

        Returns:
            The initial commit id.

        Raises:
            ConflictError: If the repo exists.
        """
        final = self.repo_path(key)
        if (final / "leaf_hub.json").exists():
            raise ConflictError(f"You already created this {key.repo_type} repo")
        staging = self.root / "tmp" / f"create-{uuid.uuid4().hex}"
        try:
            for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "lfs/objects", "lfs/tmp"):
                (staging / sub).mkdir(parents=True)
            (staging / "HEAD").write_text(f"ref: refs/heads/{DEFAULT_BRANCH}\n")
            (staging / "config").write_text("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n")
            (staging / "description").write_text(f"leaf-hub {key.repo_type} repo {key.repo_id}\n")
            now = datetime.now(UTC)
            meta = {"repo_type": key.repo_type, "repo_id": key.repo_id, "private": private}
            meta |= {"created_at": now.isoformat(), "created_by": user}
            _atomic_write(staging / "leaf_hub.json", json.dumps(meta, indent=1).encode(), fsync=self.fsync)
            blob = Blob.from_string(INITIAL_GITATTRIBUTES.encode())
            tree = Tree()
            tree.add(b".gitattributes", _FILE_MODE, blob.id)
            commit = self._new_commit(tree.id, [], "initial commit", "", user, int(now.timestamp()))
            dirs: set[Path] = set()
            for obj in (blob, tree, commit):
                self._write_object(staging, obj, dirs)
            self._sync_dirs(dirs)
            _atomic_write(staging / "refs" / "heads" / DEFAULT_BRANCH, commit.id + b"\n", fsync=self.fsync)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(staging, final)
            except OSError as error:  # ENOTEMPTY/EEXIST: created concurrently
                raise ConflictError(f"You already created this {key.repo_type} repo") from error
            if self.fsync:
                _fsync_dir(final.parent)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("created %s repo %s", key.repo_type, key.repo_id)
        return commit.id.decode()

    def delete_repo(self, key: RepoKey) -> None:
        """Delete a repo and all its data (moved out of sight atomically, then removed).

        Raises:
            RepoNotFoundError: If it does not exist.
        """
        with self._lock(key) as repo:
            trash = self.root / "tmp" / f"deleted-{uuid.uuid4().hex}"
            (repo / "leaf_hub.json").unlink()
            os.rename(repo, trash)
        self._forget(repo)
        shutil.rmtree(trash, ignore_errors=True)
        logger.info("deleted %s repo %s", key.repo_type, key.repo_id)

    def set_private(self, key: RepoKey, private: bool) -> None:
        """Change the visibility of a repo.

        Raises:
            RepoNotFoundError: If it does not exist.
        """
        with self._lock(key) as repo:
            raw = json.loads((repo / "leaf_hub.json").read_text(encoding="utf-8"))
            raw["private"] = private
            _atomic_write(repo / "leaf_hub.json", json.dumps(raw, indent=1).encode(), fsync=self.fsync)

    # -- refs ------------------------------------------------------------------

    def _read_ref(self, repo: Path, ref: str) -> str | None:
        try:
            value = (repo / ref).read_text(encoding="ascii").strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return value if is_commit_id(value) else None

    def _peel(self, repo: Path, object_id: str) -> str:
        obj = self._store(repo)[object_id.encode()]
        while isinstance(obj, Tag):
            obj = self._store(repo)[obj.object[1]]
        return obj.id.decode()

    def _write_ref(self, repo: Path, ref: str, object_id: str) -> None:
        path = repo / ref
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, object_id.encode() + b"\n", fsync=self.fsync)
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as error:
            raise ConflictError(f"ref {ref} clashes with an existing ref of a prefix or sub-path name") from error

    def _delete_ref(self, repo: Path, ref: str) -> None:
        path = repo / ref
        path.unlink()
        if self.fsync:
            _fsync_dir(path.parent)
        parent = path.parent
        while parent.name not in ("heads", "tags", "pr", "convert"):
            with contextlib.suppress(OSError):
                parent.rmdir()
            parent = parent.parent

    def refs(self, key: RepoKey) -> RepoRefs:
        """List branches, tags, pull requests and converts (tags peeled to commits).

        Raises:
            RepoNotFoundError: If the repo does not exist.
        """
        repo = self._existing(key)

        def collect(kind: str) -> dict[str, str]:
            base = repo / "refs" / kind
            found: dict[str, str] = {}
            for path in sorted(base.rglob("*")) if base.is_dir() else []:
                if path.is_file() and ".tmp-" not in path.name:
                    value = self._read_ref(repo, str(path.relative_to(repo)))
                    if value is not None:
                        found[str(path.relative_to(base))] = self._peel(repo, value)
            return found

        prs = {int(n): sha for n, sha in collect("pr").items() if n.isdigit()}
        return RepoRefs(collect("heads"), collect("tags"), dict(sorted(prs.items())), collect("convert"))

    def _existing(self, key: RepoKey) -> Path:
        repo = self.repo_path(key)
        if not (repo / "leaf_hub.json").is_file():
            raise RepoNotFoundError("Repository not found")
        return repo

    def resolve(self, key: RepoKey, revision: str) -> str:
        """Resolve a branch, tag, full ref or 40-hex commit id to a commit id.

        Raises:
            RepoNotFoundError: If the repo does not exist.
            RevisionNotFoundError: If nothing matches.
        """
        repo = self._existing(key)
        not_found = RevisionNotFoundError(f"Invalid rev id: {revision}")
        if is_commit_id(revision):
            try:
                obj = self._store(repo)[revision.encode()]
            except KeyError:
                raise not_found from None
            if not isinstance(obj, Commit):
                raise not_found
            return revision
        candidates: list[str]
        if revision.startswith("refs/"):
            prefix = next((p for p in _REF_PREFIXES if revision.startswith(p)), None)
            if prefix is None:
                raise not_found
            candidates = [revision]
            name = revision[len(prefix) :]
        else:
            candidates = [f"refs/heads/{revision}", f"refs/tags/{revision}"]
            name = revision
        try:
            validate_ref_name(name)
        except BadRequestError:
            raise not_found from None
        for ref in candidates:
            value = self._read_ref(repo, ref)
            if value is not None:
                return self._peel(repo, value)
        raise not_found

    def create_tag(self, key: RepoKey, tag: str, *, revision: str, message: str | None, user: str) -> str:
        """Create a tag (annotated when ``message`` is given) on the commit ``revision`` resolves to.

        Returns:
            The tagged commit id.

        Raises:
            BadRequestError: If the tag name is invalid.
            ConflictError: If a tag or branch of that name exists.
            RevisionNotFoundError: If ``revision`` does not resolve.
        """
        validate_ref_name(tag, "tag")
        with self._lock(key) as repo:
            if self._read_ref(repo, f"refs/tags/{tag}") is not None:
                raise ConflictError(f"tag {tag} already exists")
            if self._read_ref(repo, f"refs/heads/{tag}") is not None:
                raise ConflictError(f"a branch named {tag} exists; tag names must differ from branch names")
            commit_id = self.resolve(key, revision)
            target = commit_id
            if message:
                tag_obj = Tag()
                tag_obj.object = (Commit, commit_id.encode())
                tag_obj.name = tag.encode()
                tag_obj.tagger = _identity(user)
                tag_obj.tag_time = int(time.time())
                tag_obj.tag_timezone = 0
                tag_obj.message = message.encode() + (b"" if message.endswith("\n") else b"\n")
                dirs: set[Path] = set()
                self._write_object(repo, tag_obj, dirs)
                self._sync_dirs(dirs)
                target = tag_obj.id.decode()
            self._write_ref(repo, f"refs/tags/{tag}", target)
        logger.info("tagged %s %s at %s", key.repo_id, tag, commit_id)
        return commit_id

    def delete_tag(self, key: RepoKey, tag: str) -> None:
        """Delete a tag.

        Raises:
            RevisionNotFoundError: If the tag does not exist.
        """
        with self._lock(key) as repo:
            if self._invalid_ref(tag) or self._read_ref(repo, f"refs/tags/{tag}") is None:
                raise RevisionNotFoundError(f"Invalid rev id: {tag}")
            self._delete_ref(repo, f"refs/tags/{tag}")

    def create_branch(self, key: RepoKey, branch: str, *, starting_point: str | None) -> str:
        """Create a branch at ``starting_point`` (default: the head of ``main``).

        Returns:
            The commit id of the new branch.

        Raises:
            ConflictError: If a branch or tag of that name exists.
            RevisionNotFoundError: If ``starting_point`` does not resolve.
        """
        validate_ref_name(branch, "branch")
        with self._lock(key) as repo:
            if self._read_ref(repo, f"refs/heads/{branch}") is not None:
                raise ConflictError(f"branch {branch} already exists")
            if self._read_ref(repo, f"refs/tags/{branch}") is not None:
                raise ConflictError(f"a tag named {branch} exists; branch names must differ from tag names")
            commit_id = self.resolve(key, starting_point or DEFAULT_BRANCH)
            self._write_ref(repo, f"refs/heads/{branch}", commit_id)
        return commit_id

    def delete_branch(self, key: RepoKey, branch: str) -> None:
        """Delete a branch other than ``main``.

        Raises:
            ForbiddenError: For ``main``.
            RevisionNotFoundError: If the branch does not exist.
        """
        if branch == DEFAULT_BRANCH:
            raise ForbiddenError(f"cannot delete the default branch {DEFAULT_BRANCH}")
        with self._lock(key) as repo:
            if self._invalid_ref(branch) or self._read_ref(repo, f"refs/heads/{branch}") is None:
                raise RevisionNotFoundError(f"Invalid rev id: {branch}")
            self._delete_ref(repo, f"refs/heads/{branch}")

    @staticmethod
    def _invalid_ref(name: str) -> bool:
        try:
            validate_ref_name(name)
        except BadRequestError:
            return True
        return False

    # -- reading ---------------------------------------------------------------

    def commit_record(self, key: RepoKey, commit_id: str) -> CommitRecord:
        """Return one commit's record.

        Raises:
            RevisionNotFoundError: If the commit does not exist.
        """
        repo = self._existing(key)
        try:
            obj = self._store(repo)[commit_id.encode()]
        except KeyError:
            raise RevisionNotFoundError(f"Invalid rev id: {commit_id}") from None
        if not isinstance(obj, Commit):
            raise RevisionNotFoundError(f"Invalid rev id: {commit_id}")
        return _record(obj)

    def history(self, key: RepoKey, commit_id: str) -> Iterator[CommitRecord]:
        """Yield commits from ``commit_id`` back to the first, following first parents."""
        current: str | None = commit_id
        while current is not None:
            record = self.commit_record(key, current)
            yield record
            current = record.parents[0] if record.parents else None

    def snapshot(self, key: RepoKey, commit_id: str) -> Snapshot:
        """Return every file and folder at a commit (cached; commits are immutable).

        Raises:
            RevisionNotFoundError: If the commit does not exist.
        """
        repo = self._existing(key)
        cache_key = (str(repo), commit_id)
        with self._cache_guard:
            cached = self._snapshots.get(cache_key)
            if cached is not None:
                self._snapshots.move_to_end(cache_key)
                return cached
        record = self.commit_record(key, commit_id)
        store = self._store(repo)
        commit = store[commit_id.encode()]
        assert isinstance(commit, Commit)
        files: dict[str, FileEntry] = {}
        folders: dict[str, str] = {}

        def walk(tree_id: bytes, prefix: str) -> None:
            folders[prefix.rstrip("/")] = tree_id.decode()
            tree = store[tree_id]
            assert isinstance(tree, Tree)
            for item in tree.iteritems():
                name = item.path.decode("utf-8", "surrogateescape")
                path = prefix + name
                if item.mode == _TREE_MODE:
                    walk(item.sha, path + "/")
                elif item.mode in (_FILE_MODE, 0o100755):
                    files[path] = self._file_entry(repo, path, item.sha)

        walk(commit.tree, "")
        snap = Snapshot(commit=record, files=files, folders=folders)
        with self._cache_guard:
            self._snapshots[cache_key] = snap
            while len(self._snapshots) > _SNAPSHOT_CACHE_SIZE:
                self._snapshots.popitem(last=False)
        return snap

    def _file_entry(self, repo: Path, path: str, sha: bytes) -> FileEntry:
        size, head = self._blob_size_and_head(repo, sha)
        pointer = parse_lfs_pointer(head) if size < 256 else None
        if pointer is not None and self.lfs_object_path_in(repo, pointer[0]) is not None:
            return FileEntry(path, sha.decode(), pointer[1], LfsInfo(pointer[0], pointer[1], size))
        return FileEntry(path, sha.decode(), size)

    def _blob_size_and_head(self, repo: Path, sha: bytes) -> tuple[int, bytes]:
        """Return a blob's size and, for blobs under 256 bytes, its content (no full inflate of big blobs)."""
        loose = repo / "objects" / sha[:2].decode() / sha[2:].decode()
        try:
            compressed = loose.read_bytes()
        except FileNotFoundError:  # packed by an external `git gc`
            _, data = self._store(repo).get_raw(sha)
            return len(data), data if len(data) < 256 else b""
        inflater = zlib.decompressobj()
        start = inflater.decompress(compressed, 300)
        header, _, rest = start.partition(b"\0")
        size = int(header.split(b" ")[1])
        if size >= 256:
            return size, b""
        return size, (rest + inflater.decompress(inflater.unconsumed_tail))[:size]

    def read_blob(self, key: RepoKey, oid: str) -> bytes:
        """Return the content of a git blob (a regular file)."""
        obj = self._store(self._existing(key))[oid.encode()]
        assert isinstance(obj, Blob)
        return obj.as_raw_string()

    def lfs_object_path_in(self, repo: Path, sha256: str) -> Path | None:
        """Return the path of a stored LFS object of the repo folder ``repo``, or ``None``."""
        path = repo / "lfs" / "objects" / sha256[:2] / sha256[2:4] / sha256
        return path if path.is_file() else None

    def lfs_object_path(self, key: RepoKey, sha256: str) -> Path | None:
        """Return the path of a stored LFS object, or ``None`` if the repo does not have it."""
        return self.lfs_object_path_in(self.repo_path(key), sha256)

    def open_lfs_upload(self, key: RepoKey, sha256: str, size: int) -> LfsUpload:
        """Start receiving an LFS object (see :class:`LfsUpload`).

        Raises:
            RepoNotFoundError: If the repo does not exist.
        """
        repo = self._existing(key)
        final = repo / "lfs" / "objects" / sha256[:2] / sha256[2:4] / sha256
        try:
            return LfsUpload(final, repo / "lfs" / "tmp", sha256, size, fsync=self.fsync)
        except FileNotFoundError as error:
            raise RepoNotFoundError("Repository not found") from error

    # -- writing ---------------------------------------------------------------

    def _write_object(self, repo: Path, obj: ShaFile, dirs: set[Path]) -> None:
        sha = obj.id.decode()
        folder = repo / "objects" / sha[:2]
        path = folder / sha[2:]
        if path.exists():
            return
        folder.mkdir(exist_ok=True)
        _atomic_write(path, obj.as_legacy_object(), fsync=self.fsync)
        dirs.add(folder)

    def _sync_dirs(self, dirs: set[Path]) -> None:
        if self.fsync:
            for folder in dirs:
                _fsync_dir(folder)

    def _new_commit(
        self, tree_id: bytes, parents: list[bytes], summary: str, description: str, user: str, when: int
    ) -> Commit:
        commit = Commit()
        commit.tree = tree_id
        commit.parents = parents
        commit.author = commit.committer = _identity(user)
        commit.author_time = commit.commit_time = when
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        message = summary.strip() or "update"
        if description.strip():
            message += "\n\n" + description.strip()
        commit.message = message.encode() + b"\n"
        return commit

    def _commit_target(self, repo: Path, key: RepoKey, revision: str, create_pr: bool) -> tuple[str, str, int | None]:
        """Return (ref to move, its current commit, PR number) for a commit to ``revision``."""
        if create_pr:
            base = self.resolve(key, revision)
            pr_dir = repo / "refs" / "pr"
            numbers = [int(p.name) for p in pr_dir.iterdir() if p.name.isdigit()] if pr_dir.is_dir() else []
            number = max(numbers, default=0) + 1
            return f"refs/pr/{number}", base, number
        if revision.startswith("refs/heads/") or revision.startswith("refs/pr/"):
            ref = revision
        elif revision.startswith("refs/") or is_commit_id(revision):
            raise BadRequestError(f"cannot commit to {revision}: commits go to a branch or a pull request ref")
        else:
            ref = f"refs/heads/{revision}"
        name = ref.split("/", 2)[2]
        if self._invalid_ref(name) or (ref.startswith("refs/pr/") and not name.isdigit()):
            raise RevisionNotFoundError(f"Invalid rev id: {revision}")
        head = self._read_ref(repo, ref)
        if head is None:
            if self._read_ref(repo, f"refs/tags/{name}") is not None:
                raise BadRequestError(f"cannot commit to tag {name}: tags are immutable; commit to a branch")
            raise RevisionNotFoundError(f"Invalid rev id: {revision}")
        pr = int(name) if ref.startswith("refs/pr/") else None
        return ref, self._peel(repo, head), pr

    def commit(
        self,
        key: RepoKey,
        *,
        revision: str,
        operations: Sequence[Operation],
        summary: str,
        author: str,
        description: str = "",
        parent_commit: str | None = None,
        create_pr: bool = False,
    ) -> CommitResult:
        """Apply ``operations`` on top of the head of ``revision`` and move it, atomically.

        Args:
            key: the repo.
            revision: a branch (``main``, ``refs/heads/x``) or ``refs/pr/N``; with ``create_pr`` the PR base.
            operations: additions and deletions, applied in order.
            summary: commit title.
            author: user name recorded as author and committer.
            description: commit message body.
            parent_commit: if given, the commit fails unless it is the current head.
            create_pr: commit to a new ``refs/pr/N`` based on ``revision`` instead of moving it.

        Returns:
            The new commit id, the ref moved, and the PR number if one was created.

        Raises:
            RevisionNotFoundError: If the branch does not exist.
            PreconditionFailedError: If ``parent_commit`` is not the head.
            EntryNotFoundError: If a deleted file or folder does not exist.
            BadRequestError: If an LFS object was never uploaded or its size differs.
            ConflictError: If a file path clashes with a folder path.
        """
        with self._lock(key) as repo:
            ref, head, pr_number = self._commit_target(repo, key, revision, create_pr)
            if parent_commit is not None and parent_commit != head:
                raise PreconditionFailedError(f"parent commit {parent_commit} is not the head of {revision} ({head})")
            files = {path: entry.oid.encode() for path, entry in self.snapshot(key, head).files.items()}
            new_blobs: list[Blob] = []
            for op in operations:
                self._apply(repo, key, op, files, new_blobs, head)
            trees = _build_trees(files)
            commit = self._new_commit(trees[-1].id, [head.encode()], summary, description, author, int(time.time()))
            dirs: set[Path] = set()
            for obj in [*new_blobs, *trees, commit]:
                self._write_object(repo, obj, dirs)
            self._sync_dirs(dirs)  # every object is durable before the ref moves
            self._write_ref(repo, ref, commit.id.decode())
        commit_id = commit.id.decode()
        logger.info("commit %s on %s %s (%d operations)", commit_id, key.repo_id, ref, len(operations))
        return CommitResult(commit_id, ref, pr_number)

    def _apply(
        self, repo: Path, key: RepoKey, op: Operation, files: dict[str, bytes], new_blobs: list[Blob], head: str
    ) -> None:
        if isinstance(op, AddFile):
            blob = Blob.from_string(op.content)
            new_blobs.append(blob)
            files[op.path] = blob.id
        elif isinstance(op, AddLfsFile):
            stored = self.lfs_object_path_in(repo, op.sha256)
            if stored is None:
                raise BadRequestError(f"LFS object {op.sha256} for {op.path} was never uploaded to {key.repo_id}")
            size = stored.stat().st_size
            if op.size is not None and op.size != size:
                raise BadRequestError(f"LFS object {op.sha256} for {op.path} has size {size}, not {op.size}")
            blob = Blob.from_string(lfs_pointer(op.sha256, size))
            new_blobs.append(blob)
            files[op.path] = blob.id
        elif isinstance(op, DeleteFile):
            if files.pop(op.path, None) is None:
                raise EntryNotFoundError("A file with this name doesn't exist", headers={"X-Repo-Commit": head})
        else:
            prefix = op.path.rstrip("/") + "/"
            doomed = [p for p in files if p.startswith(prefix) or p == op.path.rstrip("/")]
            if not doomed:
                raise EntryNotFoundError("A folder with this name doesn't exist", headers={"X-Repo-Commit": head})
            for path in doomed:
                del files[path]


def _identity(user: str) -> bytes:
    return f"{user} <{user}@users.noreply.leaf-hub.local>".encode()


def _record(commit: Commit) -> CommitRecord:
    text = commit.message.decode("utf-8", "replace").strip("\n")
    title, _, body = text.partition("\n")
    author = commit.author.decode("utf-8", "replace").split(" <", 1)[0]
    return CommitRecord(
        id=commit.id.decode(),
        title=title,
        message=body.strip("\n"),
        author=author,
        date=_utc(commit.commit_time),
        parents=tuple(p.decode() for p in commit.parents),
    )


def _build_trees(files: dict[str, bytes]) -> list[Tree]:
    """Build the git trees of a flat ``path -> blob id`` map; the root tree comes last.

    Raises:
        ConflictError: If a path is both a file and a folder.
    """
    root: dict[str, object] = {}
    for path in sorted(files):
        node = root
        parts = path.split("/")
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConflictError(f"path {path!r} needs folder {'/'.join(parts[: i + 1])!r}, which is a file")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ConflictError(f"path {path!r} is a folder and cannot also be a file")
        node[parts[-1]] = files[path]
    trees: list[Tree] = []

    def build(node: dict[str, object]) -> Tree:
        tree = Tree()
        for name, value in node.items():
            if isinstance(value, dict):
                tree.add(name.encode(), _TREE_MODE, build(value).id)
            else:
                assert isinstance(value, bytes)
                tree.add(name.encode(), _FILE_MODE, value)
        trees.append(tree)
        return tree

    build(root)
    return trees
