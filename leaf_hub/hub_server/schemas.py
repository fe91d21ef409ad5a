"""Request bodies and response models of the Hub API (field names as the client reads them).

Request models ignore unknown keys (the client sends optional extras); response models are
serialised with ``exclude_none`` so optional keys are absent rather than ``null`` unless noted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BranchBody",
    "CommitItem",
    "CommitResponse",
    "CreateRepoBody",
    "DeleteRepoBody",
    "LfsBatchBody",
    "LfsBatchResponse",
    "PreuploadBody",
    "PreuploadResponse",
    "RefsResponse",
    "RepoInfo",
    "RepoSettingsBody",
    "RepoUrl",
    "TagBody",
    "TreeEntry",
    "WhoAmI",
    "hub_date",
]


def hub_date(value: datetime) -> str:
    """Format a UTC datetime as the client parses it: ``2026-11-24T18:39:08.000Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- requests ---------------------------------------------------------------


class CreateRepoBody(_Body):
    """``POST /api/repos/create``."""

    name: str
    organization: str | None = None
    type: Literal["model", "dataset", "space"] | None = None
    visibility: Literal["private", "public"] | None = None
    private: bool | None = None


class DeleteRepoBody(_Body):
    """``DELETE /api/repos/delete``."""

    name: str
    organization: str | None = None
    type: Literal["model", "dataset", "space"] | None = None


class RepoSettingsBody(_Body):
    """``PUT /api/{type}s/{id}/settings`` (only visibility is supported)."""

    private: bool | None = None
    visibility: Literal["private", "public"] | None = None


class TagBody(_Body):
    """``POST /api/{type}s/{id}/tag/{rev}``."""

    tag: str
    message: str | None = None


class BranchBody(_Body):
    """``POST /api/{type}s/{id}/branch/{branch}``."""

    starting_point: str | None = Field(default=None, alias="startingPoint")


class PreuploadFile(_Body):
    """One file announced in a preupload request."""

    path: str
    sample: str = ""
    size: int = Field(ge=0)


class PreuploadBody(_Body):
    """``POST /api/{type}s/{id}/preupload/{rev}``."""

    files: list[PreuploadFile] = Field(max_length=10_000)
    git_ignore: str | None = Field(default=None, alias="gitIgnore")


class LfsObjectSpec(_Body):
    """One object of an LFS batch request."""

    oid: str
    size: int = Field(ge=0)


class LfsBatchBody(_Body):
    """``POST /{prefix}{id}.git/info/lfs/objects/batch``."""

    operation: str
    objects: list[LfsObjectSpec] = Field(max_length=10_000)
    transfers: list[str] = ["basic"]
    hash_algo: str = "sha256"


# -- responses --------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Org(_Out):
    """An organisation of the caller."""

    type: str = "org"
    name: str


class AccessToken(_Out):
    """The token part of ``whoami``."""

    displayName: str  # noqa: N815 - Hub field name
    role: str


class AuthInfo(_Out):
    """The ``auth`` part of ``whoami``."""

    type: str = "access_token"
    accessToken: AccessToken  # noqa: N815 - Hub field name


class WhoAmI(_Out):
    """``GET /api/whoami-v2``."""

    type: str = "user"
    id: str
    name: str
    fullname: str
    orgs: list[Org]
    auth: AuthInfo


class RepoUrl(_Out):
    """``POST /api/repos/create`` (also the body of its 409)."""

    url: str
    name: str
    id: str


class SiblingLfs(_Out):
    """LFS part of a sibling (``sha256`` here, ``oid`` in tree entries)."""

    sha256: str
    size: int
    pointerSize: int  # noqa: N815 - Hub field name


class Sibling(_Out):
    """A file in repo info (``size``, ``blobId``, ``lfs`` only with ``blobs=true``)."""

    rfilename: str
    size: int | None = None
    blobId: str | None = None  # noqa: N815 - Hub field name
    lfs: SiblingLfs | None = None


class RepoInfo(_Out):
    """``GET /api/{type}s/{id}[/revision/{rev}]``."""

    id: str
    author: str
    sha: str
    lastModified: str  # noqa: N815 - Hub field name
    createdAt: str  # noqa: N815 - Hub field name
    private: bool
    gated: bool = False
    disabled: bool = False
    downloads: int = 0
    likes: int = 0
    tags: list[str] = []
    siblings: list[Sibling]


class TreeLfs(_Out):
    """LFS part of a tree entry."""

    oid: str
    size: int
    pointerSize: int  # noqa: N815 - Hub field name


class TreeEntry(_Out):
    """An entry of ``GET tree`` and ``POST paths-info``."""

    type: Literal["file", "directory"]
    oid: str
    size: int
    path: str
    lfs: TreeLfs | None = None


class RefInfo(_Out):
    """One ref of ``GET refs``."""

    name: str
    ref: str
    targetCommit: str  # noqa: N815 - Hub field name


class RefsResponse(_Out):
    """``GET /api/{type}s/{id}/refs``; ``pullRequests`` only with ``include_prs=1``."""

    branches: list[RefInfo]
    converts: list[RefInfo]
    tags: list[RefInfo]
    pullRequests: list[RefInfo] | None = None  # noqa: N815 - Hub field name


class CommitAuthor(_Out):
    """Author of a commit in ``GET commits``."""

    user: str
    avatar: str | None = None


class FormattedCommit(_Out):
    """``formatted`` part of a commit (``expand[]=formatted``)."""

    title: str
    message: str


class CommitItem(_Out):
    """One commit of ``GET commits``."""

    id: str
    title: str
    message: str
    date: str
    authors: list[CommitAuthor]
    formatted: FormattedCommit | None = None


class PreuploadResult(_Out):
    """Upload mode decided for one file."""

    path: str
    uploadMode: Literal["lfs", "regular"]  # noqa: N815 - Hub field name
    shouldIgnore: bool  # noqa: N815 - Hub field name
    oid: str | None


class PreuploadResponse(_Out):
    """``POST preupload``."""

    files: list[PreuploadResult]
    commitOid: str  # noqa: N815 - Hub field name


class LfsAction(_Out):
    """An LFS action (upload link)."""

    href: str


class LfsActions(_Out):
    """The actions of an LFS batch object."""

    upload: LfsAction


class LfsObjectError(_Out):
    """A per-object error of an LFS batch answer."""

    code: int
    message: str


class LfsObjectResult(_Out):
    """One object of an LFS batch answer (no ``actions``: already stored)."""

    oid: str
    size: int
    authenticated: bool | None = None
    actions: LfsActions | None = None
    error: LfsObjectError | None = None


class LfsBatchResponse(_Out):
    """``POST ….git/info/lfs/objects/batch``."""

    transfer: str = "basic"
    hash_algo: str = "sha256"
    objects: list[LfsObjectResult]


class CommitResponse(_Out):
    """``POST /api/{type}s/{id}/commit/{rev}``; ``pullRequestUrl`` is ``null`` unless a PR was made."""

    success: bool = True
    commitOid: str  # noqa: N815 - Hub field name
    commitUrl: str  # noqa: N815 - Hub field name
    hookOutput: str = ""  # noqa: N815 - Hub field name
    pullRequestUrl: str | None  # noqa: N815 - Hub field name
