"""Publishing a real run with its CPU exports: staged beside the weights, verified before the tag, on the card."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from leaf_hub.models.exported import ONNX_FP32, ONNX_INT8, ExportedStudent
from tests.support.hub import DEFAULT_TOKENS, running_test_hub

pytestmark = pytest.mark.slow  # exports + STS-B checks of a real run, one upload of ~140 MB to the local hub

TOKEN = DEFAULT_TOKENS[0].token
PROBES = ["How do I bake bread at home?", "Aspirin lowers the risk of a second heart attack."]


def publish_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leaf_hub.cli", "publish", *args], capture_output=True, text=True, timeout=1200, env=env
    )


@pytest.fixture()
def run(leaf_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(leaf_run, target, ignore=shutil.ignore_patterns("checkpoints", "exports", "release.json"))
    return target


def test_publish_ships_verified_exports_and_the_card_snippet_runs(run, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    with running_test_hub(tmp_path / "hub") as hub:
        args = [str(run), "--repo", "org/leaf-ir-exports", "--tag", "v0.1.0", "--endpoint", hub.url]
        proc = publish_cli(*args, "--token-file", str(token_file))
        assert proc.returncode == 0, proc.stderr[-3000:]

        record = json.loads((run / "exports" / "exports.json").read_text())
        paths = [e["path"] for e in record["exports"]]
        assert paths[:2] == [ONNX_FP32, ONNX_INT8]
        fp32, int8 = record["exports"][0], record["exports"][1]
        assert fp32["cosine_to_torch"]["min"] >= 0.99
        assert 0.9 <= int8["cosine_to_torch"]["min"] < fp32["cosine_to_torch"]["min"]
        score = record["score"]
        assert score["pairs"] == 300 and 0 < score["torch"] <= 1
        assert set(score["exports"]) == set(paths)
        assert abs(score["exports"][ONNX_FP32] - score["torch"]) < 0.005  # fp32 is the same model
        assert set(record["speed"]["seconds"]) == {"torch", *paths}

        manifest = json.loads((run / "release.json").read_text())
        assert manifest["tag"] == "v0.1.0" and manifest["exports"]["exports"] == record["exports"]
        for entry in record["exports"]:
            for rel, facts in entry["files"].items():
                assert manifest["files"][rel]["sha256"] == facts["sha256"]

        # the card lists every export with its measured figures, and its snippet runs against the Hub
        from huggingface_hub import HfApi

        folder = Path(
            HfApi(endpoint=hub.url, token=TOKEN).snapshot_download(
                "org/leaf-ir-exports", revision="v0.1.0", cache_dir=tmp_path / "dl"
            )
        )
        card = (folder / "README.md").read_text()
        for entry in record["exports"]:
            assert f"| `{entry['path']}` | {entry['runtime']} | {entry['precision']} |" in card
        # sentence-transformers' backend= loads, with the versions reports/compat_backends.json records
        from leaf_hub.export import backend_loads

        backends = backend_loads(paths)
        assert [b["backend"] for b in backends][:1] == ["onnx"]
        for backend in backends:
            assert f"# {backend['install']}\n# tested: {backend['tested']}\n" in card
        assert f'model = SentenceTransformer("org/leaf-ir-exports", backend="onnx")  # finds {ONNX_FP32}' in card
        assert f'backend="onnx", model_kwargs={{"file_name": "{ONNX_INT8}"}})  # int8' in card
        assert "onnxruntime alone runs the graph" in card
        snippet = re.search(r"```python\n(import numpy as np\nimport onnxruntime.*?)```", card, re.S).group(1)
        snippet = snippet.replace('"How do I bake bread at home?"', "*json.loads(sys.argv[1])")
        snippet = "import json, sys\n" + snippet + "\nprint(json.dumps(embeddings.tolist()))\n"
        ran = subprocess.run(
            [sys.executable, "-c", snippet, json.dumps(PROBES)],
            capture_output=True,
            text=True,
            timeout=600,
            env=hub.env(hf_home=tmp_path / "hf_snippet"),
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        remote = np.asarray(json.loads(ran.stdout.strip().splitlines()[-1]))
        local = ExportedStudent(run / "model", run / "exports" / ONNX_INT8).encode(PROBES, kind="query")
        assert np.min(np.sum(remote * local, axis=1)) >= 0.9999

        # the release's final check runs the tag's exports again
        from leaf_hub.hub import HubClient
        from leaf_hub.publish import check_published_exports
        from leaf_hub.run_folder import RunFolder

        client = HubClient(hub.url, TOKEN)
        assert check_published_exports(client, "org/leaf-ir-exports", "v0.1.0", RunFolder(run)) >= 0.9999

        # the exports are made once: publishing the same run again is a no-op
        again = publish_cli(*args, "--token-file", str(token_file))
        assert again.returncode == 0, again.stderr[-3000:]
        assert "already published (identical content)" in again.stdout


def _black_box(run: Path, **teacher: object) -> None:
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    recipe["teacher"] = {
        "id": "example-org/embedding-api",
        "kind": "callable",
        "function": "tests.encoders.real_functions:encode",
        "dim": 768,
        **teacher,
    }
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))


def test_asym_is_refused_for_a_black_box_teacher_without_a_document_encoder(run):
    _black_box(run)
    proc = publish_cli(str(run), "--repo", "org/leaf-ir-bb", "--tag", "v0.1.0", "--dry-run", "--asym")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("leaf-hub: error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "--asym needs a document encoder" in lines[0] and "example-org/embedding-api" in lines[0]
    assert not (run / "exports").exists()  # refused before any export work


def test_card_names_a_black_box_teacher(run):
    from leaf_hub.model_card import render_card
    from tests.support.cards import run_card_inputs

    plain = render_card(run_card_inputs(run, repo_id="org/leaf-ir-bb"))
    assert "used as a black box" not in plain and "weights fingerprint" in plain
    _black_box(run)
    card = render_card(run_card_inputs(run, repo_id="org/leaf-ir-bb"))
    assert "[example-org/embedding-api](https://huggingface.co/example-org/embedding-api), used as a black box" in card
    assert "its vectors came from calling a function, its weights were never loaded" in card
