"""Benchmark: loading a big client from CSV (``make bench``).

Figures, not pass/fail.  For each size a subprocess builds a client with
``immex_nb.samples.demo.big_client(n_imports=N, seed=0)`` (exports 0.4 × N,
each export line exploding into about 24 consumption events: 1.05 M import
lines ≈ 10 M events) and writes its tables as CSV; then each run times
``immex_nb.load(folder)`` in a fresh Python process — what the CLI, a notebook
and a report pay — after importing the package (timed apart).  It prints the
curve: lines read, seconds (best and median of the runs), rows per second,
CPU seconds of the best run, the package's import time, the peak resident
memory of the loading process, and the machine's 1-minute load average during
the runs (other work on the machine slows every figure: compare runs made
under similar load).

    python bench/bench_load.py                          # 100k … 1.05M import lines
    python bench/bench_load.py --sizes 1050000 --runs 5
    python bench/bench_load.py --data /tmp/clients      # keep the CSV clients for next time

The code timed is the ``immex_nb`` the subprocesses import: set ``PYTHONPATH``
to time another checkout on the same CSV files (``--data``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memory import peak_mb, rss_mb

DEFAULT_SIZES = [100_000, 250_000, 500_000, 1_050_000]


def write_client(n_imports: int, folder: Path) -> dict:
    """Build the benchmark client and write its tables as CSV into ``folder``."""
    from immex_nb.samples.demo import big_client

    folder.mkdir(parents=True, exist_ok=True)
    tables = big_client(n_imports=n_imports, seed=0)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    info = {
        "n_imports": n_imports,
        "lines": {name: len(frame) for name, frame in tables.items()},
        "mb": round(sum((folder / f"{n}.csv").stat().st_size for n in tables) / 1e6, 1),
    }
    (folder / "bench.json").write_text(json.dumps(info))
    return info


def time_load(folder: Path) -> dict:
    """One load of ``folder`` in this (fresh) process."""
    load_avg = os.getloadavg()[0]
    t = time.perf_counter()
    import immex_nb

    import_s = time.perf_counter() - t
    rss_before = rss_mb()
    t, cpu = time.perf_counter(), time.process_time()
    ledger = immex_nb.load(folder)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    summary = ledger.summary()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "import_s": import_s,
        "read": sum(ledger.read.values()),
        "rejected": int(summary["rejected"].sum()),
        # every row read is loaded or rejected (docs/rules/validation.md)
        "accounted": bool((summary["read"] == summary["loaded"] + summary["rejected"]).all()),
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak_mb(),
        "load_avg": max(load_avg, os.getloadavg()[0]),
    }


def _subprocess(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _client(n: int, root: Path) -> tuple[Path, dict]:
    folder = root / f"big-{n}"
    marker = folder / "bench.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("n_imports") == n:
            return folder, info
    return folder, _subprocess("--write", str(n), str(folder))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        type=lambda s: [int(float(x)) for x in s.replace(",", " ").split()],
        nargs="+",
        default=[DEFAULT_SIZES],
        help="import lines per client (e.g. --sizes 100000 1050000, or '1e5,1.05e6')",
    )
    p.add_argument("--runs", type=int, default=3, help="fresh-process loads per size")
    p.add_argument("--data", type=Path, help="keep (and reuse) the CSV clients in this folder")
    p.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--time", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.write:
        print(json.dumps(write_client(int(args.write[0]), Path(args.write[1]))))
        return 0
    if args.time:
        print(json.dumps(time_load(args.time)))
        return 0
    sizes = [n for group in args.sizes for n in group]
    print(
        f"immex-nb load benchmark: CSV client → immex_nb.load, each run a fresh process "
        f"(best/median of {args.runs}; {os.cpu_count()} CPUs)"
    )
    print(
        f"{'imports':>9} {'exports':>8} {'bom':>6} {'CSV MB':>7} {'best s':>7} {'median':>7} "
        f"{'CPU s':>6} {'rows/s':>10} {'import s':>8} {'peak MB':>8} {'load avg':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        for n in sizes:
            folder, info = _client(n, root)
            runs = [_subprocess("--time", str(folder)) for _ in range(args.runs)]
            _print_row(info, runs)
    return 0


def _print_row(info: dict, runs: list[dict]) -> None:
    best = min(runs, key=lambda r: r["wall_s"])
    loads = [r["load_avg"] for r in runs]
    lines = info["lines"]
    print(
        f"{lines['imports']:>9,} {lines['exports']:>8,} {lines.get('bom', 0):>6,} "
        f"{info['mb']:>7.1f} {best['wall_s']:>7.2f} "
        f"{statistics.median(r['wall_s'] for r in runs):>7.2f} {best['cpu_s']:>6.2f} "
        f"{best['read'] / best['wall_s']:>10,.0f} "
        f"{statistics.median(r['import_s'] for r in runs):>8.2f} "
        f"{max(r['peak_rss_mb'] for r in runs):>8.0f} "
        f"{min(loads):>4.1f}–{max(loads):<4.1f}",
        flush=True,
    )
    if not all(r["accounted"] for r in runs):
        print("          (some rows neither loaded nor rejected: a bug)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
