"""Repository endpoints: create/delete/settings, info, tree, paths-info, refs, commits, tags, branches."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from leaf_hub.hub_server.auth import check_read, check_write, require_user
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
    repo_key,
    rev_and_path,
)
from leaf_hub.hub_server.errors import BadRequestError, ConflictError, NotFoundError
from leaf_hub.hub_server.schemas import (
    BranchBody,
    CommitAuthor,
    CommitItem,
    CreateRepoBody,
    DeleteRepoBody,
    FormattedCommit,
    RefInfo,
    RefsResponse,
    RepoInfo,
    RepoSettingsBody,
    RepoUrl,
    Sibling,
    SiblingLfs,
    TagBody,
    TreeEntry,
    TreeLfs,
    hub_date,
)
from leaf_hub.hub_server.storage import DEFAULT_BRANCH, CommitRecord, FileEntry, RepoKey, Snapshot
from leaf_hub.hub_server.validation import validate_path, validate_ref_name

router = APIRouter(prefix="/api", tags=["repos"])

_REPO = "/{repo_type}/{namespace}/{name}"
T = TypeVar("T")


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true")


def _repo_url(request: Request, state: ServerState, key: RepoKey) -> str:
    return f"{base_url(request, state)}/{key.web_prefix}{key.repo_id}"


def _paginate(request: Request, state: ServerState, items: list[T], has_more: bool, page: int) -> dict[str, str]:
    """Return the ``Link`` header of the next page (carrying every query parameter), if any."""
    if not has_more:
        return {}
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "p"] + [("p", str(page + 1))]
    return {"Link": f'<{base_url(request, state)}{raw}?{urlencode(params)}>; rel="next"'}


def _page(request: Request) -> int:
    raw = request.query_params.get("p", "0")
    if not raw.isdigit():
        raise BadRequestError(f"invalid page number p={raw!r}")
    return int(raw)


def _tree_entry(snapshot: Snapshot, item: FileEntry | str) -> TreeEntry:
    if isinstance(item, str):
        return TreeEntry(type="directory", oid=snapshot.folders[item], size=0, path=item)
    lfs = TreeLfs(oid=item.lfs.sha256, size=item.lfs.size, pointerSize=item.lfs.pointer_size) if item.lfs else None
    return TreeEntry(type="file", oid=item.oid, size=item.size, path=item.path, lfs=lfs)


def _dump(models: list[Any]) -> list[dict[str, Any]]:
    return [m.model_dump(exclude_none=True) for m in models]


# -- create / delete / settings ----------------------------------------------


@router.post("/repos/create", response_model=RepoUrl)
async def create_repo(request: Request, state: StateDep, principal: PrincipalDep) -> Response:
    """Create a repo with an initial commit on ``main``; 409 with ``url`` if it exists."""
    body = parse_body(CreateRepoBody, await read_json(request, state))
    user = require_user(principal, write=True)
    namespace, _, name = body.name.rpartition("/")
    namespace = body.organization or namespace or user.user
    key = repo_key(body.type or "model", namespace, name)
    require_user(principal, write=True, namespace=key.namespace)
    private = body.visibility == "private" if body.visibility else bool(body.private)
    url = _repo_url(request, state, key)
    try:
        await run_in_threadpool(state.storage.create_repo, key, private=private, user=user.user)
    except ConflictError as error:
        error.body["url"] = url
        raise
    return JSONResponse(RepoUrl(url=url, name=key.repo_id, id=key.repo_id).model_dump())


@router.delete("/repos/delete")
async def delete_repo(request: Request, state: StateDep, principal: PrincipalDep) -> dict[str, str]:
    """Delete a repo and all its data (404 ``RepoNotFound`` if missing)."""
    body = parse_body(DeleteRepoBody, await read_json(request, state))
    user = require_user(principal, write=True)
    namespace, _, name = body.name.rpartition("/")
    key = repo_key(body.type or "model", body.organization or namespace or user.user, name)
    check_write(principal, key, state.storage.meta(key))
    await run_in_threadpool(state.storage.delete_repo, key)
    return {}


@router.put(_REPO + "/settings")
async def update_settings(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> dict:
    """Change a repo's visibility (``private`` or ``visibility``)."""
    data = await read_json(request, state)
    if isinstance(data, dict) and data.get("gated") not in (None, False):
        raise BadRequestError("gated repos are not supported by this server")
    body = parse_body(RepoSettingsBody, data)
    check_write(principal, key, state.storage.meta(key))
    private = body.visibility == "private" if body.visibility else body.private
    if private is not None:
        await run_in_threadpool(state.storage.set_private, key, private)
    return {}


# -- reading -----------------------------------------------------------------


def _repo_info(request: Request, state: ServerState, principal: Any, key: RepoKey, revision: str) -> RepoInfo:
    meta = check_read(principal, key, state.storage.meta(key))
    snapshot = state.storage.snapshot(key, state.storage.resolve(key, revision))
    blobs = _flag(request, "blobs")
    siblings = []
    for entry in sorted(snapshot.files.values(), key=lambda e: e.path):
        if not blobs:
            siblings.append(Sibling(rfilename=entry.path))
            continue
        lfs = None
        if entry.lfs is not None:
            lfs = SiblingLfs(sha256=entry.lfs.sha256, size=entry.lfs.size, pointerSize=entry.lfs.pointer_size)
        siblings.append(Sibling(rfilename=entry.path, size=entry.size, blobId=entry.oid, lfs=lfs))
    return RepoInfo(
        id=key.repo_id,
        author=key.namespace,
        sha=snapshot.commit.id,
        lastModified=hub_date(snapshot.commit.date),
        createdAt=hub_date(meta.created_at),
        private=meta.private,
        siblings=siblings,
    )


@router.get(_REPO, response_model=RepoInfo, response_model_exclude_none=True)
def repo_info(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> RepoInfo:
    """Repo info at the head of ``main``."""
    return _repo_info(request, state, principal, key, DEFAULT_BRANCH)


@router.get(_REPO + "/revision/{rest:path}", response_model=RepoInfo, response_model_exclude_none=True)
def repo_info_at(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> RepoInfo:
    """Repo info at a branch, tag, ref or commit id."""
    revision, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    return _repo_info(request, state, principal, key, revision)


@router.get(_REPO + "/tree/{rest:path}", response_model=list[TreeEntry])
def list_tree(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> Response:
    """List a folder (``recursive=true``: everything below it, folders included), paginated by ``Link``."""
    check_read(principal, key, state.storage.meta(key))
    revision, path = rev_and_path(request, API_REV_INDEX, path_kind="folder")
    snapshot = state.storage.snapshot(key, state.storage.resolve(key, revision))
    items = snapshot.list_folder(path, recursive=_flag(request, "recursive"))
    page, size = _page(request), state.settings.page_size
    chunk = items[page * size : (page + 1) * size]
    headers = _paginate(request, state, chunk, (page + 1) * size < len(items), page)
    return JSONResponse(_dump([_tree_entry(snapshot, item) for item in chunk]), headers=headers)


@router.post(_REPO + "/paths-info/{rest:path}", response_model=list[TreeEntry])
async def paths_info(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> Response:
    """Entries of the given paths that exist (form body ``paths=a&paths=b``, or JSON ``{"paths": [...]}``)."""
    body = await read_body(request, state.settings.max_request_bytes)
    check_read(principal, key, state.storage.meta(key))
    revision, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    try:
        text = body.decode("utf-8")
        paths = json.loads(text).get("paths", []) if text.lstrip().startswith("{") else parse_qs(text).get("paths", [])
    except (ValueError, AttributeError) as error:
        raise BadRequestError(f"invalid paths-info body: {error}") from None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequestError("invalid paths-info body: 'paths' must be a list of strings")
    snapshot = await run_in_threadpool(state.storage.snapshot, key, state.storage.resolve(key, revision))
    out: list[TreeEntry] = []
    for raw in paths:
        path = validate_path(raw, allow_root=True)
        if path in snapshot.files:
            out.append(_tree_entry(snapshot, snapshot.files[path]))
        elif path in snapshot.folders and path:
            out.append(_tree_entry(snapshot, path))
    return JSONResponse(_dump(out))


@router.get(_REPO + "/refs", response_model=RefsResponse, response_model_exclude_none=True)
def list_refs(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> RefsResponse:
    """Branches, tags, converts (and pull requests with ``include_prs=1``)."""
    check_read(principal, key, state.storage.meta(key))
    refs = state.storage.refs(key)
    prs = [RefInfo(name=f"refs/pr/{n}", ref=f"refs/pr/{n}", targetCommit=c) for n, c in refs.pull_requests.items()]
    return RefsResponse(
        branches=[RefInfo(name=n, ref=f"refs/heads/{n}", targetCommit=c) for n, c in refs.branches.items()],
        converts=[RefInfo(name=n, ref=f"refs/convert/{n}", targetCommit=c) for n, c in refs.converts.items()],
        tags=[RefInfo(name=n, ref=f"refs/tags/{n}", targetCommit=c) for n, c in refs.tags.items()],
        pullRequests=prs if _flag(request, "include_prs") else None,
    )


def _commit_item(record: CommitRecord, formatted: bool) -> CommitItem:
    return CommitItem(
        id=record.id,
        title=record.title,
        message=record.message,
        date=hub_date(record.date),
        authors=[CommitAuthor(user=record.author)],
        formatted=FormattedCommit(title=record.title, message=record.message) if formatted else None,
    )


@router.get(_REPO + "/commits/{rest:path}", response_model=list[CommitItem])
def list_commits(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> Response:
    """Commits from a revision back to the first (first parents), newest first, paginated by ``Link``."""
    check_read(principal, key, state.storage.meta(key))
    revision, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    head = state.storage.resolve(key, revision)
    page, size = _page(request), state.settings.page_size
    records = list(islice(state.storage.history(key, head), page * size, (page + 1) * size + 1))
    formatted = "formatted" in request.query_params.getlist("expand[]")
    chunk = records[:size]
    headers = _paginate(request, state, chunk, len(records) > size, page)
    return JSONResponse(_dump([_commit_item(r, formatted) for r in chunk]), headers=headers)


# -- tags and branches -------------------------------------------------------


@router.post(_REPO + "/tag/{rest:path}")
async def create_tag(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> dict:
    """Tag the commit a revision resolves to (409 if the tag exists); tags never move."""
    body = parse_body(TagBody, await read_json(request, state))
    user = check_write(principal, key, state.storage.meta(key))
    revision, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    validate_ref_name(body.tag, "tag")
    await run_in_threadpool(
        lambda: state.storage.create_tag(key, body.tag, revision=revision, message=body.message, user=user.user)
    )
    return {}


@router.delete(_REPO + "/tag/{rest:path}")
def delete_tag(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> dict:
    """Delete a tag (404 ``RevisionNotFound`` if missing)."""
    check_write(principal, key, state.storage.meta(key))
    tag, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    state.storage.delete_tag(key, tag)
    return {}


@router.post(_REPO + "/branch/{rest:path}")
async def create_branch(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> dict:
    """Create a branch at ``startingPoint`` (default: head of ``main``); 409 if it exists."""
    body = parse_body(BranchBody, await read_json(request, state))
    check_write(principal, key, state.storage.meta(key))
    branch, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    validate_ref_name(branch, "branch")
    await run_in_threadpool(lambda: state.storage.create_branch(key, branch, starting_point=body.starting_point))
    return {}


@router.delete(_REPO + "/branch/{rest:path}")
def delete_branch(request: Request, key: ApiRepoDep, state: StateDep, principal: PrincipalDep) -> dict:
    """Delete a branch other than ``main``."""
    check_write(principal, key, state.storage.meta(key))
    branch, _ = rev_and_path(request, API_REV_INDEX, path_kind=None)
    state.storage.delete_branch(key, branch)
    return {}


@router.get(_REPO + "/xet-write-token/{rest:path}")
@router.get(_REPO + "/xet-read-token/{rest:path}")
def xet_token() -> None:
    """Refuse Xet with a message that says what to do."""
    raise NotFoundError("Xet storage is not supported by this server; set HF_HUB_DISABLE_XET=1")
