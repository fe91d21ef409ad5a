"""The test users of the embedded Hub server and a server that accepts them.

``alice`` (orgs ``org`` and ``testorg``) has a write and a read token, ``bob`` a write token.
The tokens are fixed strings so the secret scans of ``tests/reliability`` know what to look for;
they exist only in tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from leaf_hub.hub_server import EmbeddedHub, TokenSpec, running_hub_server

#: alice's write token, alice's read token, bob's write token (in that order).
DEFAULT_TOKENS: tuple[TokenSpec, ...] = (
    TokenSpec("hf_leafhub_test_alice_write", "alice", "write", ("org", "testorg")),
    TokenSpec("hf_leafhub_test_alice_read", "alice", "read", ("org", "testorg")),
    TokenSpec("hf_leafhub_test_bob_write", "bob", "write"),
)
ALICE_WRITE, ALICE_READ, BOB_WRITE = (t.token for t in DEFAULT_TOKENS)


@contextmanager
def running_test_hub(
    data_dir: str | Path | None = None, *, tokens: Sequence[TokenSpec] = DEFAULT_TOKENS, extra_args: Sequence[str] = ()
) -> Iterator[EmbeddedHub]:
    """:func:`leaf_hub.hub_server.running_hub_server` with the test users by default."""
    with running_hub_server(data_dir, tokens=tokens, extra_args=extra_args) as hub:
        yield hub
