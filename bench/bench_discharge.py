"""Benchmark: load and discharge on big synthetic clients (``make bench``).

Figures, not pass/fail.  For each size a fresh subprocess builds a client with
``immex_nb.samples.demo.big_client``, writes it as CSV, then times ``immex_nb.load``
and ``immex_nb.discharge`` separately over several runs, and reports
consumption events per second, the floor of one stable argsort of the result
rows, the resident memory just before the discharge (loaded tables), the peak RSS
during the discharges (the kernel's high-water mark, reset first) and the
process's overall peak RSS (generation, CSV parsing and discharge together).

    python bench/bench_discharge.py                 # 3 sizes up to 300k import lines
    python bench/bench_discharge.py --sizes 300000 --runs 5
    python bench/bench_discharge.py --sizes 200000 --directed 0.05   # + 5 % directed exits

With ``--directed SHARE`` each size also runs with that share of the export
lines directed (docs/rules/discharge.md: each names an earlier import
pedimento of one of its components, half of them the line too) and reports
the ratio of the best times, directed ÷ plain (target: ≤ 1.5).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memory import peak_mb, reset_peak, rss_mb


def one_size(n_imports: int, runs: int, load_runs: int, directed: float = 0.0) -> dict:
    import numpy as np

    from immex_nb import discharge, load
    from immex_nb.discharge import explode
    from immex_nb.samples.demo import big_client

    t = time.perf_counter()
    tables = big_client(n_imports=n_imports, seed=0, directed_share=directed)
    gen_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in tables.items():
            frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
        del tables, frame
        gc.collect()
        load_times = []
        for _ in range(load_runs):
            t = time.perf_counter()
            ledger = load(tmp)
            load_times.append(time.perf_counter() - t)
    imports, exports, bom = ledger.imports, ledger.exports, ledger.bom
    as_of = exports["date"].max()
    del ledger
    gc.collect()
    rss_before = rss_mb()
    times, peaks = [], []
    for _ in range(runs):
        result = None  # let the previous run's frames go before measuring the next
        gc.collect()
        reset_peak()
        t = time.perf_counter()
        result = discharge(imports, exports, bom, as_of=as_of)
        times.append(time.perf_counter() - t)
        peaks.append(peak_mb())
    import pandas as pd

    parts = pd.Index(
        pd.unique(pd.concat([imports.part_number, exports.part_number, bom.parent, bom.component]))
    )
    events = len(explode(exports, bom, parts)[0])
    rows = len(result.allocations)
    keys = np.random.default_rng(0).integers(0, 2**40, rows)
    t = time.perf_counter()
    np.argsort(keys, kind="stable")
    argsort_s = time.perf_counter() - t
    best = min(times)
    return {
        "directed_share": directed,
        "directed_lines": int((exports["import_pedimento"] != "").sum()),
        "directed_allocations": int(result.allocations["directed"].sum()),
        "import_lines": len(imports),
        "export_lines": len(exports),
        "bom_rows": len(bom),
        "events": events,
        "allocations": rows,
        "generate_s": round(gen_s, 3),
        "load_s_median": round(statistics.median(load_times), 3),
        "discharge_s_best": round(best, 3),
        "discharge_s_median": round(statistics.median(times), 3),
        "events_per_s": int(events / best),
        "argsort_floor_s": round(argsort_s, 3),
        "rss_before_discharge_mb": round(rss_before, 1),
        "discharge_peak_rss_mb": round(max(peaks), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[75_000, 150_000, 300_000])
    p.add_argument("--runs", type=int, default=3, help="discharge runs per size")
    p.add_argument("--load-runs", type=int, default=1, help="load runs per size")
    p.add_argument(
        "--directed", type=float, default=0.0, help="also run with this share of directed exits"
    )
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--share", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.runs, args.load_runs, args.share)))
        return 0
    header = (
        f"{'imports':>9} {'exports':>8} {'events':>10} {'allocs':>10} {'load s':>7} "
        f"{'disch s':>8} {'median':>7} {'events/s':>11} {'argsort':>8} {'RSS MB':>7} {'disch pk':>8} {'peak MB':>8}"
    )
    print("immex-nb discharge benchmark (best of runs; each size in its own process)")
    print(f"{'directed':>8} " + header)
    shares = [0.0] + ([args.directed] if args.directed > 0 else [])
    for n in args.sizes:
        best = {}
        for share in shares:
            r = _run_one(n, args, share)
            best[share] = r["discharge_s_best"]
            _print_row(r)
        if len(shares) > 1:
            print(
                f"{'':>8} directed {args.directed:.0%} of exits: discharge "
                f"{best[args.directed] / best[0.0]:.2f}× the run without them",
                flush=True,
            )
    return 0


def _run_one(n: int, args, share: float) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            str(n),
            "--runs",
            str(args.runs),
            "--load-runs",
            str(args.load_runs),
            "--share",
            str(share),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print_row(r: dict) -> None:
    print(
        f"{r['directed_share']:>8.0%} "
        f"{r['import_lines']:>9,} {r['export_lines']:>8,} {r['events']:>10,} {r['allocations']:>10,} "
        f"{r['load_s_median']:>7.2f} {r['discharge_s_best']:>8.2f} {r['discharge_s_median']:>7.2f} "
        f"{r['events_per_s']:>11,} {r['argsort_floor_s']:>8.3f} {r['rss_before_discharge_mb']:>7.0f} "
        f"{r['discharge_peak_rss_mb']:>8.0f} {r['peak_rss_mb']:>8.0f}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
