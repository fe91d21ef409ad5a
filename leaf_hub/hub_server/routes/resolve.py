"""File downloads: ``HEAD``/``GET /{prefix}{id}/resolve/{rev}/{path}`` (no redirects, ``Range`` supported).

Every answer carries ``X-Repo-Commit`` and ``ETag`` (sha256 for LFS files, git blob sha1 for
regular ones) and the real size, also on ``HEAD`` (HUB_API §4.16). Never any Xet header.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from leaf_hub.hub_server.auth import check_read
from leaf_hub.hub_server.deps import PrincipalDep, StateDep, repo_key, rev_and_path
from leaf_hub.hub_server.errors import EntryNotFoundError, RangeNotSatisfiableError

router = APIRouter(tags=["resolve"])

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _LargeChunkFileResponse(FileResponse):
    chunk_size = 1024 * 1024


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``Range: bytes=a-b`` / ``a-`` / ``-n`` header into inclusive ``(start, end)``.

    Returns ``None`` for no header, a malformed or multi-range header (the whole file is sent).

    Raises:
        RangeNotSatisfiableError: If the range lies outside the file.
    """
    match = _RANGE.match(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiableError(
            f"range {header} not satisfiable for a {size}-byte file", headers={"Content-Range": f"bytes */{size}"}
        )
    return start, end


def _resolve_endpoint(repo_type: str, rev_index: int):  # noqa: ANN202 - FastAPI endpoint factory
    def resolve(request: Request, namespace: str, name: str, state: StateDep, principal: PrincipalDep) -> Response:
        """Serve a file at a revision, with its identity headers."""
        key = repo_key(repo_type, namespace, name)
        check_read(principal, key, state.storage.meta(key))
        revision, path = rev_and_path(request, rev_index, path_kind="file")
        commit_id = state.storage.resolve(key, revision)
        entry = state.storage.snapshot(key, commit_id).files.get(path)
        if entry is None:
            raise EntryNotFoundError("Entry not found", headers={"X-Repo-Commit": commit_id})
        headers = {"X-Repo-Commit": commit_id, "ETag": f'"{entry.etag}"', "Accept-Ranges": "bytes"}
        if entry.lfs is not None:
            headers |= {"X-Linked-Etag": f'"{entry.etag}"', "X-Linked-Size": str(entry.size)}
            stored = state.storage.lfs_object_path(key, entry.lfs.sha256)
            if stored is not None:
                parse_range(request.headers.get("range"), entry.size)  # 416 in the Hub's error format
                return _LargeChunkFileResponse(stored, headers=headers, media_type="application/octet-stream")
        span = parse_range(request.headers.get("range"), entry.size)
        if request.method == "HEAD":
            return Response(headers=headers | {"Content-Length": str(entry.size)})
        data = state.storage.read_blob(key, entry.oid)
        if span is None:
            return Response(data, headers=headers, media_type="application/octet-stream")
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        return Response(data[start : end + 1], status_code=206, headers=headers, media_type="application/octet-stream")

    return resolve


# One route per method: a route serving GET and HEAD would give both one OpenAPI operation id.
for _prefix, _repo_type, _index in (("/datasets", "dataset", 5), ("/spaces", "space", 5), ("", "model", 4)):
    for _method in ("GET", "HEAD"):
        router.add_api_route(
            _prefix + "/{namespace}/{name}/resolve/{rest:path}",
            _resolve_endpoint(_repo_type, _index),
            methods=[_method],
            name=f"resolve_{_repo_type}_{_method.lower()}",
        )
