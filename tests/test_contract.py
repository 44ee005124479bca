"""The contract (``CONTRACT.md``) checked from the outside, one sentence per test.

Every test writes a small client folder in ``tmp_path`` the way a client would
send it, and goes only through the public entry points: ``immex_nb.load``,
``immex_nb.discharge``, ``immex_nb.exposure`` and the ``immex-nb`` command
line.  Each docstring quotes the contract sentence it checks and works the
expected numbers by hand.  Pedimentos are written ``24 47 3420 40000NN``
(imports) and ``24 47 3420 50000NN`` (exports).
"""

from __future__ import annotations

import csv
import json
import random
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

import immex_nb
from immex_nb.cli import main

# --------------------------------------------------------------------------- helpers

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


# =========================================================================== §1 loading

BASE_IMPORTS = [
    {
        "pedimento": ip(1),
        "line": 1,
        "clave": "IN",
        "date": "2024-03-05",
        "part_number": "00123",
        "description": "Tornillo cabeza hexagonal, acero, año 2024 – ñ",
        "fraccion": "07318159",
        "quantity": 1500,
        "value_usd": 100,
        "value_mxn": 1700,
        "origin": "CHN",
        "material_type": "EE",
    },
    {
        "pedimento": ip(1),
        "line": 2,
        "clave": "IN",
        "date": "2024-03-06",
        "part_number": "A-7",
        "description": "Etiqueta",
        "fraccion": "48211001",
        "quantity": 20,
        "value_usd": 0,
        "value_mxn": 0,
        "origin": "USA",
        "material_type": "MP",
    },
]
BASE_EXPORTS = [exp(ep(1), 1, "2024-04-01", "00123", 10)]
CHECKED = ["pedimento", "line", "clave", "date", "part_number", "description", "fraccion"]
CHECKED += ["quantity", "value_usd", "value_mxn", "origin", "material_type"]


def _expected_imports() -> pd.DataFrame:
    rows = [dict(r) for r in BASE_IMPORTS]
    df = pd.DataFrame(rows)[CHECKED]
    df["date"] = pd.to_datetime(df["date"])
    return df


def _assert_base_loaded(ledger):
    got = ledger.imports[CHECKED].reset_index(drop=True)
    want = _expected_imports()
    assert ledger.rejects.empty, ledger.rejects.to_dict("records")
    assert got["pedimento"].tolist() == want["pedimento"].tolist()
    assert got["line"].tolist() == [1, 2]
    assert got["date"].tolist() == want["date"].tolist()
    assert got["part_number"].tolist() == ["00123", "A-7"]  # leading zeros kept
    assert got["fraccion"].tolist() == ["07318159", "48211001"]
    assert got["description"].tolist() == want["description"].tolist()
    assert got["quantity"].tolist() == [1500.0, 20.0]
    assert got["value_mxn"].tolist() == [1700.0, 0.0]
    assert got["material_type"].tolist() == ["EE", "MP"]
    assert len(ledger.exports) == 1 and ledger.exports["quantity"].iloc[0] == 10


def test_load_csv_utf8_comma(tmp_path):
    """§1: "The loader reads the canonical files below as CSV (header row; UTF-8 …;
    comma …)"."""
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder / "imports.csv", BASE_IMPORTS)
    write_table(folder / "exports.csv", BASE_EXPORTS)
    _assert_base_loaded(immex_nb.load(folder))


def test_load_csv_utf8_with_bom_semicolon(tmp_path):
    """§1: "UTF-8 with or without BOM … comma or semicolon delimited": the BOM
    must not spoil the first header (``\\ufeffpedimento``)."""
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder / "imports.csv", BASE_IMPORTS, sep=";", encoding="utf-8-sig")
    write_table(folder / "exports.csv", BASE_EXPORTS, sep=";", encoding="utf-8-sig")
    _assert_base_loaded(immex_nb.load(folder))


def test_load_csv_cp1252_semicolon(tmp_path):
    """§1: "or Windows-1252, as Excel writes it; comma or semicolon delimited":
    ``año``, ``ñ`` and the en dash decode to the same text."""
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder / "imports.csv", BASE_IMPORTS, sep=";", encoding="cp1252")
    write_table(folder / "exports.csv", BASE_EXPORTS, sep=";", encoding="cp1252")
    raw = (folder / "imports.csv").read_bytes()
    assert b"a\xf1o" in raw  # really Windows-1252 on disk
    _assert_base_loaded(immex_nb.load(folder))


def test_load_xlsx_sheets(tmp_path):
    """§1: "… or as the same-named sheet of an ``.xlsx`` workbook": numbers as
    numbers, dates as dates, codes as text."""
    import openpyxl

    folder = tmp_path / "c"
    folder.mkdir()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in (("imports", BASE_IMPORTS), ("exports", BASE_EXPORTS)):
        ws = wb.create_sheet(name)
        cols = list(rows[0])
        ws.append(cols)
        for r in rows:
            cells = []
            for c in cols:
                v = r[c]
                if c == "date":
                    v = pd.Timestamp(v).to_pydatetime()
                cells.append(v)
            ws.append(cells)
    wb.save(folder / "client.xlsx")
    _assert_base_loaded(immex_nb.load(folder))


def test_headers_case_insensitive_and_spanish_aliases(tmp_path):
    """§1: "Headers are matched case-insensitively; the usual Spanish headers are
    accepted as aliases (`pedimento`, `partida`→`line`, `fecha`→`date`,
    `numero_parte`/`no_parte`→`part_number`, `cantidad`→`quantity`, `fraccion`,
    `pais_origen`→`origin`, `tipo_material`→`material_type`, …)"."""
    folder = tmp_path / "c"
    folder.mkdir()
    spanish = {
        "pedimento": "PEDIMENTO",
        "line": "Partida",
        "clave": "CLAVE",
        "date": "Fecha",
        "part_number": "NUMERO_PARTE",
        "description": "Description",
        "fraccion": "Fraccion",
        "quantity": "cantidad",
        "value_usd": "VALUE_USD",
        "value_mxn": "Value_MXN",
        "origin": "Pais_Origen",
        "material_type": "TIPO_MATERIAL",
    }
    rows = [{spanish[k]: v for k, v in r.items()} for r in BASE_IMPORTS]
    write_table(folder / "imports.csv", rows)
    exports = [
        {
            "Pedimento": e["pedimento"],
            "PARTIDA": e["line"],
            "Clave": e["clave"],
            "FECHA": e["date"],
            "No_Parte": e["part_number"],
            "Cantidad": e["quantity"],
        }
        for e in BASE_EXPORTS
    ]
    write_table(folder / "exports.csv", exports)
    ledger = immex_nb.load(folder)
    _assert_base_loaded(ledger)
    assert ledger.imports["origin"].tolist() == ["CHN", "USA"]
    assert ledger.exports["part_number"].tolist() == ["00123"]


def test_extra_columns_are_kept(tmp_path):
    """§1: "Unknown extra columns are kept, never dropped"."""
    folder = tmp_path / "c"
    folder.mkdir()
    rows = [dict(r, planta=p) for r, p in zip(BASE_IMPORTS, ["Tijuana", "Juárez"], strict=True)]
    write_table(folder / "imports.csv", rows)
    write_table(folder / "exports.csv", [dict(BASE_EXPORTS[0], Orden_Compra="PO-0042")])
    ledger = immex_nb.load(folder)
    assert ledger.imports["planta"].tolist() == ["Tijuana", "Juárez"]
    extra = [c for c in ledger.exports.columns if c.lower() == "orden_compra"]
    assert extra and ledger.exports[extra[0]].tolist() == ["PO-0042"]


def test_bom_optional_every_export_is_a_return(tmp_path):
    """§1: "`imports` and `exports` are required; `bom` is optional (no BOM: every
    export is a return as-is)".  Import 00123: 1500; export 10 of 00123 →
    allocation 10 of 00123, open 1490."""
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder / "imports.csv", BASE_IMPORTS)
    write_table(folder / "exports.csv", BASE_EXPORTS)
    ledger = immex_nb.load(folder)
    assert len(ledger.bom) == 0
    r = immex_nb.discharge(ledger.imports, ledger.exports, ledger.bom)
    assert alloc_set(r.allocations) == {(ep(1), 1, "00123", ip(1), 1): 10.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 1490.0, (ip(1), 2): 20.0}
    assert r.shortfalls.empty


def test_settings_optional_folder_with_just_csvs(tmp_path):
    """§1: "Anything else a client folder may hold (settings …) is optional and
    has documented defaults: a folder with just the CSV files works" — all
    three subcommands succeed on it."""
    folder = tmp_path / "just-csv"
    folder.mkdir()
    write_table(folder / "imports.csv", BASE_IMPORTS)
    write_table(folder / "exports.csv", BASE_EXPORTS)
    assert sorted(p.name for p in folder.iterdir()) == ["exports.csv", "imports.csv"]
    assert main(["validate", str(folder), "--out", str(tmp_path / "v")]) == 0
    assert main(["discharge", str(folder), "--out", str(tmp_path / "d")]) == 0
    out = tmp_path / "e"
    assert main(["exposure", str(folder), "--out", str(out), "--as-of", "2024-06-30"]) == 0
    assert (out / "exposure.csv").is_file()


def test_material_type_defaults_to_mp(tmp_path):
    """§1 imports: "`material_type` … (default `MP`)": absent column → MP; in a
    file that has the column, a blank cell → MP too."""
    folder = tmp_path / "c"
    folder.mkdir()
    rows = [imp(ip(1), n, "2024-01-10", "P", 1) for n in (1, 2)]
    for r in rows:
        del r["material_type"]
    write_table(folder / "imports.csv", rows)
    write_table(folder / "exports.csv", BASE_EXPORTS)
    assert immex_nb.load(folder).imports["material_type"].tolist() == ["MP", "MP"]
    rows = [
        imp(ip(1), 1, "2024-01-10", "P", 1, mt=""),
        imp(ip(1), 2, "2024-01-10", "P", 1, mt="CT"),
    ]
    write_table(folder / "imports.csv", rows)
    ledger = immex_nb.load(folder)
    assert ledger.rejects.empty
    assert ledger.imports["material_type"].tolist() == ["MP", "CT"]


def test_settings_and_datastage_folder_are_optional_extras(tmp_path):
    """§1: "Anything else a client folder may hold (settings such as the client's
    name …; a `datastage/` folder) is optional" — present, they do not disturb
    loading or the discharge."""
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder / "imports.csv", BASE_IMPORTS)
    write_table(folder / "exports.csv", BASE_EXPORTS)
    (folder / "datastage").mkdir()
    (folder / "datastage" / "notes.txt").write_text("not a table", encoding="utf-8")
    (folder / "client.toml").write_text('name = "Norte, S.A. de C.V."\n', encoding="utf-8")
    ledger = immex_nb.load(folder)
    _assert_base_loaded(ledger)
    assert ledger.settings.name == "Norte, S.A. de C.V."
    assert main(["discharge", str(folder), "--out", str(tmp_path / "d")]) == 0


def test_pedimento_spaces_normalised(tmp_path):
    """§1: "pedimento … 15 digits `YY AA PPPP NNNNNNN` …; spaces are normalised
    to that form": double spaces (as printed on the pedimento), no spaces and
    padding all become ``24 47 3420 4000001``; the same lot seen three ways is
    one key (a repeat)."""
    folder = tmp_path / "c"
    folder.mkdir()
    rows = [
        imp("24  47  3420  4000001", 1, "2024-01-10", "P", 5),
        imp("244734204000001", 2, "2024-01-10", "P", 5),
        imp(" 24 47 3420 4000001 ", 3, "2024-01-10", "P", 5),
    ]
    write_table(folder / "imports.csv", rows)
    write_table(folder / "exports.csv", [exp("24473420  5000001", 1, "2024-02-01", "P", 1)])
    ledger = immex_nb.load(folder)
    assert ledger.rejects.empty
    assert ledger.imports["pedimento"].tolist() == [ip(1)] * 3
    assert ledger.exports["pedimento"].tolist() == [ep(1)]


# =========================================================================== §2 discharge


def test_explosion_depth_two_shared_component(tmp_path):
    """§2.1: "if P has BOM rows valid at t, each component consumes `Q × qty_per ×
    (1 + scrap_rate)`; a component that itself has rows valid at t is exploded
    again (any depth); the same component reached by several paths is summed".

    BOM: FG → SUB 2 (scrap 5 %), FG → C 1 (scrap 10 %); SUB → C 3, SUB → D 0.5.
    Export 10 FG: SUB gross 10×2×1.05 = 21 (exploded, not consumed itself);
    C = 10×1×1.1 + 21×3 = 11 + 63 = 74; D = 21×0.5 = 10.5.
    Imports C 100, D 50 → open C 26, D 39.5; nothing short.
    """
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-10", "C", 100), imp(ip(1), 2, "2024-01-10", "D", 50)],
        [exp(ep(1), 1, "2024-02-01", "FG", 10)],
        [
            bom("FG", "SUB", 2, 0.05),
            bom("FG", "C", 1, 0.10),
            bom("SUB", "C", 3),
            bom("SUB", "D", 0.5),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(1), 1, "C", ip(1), 1): 74.0,
        (ep(1), 1, "D", ip(1), 2): 10.5,
    }
    assert len(r.allocations) == 2  # C's two paths give one consumption, not two
    assert open_by_line(r.balances) == {(ip(1), 1): 26.0, (ip(1), 2): 39.5}
    assert r.shortfalls.empty


def test_bom_versions_valid_dates_inclusive(tmp_path):
    """§1 bom: "`valid_from` and `valid_to` are inclusive dates, blank =
    open-ended" and §2.1 "A part with no valid BOM row is consumed itself".

    FG → X 1 valid 2024-01-01…2024-03-31; FG → Y 2 valid from 2024-04-01 (open).
    Exports of 1 FG each: 2023-12-31 (no row valid: FG itself, never imported →
    shortfall 1 FG), 2024-01-01 (X 1), 2024-03-31 (X 1), 2024-04-01 (Y 2),
    2030-01-01 (Y 2, open end).
    """
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2023-01-02", "X", 10), imp(ip(1), 2, "2023-01-02", "Y", 10)],
        [
            exp(ep(1), 1, "2023-12-31", "FG", 1),
            exp(ep(2), 1, "2024-01-01", "FG", 1),
            exp(ep(3), 1, "2024-03-31", "FG", 1),
            exp(ep(4), 1, "2024-04-01", "FG", 1),
            exp(ep(5), 1, "2030-01-01", "FG", 1),
        ],
        [
            bom("FG", "X", 1, 0, "2024-01-01", "2024-03-31"),
            bom("FG", "Y", 2, 0, "2024-04-01", ""),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(2), 1, "X", ip(1), 1): 1.0,
        (ep(3), 1, "X", ip(1), 1): 1.0,
        (ep(4), 1, "Y", ip(1), 2): 2.0,
        (ep(5), 1, "Y", ip(1), 2): 2.0,
    }
    assert short_set(r.shortfalls) == {(ep(1), 1, "FG"): 1.0}


def _cycle_folder(tmp_path):
    return client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-10", "LEAF", 100)],
        [exp(ep(1), 1, "2024-02-01", "ALFA", 1)],
        [
            bom("ALFA", "BRAVO", 1),
            bom("BRAVO", "CHARLIE", 1),
            bom("CHARLIE", "ALFA", 1),
            bom("BRAVO", "LEAF", 1),
        ],
    )


def test_bom_cycle_is_an_error_naming_the_parts(tmp_path):
    """§2.1: "A BOM cycle is an error that names the parts in the cycle".
    ALFA → BRAVO → CHARLIE → ALFA."""
    folder = _cycle_folder(tmp_path)
    ledger = immex_nb.load(folder)
    with pytest.raises(immex_nb.ImmexError) as info:
        immex_nb.discharge(ledger.imports, ledger.exports, ledger.bom)
    msg = str(info.value)
    assert all(p in msg for p in ("ALFA", "BRAVO", "CHARLIE")), msg
    assert "LEAF" not in msg


def test_bom_cycle_on_the_command_line_exit_2_no_traceback(tmp_path):
    """§2.1 + §5 spirit: the cycle reaches the user as a one-line error naming
    the parts (exit 2), not a traceback."""
    folder = _cycle_folder(tmp_path)
    p = cli(["discharge", str(folder), "--out", str(tmp_path / "out")])
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert all(x in p.stderr for x in ("ALFA", "BRAVO", "CHARLIE")), p.stderr


def test_order_ties_pedimento_text_then_line_number(tmp_path):
    """§2.2: "Per part, imports are taken in order of `(date, pedimento, line)`,
    consumptions in order of `(export date, export pedimento, export line)` —
    pedimento compared as its normalised text, line as a number".

    Imports of P (file order): I10/1 5 @01-10, I9/10 5 @01-10, I9/9 5 @01-10,
    I1/1 5 @01-11 (lowest pedimento but a later date).  FIFO order: I9/9,
    I9/10 (9 < 10 as numbers, not as text), I10/1, I1/1.
    Exports, same day 02-01 (file order): E2/1 6, E1/10 6, E1/9 6 → order
    E1/9, E1/10, E2/1:  E1/9 ← I9/9 5 + I9/10 1;  E1/10 ← I9/10 4 + I10/1 2;
    E2/1 ← I10/1 3 + I1/1 3.  Open: I1/1 2.
    """
    folder = client(
        tmp_path,
        [
            imp(ip(10), 1, "2024-01-10", "P", 5),
            imp(ip(9), 10, "2024-01-10", "P", 5),
            imp(ip(9), 9, "2024-01-10", "P", 5),
            imp(ip(1), 1, "2024-01-11", "P", 5),
        ],
        [
            exp(ep(2), 1, "2024-02-01", "P", 6),
            exp(ep(1), 10, "2024-02-01", "P", 6),
            exp(ep(1), 9, "2024-02-01", "P", 6),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(1), 9, "P", ip(9), 9): 5.0,
        (ep(1), 9, "P", ip(9), 10): 1.0,
        (ep(1), 10, "P", ip(9), 10): 4.0,
        (ep(1), 10, "P", ip(10), 1): 2.0,
        (ep(2), 1, "P", ip(10), 1): 3.0,
        (ep(2), 1, "P", ip(1), 1): 3.0,
    }
    assert open_by_line(r.balances) == {
        (ip(10), 1): 0.0,
        (ip(9), 10): 0.0,
        (ip(9), 9): 0.0,
        (ip(1), 1): 2.0,
    }


def test_same_day_availability_and_no_back_fill(tmp_path):
    """§2.3 "An import is available to a consumption on or after its own date
    (same day counts)" and §2.4 "What finds no balance is a **shortfall**: it is
    reported, and never back-filled by a later import".

    P: I1 2024-01-01 5; I2 2024-03-01 10.  Exports: E1 2023-12-15 2 (nothing in
    the country → short 2), E2 2024-01-01 4 (same day as I1 → I1 4), E3
    2024-02-01 3 (I1 1, short 2 — I2 not yet arrived), E4 2024-03-01 4 (I2 4).
    Open: I1 0, I2 6 — the 4 short units are never taken from I2.
    """
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-01", "P", 5), imp(ip(2), 1, "2024-03-01", "P", 10)],
        [
            exp(ep(1), 1, "2023-12-15", "P", 2),
            exp(ep(2), 1, "2024-01-01", "P", 4),
            exp(ep(3), 1, "2024-02-01", "P", 3),
            exp(ep(4), 1, "2024-03-01", "P", 4),
        ],
    )
    r = run_folder(folder)
    assert alloc_set(r.allocations) == {
        (ep(2), 1, "P", ip(1), 1): 4.0,
        (ep(3), 1, "P", ip(1), 1): 1.0,
        (ep(4), 1, "P", ip(2), 1): 4.0,
    }
    assert short_set(r.shortfalls) == {(ep(1), 1, "P"): 2.0, (ep(3), 1, "P"): 2.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 0.0, (ip(2), 1): 6.0}


def test_as_of_cut_off_ignores_later_exports(tmp_path):
    """§2.5: "With `as_of`, exports dated after it are ignored" (an export on
    the as-of day counts).  I1 10 @2024-01-10; E1 3 @06-30, E2 4 @07-01.
    as_of 2024-06-30 → only E1: open 7.  Without as_of: open 3."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-01-10", "P", 10)],
        [exp(ep(1), 1, "2024-06-30", "P", 3), exp(ep(2), 1, "2024-07-01", "P", 4)],
    )
    r = run_folder(folder, as_of="2024-06-30")
    assert alloc_set(r.allocations) == {(ep(1), 1, "P", ip(1), 1): 3.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 7.0}
    assert r.shortfalls.empty
    r = run_folder(folder)
    assert open_by_line(r.balances) == {(ip(1), 1): 3.0}


DEADLINE_CASES = [
    # (line, date, type, clamp deadline, CFF deadline)
    (1, "2024-08-31", "MP", "2026-02-28", "2026-03-02"),  # Feb-2026 has no 31; 03-01 Sunday
    (2, "2022-08-31", "MP", "2024-02-29", "2024-03-01"),  # leap February; 03-01 Friday
    (3, "2024-01-15", "EE", "2025-07-15", "2025-07-15"),  # Tuesday: unchanged
    (4, "2024-01-31", "CT", "2026-01-31", "2026-02-03"),  # Sat → Mon 02-02 is a holiday
    (5, "2024-02-10", "MP", "2025-08-10", "2025-08-11"),  # Sunday → Monday
    (6, "2024-03-16", "EE", "2025-09-16", "2025-09-17"),  # 16 Sept: national holiday
    (7, "2019-05-20", "AF", None, None),  # AF: no limit
]


def _deadline_folder(tmp_path):
    rows = [imp(ip(1), n, d, f"P{n}", 1, mt=mt) for n, d, mt, _, _ in DEADLINE_CASES]
    return client(tmp_path, rows, [exp(ep(1), 1, "2024-09-01", "P1", 1)])


def test_deadlines_default_clamp_rule(tmp_path):
    """§2.6: "`MP` and `EE` 18 months, `CT` 24 months, `AF` none … Default rule:
    same day N months later, or the month's last day where that day does not
    exist (2024-08-31 + 18 months = 2026-02-28)"."""
    r = run_folder(_deadline_folder(tmp_path))
    got = {int(b.import_line): b.deadline for b in r.balances.itertuples()}
    for line, _, _, clamp, _ in DEADLINE_CASES:
        if clamp is None:
            assert pd.isna(got[line])
        else:
            assert pd.Timestamp(got[line]) == pd.Timestamp(clamp), line


def test_deadlines_cff_option(tmp_path):
    """§2.6: "Option: the CFF Art. 12 rule (a missing day moves to the first
    business day of the next month, and a deadline on a non-business day to the
    next business day)".  2024-08-31 + 18 → 2026-02-31 missing → 2026-03-01 is a
    Sunday → 2026-03-02; 2025-08-10 Sunday → 08-11; 2025-09-16 (Independence
    day, CFF art. 12 día inhábil) → 09-17; 2026-01-31 Saturday → Monday 02-02
    is Constitution day (first Monday of February) → 02-03."""
    r = run_folder(_deadline_folder(tmp_path), deadline_rule="cff")
    got = {int(b.import_line): b.deadline for b in r.balances.itertuples()}
    for line, _, _, _, cff in DEADLINE_CASES:
        if cff is None:
            assert pd.isna(got[line])
        else:
            assert pd.Timestamp(got[line]) == pd.Timestamp(cff), line


def test_cff_option_on_the_command_line(tmp_path):
    """§2.6 option through ``immex-nb discharge --deadline-rule cff``:
    balances.csv deadline of the 2024-08-31 MP line is 2026-03-02 (clamp:
    2026-02-28)."""
    folder = _deadline_folder(tmp_path)
    for rule, want in (("clamp", "2026-02-28"), ("cff", "2026-03-02")):
        out = tmp_path / rule
        assert main(["discharge", str(folder), "--out", str(out), "--deadline-rule", rule]) == 0
        b = pd.read_csv(out / "balances.csv", dtype=str)
        line1 = b[b["import_line"] == "1"].iloc[0]
        assert line1["deadline"].startswith(want)


def test_late_flag(tmp_path):
    """§2.7: "A consumption drawn from an import line whose deadline has passed is
    allowed and flagged `late`".  I1 MP 2022-01-10 → deadline 2023-07-10.
    E1 2023-07-10 (deadline day: not passed) → late False; E2 2023-07-11 →
    allowed (1 unit) and late True."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2022-01-10", "P", 10)],
        [exp(ep(1), 1, "2023-07-10", "P", 1), exp(ep(2), 1, "2023-07-11", "P", 1)],
    )
    r = run_folder(folder)
    a = r.allocations.set_index("export_pedimento")
    assert float(a.loc[ep(2), "quantity"]) == 1.0
    assert not bool(a.loc[ep(1), "late"])
    assert bool(a.loc[ep(2), "late"])


# =========================================================================== §3 results

ALLOCATION_COLUMNS = [
    "export_pedimento",
    "export_line",
    "export_date",
    "part_number",
    "import_pedimento",
    "import_line",
    "import_date",
    "quantity",
]
BALANCE_COLUMNS = [
    "import_pedimento",
    "import_line",
    "import_date",
    "part_number",
    "quantity",
    "discharged",
    "open",
    "deadline",
]
SHORTFALL_COLUMNS = ["export_pedimento", "export_line", "export_date", "part_number", "quantity"]


def _mixed_folder(tmp_path, name="mix"):
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


def test_result_frames_have_contract_columns(tmp_path):
    """§3: "**allocations**: `export_pedimento, export_line, export_date,
    part_number, import_pedimento, import_line, import_date, quantity` (+
    `late` …)"; "**balances**, one row per import line: … `quantity, discharged,
    open, deadline`"; "**shortfalls**: `export_pedimento, export_line,
    export_date, part_number, quantity`"."""
    r = run_folder(_mixed_folder(tmp_path))
    assert set(ALLOCATION_COLUMNS + ["late"]) <= set(r.allocations.columns)
    assert set(BALANCE_COLUMNS) <= set(r.balances.columns)
    assert set(SHORTFALL_COLUMNS) <= set(r.shortfalls.columns)
    assert len(r.balances) == 3  # one row per import line
    assert not r.balances.duplicated(["import_pedimento", "import_line"]).any()


def test_mixed_scenario_hand_worked(tmp_path):
    """§2 + §3 on one small ledger.  FG = 2 A (scrap 10 %) + 1 B.
    E1 01-20 20 FG: A 44 ← I1/1; B 20 ← I1/2.  E2 02-15 30 A: I1/1 30 (56 left
    → 26).  E3 03-01 20 FG: A 44 ← I1/1 26 + I2/1 18; B 20 ← I1/2 10, short 10.
    Open: I1/1 0, I1/2 0, I2/1 32."""
    r = run_folder(_mixed_folder(tmp_path))
    assert alloc_set(r.allocations) == {
        (ep(1), 1, "A", ip(1), 1): 44.0,
        (ep(1), 1, "B", ip(1), 2): 20.0,
        (ep(2), 1, "A", ip(1), 1): 30.0,
        (ep(3), 1, "A", ip(1), 1): 26.0,
        (ep(3), 1, "A", ip(2), 1): 18.0,
        (ep(3), 1, "B", ip(1), 2): 10.0,
    }
    assert short_set(r.shortfalls) == {(ep(3), 1, "B"): 10.0}
    assert open_by_line(r.balances) == {(ip(1), 1): 0.0, (ip(1), 2): 0.0, (ip(2), 1): 32.0}


def test_cli_discharge_writes_csvs_manifest_and_is_byte_identical(tmp_path):
    """§3: "`immex-nb discharge DATA_DIR --out OUT_DIR [--as-of YYYY-MM-DD]`
    writes them as CSV files of the same names (plus a run manifest)"; the
    CSVs carry the contract columns and the numbers of the API; two runs give
    the same bytes."""
    folder = _mixed_folder(tmp_path)
    outs = [tmp_path / "o1", tmp_path / "o2"]
    for out in outs:
        p = cli(["discharge", str(folder), "--out", str(out), "--as-of", "2024-12-31"])
        assert p.returncode == 0, p.stderr
    names = sorted(p.name for p in outs[0].iterdir())
    assert {"allocations.csv", "balances.csv", "shortfalls.csv"} <= set(names)
    assert any("manifest" in n for n in names), names
    for n in ("allocations.csv", "balances.csv", "shortfalls.csv"):
        assert (outs[0] / n).read_bytes() == (outs[1] / n).read_bytes(), n
    a = pd.read_csv(outs[0] / "allocations.csv", dtype={"export_pedimento": str})
    b = pd.read_csv(outs[0] / "balances.csv")
    s = pd.read_csv(outs[0] / "shortfalls.csv")
    assert set(ALLOCATION_COLUMNS) <= set(a.columns)
    assert set(BALANCE_COLUMNS) <= set(b.columns)
    assert set(SHORTFALL_COLUMNS) <= set(s.columns)
    assert a["quantity"].sum() == pytest.approx(44 + 20 + 30 + 26 + 18 + 10)
    assert s["quantity"].sum() == pytest.approx(10)
    assert b["open"].sum() == pytest.approx(32)
    # the same bytes again when the output folder is reused
    assert main(["discharge", str(folder), "--out", str(outs[0]), "--as-of", "2024-12-31"]) == 0
    for n in ("allocations.csv", "balances.csv", "shortfalls.csv"):
        assert (outs[0] / n).read_bytes() == (outs[1] / n).read_bytes(), n


def test_cli_discharge_as_of(tmp_path):
    """§3: "`--as-of YYYY-MM-DD`" applies the §2.5 cut-off: as of 2024-02-15 E3
    (03-01) is ignored → open I1/1 26, I1/2 10, I2/1 50; no shortfall."""
    folder = _mixed_folder(tmp_path)
    out = tmp_path / "o"
    assert main(["discharge", str(folder), "--out", str(out), "--as-of", "2024-02-15"]) == 0
    b = pd.read_csv(out / "balances.csv", dtype={"import_pedimento": str})
    got = {(r.import_pedimento, int(r.import_line)): r.open for r in b.itertuples()}
    assert got == {(ip(1), 1): 26.0, (ip(1), 2): 10.0, (ip(2), 1): 50.0}
    assert len(pd.read_csv(out / "shortfalls.csv")) == 0


# -- invariants against an independent exact reference


def _reference(imports, exports, bom_rows):
    """Exact FIFO with Fractions (one-level BOM, no validity dates)."""
    boms: dict[str, list] = {}
    for b in bom_rows:
        boms.setdefault(b["parent"], []).append(b)
    cons = []  # (date, ped, line, part, qty)
    for e in exports:
        q = Fraction(str(e["quantity"]))
        if e["part_number"] in boms:
            per = {}
            for b in boms[e["part_number"]]:
                g = q * Fraction(str(b["qty_per"])) * (1 + Fraction(str(b["scrap_rate"])))
                per[b["component"]] = per.get(b["component"], 0) + g
            for part, g in per.items():
                cons.append((e["date"], e["pedimento"], e["line"], part, g))
        else:
            cons.append((e["date"], e["pedimento"], e["line"], e["part_number"], q))
    lots = sorted(imports, key=lambda r: (r["date"], r["pedimento"], r["line"]))
    left = {(r["pedimento"], r["line"]): Fraction(str(r["quantity"])) for r in lots}
    alloc, short = {}, {}
    for date, ped, line, part, need in sorted(cons):
        for r in lots:
            if need == 0:
                break
            k = (r["pedimento"], r["line"])
            if r["part_number"] != part or r["date"] > date or left[k] == 0:
                continue
            take = min(need, left[k])
            left[k] -= take
            need -= take
            alloc[(ped, line, part, *k)] = alloc.get((ped, line, part, *k), 0) + take
        if need:
            short[(ped, line, part)] = short.get((ped, line, part), 0) + need
    return alloc, short, left, cons


def _random_ledger(seed):
    rnd = random.Random(seed)
    parts = ["A", "B", "C"]
    day = lambda: f"2024-{rnd.randint(1, 6):02d}-{rnd.randint(1, 28):02d}"  # noqa: E731
    imports = [
        imp(ip(rnd.randint(1, 6)), n, day(), rnd.choice(parts), rnd.randint(1, 400) / 8)
        for n in range(1, 13)
    ]
    exports = [
        exp(
            ep(rnd.randint(1, 6)),
            n,
            day(),
            rnd.choice(["F1", "F2", "A", "C"]),
            rnd.randint(1, 80) / 4,
        )
        for n in range(1, 13)
    ]
    bom_rows = [
        bom("F1", "A", 2, 0.05),
        bom("F1", "B", 0.5, 0),
        bom("F2", "A", 1, 0),
        bom("F2", "C", 3, 0.125),
    ]
    return imports, exports, bom_rows


@pytest.mark.parametrize("seed", range(6))
def test_invariants_and_exact_quantities(tmp_path, seed):
    """§3: "Invariants that always hold: per import line `quantity = discharged +
    open`; per export line and part, consumption = allocated + shortfall; no
    allocation precedes its import's date. Quantities agree with exact rational
    arithmetic to 1e-4 of a unit".  Expected allocations come from an
    independent Fraction-based FIFO over the same files."""
    imports, exports, bom_rows = _random_ledger(seed)
    r = run_folder(client(tmp_path, imports, exports, bom_rows))
    ref_alloc, ref_short, ref_left, cons = _reference(imports, exports, bom_rows)

    got = alloc_set(r.allocations)
    assert set(got) == set(ref_alloc)
    for k, v in ref_alloc.items():
        assert abs(got[k] - float(v)) <= 1e-4, k
    got_s = short_set(r.shortfalls)
    assert set(got_s) == {k for k, v in ref_short.items() if v > Fraction(1, 10**6)}
    for k, v in ref_short.items():
        assert abs(got_s.get(k, 0.0) - float(v)) <= 1e-4, k

    b = r.balances
    assert ((b["quantity"] - b["discharged"] - b["open"]).abs() <= 1e-4).all()
    for row in b.itertuples():
        assert abs(row.open - float(ref_left[(row.import_pedimento, row.import_line)])) <= 1e-4
    # consumption = allocated + shortfall, per export line and part
    need = {}
    for _, ped, line, part, q in cons:
        need[(ped, line, part)] = need.get((ped, line, part), 0) + q
    for k, q in need.items():
        allocated = sum(v for kk, v in got.items() if kk[:3] == k)
        assert abs(allocated + got_s.get(k, 0.0) - float(q)) <= 1e-4, k
    a = r.allocations
    assert (pd.to_datetime(a["import_date"]) <= pd.to_datetime(a["export_date"])).all()


# =========================================================================== §4 exposure

EXPOSURE_COLUMNS = [
    "import_pedimento",
    "import_line",
    "part_number",
    "status",
    "open",
    "open_value_mxn",
    "igi",
    "dta",
    "iva",
    "actualizacion",
    "recargos",
    "multa",
    "total",
]


def _exposure_folder(tmp_path):
    """Three lines, valued as of 2026-03-10 (see the tests)."""
    return client(
        tmp_path,
        [
            imp(ip(1), 1, "2024-03-15", "EXP", 10, mxn=50000, igi=0.10, prosec_rate=0.05),
            imp(ip(2), 1, "2025-06-20", "PRO", 100, mxn=80000, igi=0.15, prosec_rate=0.05),
            imp(ip(3), 1, "2019-02-10", "PRESS", 1, mt="AF", mxn=100000, igi=0.10),
            imp(ip(4), 1, "2025-01-10", "DONE", 5, mxn=999, igi=0.10),
        ],
        [
            exp(ep(1), 1, "2024-05-02", "EXP", 4),
            exp(ep(2), 1, "2025-02-01", "DONE", 5),
            exp(ep(3), 1, "2026-03-11", "PRO", 100),  # after as-of: ignored
        ],
    )


def _exposure_rows(df):
    df = df.copy()
    df["import_pedimento"] = df["import_pedimento"].astype(str)
    return {r["import_pedimento"]: r for r in df.to_dict("records")}


EXPIRED_LINE = {
    "status": "expired",
    "open": 6.0,
    "open_value_mxn": 30000.0,
    "igi": 3000.0,
    "dta": 240.0,
    "iva": 5318.4,
    "actualizacion": 634.17744,
    "recargos": 3353.452250112,
    "multa": 0.0,
    "total": 12546.029690112,
}
PROSEC_LINE = {
    "status": "in_time",
    "open": 100.0,
    "open_value_mxn": 80000.0,
    "igi": 4000.0,
    "dta": 640.0,
    "iva": 13542.4,
    "actualizacion": 102.0,
    "recargos": 0.0,
    "multa": 0.0,
    "total": 18284.4,
}
AF_LINE = {
    "status": "in_time",
    "open": 1.0,
    "open_value_mxn": 100000.0,
    "igi": 10000.0,
    "dta": 800.0,
    "iva": 17728.0,
    "actualizacion": 3925.0,
    "recargos": 0.0,
    "multa": 0.0,
    "total": 32453.0,
}


def _check_line(row, want, tol):
    for k, v in want.items():
        if isinstance(v, str):
            assert row[k] == v, k
        else:
            assert row[k] == pytest.approx(v, abs=tol), k


def test_exposure_cli_hand_worked_lines(tmp_path):
    """§4: "`immex-nb exposure DATA_DIR --out OUT_DIR --as-of YYYY-MM-DD` writes
    `exposure.csv`, one row per import line still open after the discharge with
    the same cut-off: `import_pedimento, import_line, part_number, status
    (in_time | expired), open, open_value_mxn, igi, dta, iva, actualizacion,
    recargos, multa, total`".  As of 2026-03-10 (F's numerator: INPC Feb-2026 is
    beyond the table → the last published, Jan-2026 143.588).

    Expired line I1: 2024-03-15 MP, 10 units, MXN 50,000, igi 10 %, PROSEC 5 %;
    4 returned → open 6.  Deadline 2025-09-15 < as-of → expired, general rate.
    open value 50,000×6/10 = 30,000; igi 3,000; dta 240; iva 0.16×33,240 =
    5,318.4; tax 8,558.4.  F = 143.588 / INPC Feb-2024 133.681 = 1.074109… →
    1.0741; actualizacion = 8,558.4×0.0741 = 634.17744.  n: 2024-03-15 + 23
    months = 2026-02-15 < as-of ≤ + 24 → 24 months starting 2024-03-15 …
    2026-02-15: 22 start before 2026 (1.47 %) and 2 in 2026 (2.07 %) → Σ =
    0.3234 + 0.0414 = 0.3648; recargos = 9,192.57744×0.3648 = 3,353.452250112;
    multa 0; total = 12,546.029690112.

    In-time PROSEC line I2: 2025-06-20 MP, 100 units, MXN 80,000, igi 15 %,
    PROSEC 5 %; its export is dated 2026-03-11 (after the cut-off) → open 100.
    Deadline 2026-12-20 → in_time; rate min(15 %, 5 %) = 5 % → igi 4,000; dta
    640; iva 0.16×84,640 = 13,542.4; F = 143.588 / INPC May-2025 140.012 =
    1.02554… → 1.0255; actualizacion = igi × 0.0255 = 102; recargos = multa =
    0; total 18,284.4.

    AF line I3: 2019-02-10, MXN 100,000, igi 10 %: never expires (in_time);
    igi 10,000; dta 800; iva 17,728; F = 143.588 / Jan-2019 103.108 =
    1.39259… → 1.3925; actualizacion 3,925; total 32,453.
    I4 is fully returned: no row.
    """
    folder = _exposure_folder(tmp_path)
    out = tmp_path / "out"
    p = cli(["exposure", str(folder), "--out", str(out), "--as-of", "2026-03-10"])
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(out / "exposure.csv", dtype={"import_pedimento": str})
    assert list(df.columns[: len(EXPOSURE_COLUMNS)]) == EXPOSURE_COLUMNS or set(
        EXPOSURE_COLUMNS
    ) <= set(df.columns)
    rows = _exposure_rows(df)
    assert set(rows) == {ip(1), ip(2), ip(3)}
    assert rows[ip(1)]["part_number"] == "EXP" and int(rows[ip(1)]["import_line"]) == 1
    _check_line(rows[ip(1)], EXPIRED_LINE, 0.005)
    _check_line(rows[ip(2)], PROSEC_LINE, 0.005)
    _check_line(rows[ip(3)], AF_LINE, 0.005)


def test_exposure_api_full_precision(tmp_path):
    """§4: "Full precision inside; money rounds to cents only for display":
    ``immex_nb.exposure(balances, as_of)`` on the balances of a discharge with
    the same cut-off gives the hand-worked numbers to 1e-6 (see
    ``test_exposure_cli_hand_worked_lines``)."""
    r = run_folder(_exposure_folder(tmp_path), as_of="2026-03-10")
    df = immex_nb.exposure(r.balances, "2026-03-10")
    assert set(EXPOSURE_COLUMNS) <= set(df.columns)
    rows = _exposure_rows(df)
    assert set(rows) == {ip(1), ip(2), ip(3)}
    _check_line(rows[ip(1)], EXPIRED_LINE, 1e-6)
    _check_line(rows[ip(2)], PROSEC_LINE, 1e-6)
    _check_line(rows[ip(3)], AF_LINE, 1e-6)


def test_exposure_expiry_boundary_and_prosec_only_when_lower(tmp_path):
    """§4: "`expired` ⇔ `deadline < as_of`" and "In time …: IGI rate = the lower
    of `igi_rate` and `prosec_rate` (when given)".  Import 2024-08-31 MP,
    deadline 2026-02-28: as of 2026-02-28 in_time, as of 2026-03-01 expired.
    igi 10 %, PROSEC 20 % (higher): in time the rate stays 10 % → igi on MXN
    1,000 = 100."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2024-08-31", "P", 1, mxn=1000, igi=0.10, prosec_rate=0.20)],
        [exp(ep(1), 1, "2024-09-01", "OTHER", 1)],
    )
    for as_of, status in (("2026-02-28", "in_time"), ("2026-03-01", "expired")):
        r = run_folder(folder, as_of=as_of)
        row = immex_nb.exposure(r.balances, as_of).iloc[0]
        assert row["status"] == status, as_of
        assert row["igi"] == pytest.approx(100.0)


def test_exposure_fine_rate(tmp_path):
    """§4: "`multa = tax × fine_rate` (default 0 …)" and `--fine-rate R`.  With
    R = 0.7: expired I1 multa = 8,558.4×0.7 = 5,990.88 → total 12,546.029690112
    + 5,990.88 = 18,536.90969…; in-time lines keep multa 0."""
    folder = _exposure_folder(tmp_path)
    out = tmp_path / "out"
    args = ["exposure", str(folder), "--out", str(out), "--as-of", "2026-03-10"]
    assert main([*args, "--fine-rate", "0.7"]) == 0
    rows = _exposure_rows(pd.read_csv(out / "exposure.csv", dtype={"import_pedimento": str}))
    assert rows[ip(1)]["multa"] == pytest.approx(5990.88, abs=0.005)
    assert rows[ip(1)]["total"] == pytest.approx(18536.909690112, abs=0.005)
    assert rows[ip(2)]["multa"] == 0 and rows[ip(3)]["multa"] == 0
    assert rows[ip(2)]["total"] == pytest.approx(18284.4, abs=0.005)


@pytest.mark.parametrize(
    ("as_of", "months"), [("2024-03-05", 26), ("2024-03-10", 26), ("2024-03-11", 27)]
)
def test_exposure_months_or_fraction(tmp_path, as_of, months):
    """§4: "`n` = months *or fraction* from the import date to `as_of`
    (2024-01-10 → 2024-03-05 is 2; → 2024-03-10 is 2; → 2024-03-11 is 3)" —
    the same boundaries two years earlier: import 2022-01-10 (MP, deadline
    2023-07-10, so expired on each as-of): → 2024-03-05 and → 2024-03-10 are
    26 months, → 2024-03-11 is 27.  All start before 2026 → Σ = n × 1.47 %, so
    recargos ÷ (tax + actualizacion) = 0.3822 or 0.3969.  Value 10,000, igi 10 %:
    tax = 1,000 + 80 + 0.16×11,080 = 2,852.8; F = INPC Feb-2024 133.681 / Dec-2021
    117.308 = 1.13957… → 1.1395; actualizacion = 397.9656."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2022-01-10", "OLD", 1, mxn=10000, igi=0.10)],
        [exp(ep(1), 1, "2022-02-01", "OTHER", 1)],
    )
    r = run_folder(folder, as_of=as_of)
    row = immex_nb.exposure(r.balances, as_of).iloc[0]
    assert row["status"] == "expired"
    assert row["actualizacion"] == pytest.approx(397.9656, abs=1e-6)
    tax = row["igi"] + row["dta"] + row["iva"]
    assert tax == pytest.approx(2852.8, abs=1e-6)
    assert row["recargos"] / (tax + row["actualizacion"]) == pytest.approx(months * 0.0147)


def test_exposure_surcharge_months_capped_at_60(tmp_path):
    """§4: "… at most 60".  Import 2019-02-10 MP, as of 2026-03-10: 86 months or
    fraction → 60, starting 2019-02-10 … 2024-01-10, all at 1.47 % → Σ = 0.882."""
    folder = client(
        tmp_path,
        [imp(ip(1), 1, "2019-02-10", "OLD", 1, mxn=10000, igi=0.10)],
        [exp(ep(1), 1, "2022-02-01", "OTHER", 1)],
    )
    r = run_folder(folder, as_of="2026-03-10")
    row = immex_nb.exposure(r.balances, "2026-03-10").iloc[0]
    tax = row["igi"] + row["dta"] + row["iva"]
    assert row["recargos"] / (tax + row["actualizacion"]) == pytest.approx(0.882)


# =========================================================================== §5 validation

BAD_IMPORTS = [
    # row 2: good
    imp(ip(1), 1, "2024-01-10", "P", 10),
    # row 3: missing date
    imp(ip(1), 2, "", "P", 10),
    # row 4: unparseable date
    imp(ip(1), 3, "2024-13-45", "P", 10),
    # row 5: unparseable quantity
    imp(ip(1), 4, "2024-01-10", "P", "abc"),
    # row 6: quantity 0
    imp(ip(1), 5, "2024-01-10", "P", 0),
    # row 7: negative value
    imp(ip(1), 6, "2024-01-10", "P", 10, mxn=-5),
    # row 8: pedimento with 12 digits
    imp("24 47 3420 40", 7, "2024-01-10", "P", 10),
    # row 9: unknown material type
    imp(ip(1), 8, "2024-01-10", "P", 10, mt="XX"),
    # row 10: repeats row 2's (pedimento, line)
    imp(ip(1), 1, "2024-02-10", "P", 10),
    # row 11: missing part number
    imp(ip(1), 9, "2024-01-10", "", 10),
    # row 12: good
    imp(ip(1), 10, "2024-01-10", "P", 10),
    # row 13: repeats row 2 again
    imp(ip(1), 1, "2024-03-10", "P", 10),
    # row 14: negative quantity
    imp(ip(1), 11, "2024-01-10", "P", -1),
]
BAD_IMPORT_ROWS = {
    3: "date",
    4: "date",
    5: "quantity",
    6: "quantity",
    7: "value_mxn",
    8: "pedimento",
    9: "material_type",
    10: None,  # duplicate key: pedimento or line
    11: "part_number",
    13: None,
    14: "quantity",
}
BAD_BOM = [
    bom("FG", "P", 1),  # row 2 good
    bom("FG", "Q", 0),  # row 3 qty_per 0
    bom("FG", "R", -2),  # row 4 qty_per < 0
    bom("FG", "S", 1, -0.1),  # row 5 scrap < 0
    bom("FG", "T", 1, 0, "2024-05-01", "2024-04-30"),  # row 6 valid_from > valid_to
    bom("FG", "U", 1, 0, "2024-05-01", "2024-05-01"),  # row 7 good (one day)
]


def _bad_folder(tmp_path):
    return client(
        tmp_path,
        BAD_IMPORTS,
        [exp(ep(1), 1, "2024-02-01", "FG", 1), exp(ep(1), 1, "2024-02-02", "FG", 1)],
        BAD_BOM,
        name="bad",
    )


def test_rejects_every_reason_with_file_and_spreadsheet_row(tmp_path):
    """§5: "A row is rejected, and every other row still loaded, when: a required
    value is missing or unparseable (date, number), a quantity is ≤ 0 or a value
    < 0, a pedimento number is not 15 digits, `material_type` is unknown,
    `(pedimento, line)` repeats in one table (every repeat after the first), a
    BOM `qty_per` ≤ 0, `scrap_rate` < 0, or `valid_from > valid_to`" and
    "`rejects` has columns `file, row, column, value, reason`, where `file` is
    the file's name … and `row` is the row number a spreadsheet shows (header =
    row 1)"."""
    ledger = immex_nb.load(_bad_folder(tmp_path))
    rj = ledger.rejects
    assert list(rj.columns) == ["file", "row", "column", "value", "reason"]
    assert set(rj["file"]) == {"imports.csv", "exports.csv", "bom.csv"}
    assert (rj["reason"].astype(str).str.len() > 0).all()

    imp_rj = rj[rj["file"] == "imports.csv"]
    assert set(imp_rj["row"].astype(int)) == set(BAD_IMPORT_ROWS)
    for row, column in BAD_IMPORT_ROWS.items():
        cols = set(imp_rj.loc[imp_rj["row"].astype(int) == row, "column"])
        if column is not None:
            assert column in cols, (row, cols)
    assert imp_rj.loc[imp_rj["row"] == 4, "value"].tolist() == ["2024-13-45"]
    assert imp_rj.loc[imp_rj["row"] == 5, "value"].tolist() == ["abc"]
    assert sorted(ledger.imports["line"].tolist()) == [1, 10]  # rows 2 and 12
    assert ledger.imports.loc[ledger.imports["line"] == 1, "date"].iloc[0] == pd.Timestamp(
        "2024-01-10"
    )  # the first of the repeats is the one kept

    exp_rj = rj[rj["file"] == "exports.csv"]
    assert exp_rj["row"].astype(int).tolist() == [3]
    assert len(ledger.exports) == 1

    bom_rj = rj[rj["file"] == "bom.csv"]
    assert sorted(set(bom_rj["row"].astype(int))) == [3, 4, 5, 6]
    by_row = {int(r.row): r.column for r in bom_rj.itertuples()}
    assert by_row[3] == "qty_per" and by_row[4] == "qty_per" and by_row[5] == "scrap_rate"
    assert by_row[6] in ("valid_from", "valid_to")
    assert sorted(ledger.bom["component"].tolist()) == ["P", "U"]


def test_rejects_sheet_label_and_row(tmp_path):
    """§5: "`file` is the file's name (`imports.csv`; `client.xlsx:imports` for a
    sheet) and `row` is the row number a spreadsheet shows (header = row 1)".
    Sheet ``imports``: row 2 good, row 3 quantity -5, row 4 good."""
    import openpyxl

    folder = tmp_path / "x"
    folder.mkdir()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("imports")
    ws.append(IMPORT_COLUMNS)
    for r in (
        imp(ip(1), 1, "2024-01-10", "P", 10),
        imp(ip(1), 2, "2024-01-10", "P", -5),
        imp(ip(1), 3, "2024-01-10", "P", 10),
    ):
        ws.append([r[c] for c in IMPORT_COLUMNS])
    ws = wb.create_sheet("exports")
    ws.append(EXPORT_COLUMNS)
    e = exp(ep(1), 1, "2024-02-01", "P", 1)
    ws.append([e[c] for c in EXPORT_COLUMNS])
    wb.save(folder / "client.xlsx")
    ledger = immex_nb.load(folder)
    rj = ledger.rejects
    assert rj[["file", "row", "column"]].values.tolist() == [["client.xlsx:imports", 3, "quantity"]]
    assert str(rj["value"].iloc[0]).startswith("-5")
    assert ledger.imports["line"].tolist() == [1, 3]


def test_missing_required_column_message(tmp_path):
    """§5: "A file that cannot be used at all (missing, unreadable, a required
    column absent) raises `immex_nb.ImmexError` whose message names the file,
    what is missing and the columns found"."""
    folder = tmp_path / "c"
    folder.mkdir()
    rows = [{k: v for k, v in imp(ip(1), 1, "2024-01-10", "P", 10).items() if k != "quantity"}]
    write_table(folder / "imports.csv", rows)
    write_table(folder / "exports.csv", [exp(ep(1), 1, "2024-02-01", "P", 1)])
    with pytest.raises(immex_nb.ImmexError) as info:
        immex_nb.load(folder)
    msg = str(info.value)
    assert "imports.csv" in msg and "quantity" in msg, msg
    assert "part_number" in msg and "value_mxn" in msg, msg  # columns found
    assert "\n" not in msg.strip()


def test_missing_file_and_unreadable_workbook_messages(tmp_path):
    """§5: "missing, unreadable … raises `immex_nb.ImmexError` whose message
    names the file"."""
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder / "imports.csv", [imp(ip(1), 1, "2024-01-10", "P", 10)])
    with pytest.raises(immex_nb.ImmexError, match="exports"):
        immex_nb.load(folder)
    (folder / "exports.xlsx").write_bytes(b"this is not a workbook")
    with pytest.raises(immex_nb.ImmexError, match="exports.xlsx"):
        immex_nb.load(folder)


def test_validate_exit_codes_and_rejects_csv(tmp_path):
    """§5: "`immex-nb validate DATA_DIR [--out DIR]` prints a summary, writes
    `rejects.csv`, and exits 0 (clean), 1 (rows rejected) or 2 (unusable input),
    never with a traceback"."""
    clean = _mixed_folder(tmp_path, name="clean")
    bad = _bad_folder(tmp_path)
    unusable = tmp_path / "unusable"
    unusable.mkdir()
    write_table(unusable / "imports.csv", [{"pedimento": ip(1), "line": 1}])
    write_table(unusable / "exports.csv", [exp(ep(1), 1, "2024-02-01", "P", 1)])

    p = cli(["validate", str(clean), "--out", str(tmp_path / "o0")])
    assert p.returncode == 0 and p.stdout.strip() and "Traceback" not in p.stderr
    assert len(pd.read_csv(tmp_path / "o0" / "rejects.csv")) == 0

    p = cli(["validate", str(bad), "--out", str(tmp_path / "o1")])
    assert p.returncode == 1 and p.stdout.strip() and "Traceback" not in p.stderr
    rj = pd.read_csv(tmp_path / "o1" / "rejects.csv")
    assert list(rj.columns) == ["file", "row", "column", "value", "reason"]
    assert len(rj) == len(immex_nb.load(bad).rejects)

    p = cli(["validate", str(unusable), "--out", str(tmp_path / "o2")])
    assert p.returncode == 2 and "Traceback" not in p.stderr + p.stdout
    assert "imports.csv" in p.stderr and "quantity" in p.stderr

    p = cli(["validate", str(tmp_path / "no-such-client")])
    assert p.returncode == 2 and "Traceback" not in p.stderr + p.stdout

    # without --out: rejects.csv beside the data
    assert main(["validate", str(bad)]) == 1
    assert (bad / "rejects.csv").is_file()


# =========================================================================== §6 report batch

PERIOD = "2024-06"


def _report_root(tmp_path):
    root = tmp_path / "clients"
    root.mkdir()
    client(
        root,
        [imp(ip(1), 1, "2024-01-10", "A", 100, mxn=10000), imp(ip(2), 1, "2022-06-01", "B", 5)],
        [exp(ep(1), 1, "2024-05-20", "A", 40)],
        name="alfa",
    )
    client(
        root,
        [imp(ip(1), 1, "2024-03-01", "C", 10, mxn=500, mt="EE")],
        [exp(ep(1), 1, "2024-06-30", "C", 3)],
        name="bravo",
    )
    broken = root / "zulu"
    broken.mkdir()
    write_table(broken / "imports.csv", [imp(ip(1), 1, "2024-01-10", "A", 1)])  # no exports
    return root


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    root = _report_root(tmp)
    out = tmp / "out"
    p = cli(
        ["report", "--data", str(root), "--period", PERIOD, "--out", str(out), "--workers", "2"]
    )
    return root, out, p


@pytest.mark.slow
def test_report_batch_files_and_exit_code(report_run):
    """§6: "writes `OUT/<client>/<YYYY-MM>/report.ipynb` …, `report.html` …,
    `annex.xlsx` …, `kpis.json` …, `OUT/index.html`" and "One client's failure
    never stops the others; the command exits 1 if any report failed"."""
    import openpyxl

    _, out, p = report_run
    assert p.returncode == 1, p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    for name in ("alfa", "bravo"):
        folder = out / name / PERIOD
        for f in ("report.ipynb", "report.html", "annex.xlsx", "kpis.json"):
            assert (folder / f).is_file(), (name, f)
        kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
        assert kpis
        wb = openpyxl.load_workbook(folder / "annex.xlsx", read_only=True)
        assert wb.sheetnames
        wb.close()
    failed_nb = json.loads((out / "zulu" / PERIOD / "report.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in failed_nb["cells"] for o in c.get("outputs", [])]
    assert any(o.get("output_type") == "error" for o in outputs)  # kept, with its error
    assert (out / "index.html").is_file()


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield obj


@pytest.mark.slow
def test_report_as_of_period_last_day_kpis(report_run):
    """§6: "… × every period, as of the period's last day" and "`kpis.json` — the
    headline figures".  alfa as of 2024-06-30: A 100 units MXN 10,000, 40
    returned 2024-05-20 → open 60 → MXN 6,000; B 5 units MXN 1,000 (2022-06-01,
    expired 2023-12-01) → open value 7,000 MXN."""
    _, out, _ = report_run
    text = (out / "alfa" / PERIOD / "kpis.json").read_text(encoding="utf-8")
    assert "2024-06-30" in text
    assert any(abs(x - 7000.0) < 1e-6 for x in _numbers(json.loads(text)))


@pytest.mark.slow
def test_report_html_no_code_offline_plotly(report_run):
    """§6: "`report.html` — for the client: no code cells, interactive plotly
    figures that render offline in a browser"."""
    _, out, _ = report_run
    html = (out / "alfa" / PERIOD / "report.html").read_text(encoding="utf-8")
    assert "import immex_nb" not in html and "from immex_nb" not in html
    assert 'class="jp-InputArea' not in html and 'class="input_area' not in html
    assert "Plotly.newPlot" in html
    # plotly.js itself is embedded (a few MB), no script fetched from the network
    assert not re.search(r"<script[^>]*\bsrc=[\"']?(https?:)?//", html)
    assert len(html) > 1_000_000


@pytest.mark.slow
def test_report_index_lists_failure_with_reason(report_run):
    """§6: "`OUT/index.html` — every client × period with its KPIs, links, and the
    failures with their reason" (zulu has no exports.csv)."""
    _, out, _ = report_run
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("alfa", "bravo", "zulu"):
        assert name in index
    assert "exports.csv" in index  # zulu's reason: the missing file
    assert "7,000" in index or "7000" in index  # alfa's open value (see below)
    assert f"alfa/{PERIOD}/report.html" in index


def test_report_client_name_cannot_escape_out(tmp_path):
    """§6: "Client names are folder names and never escape `OUT`": ``--client
    ../escape`` is refused and nothing is written beside ``OUT``."""
    root = _report_root(tmp_path)
    out = tmp_path / "box" / "out"
    out.mkdir(parents=True)
    rc = main(
        [
            "report",
            "--data",
            str(root),
            "--period",
            PERIOD,
            "--client",
            "../escape",
            "--out",
            str(out),
        ]
    )
    assert rc != 0
    assert sorted(p.name for p in (tmp_path / "box").iterdir()) == ["out"]
    assert not (tmp_path / "escape").exists()


# =========================================================================== §7 entry points


@pytest.mark.parametrize("command", ["validate", "discharge", "exposure", "report", "demo"])
def test_every_subcommand_has_help(command, capsys):
    """§7: "`immex-nb` command line: `validate`, `discharge`, `exposure`,
    `report`, `demo` — each with `--help`"."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_console_script_help():
    """§7: the ``immex-nb`` console script itself answers ``--help``."""
    exe = Path(sys.executable).with_name("immex-nb")
    p = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    for command in ("validate", "discharge", "exposure", "report", "demo"):
        assert command in p.stdout
