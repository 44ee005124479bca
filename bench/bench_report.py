"""Benchmark: seconds per monthly report on one worker (``make bench``).

Figures, not pass/fail.  Copies one demo client (``data/demo``, generated
when missing) into a temporary data root and runs the report batch for its
last ``--months`` months with the real template, one worker (or ``--workers
N`` on a local Dask cluster), then prints per report the wall time, the
notebook's and the HTML export's share (from each ``manifest.json``), the
batch's overhead, and the floor: a bare kernel started and stopped, and the
template's imports in a fresh interpreter.  The machine's load average is
printed beside the figures.

    python bench/bench_report.py
    python bench/bench_report.py --client textiles-sonora --months 6 --workers 2
    python bench/bench_report.py --template tests/fixtures/report/fixture_report.ipynb  # the batch's own cost
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_IMPORTS = (
    "import pandas, plotly.graph_objects, plotly.io, IPython.display; "
    "import immex_nb, immex_nb.report.sections"
)


def _floor_imports() -> float:
    code = f"import sys, time; sys.modules['rfc3987_syntax'] = None; t = time.perf_counter(); {TEMPLATE_IMPORTS}; print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return float(out.stdout.strip() or "nan")


def _floor_kernel() -> float:
    from jupyter_client.manager import start_new_kernel

    t = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    kc.execute_interactive("pass", timeout=60)
    seconds = time.perf_counter() - t
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return seconds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--client", default="electronica-norte")
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--template", default=None, help="another report notebook (default: the real one)"
    )
    args = ap.parse_args(argv)

    from immex_nb.report import run_batch
    from immex_nb.report.demo import default_demo_root, last_periods

    demo = default_demo_root()
    if not demo.exists():
        from immex_nb.samples.demo import write_demo

        write_demo(demo)
    with tempfile.TemporaryDirectory(prefix="immex-nb-bench-report-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(demo / args.client, data / args.client)
        periods = last_periods(data, args.months)
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = run_batch(
            data,
            periods,
            Path(tmp) / "out",
            workers=args.workers,
            template=args.template,
            echo=False,
            progress=False,
        )
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()[0]
        print(
            f"report bench: {args.client}, {len(periods)} month(s), {args.workers} worker(s), "
            f"{os.cpu_count()} CPU(s), load average {load0:.1f} → {load1:.1f}"
        )
        rows = []
        for r in result.results:
            m = json.loads((Path(r.folder) / "manifest.json").read_text(encoding="utf-8"))
            rows.append((r.period, r.status, r.seconds, m["timings"]))
            print(
                f"  {r.period} {r.status:6s} {r.seconds:6.2f} s  notebook {m['timings'].get('notebook_s', 0):5.2f} s"
                f"  html {m['timings'].get('html_s', 0):5.2f} s"
            )
        per = [s for _, _, s, _ in rows]
        print(
            f"  per report: median {statistics.median(per):.2f} s, first {per[0]:.2f} s, "
            f"rest {statistics.mean(per[1:]) if len(per) > 1 else float('nan'):.2f} s; "
            f"batch {wall:.2f} s ({wall / len(per):.2f} s per report with the batch's overhead)"
        )
    print(
        f"  floor: a bare kernel {_floor_kernel():.2f} s; the template's imports {_floor_imports():.2f} s"
    )


if __name__ == "__main__":
    main()
