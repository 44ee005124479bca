"""A hidden sheet named ``imports`` used to win over the visible sheet the
client meant.  The workbook is now refused when two sheets could be one table
(one line naming the sheets, exit 2), and validate says which sheet it read."""

from __future__ import annotations

import openpyxl

from hostile.conftest import (
    EXPORTS_HEADER,
    IMPORTS_HEADER,
    accounted,
    import_line,
    no_traceback,
    run_cli,
)


def _rows(*lines: str) -> list[list[str]]:
    return [line.split(",") for line in lines]


def _sheet(wb, title: str, rows, hidden: bool = False) -> None:
    ws = wb.create_sheet(title)
    for row in rows:
        ws.append(row)
    if hidden:
        ws.sheet_state = "hidden"


def _workbook(path, sheets) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows, hidden in sheets:
        _sheet(wb, title, rows, hidden)
    wb.save(path)


NEW = _rows(IMPORTS_HEADER, import_line(1, "NEW-1"), import_line(2, "NEW-2"))
OLD = _rows(IMPORTS_HEADER, import_line(1, "OLD-1"))
EXPORTS = _rows(EXPORTS_HEADER, "24 47 3420 4009999,1,RT,2024-03-01,NEW-1,10")


def test_hidden_and_visible_sheets_for_one_table_are_refused(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    _workbook(
        folder / "client.xlsx",
        [("imports", OLD, True), ("Imports ", NEW, False), ("exports", EXPORTS, False)],
    )
    out = tmp_path / "v"
    p = run_cli("validate", folder, "--out", out)
    no_traceback(p)
    assert p.returncode == 2, p.stdout + p.stderr
    message = p.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "'imports' (hidden)" in message and "'Imports '" in message
    assert not (out / "rejects.csv").exists()


def test_hidden_sheet_beside_the_first_sheet_of_imports_xlsx_is_refused(tmp_path):
    """imports.xlsx reads its first sheet — unless a hidden "imports" competes."""
    folder = tmp_path / "acme"
    folder.mkdir()
    _workbook(folder / "imports.xlsx", [("Hoja1", NEW, False), ("imports", OLD, True)])
    _workbook(folder / "exports.xlsx", [("exports", EXPORTS, False)])
    p = run_cli("validate", folder, "--out", tmp_path / "v")
    no_traceback(p)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "'Hoja1'" in p.stderr and "'imports' (hidden)" in p.stderr


def test_validate_says_which_sheet_it_read(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    _workbook(
        folder / "client.xlsx",
        [("Notas", _rows("x"), False), ("IMPORTS", NEW, True), ("exports", EXPORTS, False)],
    )
    out = tmp_path / "v"
    p = run_cli("validate", folder, "--out", out)
    no_traceback(p)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "imports: read from client.xlsx, sheet 'IMPORTS' (hidden sheet)" in p.stdout
    assert "exports: read from client.xlsx, sheet 'exports'" in p.stdout
    assert accounted(out) == {"read": 2, "loaded": 2, "rejected": 0}
    assert (out / "rejects.csv").is_file()
