"""The contract, §5 validation and rejects: one sentence per test, numbers worked by hand.

Each test writes a small client folder the way a client would send it and goes
only through the public entry points (docs/contract.md).
"""

from __future__ import annotations

import pandas as pd
import pytest
from contract_support import (
    EXPORT_COLUMNS,
    IMPORT_COLUMNS,
    bom,
    cli,
    client,
    ep,
    exp,
    imp,
    ip,
    mixed_folder,
    write_table,
)

import immex_nb
from immex_nb.cli import main

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
    clean = mixed_folder(tmp_path, name="clean")
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
