"""Property-based fuzzing of the embedded Hub server's HTTP API from its own OpenAPI schema.

schemathesis generates requests for every operation of ``/openapi.json`` (path and query
parameters, headers; bodies where the schema declares them) and sends them to the real server
subprocess on loopback, with a write token so that write routes get past authentication.
Bounded and reproducible: at most 7 derandomized examples per operation (30 operations, <= 210
cases; about 15 s).
Every answer must be below 500, and the server must still be healthy afterwards.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hub import DEFAULT_TOKENS, running_test_hub

# The only check of the server's whole API surface: scripts/ci/check_required.py fails CI when these skip
# (schemathesis missing from the venv) or do not run.
pytestmark = pytest.mark.required

ALICE = DEFAULT_TOKENS[0].token
EXAMPLES_PER_OPERATION = 7


@pytest.fixture(scope="module")
def schemathesis():
    """The schemathesis module (dev extra); without it both tests skip, and the required check fails CI."""
    return pytest.importorskip("schemathesis")


@pytest.fixture(scope="module")
def fuzzed_hub(module_tmp, schemathesis):
    with running_test_hub(module_tmp("fuzz-hub") / "data") as server:
        yield server


def test_no_server_errors(fuzzed_hub, schemathesis) -> None:
    """Every operation, a bounded number of generated requests each: no answer is a 5xx."""
    from huggingface_hub import HfApi

    HfApi(endpoint=fuzzed_hub.url, token=ALICE).create_repo("alice/fuzz")  # something to find
    schema = schemathesis.openapi.from_url(f"{fuzzed_hub.url}/openapi.json")
    server_errors: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy(), aim=st.booleans())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case, aim: bool) -> None:  # noqa: ANN001
            if aim:  # half the cases name the real repo, so the generated rest reaches the route's logic
                known = {"repo_type": "models", "namespace": "alice", "name": "fuzz", "name_git": "fuzz.git"}
                for key in set(case.path_parameters or {}) & set(known):
                    case.path_parameters[key] = known[key]
            response = case.call(headers={"Authorization": f"Bearer {ALICE}"}, timeout=30)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

        check()
    assert len(operations) >= 25
    cases = sum(statuses.values())
    assert EXAMPLES_PER_OPERATION <= cases <= EXAMPLES_PER_OPERATION * len(operations)
    assert server_errors == []
    print(f"schemathesis: {cases} cases over {len(operations)} operations, statuses {dict(sorted(statuses.items()))}")


def test_server_is_healthy_after_the_fuzzing(fuzzed_hub) -> None:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=fuzzed_hub.url, token=ALICE)
    assert api.whoami()["name"] == "alice"
    assert fuzzed_hub.pid is not None
    log = fuzzed_hub.log_path.read_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 300 :][:3000]
