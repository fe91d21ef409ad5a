"""Soak the embedded Hub server: mixed uploads and downloads from several client processes on loopback.

The server (``python -m leaf_hub.hub_server``, default settings: fsync on) runs in a subprocess;
``--clients`` worker processes (default 4) each loop until ``--seconds`` (default 300) have passed,
picking at random (seeded) among real ``huggingface_hub`` calls on one shared repo:

* ``upload_text``: ``upload_file`` of a few real corpus lines (a regular git blob, one commit);
* ``upload_lfs``: ``upload_file`` of a 1 MiB slice of the real all-MiniLM-L6-v2 weights at a new
  offset (an LFS object: batch, PUT, commit);
* ``download_text`` / ``download_lfs``: ``hf_hub_download(force_download=True)`` of a seeded file,
  checked by sha256;
* ``list``: ``list_repo_files``.

Reported: operations/s and HTTP requests/s (from the server's access log), p50/p99 latency per
operation and overall, errors (goal: 0; any 5xx in the access log counts too), and the server's RSS
at the start of the soak, at the end and its peak. Writes JSON (default ``reports/bench_soak.json``,
with the duration it ran) and prints a rich table. The target, declared here (:data:`TARGETS`) and
checked in the report's stamp: no error, and the repository passes ``git fsck --strict``.

``--quick`` (a check that the script works, not a figure) runs 8 s with 2 clients and writes
``reports/bench_soak_quick.json`` unless ``--out`` is given. The default run takes its
``--seconds`` (300) plus the server's start, the seeding and the clients' start: about 6 min.
"""

from __future__ import annotations

import os

# huggingface_hub reads these once, at import time.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.pop("HF_TOKEN", None)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from common import Target, print_table, start_stamp, write_report  # noqa: E402

REPO = "alice/soak"
MIB = 1024 * 1024
OPERATIONS = {"upload_text": 2, "upload_lfs": 1, "download_text": 4, "download_lfs": 2, "list": 2}
#: Declared before any run: the goal of the soak.
TARGETS = (
    Target("no client, worker or server (5xx) error", "errors", "==", 0),
    Target("the repository passes git fsck --strict", "git_fsck_ok", "==", True),
)
_ACCESS = re.compile(r"leaf_hub\.hub_server\.access: (\S+) (\S+) (\d{3}|-) ")


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# ---------------------------------------------------------------------------------------------
# worker process
# ---------------------------------------------------------------------------------------------


def worker(index: int, deadline: float, weights: Path, texts: Path, out: Path, seed: int) -> None:
    """One client process: random operations until ``deadline`` (a ``time.time()``); results to ``out``."""
    from huggingface_hub import HfApi, hf_hub_download

    endpoint = os.environ["HF_ENDPOINT"]
    api = HfApi(endpoint=endpoint, token=os.environ["LEAF_SOAK_TOKEN"])
    rng = random.Random(seed * 1000 + index)
    lines = texts.read_text(encoding="utf-8").splitlines()
    size = weights.stat().st_size
    seeded = json.loads(os.environ["LEAF_SOAK_SEEDED"])
    names, cumulative = list(OPERATIONS), list(OPERATIONS.values())
    records: list[dict] = []
    counter = 0
    while time.time() < deadline:
        op = rng.choices(names, weights=cumulative)[0]
        counter += 1
        start = time.perf_counter()
        error = None
        try:
            if op == "upload_text":
                first = rng.randrange(len(lines) - 5)
                content = ("\n".join(lines[first : first + 5]) + "\n").encode()
                api.upload_file(
                    path_or_fileobj=content,
                    path_in_repo=f"w{index}/note-{counter % 20}.txt",
                    repo_id=REPO,
                    commit_message=f"worker {index} note {counter}",
                )
            elif op == "upload_lfs":
                offset = rng.randrange(0, size - MIB)
                with weights.open("rb") as fh:
                    fh.seek(offset)
                    blob = fh.read(MIB)
                api.upload_file(
                    path_or_fileobj=blob,
                    path_in_repo=f"w{index}/blob-{counter % 5}.bin",
                    repo_id=REPO,
                    commit_message=f"worker {index} blob {counter}",
                )
            elif op in ("download_text", "download_lfs"):
                name = "seed/text.txt" if op == "download_text" else "seed/blob.bin"
                with tempfile.TemporaryDirectory(prefix="soak-dl-") as cache:
                    path = hf_hub_download(REPO, name, cache_dir=cache, endpoint=endpoint, force_download=True)
                    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                if digest != seeded[name]:
                    raise ValueError(f"{name}: sha256 mismatch")
            else:
                api.list_repo_files(REPO)
        except Exception as exc:  # noqa: BLE001 - every failure is a reported error
            error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        records.append({"op": op, "seconds": time.perf_counter() - start, "error": error})
    out.write_text(json.dumps(records))


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------


def _real_inputs(folder: Path) -> tuple[Path, Path]:
    """The real MiniLM weights (LFS payloads) and real corpus lines (text payloads)."""
    from leaf_hub.assets import data_root, resolve_model

    weights = Path(resolve_model("sentence-transformers/all-MiniLM-L6-v2")) / "model.safetensors"
    texts = folder / "texts.txt"
    with (data_root() / "distill" / "corpus_en.txt").open(encoding="utf-8") as fh:
        texts.write_text("".join(next(fh) for _ in range(2000)), encoding="utf-8")
    return weights, texts


def soak(seconds: float, clients: int, seed: int) -> dict:
    from huggingface_hub import HfApi

    from leaf_hub.hub_server import TokenSpec, running_hub_server

    tokens = [TokenSpec.generate("alice")]
    with (
        tempfile.TemporaryDirectory(prefix="leaf-hub-soak-") as tmp,
        running_hub_server(Path(tmp) / "hub", tokens=tokens) as hub,
    ):
        folder = Path(tmp)
        weights, texts = _real_inputs(folder)
        api = HfApi(endpoint=hub.url, token=hub.write_token)
        api.create_repo(REPO)
        with weights.open("rb") as fh:
            blob = fh.read(2 * MIB)
        text = texts.read_bytes()[: 64 * 1024]
        api.upload_file(path_or_fileobj=text, path_in_repo="seed/text.txt", repo_id=REPO)
        api.upload_file(path_or_fileobj=blob, path_in_repo="seed/blob.bin", repo_id=REPO)
        seeded = {
            "seed/text.txt": hashlib.sha256(text).hexdigest(),
            "seed/blob.bin": hashlib.sha256(blob).hexdigest(),
        }
        log_offset = hub.log_path.stat().st_size
        server_pid = hub.pid
        assert server_pid is not None
        rss: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                value = _rss_mb(server_pid)
                if value is not None:
                    rss.append((time.time(), value))
                stop.wait(1.0)

        env = {
            **hub.env(),
            "LEAF_SOAK_TOKEN": hub.write_token,  # in the environment, never on a command line
            "LEAF_SOAK_SEEDED": json.dumps(seeded),
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        start = time.time()
        deadline = start + seconds
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        procs = []
        for index in range(clients):
            out = folder / f"worker-{index}.json"
            command = [sys.executable, __file__, "--worker", str(index), "--deadline", repr(deadline)]
            command += ["--weights", str(weights), "--texts", str(texts), "--result", str(out), "--seed", str(seed)]
            env_i = {**env, "HF_HOME": str(folder / f"hf-{index}")}
            procs.append((subprocess.Popen(command, env=env_i), out))
        for proc, _ in procs:
            proc.wait(timeout=seconds + 600)
        elapsed = time.time() - start
        stop.set()
        sampler.join()
        records = [r for proc, out in procs if out.exists() for r in json.loads(out.read_text())]
        worker_failures = sum(proc.returncode != 0 for proc, _ in procs)
        with hub.log_path.open("rb") as fh:
            fh.seek(log_offset)
            access = [m.groups() for m in _ACCESS.finditer(fh.read().decode("utf-8", "replace"))]
        commits = len(api.list_repo_commits(REPO))
        fsck = subprocess.run(
            ["git", "--git-dir", str(hub.data_dir / "repos" / "models" / "alice" / "soak.git"), "fsck", "--strict"],
            capture_output=True,
            text=True,
        )
    return _summarise(records, access, rss, elapsed, seconds, clients, seed, worker_failures, commits, fsck)


def _summarise(
    records: list[dict],
    access: list[tuple[str, str, str]],
    rss: list[tuple[float, float]],
    elapsed: float,
    seconds: float,
    clients: int,
    seed: int,
    worker_failures: int,
    commits: int,
    fsck: subprocess.CompletedProcess[str],
) -> dict:
    statuses = Counter(status for _, _, status in access)
    per_op = {}
    for op in OPERATIONS:
        times = [r["seconds"] for r in records if r["op"] == op and r["error"] is None]
        errors = [r["error"] for r in records if r["op"] == op and r["error"] is not None]
        per_op[op] = {
            "count": len(times) + len(errors),
            "errors": len(errors),
            "p50_ms": 1000 * _percentile(times, 0.50),
            "p99_ms": 1000 * _percentile(times, 0.99),
        }
    ok = [r["seconds"] for r in records if r["error"] is None]
    errors = [r["error"] for r in records if r["error"] is not None]
    rss_values = [v for _, v in rss]
    server_errors = sum(n for status, n in statuses.items() if status.startswith("5"))
    return {
        "benchmark": "bench_soak",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": round(elapsed, 1),
        "requested_seconds": seconds,
        "clients": clients,
        "seed": seed,
        "operations": len(records),
        "operations_per_s": len(records) / elapsed,
        "http_requests": len(access),
        "http_requests_per_s": len(access) / elapsed,
        "http_statuses": dict(sorted(statuses.items())),
        "latency_p50_ms": 1000 * _percentile(ok, 0.50),
        "latency_p99_ms": 1000 * _percentile(ok, 0.99),
        "per_operation": per_op,
        "errors": len(errors) + server_errors + worker_failures,
        "client_errors": sorted(Counter(errors).items(), key=lambda kv: -kv[1])[:10],
        "server_5xx": server_errors,
        "worker_process_failures": worker_failures,
        "commits_in_repo": commits,
        "git_fsck_ok": fsck.returncode == 0,
        "server_rss_mb": {
            "start": rss_values[0] if rss_values else None,
            "end": rss_values[-1] if rss_values else None,
            "peak": max(rss_values) if rss_values else None,
            "growth": (rss_values[-1] - rss_values[0]) if rss_values else None,
            "samples": len(rss_values),
            # every 10th one-second sample: does RSS level off (caches filled) or keep climbing (a leak)?
            "timeline": [[round(t - rss[0][0]), round(v, 1)] for t, v in rss[::10]] if rss else [],
        },
    }


def _table(result: dict) -> None:
    rows = [
        (op, str(row["count"]), str(row["errors"]), f"{row['p50_ms']:.0f}", f"{row['p99_ms']:.0f}")
        for op, row in result["per_operation"].items()
    ]
    rows.append(
        (
            "**all**",
            str(result["operations"]),
            str(result["errors"]),
            f"{result['latency_p50_ms']:.0f}",
            f"{result['latency_p99_ms']:.0f}",
        )
    )
    rss = result["server_rss_mb"]
    print_table(
        f"hub server soak: {result['duration_s']:.0f} s, {result['clients']} client processes, loopback",
        ("operation", "count", "errors", "p50 ms", "p99 ms"),
        rows,
        caption=f"{result['operations_per_s']:.1f} ops/s, {result['http_requests_per_s']:.1f} HTTP requests/s "
        f"({result['http_statuses']}); server RSS {rss['start']:.0f} -> {rss['end']:.0f} MB "
        f"(peak {rss['peak']:.0f}, growth {rss['growth']:+.1f}); {result['commits_in_repo']} commits, "
        f"git fsck {'ok' if result['git_fsck_ok'] else 'FAILED'}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="soak duration (default 300)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="8 s, 2 clients")
    parser.add_argument("--out", type=Path, default=None, help="default reports/bench_soak[_quick].json")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.deadline, args.weights, args.texts, args.result, args.seed)
        return
    if args.quick:
        args.seconds, args.clients = 8.0, 2
    args.out = args.out or Path(f"reports/bench_soak{'_quick' if args.quick else ''}.json")
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    result = soak(args.seconds, args.clients, args.seed)
    result["quick"] = args.quick
    _table(result)
    out = write_report(args.out, result, stamp)
    print(f"wrote {out}")
    if result["errors"] or not result["git_fsck_ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
