"""Benchmark: the monthly report's ``annex.xlsx`` for the big benchmark client (``make bench``).

Figures, not pass/fail.  In a fresh subprocess: build the benchmark client
(``immex_nb.samples.demo.big_client``, about 2.9 million consumption events),
write it as CSV, compute the report's data for its last month
(``build_report_data``: load, two discharges, exposure, savings), then write the
Anexo 24 workbook (``write_report_annex``) and report the seconds (wall and
CPU, with the load average: on a shared machine the wall time says little),
the rows written per sheet, the file sizes, the peak RSS while writing the
annex (the kernel's high-water mark, reset first) and the process's peak RSS.

    python bench/bench_annex.py                     # the default big client
    python bench/bench_annex.py --imports 100000 --max-rows 50000
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


def one(n_imports: int, max_rows: int | None) -> dict:
    from immex_nb.report.annex import MAX_ROWS, write_report_annex
    from immex_nb.report.sections import build_report_data
    from immex_nb.samples.demo import DEMO_TODAY, big_client

    period = f"{DEMO_TODAY:%Y-%m}"
    with tempfile.TemporaryDirectory() as tmp:
        client = Path(tmp) / "big"
        client.mkdir()
        t = time.perf_counter()
        for name, frame in big_client(n_imports=n_imports, seed=0).items():
            frame.to_csv(client / f"{name}.csv", index=False)
        gen_s = time.perf_counter() - t
        gc.collect()
        t = time.perf_counter()
        data = build_report_data(client, period, language="es", client="big")
        data_s = time.perf_counter() - t
        gc.collect()
        rss_before = rss_mb()
        reset_peak()
        out = Path(tmp) / "out" / "annex.xlsx"
        t, cpu = time.perf_counter(), time.process_time()
        written = write_report_annex(data, out, max_rows=max_rows or MAX_ROWS)
        annex_s, annex_cpu = time.perf_counter() - t, time.process_time() - cpu
        annex_peak = peak_mb()
        sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in out.parent.iterdir()}
    return {
        "import_lines": n_imports,
        "period": period,
        "generate_s": round(gen_s, 2),
        "report_data_s": round(data_s, 2),
        "annex_s": round(annex_s, 2),
        "annex_cpu_s": round(annex_cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "rows": {k: list(v) for k, v in written.rows.items()},
        "files_mb": sizes,
        "rss_before_annex_mb": round(rss_before),
        "annex_peak_rss_mb": round(annex_peak),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--imports", type=int, default=300_000, help="import lines of the big client")
    p.add_argument("--max-rows", type=int, default=None, help="rows per sheet (default: MAX_ROWS)")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.imports, args.max_rows)))
        return 0
    cmd = [sys.executable, __file__, "--one", "--imports", str(args.imports)]
    if args.max_rows:
        cmd += ["--max-rows", str(args.max_rows)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"immex-nb annex benchmark: big client, {r['import_lines']:,} import lines, {r['period']}"
    )
    print(
        f"  report data {r['report_data_s']:.1f} s · annex {r['annex_s']:.2f} s "
        f"(CPU {r['annex_cpu_s']:.2f} s; load average {r['load_average']}) · "
        f"annex peak RSS {r['annex_peak_rss_mb']:,} MB (from {r['rss_before_annex_mb']:,} MB) · "
        f"process peak {r['peak_rss_mb']:,} MB"
    )
    for key, (shown, total) in r["rows"].items():
        cut = f" (of {total:,}; full table as CSV)" if shown < total else ""
        print(f"  {key:<20} {shown:>9,} rows{cut}")
    print("  files: " + ", ".join(f"{k} {v} MB" for k, v in sorted(r["files_mb"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
