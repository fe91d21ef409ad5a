"""What the CPU encoding benchmarks share: the texts they time, the models they load, the load they record.

Used by ``bench_eval.py`` and ``bench_exports.py`` (each run as ``python scripts/<name>.py``, so this
folder is on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDENT = ROOT / "runs" / "leaf-ir-mini" / "model"


def scifact_texts(n_docs: int, n_queries: int) -> tuple[list[str], list[str]]:
    """The first ``n_docs`` SciFact documents (as evaluation encodes them) and ``n_queries`` claims."""
    from leaf_hub.assets import resolve_data_file
    from leaf_hub.evaluation.data import document_text

    docs: list[str] = []
    with resolve_data_file("scifact/corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if len(docs) >= n_docs:
                break
            row = json.loads(line)
            docs.append(document_text(row.get("title") or "", row.get("text") or ""))
    queries: list[str] = []
    with resolve_data_file("scifact/queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if len(queries) >= n_queries:
                break
            queries.append(json.loads(line)["text"])
    return docs, queries


def student_folder(spec: str | None, prog: str) -> Path:
    """The student folder, refused (one line, exit 1) when it is not a sentence-transformers folder."""
    folder = Path(spec).expanduser() if spec else DEFAULT_STUDENT
    if not (folder / "modules.json").is_file():
        why = "not found" if not folder.exists() else "not a sentence-transformers folder (no modules.json)"
        sys.exit(f"{prog}: student {folder} {why}; distil it first or pass --student DIR")
    return folder


def resolve_teacher(spec: str | None, prog: str) -> str:
    """A teacher folder, or the offline copy of a Hub id (default all-mpnet-base-v2); one line on failure."""
    from leaf_hub.assets import resolve_model
    from leaf_hub.errors import LeafHubError

    if spec and Path(spec).expanduser().is_dir():
        return str(Path(spec).expanduser())
    try:
        return resolve_model(spec or "sentence-transformers/all-mpnet-base-v2")
    except (LeafHubError, ValueError) as e:
        sys.exit(f"{prog}: teacher {spec}: {str(e).splitlines()[0]}")


def loadavg() -> float:
    """The 1-minute load average, rounded."""
    return round(os.getloadavg()[0], 2)
