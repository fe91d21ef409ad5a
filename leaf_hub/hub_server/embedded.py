"""The project's Hub server in a subprocess: start it, hand its URL to a client, stop it.

This is the supported way to run the server from Python. ``leaf-hub release --embedded-hub`` uses
it, and so do the benchmarks and the tests. The server runs as ``python -m leaf_hub.hub_server``
(the ``leaf-hub serve`` command) with a token file of mode 0600, so no token is ever on a command
line.

Example:
    >>> from leaf_hub.hub_server import TokenSpec, running_hub_server
    >>> token = TokenSpec.generate("alice", orgs=("org",))
    >>> with running_hub_server(tmp_path / "hub", tokens=[token]) as hub:
    ...     api = HfApi(endpoint=hub.url, token=token.token)
    ...     api.create_repo("org/demo")

What the handle offers (:class:`EmbeddedHub`):

- ``url``: ``http://127.0.0.1:<port>``, the same across restarts;
- ``data_dir``, ``token_file``, ``tokens`` (the :class:`TokenSpec` list), ``log_path`` (the server
  log, appended across restarts) and ``pid``;
- ``write_token`` / ``read_token``: the first token with that role;
- ``env()``: the ``HF_*`` variables for a client subprocess (``HF_ENDPOINT``, ``HF_HUB_DISABLE_XET=1``,
  ``HF_HUB_DISABLE_TELEMETRY=1``, and ``HF_TOKEN`` / ``HF_HOME`` if given);
- ``start()``, ``stop()`` (SIGTERM, graceful), ``kill()`` (SIGKILL, as in a crash) and ``restart()``
  (same port and data dir; a start cleans up what a crash left behind).

A client pitfall: ``huggingface_hub`` reads ``HF_ENDPOINT`` and ``HF_HUB_DISABLE_XET`` once, when it
is imported. In the same process, pass ``endpoint=hub.url`` to ``HfApi``, ``snapshot_download`` and
``hf_hub_download``, and set ``HF_HUB_DISABLE_XET=1`` before anything imports ``huggingface_hub``
(otherwise LFS uploads fail). ``SentenceTransformer("org/name")`` and other loaders take no
``endpoint`` argument: run them in a subprocess with ``env=hub.env(...)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from leaf_hub.errors import ServerConfigError

__all__ = ["EmbeddedHub", "TokenSpec", "running_hub_server", "write_token_file"]


@dataclass(frozen=True)
class TokenSpec:
    """One line of the server's token file: a secret, its user, its role and the user's organisations.

    Attributes:
        token: The secret (``Authorization: Bearer <token>``); hidden from ``repr``.
        user: The user name; the user owns the namespace of the same name.
        role: ``"read"`` or ``"write"``.
        orgs: Further namespaces the user may act on.
    """

    token: str = field(repr=False)
    user: str
    role: str = "write"
    orgs: tuple[str, ...] = ()

    @classmethod
    def generate(cls, user: str, role: str = "write", orgs: Sequence[str] = ()) -> TokenSpec:
        """Return a spec with a fresh random secret (``hf_leafhub_`` and 32 hex digits).

        Args:
            user: The user name.
            role: ``"read"`` or ``"write"``.
            orgs: The user's organisations.

        Returns:
            The new spec.
        """
        return cls(token=f"hf_leafhub_{secrets.token_hex(16)}", user=user, role=role, orgs=tuple(orgs))

    def line(self) -> str:
        """Return the token-file line ``<token> <user> <role> [orgs]``."""
        orgs = f" {','.join(self.orgs)}" if self.orgs else ""
        return f"{self.token} {self.user} {self.role}{orgs}"


def write_token_file(path: str | Path, tokens: Sequence[TokenSpec]) -> Path:
    """Write a token file readable by its owner only (mode 0600).

    Args:
        path: The file to write (its folder is created).
        tokens: One line per token.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(t.line() + "\n" for t in tokens))
    return path


class EmbeddedHub:
    """A ``python -m leaf_hub.hub_server`` subprocess; see the module docstring.

    Args:
        data_dir: Persistent storage of the server.
        token_file: The server's token file.
        tokens: The tokens in that file.
        host: Interface to bind.
        port: Port (``0``: a free one, then kept across restarts).
        extra_args: Further ``leaf-hub serve`` options (``--page-size 2``, ``--max-request-bytes N``...).
        startup_timeout: Seconds to wait for the server to accept connections.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        token_file: str | Path,
        tokens: Sequence[TokenSpec],
        host: str = "127.0.0.1",
        port: int = 0,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.token_file = Path(token_file)
        self.tokens = tuple(tokens)
        self.host = host
        self.port = port
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.log_path = self.data_dir / "server.log"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def write_token(self) -> str:
        """The first write token.

        Raises:
            StopIteration: If the server has no write token.
        """
        return next(t.token for t in self.tokens if t.role == "write")

    @property
    def read_token(self) -> str:
        """The first read-only token.

        Raises:
            StopIteration: If the server has no read-only token.
        """
        return next(t.token for t in self.tokens if t.role == "read")

    @property
    def pid(self) -> int | None:
        """Process id of the running server, ``None`` when stopped."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def env(self, *, token: str | None = None, hf_home: str | Path | None = None) -> dict[str, str]:
        """Return ``os.environ`` plus the client variables for this server, for a client subprocess.

        Args:
            token: Set as ``HF_TOKEN`` (else any ``HF_TOKEN`` is removed).
            hf_home: Set as ``HF_HOME``.

        Returns:
            The environment (``HF_HUB_OFFLINE`` removed).
        """
        env = dict(os.environ)
        env.update({"HF_ENDPOINT": self.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
        env.pop("HF_HUB_OFFLINE", None)
        env.pop("HF_TOKEN", None)
        if token is not None:
            env["HF_TOKEN"] = token
        if hf_home is not None:
            env["HF_HOME"] = str(hf_home)
        return env

    def start(self) -> None:
        """Start the server (if it is not running) and wait until it accepts connections.

        Raises:
            ServerConfigError: If it exits or does not come up within ``startup_timeout``.
        """
        if self.pid is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready = self.data_dir / "server.ready.json"
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "leaf_hub.hub_server", "--data-dir", str(self.data_dir)]
        command += ["--host", self.host, "--port", str(self.port), "--token-file", str(self.token_file)]
        command += ["--ready-file", str(ready), *self.extra_args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEAF_HUB_SERVER_")}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.startup_timeout
        while not ready.exists():
            if self._process.poll() is not None:
                raise ServerConfigError(f"hub server exited with code {self._process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                self.kill()
                raise ServerConfigError(
                    f"hub server did not start within {self.startup_timeout:.0f}s; see {self.log_path}"
                )
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        self.port = int(info["port"])
        self.url = info["url"]

    def kill(self) -> None:
        """SIGKILL the server (as in a crash) and wait for it to die."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server gracefully (SIGTERM), killing it after ``timeout`` seconds.

        Args:
            timeout: Seconds to wait for a graceful exit.
        """
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """Stop the server if it runs (gracefully), then start it again on the same port and data dir."""
        self.stop()
        self.start()

    def __repr__(self) -> str:
        return f"EmbeddedHub(url={self.url!r}, data_dir={str(self.data_dir)!r}, pid={self.pid})"


@contextlib.contextmanager
def running_hub_server(
    data_dir: str | Path | None = None,
    *,
    tokens: Sequence[TokenSpec],
    host: str = "127.0.0.1",
    port: int = 0,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 60.0,
) -> Iterator[EmbeddedHub]:
    """Run a Hub server subprocess for the duration of the block.

    Args:
        data_dir: Storage folder (default: a temporary folder, removed afterwards).
        tokens: The accepted tokens, written to ``<data_dir>/../<data_dir name>.tokens`` (mode 0600).
        host: Interface to bind (loopback by default).
        port: Port (``0``: a free one).
        extra_args: Further ``leaf-hub serve`` options, e.g. ``["--page-size", "2"]``.
        startup_timeout: Seconds to wait for the server to come up.

    Yields:
        The running server's handle; the server is stopped (SIGTERM, then SIGKILL) on exit.

    Raises:
        ServerConfigError: If the server does not start.
    """
    owned = data_dir is None
    root = Path(tempfile.mkdtemp(prefix="leaf-hub-server-")) if owned else Path(data_dir).parent
    data = root / "data" if owned else Path(data_dir)
    token_file = write_token_file(root / f"{data.name}.tokens", tokens)
    server = EmbeddedHub(
        data,
        token_file=token_file,
        tokens=tokens,
        host=host,
        port=port,
        extra_args=extra_args,
        startup_timeout=startup_timeout,
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if owned:
            shutil.rmtree(root, ignore_errors=True)
