"""Benchmark the embedded Hub server with the real huggingface_hub client and sentence-transformers.

Measured in one run, on one disk (a temporary folder beside the server's data dir):

* upload: ``HfApi.upload_folder`` of a ~90 MB model folder (all-MiniLM-L6-v2: LFS weights + text
  files) into a fresh repo, vs copying the same folder with ``shutil.copytree``, both plain (page
  cache) and followed by an fsync of every file (the server fsyncs before a commit is visible);
* download: ``snapshot_download`` into a fresh cache vs the same copies;
* cold ``SentenceTransformer(repo, revision=tag)`` from the hub (fresh ``HF_HOME``) vs
  ``SentenceTransformer(folder)``, each in a new process (import time reported apart);
* N concurrent ``hf_hub_download`` of the weights (default 50), each checked by sha256.

Writes JSON (default ``reports/bench_hub.json``) and prints a rich table. No target is declared
(:data:`TARGETS` is empty): the report measures, it does not pass or fail. ``--quick`` (a check
that the script works, not a figure) uses 4 concurrent downloads and one repetition, and writes
``reports/bench_hub_quick.json`` unless ``--out`` is given.

Cost of the default run (``--repeats 3 --concurrency 50`` on the ~90 MB MiniLM folder): three
upload + download + copy rounds, two cold model loads in fresh processes (mostly imports) and 50
concurrent weight downloads, about a minute on a 2-core CPU machine; the report's stamp records
the run's wall time.
"""

from __future__ import annotations

import os

# huggingface_hub reads these once, at import time.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_ENDPOINT", None)
os.environ.pop("HF_TOKEN", None)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from common import print_table, start_stamp, write_report  # noqa: E402

#: No target: the report measures the hub server against plain copies, it does not pass or fail.
TARGETS = ()

_LOAD = """
import json, sys, time
t0 = time.perf_counter()
from sentence_transformers import SentenceTransformer
t1 = time.perf_counter()
kwargs = {"revision": sys.argv[2]} if len(sys.argv) > 2 else {}
model = SentenceTransformer(sys.argv[1], device="cpu", **kwargs)
t2 = time.perf_counter()
vec = model.encode(["A cold start of the published model."])
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "dim": int(vec.shape[1])}))
"""


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _copy(src: Path, dst: Path, *, fsync: bool) -> float:
    start = time.perf_counter()
    shutil.copytree(src, dst)
    if fsync:
        for path in dst.rglob("*"):
            if path.is_file():
                fd = os.open(path, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
    return time.perf_counter() - start


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _cold_load(env: dict[str, str], *args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"cold load failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(model_dir: Path, work: Path, *, repeats: int, concurrency: int) -> dict:
    """Run every measurement; return the report dict."""
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    from leaf_hub.hub_server import TokenSpec, running_hub_server

    size = _folder_bytes(model_dir)
    mb = size / 1e6
    weights = model_dir / "model.safetensors"
    weights_sha = _sha256(weights)
    copies: dict[str, list[float]] = {"copy": [], "copy_fsync": []}
    uploads: list[float] = []
    downloads: list[float] = []
    with running_hub_server(work / "hub" / "data", tokens=[TokenSpec.generate("alice")]) as hub:
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        for i in range(repeats):
            copies["copy"].append(_copy(model_dir, work / f"copy-{i}", fsync=False))
            copies["copy_fsync"].append(_copy(model_dir, work / f"copy-fsync-{i}", fsync=True))
            repo = f"alice/bench-{i}"
            api.create_repo(repo)
            start = time.perf_counter()
            api.upload_folder(repo_id=repo, folder_path=model_dir, commit_message="bench")
            uploads.append(time.perf_counter() - start)
            start = time.perf_counter()
            folder = Path(snapshot_download(repo, endpoint=hub.url, cache_dir=work / f"dl-{i}"))
            downloads.append(time.perf_counter() - start)
            assert _sha256(folder / "model.safetensors") == weights_sha
            shutil.rmtree(work / f"copy-{i}")
            shutil.rmtree(work / f"copy-fsync-{i}")
            shutil.rmtree(work / f"dl-{i}")
        api.create_tag("alice/bench-0", tag="v0.1.0")

        hub_env = hub.env(hf_home=work / "st-home")
        local_env = hub.env(hf_home=work / "st-home-local")
        hub_load = _cold_load(hub_env, "alice/bench-0", "v0.1.0")
        local_load = _cold_load(local_env, str(model_dir))

        def one_download(i: int) -> tuple[float, bool]:
            start = time.perf_counter()
            cache = work / f"conc-{i}"
            try:
                path = hf_hub_download("alice/bench-0", "model.safetensors", endpoint=hub.url, cache_dir=cache)
                return time.perf_counter() - start, _sha256(Path(path)) == weights_sha
            finally:
                shutil.rmtree(cache, ignore_errors=True)

        start = time.perf_counter()
        errors = 0
        durations: list[float] = []
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [pool.submit(one_download, i) for i in range(concurrency)]
            for future in futures:
                try:
                    seconds, ok = future.result()
                    durations.append(seconds)
                    errors += 0 if ok else 1
                except Exception:  # noqa: BLE001 - counted, reported
                    errors += 1
        concurrent_wall = time.perf_counter() - start

    best = {k: min(v) for k, v in copies.items()}
    up, down = min(uploads), min(downloads)
    return {
        "schema_version": 1,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_dir": str(model_dir),
        "folder_bytes": size,
        "repeats": repeats,
        "copy_seconds": best["copy"],
        "copy_fsync_seconds": best["copy_fsync"],
        "upload_seconds": up,
        "download_seconds": down,
        "upload_mb_s": mb / up,
        "download_mb_s": mb / down,
        "copy_mb_s": mb / best["copy"],
        "copy_fsync_mb_s": mb / best["copy_fsync"],
        "upload_ratio_vs_copy": best["copy"] / up,
        "download_ratio_vs_copy": best["copy"] / down,
        "upload_ratio_vs_copy_fsync": best["copy_fsync"] / up,
        "download_ratio_vs_copy_fsync": best["copy_fsync"] / down,
        "cold_load_hub": hub_load,
        "cold_load_local": local_load,
        "cold_load_ratio": hub_load["load_s"] / local_load["load_s"],
        "concurrent_downloads": {
            "n": concurrency,
            "errors": errors,
            "wall_seconds": concurrent_wall,
            "median_seconds": statistics.median(durations) if durations else None,
            "max_seconds": max(durations) if durations else None,
            "aggregate_mb_s": concurrency * weights.stat().st_size / 1e6 / concurrent_wall,
        },
        "raw": {"copy": copies["copy"], "copy_fsync": copies["copy_fsync"], "upload": uploads, "download": downloads},
    }


def _table(report: dict) -> None:
    rows = [
        ("copy (shutil.copytree)", f"{report['copy_seconds']:.2f} s  {report['copy_mb_s']:.0f} MB/s", "1.00×", ""),
        ("copy + fsync", f"{report['copy_fsync_seconds']:.2f} s  {report['copy_fsync_mb_s']:.0f} MB/s", "", "1.00×"),
    ]
    for kind in ("upload", "download"):
        rows.append(
            (
                f"{kind} through the hub",
                f"{report[f'{kind}_seconds']:.2f} s  {report[f'{kind}_mb_s']:.0f} MB/s",
                f"{report[f'{kind}_ratio_vs_copy']:.2f}×",
                f"{report[f'{kind}_ratio_vs_copy_fsync']:.2f}×",
            )
        )
    hub, local = report["cold_load_hub"], report["cold_load_local"]
    rows.append(
        ("cold SentenceTransformer load, hub", f"{hub['load_s']:.2f} s (+{hub['import_s']:.1f} s import)", "", "")
    )
    rows.append(
        (
            "cold SentenceTransformer load, folder",
            f"{local['load_s']:.2f} s (+{local['import_s']:.1f} s import)",
            "",
            "",
        )
    )
    conc = report["concurrent_downloads"]
    rows.append(
        (
            f"{conc['n']} concurrent weight downloads",
            f"{conc['errors']} errors, {conc['wall_seconds']:.1f} s, {conc['aggregate_mb_s']:.0f} MB/s",
            "",
            "",
        )
    )
    print_table(
        f"leaf-hub embedded Hub server ({report['folder_bytes'] / 1e6:.1f} MB model folder)",
        ("measurement", "value", "vs plain copy", "vs copy + fsync"),
        rows,
    )


def main() -> None:
    """Parse options, run, write JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model folder (default: the offline all-MiniLM-L6-v2)")
    parser.add_argument("--out", type=Path, default=None, help="default reports/bench_hub[_quick].json")
    parser.add_argument("--quick", action="store_true", help="4 concurrent downloads, one repetition")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    args.out = args.out or Path(f"reports/bench_hub{'_quick' if args.quick else ''}.json")
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    if args.model is None:
        from leaf_hub.assets import resolve_model

        args.model = Path(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))
    repeats, concurrency = (1, 4) if args.quick else (args.repeats, args.concurrency)
    work = Path(tempfile.mkdtemp(prefix="leaf-hub-bench-"))
    try:
        report = run(args.model, work, repeats=repeats, concurrency=concurrency)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["quick"] = args.quick
    out = write_report(args.out, report, stamp)
    _table(report)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
