"""Benchmark: seconds per monthly report on one worker (``make bench``).

Figures, not pass/fail.  Three measurements, each printed with the machine's
load average (other work on a shared machine moves wall times; CPU seconds
move less):

* **cold** — one ``immex-nb report --client C --period P --out X`` in a fresh
  process, as a consultant runs it (best and median of ``--cold N`` runs):
  the command's wall time, the report's own seconds and its notebook / HTML
  shares (from ``manifest.json``), and the CPU seconds of the command and its
  kernel;
* **batch** — the report batch for the client's last ``--months`` months in
  this process, one worker (or ``--workers N`` on a local Dask cluster): per
  report the wall time and its notebook / HTML shares, the batch's overhead,
  and the floor (a bare kernel started and stopped, the template's imports in
  a fresh interpreter);
* **big** (``--big``) — one report of the big benchmark client
  (``immex_nb.samples.demo.big_client(n_imports=200_000, seed=0)``, about 2 M
  consumption events, written as a client folder) in a fresh process: wall,
  CPU, the manifest's shares, and the peak RSS of the batch process and of its
  kernel (each one's high-water mark; their sum bounds what the report needed
  at once).

    python bench/bench_report.py                      # cold ×3 + batch of 3 months
    python bench/bench_report.py --cold 5 --months 0  # cold runs only
    python bench/bench_report.py --big                # + the big client
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

#: run in a fresh interpreter by the cold and big measurements: one report
#: through the command line's own function, then the process's figures as JSON
_ONE_REPORT = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
from immex_nb.commands import main
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "code": code,
    "wall_s": wall,
    "cpu_s": me.ru_utime + me.ru_stime,
    "kernel_cpu_s": kids.ru_utime + kids.ru_stime,
    "peak_mb": me.ru_maxrss / 1024,
    "kernel_peak_mb": kids.ru_maxrss / 1024,
}))
"""


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _env() -> dict:
    return dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )


def _floor_imports() -> float:
    code = f"import sys, time; sys.modules['rfc3987_syntax'] = None; t = time.perf_counter(); {TEMPLATE_IMPORTS}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
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


def _one_report(data: Path, client: str, period: str, out: Path, extra=()) -> dict:
    """One ``immex-nb report`` in a fresh process: its figures + the manifest's."""
    shutil.rmtree(out, ignore_errors=True)
    argv = ["report", "--data", str(data), "--client", client, "--period", period]
    argv += ["--out", str(out), *extra]
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _ONE_REPORT, *argv], capture_output=True, text=True, env=_env()
    )
    outside = time.perf_counter() - t
    try:
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"the report did not run:\n{proc.stdout}\n{proc.stderr}") from None
    r["process_s"] = outside  # interpreter start and exit included
    manifest = out / client / period / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    r["status"] = m.get("status", "missing")
    r["report_s"] = m.get("seconds", float("nan"))
    r.update(m.get("timings", {}))
    return r


def cold(args, demo: Path) -> None:
    from immex_nb.report.demo import last_periods

    runs = []
    with tempfile.TemporaryDirectory(prefix="immex-nb-bench-cold-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(demo / args.client, data / args.client)
        period = args.period or last_periods(data, 1)[-1]
        print(f"cold report: {args.client} {period}, a fresh `immex-nb report` each run")
        for i in range(args.cold):
            before = _load()
            r = _one_report(data, args.client, period, Path(tmp) / "out")
            runs.append(r)
            print(
                f"  run {i + 1}: {r['status']:6s} report {r['report_s']:5.2f} s "
                f"(notebook {r.get('notebook_s', 0):5.2f} s, html {r.get('html_s', 0):4.2f} s) · "
                f"command {r['process_s']:5.2f} s · CPU {r['cpu_s']:4.2f} s + kernel "
                f"{r['kernel_cpu_s']:4.2f} s · load {before} → {_load()}"
            )
    rep = [r["report_s"] for r in runs]
    cmd = [r["process_s"] for r in runs]
    cpu = [r["cpu_s"] + r["kernel_cpu_s"] for r in runs]
    print(
        f"  report: best {min(rep):.2f} s, median {statistics.median(rep):.2f} s · command: best "
        f"{min(cmd):.2f} s, median {statistics.median(cmd):.2f} s · CPU (command + kernel): "
        f"best {min(cpu):.2f} s · {os.cpu_count()} CPU(s), load average {_load()}"
    )


def batch(args, demo: Path) -> None:
    from immex_nb.report import run_batch
    from immex_nb.report.demo import last_periods

    with tempfile.TemporaryDirectory(prefix="immex-nb-bench-report-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(demo / args.client, data / args.client)
        periods = last_periods(data, args.months)
        load0 = _load()
        t0, c0 = time.perf_counter(), time.process_time()
        result = run_batch(
            data,
            periods,
            Path(tmp) / "out",
            workers=args.workers,
            template=args.template,
            echo=False,
            progress=False,
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"report batch: {args.client}, {len(periods)} month(s), {args.workers} worker(s), "
            f"{os.cpu_count()} CPU(s), load average {load0} → {_load()}"
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
            f"batch {wall:.2f} s ({wall / len(per):.2f} s per report with the batch's overhead; "
            f"batch process CPU {cpu:.2f} s)"
        )
    print(
        f"  floor: a bare kernel {_floor_kernel():.2f} s; the template's imports {_floor_imports():.2f} s"
        f" · load average {_load()}"
    )


def big(args) -> None:
    from immex_nb.samples.demo import DEMO_TODAY, big_client

    period = f"{DEMO_TODAY:%Y-%m}"
    with tempfile.TemporaryDirectory(prefix="immex-nb-bench-big-") as tmp:
        client = Path(tmp) / "data" / "big"
        client.mkdir(parents=True)
        t = time.perf_counter()
        frames = big_client(n_imports=args.imports, seed=0)
        for name, frame in frames.items():
            frame.to_csv(client / f"{name}.csv", index=False)
        rows = {name: len(f) for name, f in frames.items()}
        del frames
        gen = time.perf_counter() - t
        print(
            f"big report: big_client(n_imports={args.imports:,}, seed=0) {period} "
            f"({', '.join(f'{k} {v:,}' for k, v in rows.items())}; written in {gen:.0f} s)"
        )
        load0 = _load()
        r = _one_report(Path(tmp) / "data", "big", period, Path(tmp) / "out")
        files = {}
        folder = Path(tmp) / "out" / "big" / period
        if folder.is_dir():
            files = {p.name: p.stat().st_size / 2**20 for p in folder.iterdir() if p.is_file()}
    print(
        f"  {r['status']}: command {r['process_s']:.1f} s (report {r['report_s']:.1f} s: notebook "
        f"{r.get('notebook_s', 0):.1f} s, html {r.get('html_s', 0):.1f} s) · CPU {r['cpu_s']:.1f} s "
        f"+ kernel {r['kernel_cpu_s']:.1f} s · load {load0} → {_load()}"
    )
    print(
        f"  peak RSS: batch process {r['peak_mb']:,.0f} MB + kernel {r['kernel_peak_mb']:,.0f} MB "
        f"= {r['peak_mb'] + r['kernel_peak_mb']:,.0f} MB"
    )
    print("  files: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(files.items())))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--client", default="electronica-norte")
    ap.add_argument("--period", default=None, help="month of the cold runs (default: the last)")
    ap.add_argument("--cold", type=int, default=3, help="cold single-report runs (0: none)")
    ap.add_argument("--months", type=int, default=3, help="months of the batch (0: no batch)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--template", default=None, help="another report notebook (default: the real one)"
    )
    ap.add_argument("--big", action="store_true", help="also one report of the big client")
    ap.add_argument("--big-only", action="store_true", help="only the big client")
    ap.add_argument("--imports", type=int, default=200_000, help="import lines of the big client")
    args = ap.parse_args(argv)

    if not args.big_only:
        from immex_nb.report.demo import default_demo_root

        demo = default_demo_root()
        if not demo.exists():
            from immex_nb.samples.demo import write_demo

            write_demo(demo)
        if args.cold > 0:
            cold(args, demo)
        if args.months > 0:
            batch(args, demo)
    if args.big or args.big_only:
        big(args)


if __name__ == "__main__":
    main()
