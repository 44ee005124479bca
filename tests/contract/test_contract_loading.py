"""The contract, §1 canonical tables: loading: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import pandas as pd
from contract_support import (
    alloc_set,
    ep,
    exp,
    imp,
    ip,
    open_by_line,
    write_table,
)

import immex_nb
from immex_nb.cli import main

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
