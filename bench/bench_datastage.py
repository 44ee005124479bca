"""Benchmark: the Data Stage reader against a bare read of the same files (``make bench``).

Figures, not pass/fail.  Builds a multi-year synthetic corpus with
:func:`immex_nb.samples.datastage.synth_corpus` (quarterly requests, a
rectification in each, one identical re-download and one overlapping
request; ≥ 2 M data lines by default), then times in the same process,
alternating, best of ``--runs``:

* **bare** — ``zipfile`` + ``pandas.read_csv(sep="|", dtype=str,
  encoding="latin-1")`` on every member (Latin-1 because the files are
  cp1252 with stray UTF-8 and ``read_csv``'s UTF-8 default fails on them);
* **reader** — :func:`immex_nb.datastage.read_datastage` on the folder: the
  same bytes, plus per-line cp1252 fallback, stripping, typing, row
  de-duplication across requests, pedimento numbers and the 701 chain.

It prints the ratio reader / bare and, for each, two peaks measured in a
fresh interpreter after a warm-up read: the memory actually allocated (the
peak of Arrow's pool plus the Python/numpy peak seen by ``tracemalloc``) and
the resident memory above the starting point (the kernel's high-water mark,
which also counts what the allocators keep after freeing), both against the
size of the decoded text.

    python bench/bench_datastage.py                       # 12 years, ~2.1 M lines
    python bench/bench_datastage.py --years 3 --pedimentos 2000 --runs 1
"""

from __future__ import annotations

import argparse
import gc
import io
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd
from memory import peak_mb as _peak_now
from memory import reset_peak, rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from immex_nb.datastage import read_datastage  # noqa: E402
from immex_nb.samples.datastage import example_ledger, synth_corpus, synth_datastage  # noqa: E402


def bare(folder: Path) -> tuple[int, int]:
    """(data lines, decoded text bytes) of every member, the plain way."""
    lines = text = 0
    for path in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                data = zf.read(info)
                text += len(data)
                df = pd.read_csv(io.BytesIO(data), sep="|", dtype=str, encoding="latin-1")
                lines += len(df)
    return lines, text


def reader(folder: Path) -> tuple[int, int]:
    ds = read_datastage(folder)
    return ds.lines_read, len(ds.rejects)


def peak_mb(which: str, folder: Path) -> tuple[float, float]:
    """(peak RSS above the starting point, peak of the memory actually
    allocated: Arrow's pool + Python/numpy as tracemalloc sees it) while
    ``which`` reads ``folder``, in a fresh interpreter, MB."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", which, str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    rss, allocated = out.stdout.strip().splitlines()[-1].split()
    return float(rss), float(allocated)


def _measure(which: str, folder: Path) -> None:
    import tracemalloc

    import pyarrow as pa

    # warm up on one small request: imports and first-use caches are not the reader's memory
    with tempfile.TemporaryDirectory() as tmp:
        imports, exports = example_ledger(3, 1)
        synth_datastage(imports, exports, Path(tmp) / "w.zip", folio="W", differences=[])
        (bare if which == "bare" else reader)(Path(tmp))
    gc.collect()
    arrow_before = pa.default_memory_pool().max_memory()
    tracemalloc.start()
    reset_peak()
    base = rss_mb()
    (bare if which == "bare" else reader)(folder)
    python_peak = tracemalloc.get_traced_memory()[1]
    arrow_peak = max(pa.default_memory_pool().max_memory() - arrow_before, 0)
    print(_peak_now() - base, (python_peak + arrow_peak) / 2**20)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--years", type=int, default=12, help="years of requests (ending 2025)")
    ap.add_argument("--pedimentos", type=int, default=5500, help="pedimentos per year")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the corpus in this folder")
    ap.add_argument("--measure", nargs=2, metavar=("WHICH", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        _measure(args.measure[0], Path(args.measure[1]))
        return 0
    years = list(range(2026 - args.years, 2026))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "corpus"
        t0 = time.perf_counter()
        if not (folder.exists() and any(folder.glob("*.zip"))):
            synth_corpus(folder, years=years, pedimentos_per_year=args.pedimentos)
        built = time.perf_counter() - t0
        zips = sorted(folder.glob("*.zip"))
        size = sum(p.stat().st_size for p in zips) / 2**20
        lines, text = bare(folder)  # warm the page cache and the imports
        reader(folder)
        times: dict[str, list[float]] = {"bare": [], "reader": []}
        for _ in range(args.runs):
            for name, fn in (("bare", bare), ("reader", reader)):
                gc.collect()
                t = time.perf_counter()
                fn(folder)
                times[name].append(time.perf_counter() - t)
        best = {k: min(v) for k, v in times.items()}
        mem = {"bare": peak_mb("bare", folder), "reader": peak_mb("reader", folder)}
        read_lines, rejected = reader(folder)
    text_mb = text / 2**20
    print(
        f"Data Stage corpus: {len(zips)} requests ({years[0]}–{years[-1]}), {size:.1f} MB zipped, "
        f"{text_mb:.0f} MB of text, {lines:,} data lines (built in {built:.0f} s)"
    )
    for name, label in (("bare", "bare zipfile + read_csv"), ("reader", "read_datastage")):
        rss, allocated = mem[name]
        print(
            f"  {label:<24}: {best[name]:6.2f} s   peak RSS +{rss:5.0f} MB, "
            f"peak allocated {allocated:5.0f} MB"
        )
    print(f"  ({read_lines:,} lines read after skipping the re-download, {rejected} rejected)")
    rss, allocated = mem["reader"]
    print(
        f"  ratio reader / bare     : {best['reader'] / best['bare']:6.2f}×   "
        f"reader peak / decoded text: {allocated / text_mb:.2f}× allocated, "
        f"{rss / text_mb:.2f}× RSS"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
