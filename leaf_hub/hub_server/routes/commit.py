"""Upload endpoints: ``preupload`` (regular vs LFS per file) and ``commit`` (ndjson operations)."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from leaf_hub.hub_server.auth import check_write
from leaf_hub.hub_server.deps import (
    API_REV_INDEX,
    ApiRepoDep,
    PrincipalDep,
    ServerState,
    StateDep,
    base_url,
    parse_body,
    read_body,
    read_json,
    rev_and_path,
)
from leaf_hub.hub_server.errors import BadRequestError, RevisionNotFoundError
from leaf_hub.hub_server.schemas import CommitResponse, PreuploadBody, PreuploadResponse, PreuploadResult
from leaf_hub.hub_server.storage import (
    AddFile,
    AddLfsFile,
    DeleteFile,
    DeleteFolder,
    Operation,
    RepoKey,
    Snapshot,
)
from leaf_hub.hub_server.validation import is_commit_id, validate_path

router = APIRouter(prefix="/api/{repo_type}/{namespace}/{name}", tags=["commit"])

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _lfs_patterns(state: ServerState, key: RepoKey, snapshot: Snapshot) -> list[str]:
    """Patterns of ``.gitattributes`` lines with ``filter=lfs`` at the snapshot."""
    entry = snapshot.files.get(".gitattributes")
    if entry is None or entry.lfs is not None or entry.size > 1_000_000:
        return []
    text = state.storage.read_blob(key, entry.oid).decode("utf-8", "replace")
    return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line and not line.startswith("#")]


def _matches(path: str, patterns: list[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" in pattern:
            if fnmatch.fnmatchcase(path, pattern.replace("**/", "*")) or fnmatch.fnmatchcase(path, pattern):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def _is_binary(sample: bytes) -> bool:
    return b"\0" in sample


@router.post("/preupload/{rest:path}", response_model=PreuploadResponse)
async def preupload(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> PreuploadResponse:
    """Decide per file: LFS if >= the threshold, binary, or matched by ``.gitattributes``; else regular."""
    check_write(principal, key, state.storage.meta(key))
    body = parse_body(PreuploadBody, await read_json(request, state))
    revision, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    head = state.storage.resolve(key, revision)
    snapshot = await run_in_threadpool(state.storage.snapshot, key, head)
    patterns = await run_in_threadpool(_lfs_patterns, state, key, snapshot)
    results = []
    for spec in body.files:
        path = validate_path(spec.path)
        try:
            sample = base64.b64decode(spec.sample, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError(f"preupload: sample of {path!r} is not valid base64") from None
        lfs = spec.size >= state.settings.lfs_threshold_bytes or _is_binary(sample) or _matches(path, patterns)
        existing = snapshot.files.get(path)
        results.append(
            PreuploadResult(
                path=spec.path,
                uploadMode="lfs" if lfs else "regular",
                shouldIgnore=False,
                oid=existing.etag if existing else None,
            )
        )
    return PreuploadResponse(files=results, commitOid=head)


def _field(value: dict[str, Any], name: str, kind: type, line: int) -> Any:
    item = value.get(name)
    if not isinstance(item, kind) or isinstance(item, bool) and kind is int:
        raise BadRequestError(f"commit line {line}: '{name}' must be a {kind.__name__}")
    return item


def parse_commit_lines(body: bytes) -> tuple[dict[str, Any], list[Operation]]:
    """Parse an ndjson commit body into its header and operations.

    Raises:
        BadRequestError: If a line is not JSON, the header is missing, or an operation is malformed.
    """
    header: dict[str, Any] | None = None
    operations: list[Operation] = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError(f"commit line {number} is not valid JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise BadRequestError(f"commit line {number}: expected {{'key': ..., 'value': {{...}}}}")
        kind, value = item.get("key"), item["value"]
        if kind == "header":
            if header is not None or operations:
                raise BadRequestError(f"commit line {number}: the header must be the first line, once")
            header = value
            continue
        if header is None:
            raise BadRequestError("commit body must start with a 'header' line")
        if kind == "file":
            path = validate_path(_field(value, "path", str, number))
            if value.get("encoding", "base64") != "base64":
                raise BadRequestError(f"commit line {number}: only base64 encoding is supported")
            try:
                content = base64.b64decode(_field(value, "content", str, number), validate=True)
            except (binascii.Error, ValueError):
                raise BadRequestError(f"commit line {number}: content of {path!r} is not valid base64") from None
            operations.append(AddFile(path, content))
        elif kind == "lfsFile":
            path = validate_path(_field(value, "path", str, number))
            oid = _field(value, "oid", str, number)
            if value.get("algo", "sha256") != "sha256" or not _SHA256.match(oid):
                raise BadRequestError(f"commit line {number}: LFS oid of {path!r} must be a sha256 (64 hex)")
            size = value.get("size")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
                raise BadRequestError(f"commit line {number}: LFS size of {path!r} must be a non-negative integer")
            operations.append(AddLfsFile(path, oid, size))
        elif kind == "deletedFile":
            operations.append(DeleteFile(validate_path(_field(value, "path", str, number))))
        elif kind == "deletedFolder":
            operations.append(DeleteFolder(validate_path(_field(value, "path", str, number))))
        else:
            raise BadRequestError(f"commit line {number}: unknown operation {kind!r}")
    if header is None:
        raise BadRequestError("commit body must start with a 'header' line")
    return header, operations


@router.post("/commit/{rest:path}", response_model=CommitResponse)
async def commit(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> CommitResponse:
    """Apply ndjson operations on top of a branch (or open ``refs/pr/N`` with ``create_pr=1``)."""
    user = check_write(principal, key, state.storage.meta(key))
    revision, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    body = await read_body(request, state.settings.max_request_bytes)
    header, operations = await run_in_threadpool(parse_commit_lines, body)
    summary, description = header.get("summary"), header.get("description") or ""
    parent = header.get("parentCommit")
    if not isinstance(summary, str) or not isinstance(description, str):
        raise BadRequestError("commit header: 'summary' and 'description' must be strings")
    if parent is not None and (not isinstance(parent, str) or not is_commit_id(parent)):
        raise RevisionNotFoundError(f"Invalid rev id: {parent}")
    create_pr = request.query_params.get("create_pr", "").lower() in ("1", "true")
    result = await run_in_threadpool(
        lambda: state.storage.commit(
            key,
            revision=revision,
            operations=operations,
            summary=summary,
            description=description,
            author=user.user,
            parent_commit=parent,
            create_pr=create_pr,
        )
    )
    repo_url = f"{base_url(request, state)}/{key.web_prefix}{key.repo_id}"
    return CommitResponse(
        commitOid=result.commit_id,
        commitUrl=f"{repo_url}/commit/{result.commit_id}",
        pullRequestUrl=f"{repo_url}/discussions/{result.pr_number}" if result.pr_number else None,
    )
