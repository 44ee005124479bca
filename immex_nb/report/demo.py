"""``immex-nb demo`` / ``make demo``: the report batch on the bundled demo clients.

(Re)generates ``data/demo`` when it is missing (:func:`immex_nb.demo.write_demo`),
reports the last ``months`` months that have data (e.g. the data end in
2025-06 and ``months=3`` → 2025-04, 2025-05, 2025-06) and prints where
``reports/index.html`` is.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from immex_nb.errors import ImmexError
from immex_nb.report.batch import discover_clients, run_batch


def _has_clients(root: Path) -> bool:
    if not root.is_dir():
        return False
    good, _ = discover_clients(root)
    return any((root / c / "imports.csv").is_file() or any((root / c).glob("*.xlsx")) for c in good)


def last_periods(data_root: str | os.PathLike, months: int) -> list[str]:
    """The ``months`` periods ending with the month of the latest import or
    export date found in any client folder under ``data_root``."""
    import pandas as pd

    if months < 1:
        raise ImmexError(f"months must be at least 1 (got {months})")
    from immex_nb.load import load

    root = Path(data_root)
    good, _ = discover_clients(root)
    latest = None
    for name in good:
        try:
            ledger = load(root / name)
        except ImmexError:
            continue
        for frame in (ledger.imports, ledger.exports):
            if len(frame) and "date" in frame:
                d = frame["date"].max()
                if pd.notna(d) and (latest is None or d > latest):
                    latest = d
    if latest is None:
        raise ImmexError(f"no dated imports or exports under {root}; cannot pick demo periods")
    end = pd.Period(latest, freq="M")
    return [str(end - k) for k in range(months - 1, -1, -1)]


def cli_demo(
    data_root: str | os.PathLike,
    out: str | os.PathLike,
    months: int = 3,
    workers: int | None = None,
) -> int:
    root = Path(data_root)
    if not _has_clients(root):
        from immex_nb.demo import write_demo

        print(f"immex-nb demo: writing demo clients to {root}", file=sys.stderr)
        write_demo(root)
    periods = last_periods(root, months)
    result = run_batch(root, periods, out, workers=workers)
    print(f"Open {result.index.resolve()} in a browser.")
    return result.exit_code
