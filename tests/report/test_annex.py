"""``annex.xlsx`` (immex_nb/report/annex.py, docs/annex.md).

The Anexo 24 workbook of the ``acme`` client (tests/report_helpers.py, period
2025-03): four open lines — RES-1 expired 2024-12-15, LBL-1 due 2025-05-10
(40 days), CAP-1 with 500 of 1,000 open (MXN 5,000), the AF press without a
time limit — one discharge in March (400 CAP-1), no shortfalls, no rejects.
Open value 1,027,000 = the report's KPI.
"""

from __future__ import annotations

import csv
from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from report_helpers import PERIOD, write_clients

from immex_nb.report import annex
from immex_nb.report.annex import write_annex, write_report_annex
from immex_nb.text import t

SHEETS_ES = [
    "Índice",
    "Saldos por pedimento",
    "Importaciones del mes",
    "Exportaciones del mes",
    "Descargos del mes",
    "Vencimientos 30-60-90 días",
    "Faltantes",
    "Rechazos",
    "Exposición",
    "Exposición (cálculo)",
    "Ahorro IGI e IVA",
]
MONEY = "#,##0.00"
QTY = "#,##0.00##"


@pytest.fixture(scope="module")
def acme(tmp_path_factory):
    from immex_nb.report.sections import build_report_data

    root = write_clients(tmp_path_factory.mktemp("annex") / "data")
    return build_report_data(root / "acme", PERIOD, language="es", client="acme")


def _rows(ws):
    header = [c.value for c in ws[1]]
    out = []
    for r in range(2, ws.max_row + 1):
        values = [ws.cell(r, j + 1).value for j in range(len(header))]
        if values[0] is not None and any(v is not None for v in values[1:]):
            out.append(dict(zip(header, values, strict=True)))
    return header, out


def test_spanish_workbook_sheets_headers_and_formats(acme, tmp_path):
    written = write_report_annex(acme, tmp_path / "annex.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    assert wb.sheetnames == SHEETS_ES
    assert written.sheets["saldos"] == "Saldos por pedimento" and not written.full_tables
    internal = {src for cols in annex.COLUMNS.values() for src, _, _ in cols}
    for ws in wb.worksheets[1:]:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
        header = [c.value for c in ws[1]]
        assert all(ws.cell(1, j + 1).font.bold for j in range(len(header)))
        assert not internal & set(header), (ws.title, internal & set(header))
        assert not any("_" in h for h in header), header
        for j, h in enumerate(header, start=1):
            width = ws.column_dimensions[ws.cell(1, j).column_letter].width
            assert width and width >= 8, (ws.title, h)
            fmt = ws.cell(2, j).number_format
            if ws.max_row >= 2 and ws.cell(2, j).value is not None and fmt == MONEY:
                assert h.endswith(("MXN", "USD")), (ws.title, h)
            if fmt == QTY and ws.cell(2, j).value is not None:
                assert "Unidad de medida" in header, (ws.title, h)


def test_saldos_one_row_per_open_line_with_the_reports_numbers(acme, tmp_path):
    write_report_annex(acme, tmp_path / "annex.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    header, rows = _rows(wb["Saldos por pedimento"])
    assert header[:3] == ["Pedimento", "Partida", "Fecha de importación"]
    assert {"Unidad de medida", "Cantidad importada", "Cantidad descargada", "Saldo"} <= set(header)
    assert header.index("Unidad de medida") + 1 == header.index("Cantidad importada")
    assert [r["Número de parte"] for r in rows] == ["RES-1", "LBL-1", "CAP-1", "PRESS-1"]
    by_part = {r["Número de parte"]: r for r in rows}
    cap = by_part["CAP-1"]
    assert cap["Pedimento"] == "24 47 3420 4000001" and cap["Partida"] == 1
    assert (cap["Cantidad importada"], cap["Cantidad descargada"], cap["Saldo"]) == (1000, 500, 500)
    assert cap["Valor del saldo MXN"] == pytest.approx(5_000)
    assert cap["Valor en aduana MXN"] == pytest.approx(10_000)
    assert cap["Fecha límite de retorno"] == datetime(2026, 5, 20)
    assert (
        by_part["RES-1"]["Estado"] == "Vencido"
        and by_part["RES-1"]["Días al vencimiento (− vencido)"] < 0
    )
    assert by_part["LBL-1"]["Estado"] == "En plazo"
    assert by_part["PRESS-1"]["Estado"] == "Sin plazo (activo fijo)"
    assert by_part["PRESS-1"]["Fecha límite de retorno"] is None
    total = sum(r["Valor del saldo MXN"] for r in rows)
    assert total == pytest.approx(acme.kpis["open_value_mxn"]) == pytest.approx(1_027_000)
    ws = wb["Saldos por pedimento"]
    col = header.index("Fecha límite de retorno") + 1
    assert ws.cell(2, col).number_format == "yyyy-mm-dd"


def test_month_sheets(acme, tmp_path):
    write_report_annex(acme, tmp_path / "annex.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    _, imp = _rows(wb["Importaciones del mes"])
    assert [(r["Pedimento"], r["Número de parte"]) for r in imp] == [
        ("25 47 3420 5000001", "PRESS-1")
    ]  # the import of 2025-04-02 is not of the month
    _, exp = _rows(wb["Exportaciones del mes"])
    assert [(r["Pedimento de exportación"], r["Cantidad exportada"]) for r in exp] == [
        ("25 47 3420 5100001", 400)
    ]
    _, desc = _rows(wb["Descargos del mes"])
    assert len(desc) == 1
    d = desc[0]
    assert d["Pedimento de exportación"] == "25 47 3420 5100001"
    assert d["Pedimento de importación"] == "24 47 3420 4000001"
    assert d["Cantidad descargada"] == 400 and d["Fuera de plazo"] == "No"
    _, due = _rows(wb["Vencimientos 30-60-90 días"])
    assert [r["Pedimento"] for r in due] == ["23 47 3420 3000001", "24 47 3420 4000002"]
    assert [r["Plazo"] for r in due] == ["Vencido", "Vence en 31 a 60 días"]
    # no shortfalls, no rejects: the sheet says so instead of staying blank
    assert wb["Faltantes"].cell(2, 1).value == t("annex.empty.faltantes", "es")
    assert wb["Rechazos"].cell(2, 1).value == t("annex.empty.rechazos", "es")
    header, exp = _rows(wb["Exposición"])
    assert "Total MXN" in header and "Tasa IGI" not in header  # the working is apart
    assert sum(r["Total MXN"] for r in exp) == pytest.approx(acme.kpis["exposure_total_mxn"])
    work, _ = _rows(wb["Exposición (cálculo)"])
    assert {"Tasa IGI", "Factor de actualización", "Meses de recargo"} <= set(work)
    _, sav = _rows(wb["Ahorro IGI e IVA"])
    assert any(r["Concepto"] == "IGI diferido" for r in sav)


@pytest.mark.parametrize(
    ("lang", "sheet", "reason"),
    [
        ("es", "Rechazos", "quantity debe ser mayor que 0; se recibió -3"),
        ("en", "Rejected rows", "quantity must be greater than 0, got -3"),
    ],
)
def test_rejects_sheet_gives_the_reason_in_the_workbooks_language(tmp_path, lang, sheet, reason):
    """docs/rules/validation.md: rejects.csv keeps English, the annex its own language."""
    from immex_nb.report.sections import build_report_data

    root = write_clients(tmp_path / "data")
    path = root / "acme" / "imports.csv"
    header, first = path.read_text(encoding="utf-8").splitlines()[:2]
    cells = dict(zip(header.split(","), first.split(","), strict=True))
    cells.update(line="77", quantity="-3")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(",".join(cells.values()) + "\n")
    data = build_report_data(root / "acme", PERIOD, language=lang, client="acme")
    write_report_annex(data, tmp_path / "annex.xlsx")
    _, rows = _rows(openpyxl.load_workbook(tmp_path / "annex.xlsx")[sheet])
    assert [r[t("annex.h.motivo", lang)] for r in rows] == [reason]


def test_index_sheet_names_client_period_and_sheets(acme, tmp_path):
    write_report_annex(acme, tmp_path / "annex.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "annex.xlsx")["Índice"]
    text = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert "ACME Manufacturas, S.A. de C.V." in text and PERIOD in text
    for name in SHEETS_ES[1:]:
        assert name in text


def test_english_on_request(acme, tmp_path):
    write_report_annex(acme, tmp_path / "annex.xlsx", lang="en")
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    assert wb.sheetnames[:3] == ["Contents", "Balances by pedimento", "Imports of the month"]
    header, rows = _rows(wb["Balances by pedimento"])
    assert "Unit of measure" in header and "Open value MXN" in header
    assert {r["Status"] for r in rows} == {"Expired", "In time", "No time limit (fixed asset)"}
    spanish = {"Saldo", "Fecha", "Vencido", "Pedimento de importación", "Índice"}
    for ws in wb.worksheets:
        cells = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
        assert not spanish & cells, (ws.title, spanish & cells)


def test_anexo30_sheets_when_given(acme, tmp_path):
    descargos = pd.DataFrame(
        {
            "export_pedimento": ["25 47 3420 5100001"],
            "export_clave": ["RT"],
            "export_date": pd.to_datetime(["2025-03-10"]),
            "fraccion": ["85322401"],
            "activo_fijo": ["N"],
            "value_mxn": [4000.0],
        }
    )
    saldos = pd.DataFrame(
        {
            "fraccion": ["85322401"],
            "activo_fijo": ["N"],
            "opening_value_mxn": [9000.0],
            "credits_value_mxn": [0.0],
            "descargos_value_mxn": [4000.0],
            "closing_value_mxn": [5000.0],
            "expired_value_mxn": [0.0],
        }
    )
    write_report_annex(acme, tmp_path / "annex.xlsx", anexo30=(descargos, saldos))
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    assert wb.sheetnames[-2:] == ["Anexo 30 saldos", "Anexo 30 descargos"]
    header, rows = _rows(wb["Anexo 30 saldos"])
    assert header[:2] == ["Fracción arancelaria", "Activo fijo (S/N)"]
    assert rows[0]["Saldo final MXN"] == 5000 and rows[0]["Fracción arancelaria"] == "85322401"
    _, rows = _rows(wb["Anexo 30 descargos"])
    assert rows[0]["Valor descargado MXN"] == 4000
    assert rows[0]["Fecha de exportación"] == datetime(2025, 3, 10)


def test_long_sheets_are_cut_and_written_in_full_beside(acme, tmp_path):
    written = write_report_annex(acme, tmp_path / "annex.xlsx", max_rows=2)
    assert written.rows["saldos"] == (2, 4)
    saldos_csv = tmp_path / "annex_saldos.csv"
    assert written.full_tables["saldos"] == saldos_csv
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    ws = wb["Saldos por pedimento"]
    assert [ws.cell(r, 1).value for r in (2, 3)] == ["23 47 3420 3000001", "24 47 3420 4000002"]
    assert ws.cell(4, 1).value is None
    assert "annex_saldos.csv" in ws.cell(5, 1).value and "4" in ws.cell(5, 1).value
    index = {str(c.value) for row in wb["Índice"].iter_rows() for c in row if c.value}
    assert any("annex_saldos.csv" in v for v in index)
    with saldos_csv.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and rows[0]["Pedimento"] == "23 47 3420 3000001"
    assert rows[0]["Fecha límite de retorno"] == "2024-12-15"
    assert float(rows[2]["Valor del saldo MXN"]) == 5000


def test_the_months_discharges_are_kept_whole(acme, tmp_path):
    written = write_report_annex(acme, tmp_path / "annex.xlsx", max_rows=0)
    assert written.rows["saldos"] == (0, 4) and "saldos" in written.full_tables
    assert written.rows["descargos"] == (1, 1) and "descargos" not in written.full_tables
    ws = openpyxl.load_workbook(tmp_path / "annex.xlsx")["Saldos por pedimento"]
    assert ws.cell(2, 1).value is None and "annex_saldos.csv" in ws.cell(3, 1).value


def test_never_beyond_excels_row_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(annex, "EXCEL_MAX_ROWS", 3)
    frame = pd.DataFrame({"part_number": [f"P{i}" for i in range(5)], "qty": range(5)})
    write_annex({"parts": frame}, tmp_path / "annex.xlsx", max_rows=10**9)
    ws = openpyxl.load_workbook(tmp_path / "annex.xlsx")["parts"]
    assert [ws.cell(r, 1).value for r in range(2, 5)] == ["P0", "P1", "P2"]
    assert ws.cell(5, 1).value is None
    assert len(pd.read_csv(tmp_path / "annex_1.csv")) == 5


def test_text_is_never_a_formula_and_keeps_its_shape(tmp_path):
    risky = [
        "=1+2",
        "+52 81",
        "-0042",
        "@SUM(A1)",
        '=HYPERLINK("http://x")',
        "0012",
        "a & <b>",
        "  lead",
    ]
    frame = pd.DataFrame(
        {
            "part_number": risky,
            "quantity": [1.5] * len(risky),
            "value_mxn": [1234.5] * len(risky),
            "date": pd.to_datetime(["2025-03-31"] * len(risky)),
            "late": [True, False] * (len(risky) // 2),
            "igi_rate": [0.15] * len(risky),
        }
    )
    frame.loc[1, "quantity"] = float("nan")
    path = tmp_path / "annex.xlsx"
    write_annex({"Tabla": frame}, path, about={"Cliente": "=cmd"}, max_rows=5)
    wb = openpyxl.load_workbook(path)
    ws = wb["Tabla"]
    for r, value in enumerate(risky[:5], start=2):
        cell = ws.cell(r, 1)
        assert cell.value == value and cell.data_type == "s", (value, cell.data_type)
    assert ws.cell(2, 2).value == 1.5 and ws.cell(2, 2).number_format == QTY
    assert ws.cell(3, 2).value is None  # NaN: an empty cell
    assert ws.cell(2, 3).number_format == MONEY
    assert ws.cell(2, 4).value == datetime(2025, 3, 31)
    assert ws.cell(2, 5).value is True and ws.cell(3, 5).value is False
    assert ws.cell(2, 6).number_format == "0.00%"
    about = [c.value for row in wb[wb.sheetnames[0]].iter_rows() for c in row]
    assert "=cmd" in about
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", (sheet.title, c.coordinate, c.value)
    # the full table beside: text guarded against formulas, numbers left alone
    with (tmp_path / "annex_1.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["part_number"] for r in rows] == [
        "'=1+2", "'+52 81", "'-0042", "'@SUM(A1)", "'=HYPERLINK(\"http://x\")", "0012", "a & <b>", "  lead",
    ]  # fmt: skip
    assert rows[0]["value_mxn"] == "1234.5"
    # leading spaces and XML characters survive in the sheet too
    write_annex({"Tabla": frame}, path)
    ws = openpyxl.load_workbook(path)["Tabla"]
    assert ws.cell(8, 1).value == "a & <b>" and ws.cell(9, 1).value == "  lead"


def test_control_characters_and_empty_tables(tmp_path):
    frame = pd.DataFrame({"description": ["tab\there", "bell\x07", None, "_x0041_"]})
    path = tmp_path / "annex.xlsx"
    write_annex({"Desc": frame, "Empty": pd.DataFrame({"a": []})}, path, lang="en")
    wb = openpyxl.load_workbook(path)
    values = [wb["Desc"].cell(r, 1).value for r in range(2, 6)]
    assert values[0] == "tab\there" and values[2] is None
    # a literal "_x0041_" is escaped as Excel expects ("_x005F_" is "_"); openpyxl shows it raw
    assert values[3] in ("_x0041_", "_x005F_x0041_")
    assert values[1] in ("bell\x07", "bell_x0007_")
    assert wb["Empty"].cell(2, 1).value == t("annex.note.empty", "en")
    assert wb.sheetnames[0] == "Contents"


def test_anexo30_from_the_reports_own_discharges(acme, tmp_path):
    """acme, 2025-03: the March export discharged MXN 4,000 of CAP-1; closing
    27,000 of inputs (20,000 of them expired) and the 1,000,000 press (AF)."""
    from immex_nb.report.annex import report_anexo30

    tables = report_anexo30(acme)
    assert tables is not None
    write_report_annex(acme, tmp_path / "annex.xlsx", anexo30=tables)
    wb = openpyxl.load_workbook(tmp_path / "annex.xlsx")
    _, rows = _rows(wb["Anexo 30 saldos"])
    by_flag = {r["Activo fijo (S/N)"]: r for r in rows}
    assert by_flag["N"]["Saldo final MXN"] == pytest.approx(27_000)
    assert by_flag["N"]["Saldo vencido MXN"] == pytest.approx(20_000)
    assert by_flag["S"]["Saldo final MXN"] == pytest.approx(1_000_000)
    assert by_flag["N"]["Fracción arancelaria"] == t("anexo30.fraccion.blank", "es")
    _, rows = _rows(wb["Anexo 30 descargos"])
    assert [r["Valor descargado MXN"] for r in rows] == [pytest.approx(4_000)]


def test_every_sheet_has_its_words_in_both_languages():
    assert set(annex.SHEETS) == set(annex.COLUMNS)
    for lang in ("es", "en"):
        titles = [annex.sheet_title(k, lang) for k in annex.SHEETS]
        assert len(set(titles)) == len(titles) and all(len(x) <= 31 for x in titles)
        assert not any(set(x) & set("[]:*?/\\") for x in titles)
        for key in annex.SHEETS:
            assert t(f"annex.about.{key}", lang, period=PERIOD)
            assert t(f"annex.empty.{key}", lang, period=PERIOD)
            headers = [t(f"annex.h.{h}", lang) for _, h, _ in annex.COLUMNS[key]]
            assert len(set(headers)) == len(headers), (key, lang)
