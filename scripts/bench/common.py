"""What the benchmarks share: the machine block, report writing, the SciFact texts, the student and teacher.

Every benchmark (``scripts/bench/*.py``) and study (``scripts/studies/*.py``) records the same
``machine`` block (:func:`machine_facts`), with the load average taken before the work
(:func:`load_average`) and after it. Benchmarks run as ``python scripts/bench/<name>.py``, so this
folder is on ``sys.path`` and they ``from common import ...``; the studies put ``scripts/`` on
``sys.path`` and import ``bench.common``.

Standard library only at import time (``bench_test_disk.py`` wraps the command that builds the venv);
``leaf_hub`` is imported inside the functions that need it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STUDENT = ROOT / "runs" / "leaf-ir-mini" / "model"

#: The distributions whose versions every machine block lists (``None``: not installed).
VERSIONED = (
    "leaf-hub",
    "torch",
    "sentence-transformers",
    "transformers",
    "huggingface-hub",
    "mteb",
    "onnxruntime",
    "openvino",
    "nncf",
)


def load_average() -> list[float]:
    """The 1-, 5- and 15-minute load averages, rounded to two decimals."""
    return [round(x, 2) for x in os.getloadavg()]


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in {"model name", "Hardware", "cpu model"} and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_facts(load_before: Sequence[float] | None = None) -> dict[str, Any]:
    """The machine block of every report: hardware, threads, versions and the load before and after.

    Args:
        load_before: :func:`load_average` taken before the measured work; the load after is taken now.

    Returns:
        ``cores``, ``cpu_model``, ``torch_threads`` and ``gpu`` (``None`` unless this process imported
        torch), ``platform``, ``python``, ``versions`` (each of :data:`VERSIONED`, ``None`` when not
        installed), ``load_average_before`` and ``load_average_after`` (1, 5, 15 minutes).
    """
    torch = sys.modules.get("torch")
    threads = gpu = None
    if torch is not None:
        threads = torch.get_num_threads()
        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(),
        "torch_threads": threads,
        "gpu": gpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in VERSIONED},
        "load_average_before": list(load_before) if load_before is not None else None,
        "load_average_after": load_average(),
    }


def write_report(path: str | Path, report: Mapping[str, Any]) -> Path:
    """Write ``report`` as indented JSON (parents created, final newline) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return out


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table: the first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join([":---"] + ["---:"] * (len(columns) - 1)) + "|"]
    for row in rows:
        cells = [str(cell).replace("|", "\\|").replace("\n", " ") for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "") -> None:
    """Print ``title``, the markdown table of ``rows`` and an optional caption."""
    print(f"\n**{title}**\n\n{markdown_table(columns, rows)}")
    if caption:
        print(f"\n{caption}")


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
