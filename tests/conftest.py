"""Shared fixtures: ``write_client`` writes a small client folder of canonical CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

#: one valid row per table; tests override single fields
IMPORT_ROW = {
    "pedimento": "24 47 3420 4001234",
    "line": "1",
    "clave": "IN",
    "date": "2024-01-10",
    "part_number": "P-001",
    "quantity": "100",
    "value_usd": "1000",
    "value_mxn": "17000",
}
EXPORT_ROW = {
    "pedimento": "24 47 3420 4009999",
    "line": "1",
    "clave": "RT",
    "date": "2024-03-01",
    "part_number": "P-001",
    "quantity": "40",
}


def _write_table(path: Path, table) -> None:
    if isinstance(table, str):
        path.write_text(table, encoding="utf-8")
    elif isinstance(table, bytes):
        path.write_bytes(table)
    elif isinstance(table, pd.DataFrame):
        table.to_csv(path, index=False, date_format="%Y-%m-%d")
    else:  # a list of dicts: the union of their keys, in first-seen order
        rows = list(table)
        header = list(dict.fromkeys(k for r in rows for k in r))
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, restval="")
            writer.writeheader()
            writer.writerows(rows)


def write_client_folder(folder: Path, imports=None, exports=None, bom=None) -> Path:
    """Write ``imports.csv``, ``exports.csv`` and ``bom.csv`` into ``folder``.

    Each table may be a list of dicts, a DataFrame, or the file's text/bytes
    verbatim.  ``imports``/``exports`` left ``None`` get one valid row
    (:data:`IMPORT_ROW`, :data:`EXPORT_ROW`); ``False`` writes no file.  ``bom``
    is written only when given.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    defaults = {"imports": [IMPORT_ROW], "exports": [EXPORT_ROW], "bom": False}
    for name, table in (("imports", imports), ("exports", exports), ("bom", bom)):
        table = defaults[name] if table is None else table
        if table is not False:
            _write_table(folder / f"{name}.csv", table)
    return folder


@pytest.fixture
def write_client():
    """``write_client(folder, imports=..., exports=..., bom=...)`` → folder."""
    return write_client_folder


def text_fields(text: str) -> set[str]:
    """The ``{fields}`` of a catalogue sentence (immex_nb/data/text/*.csv)."""
    import string

    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
