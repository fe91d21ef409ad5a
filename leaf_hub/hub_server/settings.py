"""Settings of the Hub server: built by the caller and passed to :func:`create_app`.

There is no module-level settings object; :meth:`ServerSettings.from_env` reads the
``LEAF_HUB_SERVER_*`` variables only when called.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from leaf_hub.errors import ServerConfigError

__all__ = ["DEFAULT_PORT", "ServerSettings", "TokenRecord", "load_token_file", "parse_token_lines"]

#: Port of ``leaf-hub serve`` when none is given.
DEFAULT_PORT = 8790

_MiB = 1024 * 1024
_ROLES = ("read", "write")


@dataclass(frozen=True)
class TokenRecord:
    """One access token: who it is and what it may do.

    Attributes:
        token: the secret sent as ``Authorization: Bearer <token>``. Never logged; hidden from ``repr``.
        user: the user name; the user owns the namespace of the same name.
        role: ``"read"`` or ``"write"``.
        orgs: further namespaces (organisations) the user belongs to.
    """

    token: str = field(repr=False)
    user: str
    role: str
    orgs: tuple[str, ...] = ()

    def owns(self, namespace: str) -> bool:
        """Return whether the user may act on repos of ``namespace`` (its own name or one of its orgs)."""
        return namespace == self.user or namespace in self.orgs


def parse_token_lines(text: str, *, source: str) -> list[TokenRecord]:
    """Parse token lines ``<token> <user> <read|write> [org1,org2]``.

    Blank lines and lines starting with ``#`` are skipped.

    Args:
        text: the file or variable content.
        source: where the text came from, for error messages (never the token itself).

    Returns:
        The records, in file order.

    Raises:
        ServerConfigError: If a line is malformed, a role is unknown or a token is repeated.
    """
    records: list[TokenRecord] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) not in (3, 4):
            raise ServerConfigError(f"{source} line {number}: expected '<token> <user> <read|write> [org1,org2]'")
        token, user, role = parts[:3]
        if role not in _ROLES:
            raise ServerConfigError(f"{source} line {number}: role must be 'read' or 'write', got {role!r}")
        if token in seen:
            raise ServerConfigError(f"{source} line {number}: this token is already listed on an earlier line")
        seen.add(token)
        orgs = tuple(o for o in parts[3].split(",") if o) if len(parts) == 4 else ()
        records.append(TokenRecord(token=token, user=user, role=role, orgs=orgs))
    return records


def load_token_file(path: str | Path) -> list[TokenRecord]:
    """Read a token file (see :func:`parse_token_lines`).

    Raises:
        ServerConfigError: If the file is missing, unreadable or malformed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ServerConfigError(f"token file {path}: cannot read it ({error.strerror})") from error
    return parse_token_lines(text, source=f"token file {path}")


@dataclass(frozen=True)
class ServerSettings:
    """Everything the server needs; passed to :func:`leaf_hub.hub_server.create_app`.

    Attributes:
        data_dir: root of the persistent storage (repositories, LFS objects, the upload secret).
        host: interface to bind.
        port: port to bind; ``0`` picks a free one.
        token_file: file of ``<token> <user> <read|write> [orgs]`` lines.
        tokens: further tokens (e.g. from ``LEAF_HUB_SERVER_TOKENS``), added to the file's.
        public_url: base URL written into LFS upload links and repo URLs; default: from the ``Host`` header.
        max_request_bytes: largest accepted JSON / ndjson request body (a commit inlines regular files).
        max_file_bytes: largest accepted LFS object.
        lfs_threshold_bytes: files at least this large are stored with LFS (the Hub uses 10 MB).
        page_size: entries per page of tree / commit listings (``Link`` pagination beyond).
        fsync: fsync objects and refs before a commit becomes visible (durable across power loss).
        upload_ttl_seconds: validity of the signed LFS upload links.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token_file: Path | None = None
    tokens: tuple[TokenRecord, ...] = ()
    public_url: str | None = None
    max_request_bytes: int = 256 * _MiB
    max_file_bytes: int = 50 * 1024 * _MiB
    lfs_threshold_bytes: int = 10 * 1000 * 1000
    page_size: int = 1000
    fsync: bool = True
    upload_ttl_seconds: int = 3600

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if self.token_file is not None:
            object.__setattr__(self, "token_file", Path(self.token_file).expanduser())
        if self.public_url is not None:
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        for name in ("max_request_bytes", "max_file_bytes", "page_size", "upload_ttl_seconds"):
            if getattr(self, name) <= 0:
                raise ServerConfigError(f"server setting {name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.port <= 65535:
            raise ServerConfigError(f"server setting port must be in 0..65535, got {self.port}")

    def all_tokens(self) -> list[TokenRecord]:
        """Return the tokens of :attr:`token_file` followed by :attr:`tokens`.

        Raises:
            ServerConfigError: If the file is unreadable or a token is listed twice.
        """
        records = load_token_file(self.token_file) if self.token_file is not None else []
        records += list(self.tokens)
        if len({r.token for r in records}) != len(records):
            raise ServerConfigError("a token is configured twice (token file and LEAF_HUB_SERVER_TOKENS)")
        return records

    def replace(self, **changes: object) -> ServerSettings:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ServerSettings:
        """Build settings from ``LEAF_HUB_SERVER_*`` variables, then apply ``overrides``.

        Variables: ``DATA_DIR``, ``HOST``, ``PORT``, ``TOKEN_FILE``, ``TOKENS`` (token lines separated by
        newlines or ``;``), ``PUBLIC_URL``, ``MAX_REQUEST_BYTES``, ``MAX_FILE_BYTES``,
        ``LFS_THRESHOLD_BYTES``, ``PAGE_SIZE``, ``FSYNC`` (``0``/``1``), ``UPLOAD_TTL_SECONDS``.
        An override of ``None`` is ignored (so CLI options left unset fall back to the environment).

        Raises:
            ServerConfigError: If a value does not parse or ``data_dir`` is given nowhere.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        prefix = "LEAF_HUB_SERVER_"
        converters: dict[str, type] = {
            "data_dir": Path,
            "host": str,
            "port": int,
            "token_file": Path,
            "public_url": str,
            "max_request_bytes": int,
            "max_file_bytes": int,
            "lfs_threshold_bytes": int,
            "page_size": int,
            "upload_ttl_seconds": int,
        }
        for name, convert in converters.items():
            raw = env.get(prefix + name.upper())
            if raw:
                try:
                    values[name] = convert(raw)
                except ValueError as error:
                    raise ServerConfigError(f"{prefix}{name.upper()}: cannot parse {raw!r}") from error
        if env.get(prefix + "FSYNC"):
            values["fsync"] = env[prefix + "FSYNC"] not in ("0", "false", "no")
        if env.get(prefix + "TOKENS"):
            text = env[prefix + "TOKENS"].replace(";", "\n")
            values["tokens"] = tuple(parse_token_lines(text, source=prefix + "TOKENS"))
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" not in values:
            raise ServerConfigError("no data directory: pass --data-dir or set LEAF_HUB_SERVER_DATA_DIR")
        return cls(**values)  # type: ignore[arg-type]
