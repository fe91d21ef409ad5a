"""git-LFS endpoints: the batch API (signed upload links) and the object ``PUT`` (size + sha256 checked)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from leaf_hub.hub_server.auth import check_write
from leaf_hub.hub_server.deps import PrincipalDep, StateDep, base_url, parse_body, read_json, repo_key
from leaf_hub.hub_server.errors import BadRequestError, PayloadTooLargeError
from leaf_hub.hub_server.schemas import (
    LfsAction,
    LfsActions,
    LfsBatchBody,
    LfsBatchResponse,
    LfsObjectError,
    LfsObjectResult,
)

router = APIRouter(tags=["lfs"])

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_WRITE_BUFFER = 8 * 1024 * 1024
_LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"


def _batch_endpoint(repo_type: str):  # noqa: ANN202 - FastAPI endpoint factory
    async def lfs_batch(
        request: Request, namespace: str, name_git: str, state: StateDep, principal: PrincipalDep
    ) -> Response:
        """git-LFS batch API: an upload link for each object not stored yet (none for stored ones)."""
        if not name_git.endswith(".git"):
            raise BadRequestError("LFS batch URL must end in <repo>.git/info/lfs/objects/batch")
        key = repo_key(repo_type, namespace, name_git[: -len(".git")])
        check_write(principal, key, state.storage.meta(key))
        body = parse_body(LfsBatchBody, await read_json(request, state))
        if body.operation != "upload":
            raise BadRequestError(f"LFS operation {body.operation!r} is not supported; only 'upload'")
        if body.hash_algo != "sha256":
            raise BadRequestError(f"LFS hash_algo {body.hash_algo!r} is not supported; only 'sha256'")
        base = base_url(request, state)
        results = []
        for obj in body.objects:
            if not _SHA256.match(obj.oid):
                error = LfsObjectError(code=422, message=f"oid {obj.oid[:80]!r} is not a sha256 (64 lowercase hex)")
                results.append(LfsObjectResult(oid=obj.oid[:80], size=obj.size, error=error))
            elif obj.size > state.settings.max_file_bytes:
                message = f"object of {obj.size} bytes exceeds the server limit of {state.settings.max_file_bytes}"
                error = LfsObjectError(code=422, message=message)
                results.append(LfsObjectResult(oid=obj.oid, size=obj.size, error=error))
            else:
                stored = state.storage.lfs_object_path(key, obj.oid)
                if stored is not None and stored.stat().st_size == obj.size:
                    results.append(LfsObjectResult(oid=obj.oid, size=obj.size))
                else:
                    href = f"{base}/lfs-upload/{state.signer.sign(key, obj.oid, obj.size)}"
                    actions = LfsActions(upload=LfsAction(href=href))
                    results.append(LfsObjectResult(oid=obj.oid, size=obj.size, authenticated=True, actions=actions))
        payload = LfsBatchResponse(objects=results).model_dump(exclude_none=True)
        return JSONResponse(payload, media_type=_LFS_MEDIA_TYPE)

    return lfs_batch


for _prefix, _repo_type in (("/datasets", "dataset"), ("/spaces", "space"), ("", "model")):
    router.add_api_route(
        _prefix + "/{namespace}/{name_git}/info/lfs/objects/batch",
        _batch_endpoint(_repo_type),
        methods=["POST"],
        response_model=LfsBatchResponse,
        name=f"lfs_batch_{_repo_type}",
    )


@router.put("/lfs-upload/{ticket}")
async def lfs_upload(ticket: str, request: Request, state: StateDep) -> dict:
    """Receive one LFS object (the link is the credential); stored only if size and sha256 match."""
    grant = state.signer.verify(ticket)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != grant.size:
        raise BadRequestError(f"upload of {grant.sha256}: Content-Length {declared} differs from size {grant.size}")
    if grant.size > state.settings.max_file_bytes:
        raise PayloadTooLargeError(f"object exceeds the server limit of {state.settings.max_file_bytes} bytes")
    upload = await run_in_threadpool(state.storage.open_lfs_upload, grant.key, grant.sha256, grant.size)
    try:
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= _WRITE_BUFFER:
                data, buffer = buffer, bytearray()
                await run_in_threadpool(upload.write, data)
        if buffer:
            await run_in_threadpool(upload.write, buffer)
        await run_in_threadpool(upload.commit)
    except BaseException:
        upload.abort()
        raise
    return {}
