"""``leaf-hub publish`` / ``leaf-hub release`` killed, retried through a faulty network, and watched for secrets.

The server being SIGKILLed mid-upload is covered by ``tests/publish``; here the *client* process
is killed (mid-upload, and after its commit landed but before the tag), the retry goes through
:class:`~tests.reliability.faultproxy.FaultProxy` (503s, resets, a lost answer), and the command
lines of every process of the flow (publish, hub server, verification subprocess) are sampled
from ``/proc`` and must not contain the token. The autouse ``no_secret_leaks`` fixture scans the
output and every file written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from tests.reliability.conftest import ProcessTitles, SecretWatch
from tests.reliability.faultproxy import FaultProxy
from tests.support.hub import DEFAULT_TOKENS, running_test_hub

pytestmark = pytest.mark.slow

TOKEN = DEFAULT_TOKENS[0].token  # alice: write, orgs org/testorg
VERIFY_MARK = "from sentence_transformers import SentenceTransformer"  # in the verification child's -c code


@pytest.fixture(scope="module")
def hub(module_tmp):
    with running_test_hub(module_tmp("publish-faults") / "data") as server:
        yield server


@pytest.fixture
def run(leaf_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(leaf_run, target, ignore=shutil.ignore_patterns("checkpoints", "release.json", "stages.json"))
    return target


@pytest.fixture
def token_file(tmp_path: Path, no_secret_leaks: SecretWatch) -> Path:
    path = tmp_path / "secret" / "token"
    path.parent.mkdir()
    path.write_text(TOKEN + "\n")
    no_secret_leaks.allow(path)
    return path


def publish_command(run: Path, repo: str, endpoint: str, token_file: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "leaf_hub.cli",
        "publish",
        str(run),
        "--repo",
        repo,
        "--tag",
        "v0.1.0",
        "--endpoint",
        endpoint,
        "--token-file",
        str(token_file),
        *extra,
    ]


def start(command: list[str], log: Path) -> subprocess.Popen[str]:
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(condition, proc: subprocess.Popen[str], log: Path, what: str, timeout: float = 600) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"publish ended before {what}: {log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def kill_tree(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the publish process and its children (as a cancelled CI job is)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def lfs_parts(hub, repo: str) -> list[Path]:
    namespace, name = repo.split("/")
    return list((hub.data_dir / "repos" / "models" / namespace / f"{name}.git" / "lfs" / "tmp").glob("*.part"))


def test_publish_killed_mid_upload_then_retried_through_a_faulty_network(
    hub, run: Path, token_file: Path, tmp_path: Path, no_secret_leaks: SecretWatch
) -> None:
    repo = "org/killed-upload"
    log = tmp_path / "killed.log"
    proc = start(publish_command(run, repo, hub.url, token_file), log)
    wait_for(lambda: any(p.stat().st_size > 0 for p in lfs_parts(hub, repo)), proc, log, "the weights upload")
    kill_tree(proc)
    no_secret_leaks.text("killed publish output", log.read_text())

    api = HfApi(endpoint=hub.url, token=TOKEN)
    assert api.list_repo_refs(repo).tags == []
    assert [c.title for c in api.list_repo_commits(repo)] == ["initial commit"]  # nothing landed
    assert not (run / "release.json").exists()  # nothing claims a release
    deadline = time.monotonic() + 30
    while lfs_parts(hub, repo):  # the server drops the half upload
        assert time.monotonic() < deadline, "partial upload left behind"
        time.sleep(0.1)

    with FaultProxy(hub.url) as proxy:
        proxy.add("GET", rf"^/api/models/{repo}/refs$", "503", times=1)
        proxy.add("POST", rf"^/api/models/{repo}/preupload/main$", "reset", times=1)  # huggingface_hub retries
        proxy.add("POST", rf"^/api/models/{repo}/commit/main$", "503", times=2)  # leaf-hub retries
        proxy.add("POST", rf"^/api/models/{repo}/tag/", "reset_after", times=1)  # tag made, answer lost
        retry_log = tmp_path / "retry.log"
        with ProcessTitles(hub.pid) as titles:
            retry = start(publish_command(run, repo, proxy.url, token_file), retry_log)
            titles.add_root(retry.pid)
            code = retry.wait(timeout=900)
        output = retry_log.read_text()
        no_secret_leaks.text("retried publish output", output)
        assert code == 0, output[-3000:]
        assert [rule.hits for rule in proxy.rules] == [1, 1, 2, 1]
        assert proxy.count("POST", r"/commit/main$", "forwarded") == 1

    assert "uploaded and verified" in output
    tags = {t.name: t.target_commit for t in api.list_repo_refs(repo).tags}
    manifest = json.loads((run / "release.json").read_text())
    assert tags == {"v0.1.0": manifest["commit"]}
    assert [c.title for c in api.list_repo_commits(repo)][1:] == ["initial commit"]  # exactly one new commit
    # no process of the flow carried the token in its command line; the verification child was seen
    assert any(VERIFY_MARK in line for line in titles.lines), titles.lines
    assert any("leaf_hub.hub_server" in line for line in titles.lines)
    assert not [line for line in titles.lines if TOKEN in line]
    no_secret_leaks.root(hub.data_dir)


def test_publish_killed_between_commit_and_tag_leaves_no_tag_and_the_retry_tags_that_commit(
    hub, run: Path, token_file: Path, tmp_path: Path, no_secret_leaks: SecretWatch
) -> None:
    repo = "org/killed-verify"
    log = tmp_path / "killed.log"
    verifying: list[int] = []

    def verification_started() -> bool:
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    cmd = Path(entry.path, "cmdline").read_bytes()
                    if VERIFY_MARK.encode() in cmd and os.getpgid(int(entry.name)) == proc.pid:
                        verifying.append(int(entry.name))
                        return True
                except OSError:
                    continue
        return False

    # --no-exports: the kill lands in the weights' verification; the export stage (~45 s) is not under test
    command = publish_command(run, repo, hub.url, token_file, "--no-exports")
    proc = start(command, log)
    wait_for(verification_started, proc, log, "the verification subprocess")
    kill_tree(proc)
    no_secret_leaks.text("killed publish output", log.read_text())

    api = HfApi(endpoint=hub.url, token=TOKEN)
    landed = api.repo_info(repo).sha
    assert [c.title for c in api.list_repo_commits(repo)][1:] == ["initial commit"]  # the commit landed...
    assert api.list_repo_refs(repo).tags == []  # ...but was never tagged
    assert not (run / "release.json").exists()

    retry = subprocess.run(command, capture_output=True, text=True, timeout=900)
    no_secret_leaks.text("retry stdout", retry.stdout)
    no_secret_leaks.text("retry stderr", retry.stderr)
    assert retry.returncode == 0, retry.stderr[-3000:]
    assert {t.name: t.target_commit for t in api.list_repo_refs(repo).tags} == {"v0.1.0": landed}
    assert api.repo_info(repo).sha == landed  # the unchanged files were not committed again
    assert json.loads((run / "release.json").read_text())["commit"] == landed


def test_embedded_hub_release_keeps_its_generated_token_out_of_outputs_files_and_process_titles(
    leaf_run: Path, tmp_path: Path, isolated_home: Path, no_secret_leaks: SecretWatch
) -> None:
    """``leaf-hub release --embedded-hub`` on an up-to-date run: only card, publish, verify and reload run."""
    from leaf_hub.recipe import load_recipe
    from leaf_hub.release import stage_fingerprints

    run = tmp_path / "run"
    shutil.copytree(leaf_run, run, ignore=shutil.ignore_patterns("checkpoints", "release.json", "stages.json"))
    recipe = load_recipe(run / "recipe.yaml", {"output_dir": str(run)})
    prints = stage_fingerprints(recipe, run)
    (run / "stages.json").write_text(json.dumps({stage: {"fingerprint": value} for stage, value in prints.items()}))

    env = {**os.environ, "LEAF_HUB_HOME": str(isolated_home)}
    command = [sys.executable, "-m", "leaf_hub.cli", "release", str(run / "recipe.yaml"), "--embedded-hub"]
    command += ["--output", str(run), "--summary-json", str(tmp_path / "summary.json")]
    log = tmp_path / "release.log"
    with ProcessTitles() as titles, log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        titles.add_root(proc.pid)
        code = proc.wait(timeout=900)
    output = log.read_text()
    assert code == 0, output[-3000:]

    token = (isolated_home / "hub" / "release-token").read_text().strip()
    assert token.startswith("hf_leafhub_") and len(token) > 30
    no_secret_leaks.add_token(token)
    no_secret_leaks.text("release output", output)
    no_secret_leaks.root(isolated_home / "hub")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stages"]["distill"]["status"] == "skipped" and summary["stages"]["publish"]["status"] == "ran"
    assert summary["reload_min_cosine"] >= 0.9999
    # the server (token in a 0600 file) and the verification/reload children (token in their
    # environment) were all seen, and no command line carries the token
    lines = titles.lines
    assert any("leaf_hub.hub_server" in line and "--token-file" in line for line in lines), lines
    assert sum(VERIFY_MARK in line for line in lines) >= 1, lines
    assert not [line for line in lines if token in line]
