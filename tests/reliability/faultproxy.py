"""A fault-injecting HTTP/1.1 proxy on loopback, put in front of a real server.

Every request is read off the client connection, matched against the rules, and then either
answered by the proxy (``503``), cut off with a TCP reset before it reaches the server
(``reset``), forwarded and its answer thrown away with a reset (``reset_after``: the request took
effect but the client never learns it), or forwarded and answered, optionally with a response
header removed (``strip:<name>``). One request per connection (``Connection: close`` both ways),
so a rule sees every request, also on clients that keep connections alive.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["FaultProxy", "Rule"]


@dataclass
class Rule:
    """Inject ``fault`` into the first ``times`` requests matching ``method`` and ``path`` (a regex)."""

    method: str | None
    path: str
    fault: str
    times: int = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            (self.times < 0 or self.hits < self.times)
            and (self.method is None or self.method == method)
            and re.search(self.path, path) is not None
        )


@dataclass
class Seen:
    """One request that reached the proxy and what happened to it."""

    method: str
    path: str
    outcome: str
    status: int | None = None


@dataclass
class FaultProxy:
    """Proxy ``upstream`` (``http://host:port``) on an ephemeral loopback port; see the module docstring."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def add(self, method: str | None, path: str, fault: str, times: int = 1) -> Rule:
        """Add a rule (``times=-1``: every matching request)."""
        rule = Rule(method, path, fault, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.seen.clear()

    def count(self, method: str, path: str, outcome: str | None = None) -> int:
        """Requests seen with this method and a path matching ``path`` (and ``outcome``, if given)."""
        with self._lock:
            return sum(
                1
                for s in self.seen
                if s.method == method and re.search(path, s.path) and (outcome is None or s.outcome == outcome)
            )

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _pick(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule
        return None

    def _record(self, method: str, path: str, outcome: str, status: int | None = None) -> None:
        with self._lock:
            self.seen.append(Seen(method, path, outcome, status))

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            request = _read_message_head(reader)
            if request is None:
                return
            start_line, headers = request
            method, target, _ = start_line.split(" ", 2)
            body = _read_body(reader, headers)
            path = urlsplit(target).path
            rule = self._pick(method, path)
            fault = rule.fault if rule else "pass"
            # every request is recorded *before* its answer goes out: a test that asserts on the count
            # right after the client returns must not race the proxy's bookkeeping
            if fault == "503":
                message = b"injected by the test proxy"
                self._record(method, path, "503", 503)
                conn.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Error-Message: "
                    + message
                    + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(message)
                    + message
                )
                return
            if fault == "reset":
                self._record(method, path, "reset")
                _reset(conn)
                return
            head = [start_line] + [f"{k}: {v}" for k, v in headers if k.lower() not in ("connection", "keep-alive")]
            head.append("Connection: close")
            with socket.create_connection(self._upstream, timeout=300) as upstream:
                upstream.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
                answer = upstream.makefile("rb")
                response = _read_message_head(answer)
                if response is None:
                    self._record(method, path, "upstream-closed")
                    _reset(conn)
                    return
                status_line, response_headers = response
                payload = answer.read()  # the server closes after one answer
            status = int(status_line.split(" ", 2)[1])
            if fault == "reset_after":
                self._record(method, path, "reset_after", status)
                _reset(conn)
                return
            stripped = fault[len("strip:") :].lower() if fault.startswith("strip:") else None
            kept = [
                (k, v)
                for k, v in response_headers
                if k.lower() not in ("connection", "keep-alive") and k.lower() != stripped
            ]
            lines = [status_line] + [f"{k}: {v}" for k, v in kept] + ["Connection: close"]
            self._record(method, path, fault if rule else "forwarded", status)
            conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        except OSError:
            pass
        finally:
            reader.close()
            conn.close()


def _reset(conn: socket.socket) -> None:
    """Close with a TCP RST (as a crashed peer or a dropping middlebox would)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _read_message_head(reader) -> tuple[str, list[tuple[str, str]]] | None:  # noqa: ANN001
    first = reader.readline(65536)
    if not first:
        return None
    headers: list[tuple[str, str]] = []
    while True:
        line = reader.readline(65536)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return first.decode("latin-1").rstrip("\r\n"), headers


def _read_body(reader, headers: list[tuple[str, str]]) -> bytes:  # noqa: ANN001
    values = {k.lower(): v for k, v in headers}
    if "chunked" in values.get("transfer-encoding", "").lower():
        raw = bytearray()
        while True:
            size_line = reader.readline(65536)
            raw += size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = reader.readline(65536)
                    raw += trailer
                    if trailer in (b"\r\n", b"\n", b""):
                        return bytes(raw)
            raw += reader.read(size + 2)
    length = int(values.get("content-length", "0") or 0)
    return reader.read(length) if length else b""
