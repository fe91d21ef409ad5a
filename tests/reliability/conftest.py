"""Fixtures of the reliability suite: secret scanning, process-title watching, shared real runs.

``no_secret_leaks`` is autouse: after every test of this folder it scans what the test printed
(stdout/stderr at the file-descriptor level, so subprocesses that inherit them count too), the log
records, any text the test registered (the output of the subprocesses it ran), and every file
under the test's ``tmp_path`` and the folders it registered, for each known token. Files that
must hold a token (a server's token file, a ``--token-file``) are registered as allowed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.hub import DEFAULT_TOKENS

_MAX_SCAN_BYTES = 512 * 1024 * 1024
#: Files whose job is to hold a token: a hub server's token file (``<data>.tokens``, mode 0600,
#: written by ``running_hub_server``) and the embedded hub's generated ``release-token``.
_TOKEN_FILE_SUFFIXES = (".tokens", "release-token")


@dataclass
class SecretWatch:
    """What the autouse fixture scans for tokens; tests add texts, folders, tokens and allowed files."""

    tokens: set[str] = field(default_factory=lambda: {t.token for t in DEFAULT_TOKENS})
    texts: list[tuple[str, str]] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    allowed: set[Path] = field(default_factory=set)
    files_scanned: int = 0

    def add_token(self, token: str) -> None:
        self.tokens.add(token)

    def text(self, where: str, text: str | bytes | None) -> None:
        if text:
            self.texts.append((where, text.decode("utf-8", "replace") if isinstance(text, bytes) else text))

    def root(self, path: Path) -> None:
        self.roots.append(Path(path))

    def allow(self, path: Path) -> None:
        self.allowed.add(Path(path).resolve())

    def findings(self) -> list[str]:
        found = [f"{where} contains a token" for where, text in self.texts if any(t in text for t in self.tokens)]
        needles = [t.encode() for t in self.tokens]
        seen: set[Path] = set()
        for root in self.roots:
            if not root.exists():
                continue
            for path in root.rglob("*"):
                try:
                    real = path.resolve()
                    if real in seen or real in self.allowed or not path.is_file() or path.is_symlink():
                        continue
                    if path.name.endswith(_TOKEN_FILE_SUFFIXES):
                        assert path.stat().st_mode & 0o077 == 0, f"token file {path} is readable by others"
                        continue
                    seen.add(real)
                    if path.stat().st_size > _MAX_SCAN_BYTES:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue  # removed while scanning (a server's temp file)
                self.files_scanned += 1
                if any(n in data for n in needles):
                    found.append(f"file {path} contains a token")
        return found


@pytest.fixture(autouse=True)
def no_secret_leaks(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> Iterator[SecretWatch]:
    """Fail the test if a known token shows up in its output, logs or written files."""
    watch = SecretWatch()
    watch.root(tmp_path)
    yield watch
    out, err = capfd.readouterr()
    sys.stdout.write(out)  # hand the output back to pytest's report
    sys.stderr.write(err)
    watch.text("captured stdout", out)
    watch.text("captured stderr", err)
    for record in caplog.records:
        watch.text(f"log record {record.name}", record.getMessage())
    leaks = watch.findings()
    assert not leaks, leaks


def cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return None


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


class ProcessTitles:
    """Sample the command lines of some processes and all their descendants while a flow runs."""

    def __init__(self, *roots: int, interval: float = 0.05) -> None:
        self.roots = list(roots)
        self.seen: set[tuple[int, str]] = set()  # every (pid, command line) observed, before and after exec
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add_root(self, pid: int) -> None:
        self.roots.append(pid)

    @property
    def lines(self) -> list[str]:
        return sorted({line for _, line in self.seen})

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = _children()
            todo = list(self.roots)
            while todo:
                pid = todo.pop()
                line = cmdline(pid)
                if line:
                    self.seen.add((pid, line))
                todo.extend(tree.get(pid, []))
            time.sleep(self._interval)

    def __enter__(self) -> ProcessTitles:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


