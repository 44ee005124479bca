"""Helpers of the contract tests: small client folders written as a client would send them,
and the command line run as a user runs it (docs/contract.md)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd

import immex_nb

IMPORT_COLUMNS = [
    "pedimento",
    "line",
    "clave",
    "date",
    "part_number",
    "quantity",
    "value_usd",
    "value_mxn",
    "origin",
    "material_type",
    "igi_rate",
]
EXPORT_COLUMNS = ["pedimento", "line", "clave", "date", "part_number", "quantity", "destination"]
BOM_COLUMNS = ["parent", "component", "qty_per", "scrap_rate", "valid_from", "valid_to"]


def ip(n: int) -> str:
    """Import pedimento number ``n``."""
    return f"24 47 3420 {4000000 + n:07d}"


def ep(n: int) -> str:
    """Export pedimento number ``n``."""
    return f"24 47 3420 {5000000 + n:07d}"


def imp(ped, line, date, part, qty, *, mt="MP", mxn=1000, usd=50, igi=0.1, **extra) -> dict:
    row = {
        "pedimento": ped,
        "line": line,
        "clave": "AF" if mt == "AF" else "IN",
        "date": date,
        "part_number": part,
        "quantity": qty,
        "value_usd": usd,
        "value_mxn": mxn,
        "origin": "CHN",
        "material_type": mt,
        "igi_rate": igi,
    }
    row.update(extra)
    return row


def exp(ped, line, date, part, qty) -> dict:
    return {
        "pedimento": ped,
        "line": line,
        "clave": "RT",
        "date": date,
        "part_number": part,
        "quantity": qty,
        "destination": "USA",
    }


def bom(parent, component, qty_per, scrap=0, valid_from="", valid_to="") -> dict:
    return {
        "parent": parent,
        "component": component,
        "qty_per": qty_per,
        "scrap_rate": scrap,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }


def write_table(path: Path, rows: list[dict], columns=None, *, sep=",", encoding="utf-8"):
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=sep, lineterminator="\r\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r.get(c, "") for c in columns])
    return path


def client(root: Path, imports, exports, bom_rows=None, name="acme") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    write_table(folder / "imports.csv", imports)
    write_table(folder / "exports.csv", exports, EXPORT_COLUMNS)
    if bom_rows is not None:
        write_table(folder / "bom.csv", bom_rows, BOM_COLUMNS)
    return folder


def run_folder(folder: Path, as_of=None, **kw):
    ledger = immex_nb.load(folder)
    assert ledger.rejects.empty, ledger.rejects.to_dict("records")
    return immex_nb.discharge(ledger.imports, ledger.exports, ledger.bom, as_of=as_of, **kw)


def alloc_set(allocations: pd.DataFrame) -> dict:
    """``{(export ped, export line, part, import ped, import line): quantity}`` summed."""
    keys = ["export_pedimento", "export_line", "part_number", "import_pedimento", "import_line"]
    g = allocations.groupby(keys, observed=True)["quantity"].sum()
    return {
        (str(k[0]), int(k[1]), str(k[2]), str(k[3]), int(k[4])): round(float(v), 6)
        for k, v in g.items()
    }


def short_set(shortfalls: pd.DataFrame) -> dict:
    keys = ["export_pedimento", "export_line", "part_number"]
    g = shortfalls.groupby(keys, observed=True)["quantity"].sum()
    return {(str(k[0]), int(k[1]), str(k[2])): round(float(v), 6) for k, v in g.items() if v}


def open_by_line(balances: pd.DataFrame) -> dict:
    return {
        (str(r.import_pedimento), int(r.import_line)): round(float(r.open), 6)
        for r in balances.itertuples()
    }


def cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "immex_nb.cli", *args], capture_output=True, text=True, timeout=300
    )


def mixed_folder(tmp_path, name="mix"):
    return client(
        tmp_path,
        [
            imp(ip(1), 1, "2024-01-10", "A", 100, mxn=10000),
            imp(ip(1), 2, "2024-01-10", "B", 30, mxn=3000),
            imp(ip(2), 1, "2024-02-10", "A", 50, mxn=5000),
        ],
        [
            exp(ep(1), 1, "2024-01-20", "FG", 20),
            exp(ep(2), 1, "2024-02-15", "A", 30),
            exp(ep(3), 1, "2024-03-01", "FG", 20),
        ],
        [bom("FG", "A", 2, 0.1), bom("FG", "B", 1)],
        name=name,
    )
