"""Peak disk use of a command, such as the CI test suite: ``python scripts/bench/bench_test_disk.py -- bash .ci/run``.

Every ``--every`` seconds it sums the blocks of what the run added to the temporary folder (pytest's
``pytest-of-<user>`` root and every entry that was not there at the start: the suite's scratch folder,
subprocesses' leftovers) and reads the disk's free space. It writes the peak, the end state and the
command's exit status to ``reports/test_disk.json`` and prints a table. Standard library only, so it
can wrap the command that builds the venv. The disk is shared with other machines' work, so the fall in
free space is recorded but the temporary-folder sum is the figure of record. No target is declared
(:data:`TARGETS` is empty).

``--quick`` (a check that the script works, not a figure) wraps, unless a command is given, a
one-second Python command that writes 8 MiB into a temporary folder and deletes it, samples every
0.25 s, and writes ``reports/test_disk_quick.json`` unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import print_table, start_stamp, write_report

GIB = 1024**3
#: No target: the report measures what a command adds to the temporary folder.
TARGETS = ()
#: What ``--quick`` wraps: 8 MiB written into a temporary folder, held for a second, deleted.
QUICK_COMMAND = [
    sys.executable,
    "-c",
    "import os, tempfile, time\n"
    "with tempfile.TemporaryDirectory(prefix='bench-test-disk-quick-') as d:\n"
    "    open(os.path.join(d, 'blob'), 'wb').write(os.urandom(8 << 20))\n"
    "    time.sleep(1.0)\n",
]


def tree_bytes(path: Path) -> int:
    """Allocated bytes under ``path`` (files vanishing mid-walk are skipped)."""
    total = 0
    stack = [path]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except (NotADirectoryError, FileNotFoundError, PermissionError):
            try:
                total += current.lstat().st_blocks * 512
            except OSError:
                pass
    return total


class Sampler(threading.Thread):
    """Samples the temporary folder and the disk until stopped."""

    def __init__(self, tmp_root: Path, every: float) -> None:
        super().__init__(daemon=True)
        self.tmp_root, self.every = tmp_root, every
        self.before = {entry.name for entry in os.scandir(tmp_root)}
        self.before.discard(f"pytest-of-{getpass.getuser()}")
        self.samples: list[tuple[float, int, int]] = []  # (seconds, tmp bytes, free bytes)
        self.stop = threading.Event()
        self.start_time = time.monotonic()

    def added_bytes(self) -> int:
        """Bytes in the temporary folder's entries that were not there at the start (and pytest's root)."""
        total = 0
        for entry in os.scandir(self.tmp_root):
            if entry.name not in self.before:
                total += tree_bytes(Path(entry.path))
        return total

    def sample(self) -> None:
        self.samples.append(
            (time.monotonic() - self.start_time, self.added_bytes(), shutil.disk_usage(self.tmp_root).free)
        )

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--out", type=Path, default=None, help="default reports/test_disk[_quick].json")
    parser.add_argument("--quick", action="store_true", help="a one-second 8 MiB command, sampled every 0.25 s")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] or (QUICK_COMMAND if args.quick else ["bash", ".ci/run"])
    if args.quick:
        args.every = min(args.every, 0.25)
    args.out = args.out or Path(f"reports/test_disk{'_quick' if args.quick else ''}.json")

    tmp_root = Path(tempfile.gettempdir())
    stamp = start_stamp(__file__, TARGETS, quick=args.quick)
    pytest_root = tmp_root / f"pytest-of-{getpass.getuser()}"
    root_before = tree_bytes(pytest_root) if pytest_root.exists() else 0
    sampler = Sampler(tmp_root, args.every)
    sampler.sample()
    sampler.start()
    started = time.monotonic()
    code = subprocess.call(command)
    wall = time.monotonic() - started
    sampler.stop.set()
    sampler.join()
    sampler.sample()

    peak_at, peak_tmp, _ = max(sampler.samples, key=lambda s: s[1])
    free_start, free_min = sampler.samples[0][2], min(s[2] for s in sampler.samples)
    report = {
        "command": command,
        "exit_code": code,
        "wall_s": round(wall, 1),
        "samples": len(sampler.samples),
        "every_s": args.every,
        "tmp_root": str(tmp_root),
        "pytest_root_bytes_before": root_before,
        "peak_tmp_bytes": peak_tmp,
        "peak_tmp_gib": round(peak_tmp / GIB, 2),
        "peak_at_s": round(peak_at, 1),
        "end_tmp_bytes": sampler.samples[-1][1],
        "end_tmp_gib": round(sampler.samples[-1][1] / GIB, 2),
        "disk_free_start_gib": round(free_start / GIB, 2),
        "disk_free_min_gib": round(free_min / GIB, 2),
        "quick": args.quick,
        "trace": [[round(t, 1), round(b / GIB, 3)] for t, b, _ in sampler.samples],
    }
    out = write_report(args.out, report, stamp)
    rows = [
        ("exit code", str(code)),
        ("wall", f"{wall:,.0f} s"),
        ("peak added to temp folder", f"{report['peak_tmp_gib']} GiB at {peak_at:,.0f} s"),
        ("left in temp folder at the end", f"{report['end_tmp_gib']} GiB"),
        ("disk free: start / lowest", f"{report['disk_free_start_gib']} / {report['disk_free_min_gib']} GiB"),
    ]
    print_table(f"disk use of {' '.join(command)}", ("measurement", "value"), rows)
    print(f"wrote {out}")
    return code


if __name__ == "__main__":
    sys.exit(main())
