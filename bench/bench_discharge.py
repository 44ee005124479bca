"""Benchmark: the discharge's scaling curve on big synthetic clients (``make bench``).

Figures, not pass/fail.  Each size runs in its own fresh process, which builds
a client with ``immex_nb.samples.demo.big_client`` (about 9.5 consumption
events per import line), writes it as CSV, loads it with ``immex_nb.load``
(timed), then runs ``immex_nb.discharge`` once **cold** — the first call in
the process, what the CLI, a notebook and a report pay — and then warm.  It
prints per size:

* events, allocation rows, load seconds;
* the cold discharge, wall and CPU seconds, and the best warm run;
* the floor: one stable ``argsort`` of as many random int64 keys as there are
  allocation rows, and the cold discharge's CPU time over that floor's;
* the peak RSS during the cold discharge (the kernel's high-water mark, reset
  just before it: loaded tables + engine + result), the RSS of the loaded
  tables before it, the result frames' own size, and the bytes per allocation
  row of the discharge's growth (peak − before) and of the frames;
* the load average (on a shared machine the wall time says little).

    python bench/bench_discharge.py                          # 0.5, 1, 2, 5 and 10 M events
    python bench/bench_discharge.py --events 2 --runs 3
    python bench/bench_discharge.py --events 2 --directed 0.05   # + 5 % directed exits

With ``--directed SHARE`` each size also runs with that share of the export
lines directed (docs/rules/discharge.md: each names an earlier import
pedimento of one of its components, half of them the line too) and reports
the ratio of the cold CPU times, directed ÷ plain (target: ≤ 1.5).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memory import peak_mb, reset_peak, rss_mb

EVENTS_PER_IMPORT = 9.55  # big_client: about 1.91 M events for 200,000 import lines


def one_size(n_imports: int, runs: int, directed: float = 0.0) -> dict:
    import numpy as np
    import pandas as pd

    from immex_nb import discharge, load
    from immex_nb.discharge import explode
    from immex_nb.samples.demo import big_client

    tables = big_client(n_imports=n_imports, seed=0, directed_share=directed)
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables.items():
            frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
        del tables, frame
        gc.collect()
        t = time.perf_counter()
        ledger = load(tmp)
        load_s = time.perf_counter() - t
    imports, exports, bom = ledger.imports, ledger.exports, ledger.bom
    as_of = exports["date"].max()
    del ledger
    gc.collect()
    rss_before = rss_mb()
    reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    result = discharge(imports, exports, bom, as_of=as_of)
    cold_wall, cold_cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = peak_mb()
    rows = len(result.allocations)
    frames_mb = (
        sum(
            getattr(result, name).memory_usage(deep=True).sum()
            for name in ("allocations", "balances", "shortfalls")
        )
        / 2**20
    )
    parts = pd.Index(
        pd.unique(pd.concat([imports.part_number, exports.part_number, bom.parent, bom.component]))
    )
    events = len(explode(exports[exports["date"] <= as_of], bom, parts)[0])
    directed_rows = int(result.allocations["directed"].sum())
    keys = np.random.default_rng(0).integers(0, 2**40, rows)
    floor_wall, floor_cpu = [], []
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        np.argsort(keys, kind="stable")
        floor_wall.append(time.perf_counter() - wall)
        floor_cpu.append(time.process_time() - cpu)
    del keys
    warm = []
    for _ in range(max(runs - 1, 0)):
        result = None  # let the previous run's frames go first
        gc.collect()
        t = time.perf_counter()
        result = discharge(imports, exports, bom, as_of=as_of)
        warm.append(time.perf_counter() - t)
    return {
        "directed_share": directed,
        "directed_allocations": directed_rows,
        "import_lines": len(imports),
        "export_lines": len(exports),
        "events": events,
        "allocations": rows,
        "load_s": round(load_s, 2),
        "cold_wall_s": round(cold_wall, 2),
        "cold_cpu_s": round(cold_cpu, 2),
        "warm_best_s": round(min(warm), 2) if warm else None,
        "argsort_s": round(min(floor_cpu), 3),
        "argsort_wall_s": round(min(floor_wall), 3),
        "ratio": round(cold_cpu / min(floor_cpu), 1),
        "rss_before_mb": round(rss_before),
        "peak_mb": round(peak),
        "frames_mb": round(frames_mb),
        "growth_bytes_per_row": round((peak - rss_before) * 2**20 / max(rows, 1)),
        "frame_bytes_per_row": round(frames_mb * 2**20 / max(rows, 1)),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--events",
        type=float,
        nargs="+",
        default=[0.5, 1, 2, 5, 10],
        help="sizes, in millions of consumption events",
    )
    p.add_argument("--runs", type=int, default=2, help="discharge runs per size (the first cold)")
    p.add_argument(
        "--directed", type=float, default=0.0, help="also run with this share of directed exits"
    )
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--share", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.runs, args.share)))
        return 0
    print("immex-nb discharge: scaling curve (each size in a fresh process; cold = first call)")
    print(
        f"{'dir':>4} {'imports':>9} {'events':>10} {'allocs':>10} {'load s':>7} "
        f"{'cold s':>7} {'cold cpu':>8} {'warm s':>7} {'argsort':>8} {'ratio':>6} "
        f"{'peak MB':>8} {'tables':>7} {'frames':>7} {'B/row':>6} {'frm B/r':>7} {'load':>5}"
    )
    shares = [0.0] + ([args.directed] if args.directed > 0 else [])
    for millions in args.events:
        n_imports = max(1_000, int(millions * 1e6 / EVENTS_PER_IMPORT))
        cold = {}
        for share in shares:
            r = _run_one(n_imports, args.runs, share)
            cold[share] = r["cold_cpu_s"]
            _print_row(r)
        if len(shares) > 1:
            print(
                f"     directed {args.directed:.0%} of exits: cold discharge "
                f"{cold[args.directed] / cold[0.0]:.2f}× the run without them (CPU)",
                flush=True,
            )
    print(
        "ratio = cold CPU ÷ one stable argsort of the allocation rows (CPU); peak = process "
        "high-water mark during the cold run; tables = RSS of the loaded tables before it; "
        "B/row = (peak − tables) per allocation row; frm B/r = result frames per row"
    )
    return 0


def _run_one(n_imports: int, runs: int, share: float) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            str(n_imports),
            "--runs",
            str(runs),
            "--share",
            str(share),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print_row(r: dict) -> None:
    warm = f"{r['warm_best_s']:>7.2f}" if r["warm_best_s"] is not None else f"{'-':>7}"
    print(
        f"{r['directed_share']:>4.0%} {r['import_lines']:>9,} {r['events']:>10,} "
        f"{r['allocations']:>10,} {r['load_s']:>7.2f} {r['cold_wall_s']:>7.2f} "
        f"{r['cold_cpu_s']:>8.2f} {warm} {r['argsort_s']:>8.3f} {r['ratio']:>6.1f} "
        f"{r['peak_mb']:>8,} {r['rss_before_mb']:>7,} {r['frames_mb']:>7,} "
        f"{r['growth_bytes_per_row']:>6,} {r['frame_bytes_per_row']:>7,} {r['load_average']:>5.1f}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
