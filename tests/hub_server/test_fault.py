"""Crash safety: the server is SIGKILLed in the middle of an upload, restarted, and the upload retried."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download

from tests.support.hub import running_test_hub

REPO = "alice/fault"

_UPLOAD = """
import sys
from huggingface_hub import HfApi
HfApi(token=sys.argv[3]).upload_folder(repo_id=sys.argv[1], folder_path=sys.argv[2], commit_message="weights")
"""


def test_sigkill_during_upload_keeps_the_previous_head(tmp_path: Path, student_path: Path) -> None:
    weights = student_path / "model.safetensors"
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "model.safetensors").symlink_to(weights)
    (folder / "config.json").symlink_to(student_path / "config.json")
    with running_test_hub(tmp_path / "hub") as hub:
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        api.create_repo(REPO)
        before = api.upload_file(
            path_or_fileobj=student_path / "modules.json", path_in_repo="modules.json", repo_id=REPO
        ).oid
        partial_dir = hub.data_dir / "repos" / "models" / "alice" / "fault.git" / "lfs" / "tmp"
        client = subprocess.Popen(
            [sys.executable, "-c", _UPLOAD, REPO, str(folder), hub.write_token],
            env=hub.env(hf_home=tmp_path / "client-home"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while not any(p.stat().st_size > 0 for p in partial_dir.glob("*.part")):  # bytes of the PUT arrived
                assert client.poll() is None and time.monotonic() < deadline, "upload never reached the server"
                time.sleep(0.005)
            hub.kill()  # SIGKILL mid-upload
        finally:
            client.kill()
            client.wait()
        partial = [p.stat().st_size for p in partial_dir.glob("*.part")]
        assert partial and 0 < max(partial) < weights.stat().st_size  # really interrupted half-way

        hub.start()  # restart on the same port and data dir
        assert api.repo_info(REPO).sha == before
        assert sorted(api.list_repo_files(REPO)) == [".gitattributes", "modules.json"]
        assert [c.commit_id for c in api.list_repo_commits(REPO)][0] == before
        assert list(partial_dir.iterdir()) == []  # leftovers cleaned at start, never listed
        sha = hashlib.sha256(weights.read_bytes()).hexdigest()
        assert not (
            hub.data_dir / "repos" / "models" / "alice" / "fault.git" / "lfs" / "objects" / sha[:2] / sha[2:4] / sha
        ).exists()

        after = api.upload_folder(repo_id=REPO, folder_path=folder, commit_message="weights (retry)").oid
        assert after != before and api.repo_info(REPO).sha == after
        assert [c.title for c in api.list_repo_commits(REPO)][:2] == [
            "weights (retry)",
            "Upload modules.json with huggingface_hub",
        ]
        path = hf_hub_download(REPO, "model.safetensors", endpoint=hub.url, cache_dir=tmp_path / "check")
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
