"""``immex-nb demo`` / ``make demo``: the report batch on the bundled demo clients.

Reports the last ``months`` months that have data (e.g. the data end in
2025-06 and ``months=3`` → 2025-04, 2025-05, 2025-06) and prints where
``reports/index.html`` is.

The demo clients are (re)generated (:func:`immex_nb.samples.demo.write_demo`) only
when the default demo folder — ``data/demo`` of the repository — is missing.
Any other folder is used as given and never written to: a mistyped path, one
client's folder passed by mistake (``data/demo/electronica-norte``) or a
folder without client folders stops with an :class:`ImmexError` saying what
a client folder must hold, instead of being filled with synthetic clients.
"""

from __future__ import annotations

import os
from pathlib import Path

from immex_nb.errors import ImmexError
from immex_nb.report.batch import discover_clients

#: the tables whose presence makes a folder a client folder
CLIENT_TABLES = ["imports", "exports"]
CLIENT_HINT = (
    "a client folder holds imports.csv and exports.csv (any capitals), "
    "or sheets named imports and exports in an .xlsx workbook"
)


def default_demo_root() -> Path:
    """``data/demo`` of the repository the package runs from."""
    return Path(__file__).resolve().parent.parent.parent / "data" / "demo"


def _is_client_folder(folder: Path) -> bool:
    from immex_nb.readers import find_sources

    try:
        return bool(find_sources(folder, CLIENT_TABLES))
    except ImmexError:
        return True  # a table given twice or an unreadable workbook: a client, with a problem the batch reports
    except OSError:
        return False


def client_folders(root: Path) -> list[str]:
    """Names of the folders under ``root`` that hold client data
    (:func:`immex_nb.readers.find_sources`: any capitals, workbook sheets)."""
    good, _ = discover_clients(root)
    return [name for name in good if _is_client_folder(root / name)]


def check_data_root(root: Path) -> None:
    """Raise :class:`ImmexError` unless ``root`` holds at least one client folder."""
    if not root.exists():
        raise ImmexError(
            f"data root {root} does not exist; pass the folder that holds one folder per client; {CLIENT_HINT}"
        )
    if not root.is_dir():
        raise ImmexError(
            f"data root {root} is not a folder; pass the folder that holds one folder per client; {CLIENT_HINT}"
        )
    if client_folders(root):
        return
    if _is_client_folder(root):
        raise ImmexError(
            f"{root} is one client's folder; pass the folder above it, which holds one folder per client"
        )
    raise ImmexError(f"no client folder found in {root}; {CLIENT_HINT}")


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
