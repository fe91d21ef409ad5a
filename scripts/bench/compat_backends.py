"""Do leaf-hub's exports load through sentence-transformers' own ``backend="onnx"`` / ``backend="openvino"``?

Two cached venvs (``tests/support/compat/harness.py``, ``BACKEND_TARGETS``; built on first use:
torch==2.13.0 first, then the pinned stack):

- ``st-5.1-onnx``: sentence-transformers 5.1.2 + transformers 4.57.6 + ``optimum[onnxruntime]``
  (optimum 2.1.0 + optimum-onnx 0.1.0, which pins transformers<4.58, so not sentence-transformers 6);
- ``st-6-openvino``: sentence-transformers 6.3.0 + transformers 5.5.4 + ``optimum-intel[openvino]`` 2.2.0
  (which declares transformers<5.6).

The model: ``--model DIR`` (default ``runs/leaf-ir-mini/model`` when it exists, else a leaf-shaped
model built from the real all-MiniLM-L6-v2 weights, as the compat matrix does), copied to a scratch
folder and exported there with :func:`leaf_hub.export.export_student` (the release's own exporter
and file names). By default that folder is published to the project's embedded hub, tagged, and
loaded at the tag, as a user loads a release; ``--source folder`` loads the folder offline instead.

In each venv (``python -I``, so ``leaf_hub`` cannot be imported) the probe loads the model with the
torch backend and then with ``SentenceTransformer(repo, backend=..., model_kwargs={"file_name": ...})``
for each file (``onnx/model.onnx`` also without ``file_name``: sentence-transformers' automatic
selection), encodes the probe texts (no prompt, and the ``query`` prompt) and compares each text's
vector with the torch backend's in the same venv. Floors, fixed here before any run: fp32 min cosine
>= 0.99 (``MIN_EXPORT_COSINE``); int8 >= 0.90 (a sanity floor: recorded as measured, not a quality
claim). Query throughput: SciFact queries with the ``query`` prompt, each variant and torch in turn
(interleaved) for a few rounds in the same process, fastest round kept; load averages recorded.
``--quick`` (4 probe texts, 64 queries, 2 rounds) is a correctness run: its speeds are not figures of
record; the full run (20 texts, 1000 queries, 5 rounds) belongs on a quiet machine.

Prints a table and writes ``reports/compat_backends.json`` (stamped with ``scripts/bench/common.py``).

    python scripts/bench/compat_backends.py --quick                 # correctness, small
    python scripts/bench/compat_backends.py --model runs/leaf-ir-mini/model   # figure of record, quiet machine
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

from common import Target, print_table, scifact_texts, start_stamp, write_report

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the checkout: leaf_hub and the tests.support.compat harness

from leaf_hub.models.exported import MIN_EXPORT_COSINE, ONNX_FP32, ONNX_INT8, OPENVINO_INT8  # noqa: E402
from tests.support.compat.harness import (  # noqa: E402
    BACKEND_TARGETS,
    INT8_SANITY_COSINE,
    TORCH_REQUIREMENT,
    BackendRow,
    BackendVariant,
    default_probe_texts,
    leaf_shaped_model,
    reference_embeddings,
    run_backends,
)

PROG = "compat_backends"
DEFAULT_MODEL = ROOT / "runs" / "leaf-ir-mini" / "model"
DEFAULT_OUT = ROOT / "reports" / "compat_backends.json"
REPO_ID, TAG = "org/backend-check", "v0.0.1"
#: Declared before any run: every fp32 load reaches the floor, and every load passes its floor.
TARGETS = (
    Target("fp32 exports: min cosine to torch (backend= load)", "summary.fp32_cosine_min", ">=", MIN_EXPORT_COSINE),
    Target("every backend= load passes its floor", "summary.all_passed", "==", True),
)


def variants(openvino: bool) -> dict[str, list[BackendVariant]]:
    """What each backend venv loads: fp32 by automatic selection and by name, int8 by name."""
    wanted = {
        "st-5.1-onnx": [
            BackendVariant("onnx", None, "fp32"),
            BackendVariant("onnx", ONNX_FP32, "fp32"),
            BackendVariant("onnx", ONNX_INT8, "int8"),
        ]
    }
    if openvino:
        wanted["st-6-openvino"] = [BackendVariant("openvino", OPENVINO_INT8, "int8")]
    return wanted


def _model(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """The model folder to export (copied into ``work``) and a note on where it came from."""
    from leaf_hub.assets import resolve_model
    from leaf_hub.models.portable import save_portable

    folder = args.model or (DEFAULT_MODEL if (DEFAULT_MODEL / "modules.json").is_file() else None)
    target = work / "model"
    if folder is None:
        init = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
        save_portable(leaf_shaped_model(init), target)
        return target, f"leaf-shaped model from {Path(init).name} (no {DEFAULT_MODEL.relative_to(ROOT)})"
    if not (folder / "modules.json").is_file():
        sys.exit(f"{PROG}: {folder} is not a sentence-transformers folder (no modules.json)")
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("onnx", "openvino"))
    try:
        note = str(folder.resolve().relative_to(ROOT))
    except ValueError:
        note = str(folder)
    return target, note


def _publish(folder: Path) -> tuple[object, object]:
    """Start the embedded hub, publish ``folder`` as :data:`REPO_ID` and tag it :data:`TAG`."""
    from leaf_hub.hub import HubClient
    from leaf_hub.hub_server import TokenSpec, running_hub_server

    tokens = [TokenSpec.generate("compat", orgs=["org"]), TokenSpec.generate("compat", "read", ["org"])]
    server = running_hub_server(tokens=tokens)
    hub = server.__enter__()
    _quiet_logs()  # starting the server configures logging again
    client = HubClient(endpoint=hub.url, token=hub.write_token)
    client.ensure_repo(REPO_ID)
    commit = client.upload_folder(REPO_ID, folder, "backend check: model + exports")
    client.create_tag(REPO_ID, TAG, commit, "backend check")
    return server, hub


def _quiet_logs() -> None:
    """Keep the libraries' INFO lines (each HTTP request, ...) out of the output; again after imports reset them."""
    for noisy in ("httpx", "httpcore", "huggingface_hub", "sentence_transformers", "transformers", "nncf"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def render(rows: list[BackendRow]) -> None:
    """Print the table."""
    table = []
    for row in rows:
        v = row.versions
        stack = (
            f"ST {v.get('sentence-transformers')}, tf {v.get('transformers')}, "
            + (f"optimum-onnx {v.get('optimum-onnx')}, ort {v.get('onnxruntime')}" if row.backend == "onnx" else "")
            + (f"optimum-intel {v.get('optimum-intel')}, ov {v.get('openvino')}" if row.backend == "openvino" else "")
        )
        table.append(
            (
                row.target,
                row.backend,
                row.file_name or "(automatic)",
                row.loaded_file or "-",
                stack,
                "-" if row.cosine_min is None else f"{row.cosine_min:.6f}",
                "-" if row.cosine_mean is None else f"{row.cosine_mean:.6f}",
                row.floor,
                "-" if row.texts_per_s is None else f"{row.texts_per_s:.0f} ({row.speedup:.2f}x)",
                "-" if row.torch_texts_per_s is None else f"{row.torch_texts_per_s:.0f}",
                "-" if row.load_seconds is None else f"{row.load_seconds:.1f}",
                "pass" if row.passed else (row.error or "fail"),
            )
        )
    print_table(
        "sentence-transformers backend= loads of leaf-hub exports (cosine to torch in the same venv)",
        (
            "venv",
            "backend",
            "file_name",
            "loaded",
            "stack",
            "min cos",
            "mean cos",
            "floor",
            "queries/s (x torch)",
            "torch q/s",
            "load s",
            "result",
        ),
        table,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help=f"a sentence-transformers folder (default {DEFAULT_MODEL})")
    parser.add_argument("--source", choices=("hub", "folder"), default="hub", help="load from the embedded hub")
    parser.add_argument("--quick", action="store_true", help="4 probe texts, 64 queries, 2 rounds (correctness)")
    parser.add_argument("--no-speed", action="store_true", help="skip the throughput rounds")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.model is not None and not args.model.is_dir():
        parser.exit(2, f"{PROG}: --model {args.model} not found\n")
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _quiet_logs()
    warnings.simplefilter("ignore")
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)

    from sentence_transformers import SentenceTransformer

    from leaf_hub.errors import LeafHubError
    from leaf_hub.export import export_student, openvino_available

    _quiet_logs()

    texts = default_probe_texts()
    n_queries, repeats = (64, 2) if args.quick else (1000, 5)
    if args.quick:
        texts = texts[:3] + texts[-1:]
    speed = None
    if not args.no_speed:
        _, queries = scifact_texts(0, n_queries)
        speed = {"texts": queries, "repeats": repeats, "batch_size": 32, "prompt_name": "query"}
    server = None
    with tempfile.TemporaryDirectory(prefix="leaf-hub-backends-") as tmp:
        try:
            folder, model_note = _model(args, Path(tmp))
            exports = export_student(folder, folder)
        except LeafHubError as e:
            sys.exit(f"{PROG}: {e}")
        local = SentenceTransformer(str(folder), device="cpu")
        prompts = [name for name in local.prompts if local.prompts[name]]
        if speed and "query" not in prompts:
            speed["prompt_name"] = None
        reference = reference_embeddings(local, texts, prompts)
        del local
        load = {}
        if args.source == "hub":
            server, hub = _publish(folder)
            load = {"revision": TAG, "endpoint": hub.url, "token": hub.read_token}
        try:
            rows = run_backends(
                REPO_ID if server else folder,
                texts,
                variants(openvino_available()),
                prompt_names=prompts,
                reference=reference,
                speed=speed,
                **load,
            )
        finally:
            if server is not None:
                server.__exit__(None, None, None)
    for row in rows:  # the port and the scratch folder are ephemeral: keep stable names
        row.source = f"embedded hub {REPO_ID}@{TAG}" if server else "exported folder"
        if row.loaded_file:
            row.loaded_file = "/".join(Path(row.loaded_file).parts[-2:])
    render(rows)
    fp32 = [r.cosine_min for r in rows if r.precision == "fp32" and r.cosine_min is not None]
    speed_facts = None
    if speed is not None:
        speed_facts = {k: v for k, v in speed.items() if k != "texts"}
        speed_facts.update({"n_texts": len(speed["texts"]), "source": "SciFact queries"})
    report = {
        "model": model_note,
        "source": rows[0].source if rows else None,
        "exports": [e.to_dict() for e in exports],
        "floors": {"fp32": MIN_EXPORT_COSINE, "int8": INT8_SANITY_COSINE},
        "n_texts": len(texts),
        "prompt_names": prompts,
        "speed": speed_facts,
        "targets_installed": {t.name: [TORCH_REQUIREMENT, *t.requirements] for t in BACKEND_TARGETS},
        "targets_removed_after_install": {t.name: list(t.uninstall) for t in BACKEND_TARGETS if t.uninstall},
        "summary": {
            "all_passed": bool(rows) and all(r.passed for r in rows),
            "fp32_cosine_min": min(fp32) if fp32 else None,
            "int8_cosine_min": {r.file_name: r.cosine_min for r in rows if r.precision == "int8"},
            "venvs_built": sorted({r.target for r in rows if r.venv_built}),
        },
        "rows": [asdict(r) for r in rows],
    }
    out = write_report(args.out, report, stamp)
    print(f"-> {out}")
    return 0 if report["summary"]["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
