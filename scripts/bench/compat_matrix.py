"""Compatibility matrix: does a leaf-hub model load, identically, on sentence-transformers 3.4, 4.1, 5.1 and 6.x?

For each release line a cached venv (``$LEAF_HUB_HOME/compat-venvs/<name>``: torch==2.13.0 first,
then the pinned sentence-transformers stack, see ``tests/support/compat/harness.py``) loads the model in a
``python -I`` subprocess where ``import leaf_hub`` is impossible, encodes real probe texts with and
without the ``query`` prompt, and compares them with reference vectors (cosine >= 0.9999).

Sources (any combination; each adds one row per release):

- no argument: a leaf-shaped student (all-MiniLM-L6-v2 + seeded Dense(384, 768) + Normalize +
  prompts) saved with ``save_portable``; reference = that in-memory model. ``--with-raw`` also
  checks the same model saved by plain ``model.save()`` (which old releases cannot load).
- ``--model DIR``: a saved folder (e.g. ``runs/<name>/model``); reference = ``--reference NPZ``
  (see ``scripts.compat.harness.save_reference``) or, without it, the folder loaded in-process.
- ``--repo-id ID --revision TAG --endpoint URL``: the model published to a hub (e.g. the embedded
  hub) at its tag, downloaded in each venv with ``HF_ENDPOINT`` set and a throwaway ``HF_HOME``.
- ``--embedded-hub``: start the project's own hub on loopback, publish the folder under test to
  ``org/compat-check``, tag it ``v0.0.1`` and add a row per release loading it at that tag.

Prints a rich table and writes ``reports/compat_matrix.json`` (``--out``). The target, declared here
(:data:`TARGETS`) and checked in the report's stamp: every row but the controls passes.

``--quick`` (a check that the script works, not a figure): 4 probe texts and, unless ``--targets``
is given, only the ``st-5.1`` venv (fixed pins, so a cached one is reused, never rebuilt because
this environment moved); it writes ``reports/compat_matrix_quick.json`` unless ``--out`` is given.

Cost on the 2-core CPU machine, with every venv cached: about 15 s per row (a fresh process imports
torch and sentence-transformers, loads and encodes); the report records the run's wall time
(``wall_seconds``, and the stamp's). A venv that is missing or whose pins changed (e.g. ``st-6``
follows this environment's sentence-transformers / transformers / huggingface_hub / tokenizers)
is built first: ``pip install`` of torch and the stack, several minutes each.

    python scripts/bench/compat_matrix.py                      # the leaf-shaped self-check
    python scripts/bench/compat_matrix.py --with-raw --embedded-hub   # + the plain 6.x save, + via the hub
    python scripts/bench/compat_matrix.py --model runs/leaf-ir-mini/model
    python scripts/bench/compat_matrix.py --model runs/x/model --repo-id org/x --revision v0.1.0 --endpoint http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

from common import Target, print_table, start_stamp
from common import write_report as write_stamped

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the checkout: leaf_hub and the tests.support.compat harness

from leaf_hub.hub import RELOAD_MIN_COSINE as MIN_COSINE  # noqa: E402
from leaf_hub.models.portable import portability_problems, save_portable  # noqa: E402
from tests.support.compat.harness import (  # noqa: E402
    TORCH_REQUIREMENT,
    CompatRow,
    all_targets,
    default_probe_texts,
    leaf_shaped_model,
    load_reference,
    reference_embeddings,
    run_matrix,
    write_report,
)

#: Declared before any run: every target release loads the model identically (controls excepted).
TARGETS = (Target("every row but the controls loads with min cosine >= the threshold", "all_passed", "==", True),)
#: The one venv ``--quick`` checks: fixed pins, so a cached one stays valid.
QUICK_TARGET = "st-5.1"


def render(rows: list[CompatRow]) -> None:
    table = []
    for row in rows:
        cosine = "-" if row.min_cosine is None else f"{row.min_cosine:.6f}"
        if row.min_cosine is not None and not row.passed:
            cosine += " (below)"
        table.append(
            (
                row.source + (" (control)" if row.control else ""),
                row.target,
                row.sentence_transformers or "-",
                row.transformers or "-",
                "yes" if row.loaded_ok else "no",
                cosine,
                f"{row.seconds:.1f}" + (" (built)" if row.venv_built else ""),
                row.error or "",
            )
        )
    print_table(
        f"sentence-transformers compatibility (cosine >= {MIN_COSINE})",
        ("source", "target", "sentence-transformers", "transformers", "loaded", "min cosine", "seconds", "error"),
        table,
    )


def _via_embedded_hub(folder: Path, reference: dict, texts: list[str], targets: list) -> list[CompatRow]:
    """Publish ``folder`` to a fresh embedded hub, tag it, and run the matrix on the tag."""
    from leaf_hub.hub import HubClient
    from leaf_hub.hub_server import TokenSpec, running_hub_server

    repo_id, tag = "org/compat-check", "v0.0.1"
    tokens = [TokenSpec.generate("compat", orgs=["org"]), TokenSpec.generate("compat", "read", ["org"])]
    with running_hub_server(tokens=tokens) as hub:
        client = HubClient(endpoint=hub.url, token=hub.write_token)
        client.ensure_repo(repo_id)
        commit = client.upload_folder(repo_id, folder, "compat matrix: portable folder")
        client.create_tag(repo_id, tag, commit, "compat matrix")
        rows = run_matrix(
            repo_id, reference, texts, targets=targets, revision=tag, endpoint=hub.url, token=hub.read_token
        )
    for row in rows:  # the port is ephemeral: keep a stable name in the report
        row.source = f"embedded hub {repo_id}@{tag}"
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a saved model folder (default: the leaf-shaped self-check)")
    parser.add_argument("--reference", type=Path, help=".npz from tests.support.compat.harness.save_reference")
    parser.add_argument("--repo-id", help="also load this repo from a hub")
    parser.add_argument("--revision", help="hub revision (tag) for --repo-id")
    parser.add_argument("--endpoint", help="hub URL for --repo-id, e.g. http://127.0.0.1:8765")
    parser.add_argument(
        "--embedded-hub", action="store_true", help="also publish to the embedded hub and load at a tag"
    )
    parser.add_argument("--targets", help="comma-separated venv names (default: all, e.g. st-3.4,st-4.1,st-5.1,st-6)")
    parser.add_argument("--with-raw", action="store_true", help="also check the un-post-processed save")
    parser.add_argument("--quick", action="store_true", help=f"4 probe texts, the {QUICK_TARGET} venv only")
    parser.add_argument("--out", type=Path, default=None, help="default reports/compat_matrix[_quick].json")
    args = parser.parse_args(argv)
    if args.repo_id and not args.endpoint:
        parser.error("--repo-id needs --endpoint")
    if args.repo_id and not (args.model or args.reference):
        parser.error("--repo-id needs --model (the local folder it was published from) or --reference")
    # huggingface_hub reads these once, at import: set them before anything imports it.
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("httpx", "httpcore", "huggingface_hub", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
    args.out = args.out or ROOT / "reports" / f"compat_matrix{'_quick' if args.quick else ''}.json"
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    wall = time.perf_counter()

    targets = list(all_targets())
    if args.quick and not args.targets:
        args.targets = QUICK_TARGET
    if args.targets:
        wanted = set(args.targets.split(","))
        targets = [t for t in targets if t.name in wanted]
        if not targets:
            parser.error(f"no target matches {sorted(wanted)}; known: {[t.name for t in all_targets()]}")

    with tempfile.TemporaryDirectory(prefix="leaf-hub-compat-") as tmp:
        sources: list[tuple[str | Path, dict]] = []
        if args.reference:
            texts, reference = load_reference(args.reference)
            reference_note = f"vectors from {args.reference}"
        else:
            texts = default_probe_texts()
        if args.quick:
            texts = texts[:3] + texts[-1:]
            if args.reference:
                reference = {k: v[[0, 1, 2, -1]] for k, v in reference.items()}
        if args.model is None:
            from leaf_hub.assets import resolve_model

            init = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
            model = leaf_shaped_model(init)
            if not args.reference:
                reference = reference_embeddings(model, texts, ["query"])
                reference_note = "the in-memory (training-time) leaf-shaped model, before saving"
            folder = save_portable(model, Path(tmp) / "portable")
            sources.append((folder, {}))
            if args.with_raw:
                raw = Path(tmp) / "raw-6x-save"
                model.save(str(raw))
                print(f"raw save: {len(portability_problems(raw))} portability problem(s)")
                sources.append((raw, {}))
        else:
            problems = portability_problems(args.model)
            for problem in problems:
                print(f"not portable: {problem}")
            if not args.reference:
                from sentence_transformers import SentenceTransformer
                from sentence_transformers import __version__ as local_version

                local = SentenceTransformer(str(args.model), device="cpu")
                names = [name for name in local.prompts if local.prompts[name]]
                reference = reference_embeddings(local, texts, names)
                reference_note = f"{args.model} loaded in-process (sentence-transformers {local_version})"
            sources.append((args.model, {}))
        if args.repo_id:
            sources.append((args.repo_id, {"revision": args.revision, "endpoint": args.endpoint}))

        rows: list[CompatRow] = []
        for source, kwargs in sources:
            rows += run_matrix(source, reference, texts, targets=targets, **kwargs)
        if args.embedded_hub:
            rows += _via_embedded_hub(sources[0][0], reference, texts, targets)
        for row in rows:  # temporary folders: keep only their role in the report
            if Path(row.source).parent == Path(tmp):
                row.source = Path(row.source).name
            row.control = row.source == "raw-6x-save"
    wall_seconds = round(time.perf_counter() - wall, 1)
    render(rows)
    out = write_report(
        rows,
        args.out,
        texts=texts,
        wall_seconds=wall_seconds,
        extra={
            "prompt_names": [k for k in reference if k != "plain"],
            "quick": args.quick,
            "reference": reference_note,
            "targets": {t.name: [TORCH_REQUIREMENT, *t.requirements] for t in targets},
        },
    )
    write_stamped(out, json.loads(out.read_text(encoding="utf-8")), stamp)  # the same report, stamped
    built = sum(row.venv_built for row in rows)
    print(f"wall {wall_seconds:.1f} s ({built} venv(s) built) -> {out}")
    # The raw save is shown for contrast: old releases are expected to fail on it.
    failed = [row for row in rows if not row.passed and not row.control]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
