"""``leaf-hub publish`` end to end against the embedded Hub server (real run, real client, loopback)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.hub import DEFAULT_TOKENS, running_test_hub

pytestmark = pytest.mark.slow

TOKEN = DEFAULT_TOKENS[0].token  # alice, write, orgs org/testorg
PROBES = ["How do I bake bread at home?", "Aspirin lowers the risk of a second heart attack.", "He drove home."]

_LOAD = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
repo, revision, method, texts = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
model = SentenceTransformer(repo, revision=revision, device="cpu")
print(json.dumps(np.asarray(getattr(model, method)(texts)).tolist()))
"""


@pytest.fixture(scope="module")
def hub(module_tmp):
    with running_test_hub(module_tmp("hub") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def run(leaf_run: Path, module_tmp) -> Path:
    target = module_tmp("publish") / "run"
    shutil.copytree(leaf_run, target, ignore=shutil.ignore_patterns("checkpoints"))
    return target


@pytest.fixture(scope="module")
def token_file(module_tmp) -> Path:
    path = module_tmp("secret") / "token"
    path.write_text(TOKEN + "\n")
    return path


def publish_cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "publish", *args], capture_output=True, text=True, timeout=timeout
    )


def load_remote(hub, repo: str, revision: str, method: str, hf_home: Path) -> np.ndarray:
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD, repo, revision, method, json.dumps(PROBES)],
        capture_output=True,
        text=True,
        env=hub.env(hf_home=hf_home),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return np.asarray(json.loads(proc.stdout.strip().splitlines()[-1]), dtype=np.float32)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("leaf-hub: error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_publish_verify_tag_reload_and_noop(hub, run, token_file, tmp_path, teacher_path) -> None:
    from huggingface_hub import HfApi
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    args = [str(run), "--repo", "org/leaf-ir-tiny", "--tag", "v0.1.0", "--endpoint", hub.url]
    first = publish_cli(*args, "--token-file", str(token_file), "--asym")
    cold = time.perf_counter() - start
    assert first.returncode == 0, first.stderr[-3000:]
    assert "uploaded and verified" in first.stdout

    api = HfApi(endpoint=hub.url, token=TOKEN)
    tags = {t.name: t.target_commit for t in api.list_repo_refs("org/leaf-ir-tiny").tags}
    manifest = json.loads((run / "release.json").read_text())
    assert tags == {"v0.1.0": manifest["commit"]}
    assert {t.name for t in api.list_repo_refs("org/leaf-ir-tiny-asym").tags} == {"v0.1.0"}
    files = set(api.list_repo_files("org/leaf-ir-tiny", revision="v0.1.0"))
    assert {"README.md", "LICENSE", "release.json", "eval/results.json", "eval/sweep.png", "recipe.yaml"} <= files
    assert set(manifest["files"]) | {"release.json"} == files - {".gitattributes"}  # the initial commit's

    # a fresh process loads the tag with stock sentence-transformers and gets the local embeddings
    student = SentenceTransformer(str(run / "model"), device="cpu")
    local = student.encode(PROBES)
    remote = load_remote(hub, "org/leaf-ir-tiny", "v0.1.0", "encode", tmp_path / "hf1")
    assert np.min(np.sum(local * remote, axis=1)) >= 0.9999
    # -asym: queries go to the student, documents to the teacher
    teacher = SentenceTransformer(str(teacher_path), device="cpu")
    teacher.max_seq_length = 128
    queries = load_remote(hub, "org/leaf-ir-tiny-asym", "v0.1.0", "encode_query", tmp_path / "hf2")
    documents = load_remote(hub, "org/leaf-ir-tiny-asym", "v0.1.0", "encode_document", tmp_path / "hf3")
    assert np.min(np.sum(queries * local, axis=1)) >= 0.9999
    assert np.min(np.sum(documents * teacher.encode(PROBES), axis=1)) >= 0.9999
    assert np.max(np.sum(queries * documents, axis=1)) < 0.999  # really two different models

    # publishing identical content again is a no-op: same commit, no new commit on main
    head = api.repo_info("org/leaf-ir-tiny").sha
    start = time.perf_counter()
    again = publish_cli(*args, "--asym", "--token-file", str(token_file))
    warm = time.perf_counter() - start
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already published (identical content)" in again.stdout
    assert api.repo_info("org/leaf-ir-tiny").sha == head
    print(f"publish wall time: cold {cold:.1f} s, warm (no-op) {warm:.1f} s")

    # the token is in no output and no file we wrote or published
    for proc in (first, again):
        assert TOKEN not in proc.stdout + proc.stderr
    written = [p for p in run.rglob("*") if p.is_file()]
    written += [
        p
        for p in Path(api.snapshot_download("org/leaf-ir-tiny", revision="v0.1.0", cache_dir=tmp_path / "dl")).rglob(
            "*"
        )
        if p.is_file()
    ]
    assert written and not [p for p in written if TOKEN.encode() in p.read_bytes()]


def test_a_new_version_without_exports_leaves_none_of_the_earlier_files_at_its_tag(
    hub, run, token_file, tmp_path
) -> None:
    """v0.1.0 shipped the exports (the first test); v0.1.1 with --no-exports holds only its own files."""
    import yaml
    from huggingface_hub import HfApi

    bumped = tmp_path / "run"
    shutil.copytree(run, bumped, ignore=shutil.ignore_patterns("release.json", "exports"))
    recipe = yaml.safe_load((bumped / "recipe.yaml").read_text())
    recipe["version"] = "0.1.1"
    (bumped / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    args = [str(bumped), "--repo", "org/leaf-ir-tiny", "--tag", "v0.1.1", "--endpoint", hub.url]
    proc = publish_cli(*args, "--token-file", str(token_file), "--no-exports")
    assert proc.returncode == 0, proc.stderr[-3000:]

    api = HfApi(endpoint=hub.url, token=TOKEN)
    before = set(api.list_repo_files("org/leaf-ir-tiny", revision="v0.1.0"))
    after = set(api.list_repo_files("org/leaf-ir-tiny", revision="v0.1.1"))
    assert any(f.startswith("onnx/") for f in before)  # the earlier release keeps its exports at its tag
    assert not [f for f in after if f.startswith(("onnx/", "openvino/"))], after
    manifest = json.loads((bumped / "release.json").read_text())
    assert set(manifest["files"]) | {"release.json"} == after - {".gitattributes"}


def test_refusals_are_one_line_and_create_no_tag(hub, run, token_file, tmp_path) -> None:
    from huggingface_hub import HfApi

    base = ["--endpoint", hub.url, "--token-file", str(token_file)]
    # no eval results
    bare = tmp_path / "bare"
    shutil.copytree(run, bare, ignore=shutil.ignore_patterns("eval", "release.json"))
    proc = publish_cli(str(bare), "--repo", "org/bare", "--tag", "v0.1.0", *base)
    assert proc.returncode == 2 and "has no eval/results.json" in one_error_line(proc)
    # invalid repo id
    proc = publish_cli(str(run), "--repo", "org/bad name!", "--tag", "v0.1.0", *base)
    assert proc.returncode == 2 and "invalid repo id 'org/bad name!'" in one_error_line(proc)
    # tag that does not match the recipe version
    proc = publish_cli(str(run), "--repo", "org/leaf-ir-tiny", "--tag", "v9.9.9", *base)
    assert proc.returncode == 2 and "does not match recipe version" in one_error_line(proc)
    # wrong token
    wrong = tmp_path / "wrong"
    wrong.write_text("hf_not_a_real_token_42\n")
    proc = publish_cli(
        str(run), "--repo", "org/wrong-token", "--tag", "v0.1.0", "--endpoint", hub.url, "--token-file", str(wrong)
    )
    line = one_error_line(proc)
    assert proc.returncode == 3 and "refused the token" in line and "hf_not_a_real_token_42" not in proc.stderr
    # existing tag, different content: never moved
    changed = tmp_path / "changed"
    shutil.copytree(run, changed, ignore=shutil.ignore_patterns("release.json"))
    metrics = json.loads((changed / "metrics.json").read_text())
    metrics["wall_seconds"] += 1
    (changed / "metrics.json").write_text(json.dumps(metrics))
    proc = publish_cli(str(changed), "--repo", "org/leaf-ir-tiny", "--tag", "v0.1.0", *base)
    assert proc.returncode == 3 and "tag v0.1.0 already exists on org/leaf-ir-tiny" in one_error_line(proc)
    # a "Compared with" source that gives the card nothing: refused before any export or upload
    nowhere = tmp_path / "no-results"
    proc = publish_cli(str(run), "--repo", "org/peers", "--tag", "v0.1.0", *base, "--compare-with", str(nowhere))
    assert proc.returncode == 2 and f"compare-with {nowhere}: not a results folder" in one_error_line(proc)
    api = HfApi(endpoint=hub.url, token=TOKEN)
    assert not api.repo_exists("org/bare") and not api.repo_exists("org/wrong-token")
    assert not api.repo_exists("org/peers")


def test_server_dies_mid_upload_then_retry_succeeds(run, token_file, tmp_path) -> None:
    from huggingface_hub import HfApi

    with running_test_hub(tmp_path / "hub" / "data") as hub:
        cmd = [
            sys.executable,
            "-m",
            "leaf_hub.cli",
            "publish",
            str(run),
            "--repo",
            "org/crash",
            "--tag",
            "v0.1.0",
            "--endpoint",
            hub.url,
            "--token-file",
            str(token_file),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while "/preupload/" not in (hub.log_path.read_text() if hub.log_path.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline, "publish never reached the upload"
            time.sleep(0.05)
        hub.kill()
        out, err = proc.communicate(timeout=300)
        failed = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        assert failed.returncode == 3, err[-3000:]
        one_error_line(failed)
        hub.restart()
        api = HfApi(endpoint=hub.url, token=TOKEN)
        assert not api.repo_exists("org/crash") or not api.list_repo_refs("org/crash").tags
        retry = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert retry.returncode == 0, retry.stderr[-3000:]
        assert [t.name for t in api.list_repo_refs("org/crash").tags] == ["v0.1.0"]


def test_dry_run_lists_files_and_sends_nothing(run, tmp_path) -> None:
    proc = publish_cli(
        str(run), "--repo", "org/dry", "--tag", "v0.1.0", "--endpoint", "http://127.0.0.1:9", "--dry-run"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("model.safetensors", "README.md", "release.json", "LICENSE", "eval/results.json"):
        assert name in proc.stdout
    assert "would upload to org/dry" in proc.stdout
