"""What the benchmarks share: the stamp and machine block, report writing, the SciFact texts, the models.

Every report that a benchmark (``scripts/bench/*.py``) or study (``scripts/studies/*.py``) writes
carries a ``stamp``: which code measured it, how it was run, on what machine, and whether the
script's declared targets were met. One helper makes it::

    TARGETS = (Target("speedup_vs_baseline_cold", "summary.speedup_vs_baseline_cold", ">=", 1.5),)
    # a script without a target declares TARGETS = ()

    stamp = start_stamp(__file__, TARGETS, quick=args.quick)   # before the measured work
    ...                                                         # measure, build ``report``
    write_report(args.out, report, stamp)                       # report["stamp"] = finish_stamp(stamp, report)

:func:`start_stamp` records, before the work: the git commit of the checkout and whether its
tracked files differed from it (``dirty``, with the paths), the command line, the script's path
and sha256, the sha256 of this file and of the ``leaf_hub`` sources (one digest over every
``leaf_hub/**/*.py``), the leaf-hub version (``leaf_hub/version.py``), the UTC start time and the
load average. :func:`finish_stamp` adds the UTC end time, the wall time, where ``leaf_hub`` was
imported from (this file puts the checkout first on ``sys.path``), the machine block
(:func:`machine_facts`: cores, CPU model and speed-relevant CPU flags, torch threads, versions,
load average before *and* after) and each declared target with its measured value and
``met`` (``None`` when the report lacks the value). It can be called again for every interim
write of a long study. ``tests/scripts/test_report_stamps.py`` checks every committed report:
its stamp's ``script_sha256`` must equal the script's current sha256, or the report must say
``"historical": true`` with a ``historical_reason``.

Benchmarks run as ``python scripts/bench/<name>.py``, so this folder is on ``sys.path`` and they
``from common import ...``; the studies put ``scripts/`` on ``sys.path`` and import
``bench.common``.

Standard library only at import time (``bench_test_disk.py`` wraps the command that builds the venv);
``leaf_hub`` is imported inside the functions that need it.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))  # this checkout's leaf_hub (the code the stamp hashes), not an installed copy
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

#: The CPU flags that change what a CPU benchmark can reach (vector width, bf16/int8 dot products, AMX).
SPEED_FLAGS = (
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx_vnni",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)

#: Every field a finished stamp has (``tests/scripts/test_report_stamps.py`` checks them).
STAMP_FIELDS = (
    "schema",
    "script",
    "script_sha256",
    "sources_sha256",
    "git",
    "command",
    "leaf_hub_version",
    "quick",
    "started_at",
    "finished_at",
    "wall_seconds",
    "machine",
    "leaf_hub_path",
    "targets",
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


def cpu_flags() -> dict[str, bool]:
    """Which of :data:`SPEED_FLAGS` the CPU has (``/proc/cpuinfo``; all ``False`` where it cannot be read)."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in {"flags", "Features"}:
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return {name: name in flags for name in SPEED_FLAGS}


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
        ``cores``, ``cpu_model``, ``cpu_flags`` (:func:`cpu_flags`), ``torch_threads`` and ``gpu``
        (``None`` unless this process imported torch), ``platform``, ``python``, ``versions`` (each of
        :data:`VERSIONED`, ``None`` when not installed), ``load_average_before`` and
        ``load_average_after`` (1, 5, 15 minutes).
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
        "cpu_flags": cpu_flags(),
        "torch_threads": threads,
        "gpu": gpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        # leaf-hub: this checkout's version file (an editable install's metadata keeps its install-time number)
        "versions": {name: leaf_hub_version() if name == "leaf-hub" else _version(name) for name in VERSIONED},
        "load_average_before": list(load_before) if load_before is not None else None,
        "load_average_after": load_average(),
    }


# ---------------------------------------------------------------------------------------------
# the stamp
# ---------------------------------------------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


class Target:
    """A target a script declares before it runs: the figure at ``path`` in its report ``op`` ``target``.

    Attributes:
        name: What the target is about, e.g. ``"cold end-to-end speed-up vs the ST example"``.
        path: Where the figure is in the report, as dotted keys (``"summary.speedup_vs_baseline_cold"``).
        op: One of ``>=``, ``>``, ``<=``, ``<``, ``==``.
        target: The value the figure is compared with.
    """

    def __init__(self, name: str, path: str, op: str, target: float | int | bool) -> None:
        if op not in _OPS:
            raise ValueError(f"target {name!r}: op {op!r} is not one of {sorted(_OPS)}")
        self.name, self.path, self.op, self.target = name, path, op, target

    def __repr__(self) -> str:
        return f"Target({self.name!r}, {self.path!r}, {self.op!r}, {self.target!r})"

    def check(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """The target as the stamp records it: name, path, op, target, the report's value and ``met``."""
        value: Any = report
        for key in self.path.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        met = None if value is None else bool(_OPS[self.op](value, self.target))
        return {"name": self.name, "path": self.path, "op": self.op, "target": self.target, "value": value, "met": met}


class Stamp:
    """What :func:`start_stamp` recorded before the work; :func:`finish_stamp` completes it.

    (Plain classes, not dataclasses: tests load this file with ``load_script``, outside ``sys.modules``.)
    """

    def __init__(self, targets: Sequence[Target], started: dict[str, Any], load_before: list[float]) -> None:
        self.targets = tuple(targets)
        self.started = started
        self.load_before = load_before
        self.tick = time.perf_counter()


def sha256_file(path: str | Path) -> str:
    """The sha256 (hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sources_sha256(root: Path = ROOT) -> str:
    """One sha256 over every ``leaf_hub/**/*.py`` (sorted relative path and content): the package code that ran."""
    digest = hashlib.sha256()
    for path in sorted((root / "leaf_hub").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def leaf_hub_version(root: Path = ROOT) -> str | None:
    """``__version__`` as ``leaf_hub/version.py`` of this checkout says (not the installed distribution's)."""
    try:
        match = re.search(r'^__version__\s*=\s*"([^"]+)"', (root / "leaf_hub" / "version.py").read_text(), re.M)
    except OSError:
        return None
    return match.group(1) if match else None


def git_state(root: Path = ROOT) -> dict[str, Any]:
    """The checkout's commit, and whether (and where) its tracked files differ from it; ``None`` values without git."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    paths = [line[3:] for line in (status or "").splitlines() if line.strip()]
    return {
        "commit": commit.strip() if commit else None,
        "dirty": bool(paths) if status is not None else None,
        "dirty_paths": paths[:50],
    }


def _imported_leaf_hub() -> str | None:
    """Where this process imported ``leaf_hub`` from (relative to the checkout when inside it), if it did."""
    module = sys.modules.get("leaf_hub")
    if module is None or not getattr(module, "__file__", None):
        return None
    folder = Path(module.__file__).resolve().parent
    try:
        return folder.relative_to(ROOT).as_posix()
    except ValueError:
        return str(folder)


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_stamp(script: str | Path, targets: Sequence[Target] = (), *, quick: bool = False) -> Stamp:
    """Record, before the measured work, which code runs, how, and the load average.

    Args:
        script: The running script's file (``__file__``).
        targets: The script's declared targets (its ``TARGETS`` constant; ``()`` when it has none).
        quick: Whether this is a ``--quick`` run (tiny sizes: its figures are not of record).

    Returns:
        The started stamp, to hand to :func:`finish_stamp` (or :func:`write_report`).
    """
    path = Path(script).resolve()
    try:
        rel = path.relative_to(ROOT).as_posix()
    except ValueError:
        rel = str(path)
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    started = {
        "schema": 1,
        "script": rel,
        "script_sha256": sha256_file(path),
        "sources_sha256": {
            "scripts/bench/common.py": sha256_file(Path(__file__)),
            "leaf_hub": sources_sha256(),
        },
        "git": git_state(),
        "command": shlex.join(argv),
        "leaf_hub_version": leaf_hub_version(),
        "quick": quick,
        "started_at": _utc_now(),
    }
    return Stamp(targets, started, load_average())


def finish_stamp(stamp: Stamp, report: Mapping[str, Any]) -> dict[str, Any]:
    """The finished stamp of ``report``: the started fields, end time, machine block and targets met or missed.

    Args:
        stamp: What :func:`start_stamp` returned.
        report: The report (its figures are looked up by each target's ``path``).

    Returns:
        A plain-JSON dict with every field of :data:`STAMP_FIELDS`; ``report`` is not changed.
    """
    return {
        **stamp.started,
        "finished_at": _utc_now(),
        "wall_seconds": round(time.perf_counter() - stamp.tick, 1),
        "machine": machine_facts(stamp.load_before),
        "leaf_hub_path": _imported_leaf_hub(),
        "targets": [target.check(report) for target in stamp.targets],
    }


def write_report(path: str | Path, report: Mapping[str, Any], stamp: Stamp | None = None) -> Path:
    """Write ``report`` as indented JSON (parents created, final newline) and return the path.

    With ``stamp``, the report is written with ``"stamp": finish_stamp(stamp, report)`` as its first key.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if stamp is not None:
        body = {k: v for k, v in report.items() if k != "stamp"}
        report = {"stamp": finish_stamp(stamp, body), **body}
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
