"""Benchmark: exposure against the discharge on the same balances (``make bench``).

Figures, not pass/fail.  Target (issue 15): exposure ≤ 0.5× the discharge
time, both on a first (cold) call in a fresh process — what the command line,
a notebook and a report pay.  For each size the client is written as CSV by
``immex_nb.samples.demo.big_client(n_imports=N, seed=0)`` in one subprocess,
then a fresh subprocess loads it, runs ``discharge`` once (cold) and
``exposure`` once (cold, the built-in rate tables read on that call) on its
balances as of the latest export date, then a few warm runs of each.  Printed
per size: wall and CPU seconds of each, exposure ÷ discharge (cold and best
warm), the exposure's peak RSS (high-water mark reset before it), the
process's peak RSS and the load average (1 min) before and after.

    python bench/bench_exposure.py                       # 200k and 1M import lines
    python bench/bench_exposure.py --sizes 200000 --warm 3
    python bench/bench_exposure.py --client /tmp/c200k   # a client folder already written
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memory import peak_mb, reset_peak, rss_mb


def _timed(fn):
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def measure(folder: str, warm: int) -> dict:
    """In a fresh process: load, then cold and warm discharge and exposure."""
    load_before = os.getloadavg()[0]
    from immex_nb import discharge, load
    from immex_nb.exposure import exposure

    ledger, load_s, _ = _timed(lambda: load(folder))
    imports, exports, bom = ledger.imports, ledger.exports, ledger.bom
    as_of = exports["date"].max()
    result, d_wall, d_cpu = _timed(lambda: discharge(imports, exports, bom, as_of=as_of))
    balances = result.balances
    del result
    gc.collect()
    rss_before = rss_mb()
    reset_peak()
    frame, e_wall, e_cpu = _timed(lambda: exposure(balances, as_of))
    e_peak = peak_mb()
    rows = len(frame)
    expired = int((frame["status"] == "expired").sum())
    del frame
    d_warm, e_warm = [], []
    for _ in range(warm):
        result = None  # let the previous run's frames go first
        result, w, _ = _timed(lambda: discharge(imports, exports, bom, as_of=as_of))
        d_warm.append(w)
        frame = None
        frame, w, _ = _timed(lambda: exposure(balances, as_of))
        e_warm.append(w)
    return {
        "import_lines": len(imports),
        "balances": len(balances),
        "open_lines": rows,
        "expired_lines": expired,
        "as_of": str(as_of.date()),
        "load_s": round(load_s, 3),
        "discharge_cold_s": round(d_wall, 3),
        "discharge_cold_cpu_s": round(d_cpu, 3),
        "exposure_cold_s": round(e_wall, 3),
        "exposure_cold_cpu_s": round(e_cpu, 3),
        "ratio_cold": round(e_wall / d_wall, 3),
        "discharge_warm_best_s": round(min(d_warm), 3) if d_warm else None,
        "exposure_warm_best_s": round(min(e_warm), 3) if e_warm else None,
        "ratio_warm": round(min(e_warm) / min(d_warm), 3) if d_warm else None,
        "rss_before_exposure_mb": round(rss_before, 1),
        "exposure_peak_rss_mb": round(e_peak, 1),
        "exposure_extra_mb": round(e_peak - rss_before, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(os.getloadavg()[0], 2),
    }


def write_client(n_imports: int, folder: str) -> None:
    """The benchmark client as CSV files (run in its own process)."""
    from immex_nb.samples.demo import big_client

    for name, frame in big_client(n_imports=n_imports, seed=0).items():
        frame.to_csv(Path(folder) / f"{name}.csv", index=False)


def _child(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""


def _print_row(r: dict) -> None:
    warm = (
        f"{r['discharge_warm_best_s']:>7.2f} {r['exposure_warm_best_s']:>7.3f} {r['ratio_warm']:>6.2f}"
        if r["discharge_warm_best_s"] is not None
        else f"{'':>7} {'':>7} {'':>6}"
    )
    print(
        f"{r['import_lines']:>9,} {r['open_lines']:>8,} {r['load_s']:>6.2f} "
        f"{r['discharge_cold_s']:>7.2f} {r['discharge_cold_cpu_s']:>6.2f} "
        f"{r['exposure_cold_s']:>7.3f} {r['exposure_cold_cpu_s']:>6.3f} {r['ratio_cold']:>6.2f} "
        f"{warm} {r['exposure_extra_mb']:>8.0f} {r['peak_rss_mb']:>7.0f} "
        f"{r['load_avg_before']:>5.2f}/{r['load_avg_after']:<5.2f}",
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[200_000, 1_000_000])
    p.add_argument(
        "--client", nargs="+", help="client folders already written (instead of --sizes)"
    )
    p.add_argument("--warm", type=int, default=2, help="warm runs of each after the cold one")
    p.add_argument("--measure", help=argparse.SUPPRESS)
    p.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.warm)))
        return 0
    if args.write:
        write_client(int(args.write[0]), args.write[1])
        return 0
    print(
        "immex-nb exposure benchmark: cold = first call in a fresh process; target exposure ≤ 0.5× discharge"
    )
    print(
        f"{'imports':>9} {'open':>8} {'load s':>6} {'disch s':>7} {'cpu':>6} {'expo s':>7} {'cpu':>6} "
        f"{'ratio':>6} {'d warm':>7} {'e warm':>7} {'ratio':>6} {'expo +MB':>8} {'peak MB':>7} {'load avg':>11}"
    )
    for folder in args.client or []:
        _print_row(json.loads(_child("--measure", folder, "--warm", str(args.warm))))
    if args.client:
        return 0
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            _child("--write", str(n), tmp)
            _print_row(json.loads(_child("--measure", tmp, "--warm", str(args.warm))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
