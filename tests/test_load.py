"""Loading client folders: formats, headers, parsing, rejects (docs/rules/tables.md, docs/rules/validation.md)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import pandas as pd
import pytest
from conftest import EXPORT_ROW, IMPORT_ROW
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from immex_nb.cli import main
from immex_nb.errors import ImmexError
from immex_nb.load import load, parse_date_text, parse_number


def imp(**overrides):
    return {**IMPORT_ROW, **overrides}


def exp(**overrides):
    return {**EXPORT_ROW, **overrides}


def rejects_of(ledger, file):
    r = ledger.rejects
    return r[r["file"] == file]


def only_reject(ledger):
    """The single reject of a ledger, as a dict."""
    assert len(ledger.rejects) == 1, ledger.rejects.to_string()
    return ledger.rejects.iloc[0].to_dict()


# ---------------------------------------------------------------------------
# formats and headers


def test_spanish_headers_map_to_canonical_columns(tmp_path, write_client):
    imports = (
        "Pedimento,Partida,Clave,Fecha,Numero_Parte,Descripción,Fracción,Cantidad,"
        "Valor USD,Valor MXN,País Origen,Tipo Material,Tasa IGI\n"
        "24 47 3420 4001234,1,IN,2024-01-10,00123,Resistor,85332101,100,1000,17000,CHN,EE,5%\n"
    )
    exports = "pedimento,partida,clave,fecha,no_parte,cantidad,pais_destino\n24 47 3420 4009999,1,RT,01/03/2024,00123,40,USA\n"
    ledger = load(write_client(tmp_path, imports=imports, exports=exports))
    assert ledger.rejects.empty
    row = ledger.imports.iloc[0]
    assert row["line"] == 1
    assert row["date"] == pd.Timestamp("2024-01-10")
    assert row["part_number"] == "00123"
    assert row["description"] == "Resistor"
    assert row["fraccion"] == "85332101"
    assert row["quantity"] == 100.0
    assert row["origin"] == "CHN"
    assert row["material_type"] == "EE"
    assert row["igi_rate"] == pytest.approx(0.05)
    e = ledger.exports.iloc[0]
    assert (e["part_number"], e["destination"], e["date"]) == (
        "00123",
        "USA",
        pd.Timestamp("2024-03-01"),
    )


def test_canonical_dtypes(tmp_path, write_client):
    ledger = load(write_client(tmp_path))
    dtypes = ledger.imports.dtypes.astype(str).to_dict()
    assert dtypes["pedimento"] == "str"
    assert dtypes["line"] == "int64"
    assert dtypes["date"] == "datetime64[ns]"
    assert dtypes["quantity"] == "float64"
    assert dtypes["value_mxn"] == "float64"
    assert dtypes["usmca_originating"] == "boolean"
    assert ledger.exports.dtypes["date"] == "datetime64[ns]"


def test_workbook_sheets_any_case(tmp_path):
    """client.xlsx with sheets Imports / EXPORTS / bom; Excel date cells and
    numbers; a bad row is reported as ``client.xlsx:<table>`` (docs/rules/validation.md,
    whatever the sheet's capitals) with its Excel row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Imports"
    ws.append(
        ["Pedimento", "Partida", "Clave", "Fecha", "No_Parte", "Cantidad", "Valor_USD", "Valor_MXN"]
    )
    ws.append(["24 47 3420 4001234", 1, "IN", datetime(2024, 1, 10), "00123", 100, 1000.5, 17000])
    ws.append([244734204001235, 1, "IN", datetime(2024, 1, 11, 14, 30), "00124", -3, 10, 170])
    ws = wb.create_sheet("EXPORTS")
    ws.append(["pedimento", "line", "clave", "date", "part_number", "quantity"])
    ws.append(["24 47 3420 4009999", 1, "RT", datetime(2024, 3, 1), "FG-1", 10])
    ws = wb.create_sheet("bom")
    ws.append(["parent", "component", "qty_per", "scrap_rate"])
    ws.append(["FG-1", "00123", 2, 0.05])
    wb.save(tmp_path / "client.xlsx")

    ledger = load(tmp_path)
    assert ledger.imports["part_number"].tolist() == ["00123"]
    assert ledger.imports["date"].tolist() == [pd.Timestamp("2024-01-10")]
    assert ledger.imports["value_usd"].tolist() == [1000.5]
    assert ledger.bom["scrap_rate"].tolist() == [0.05]
    assert ledger.exports["part_number"].tolist() == ["FG-1"]
    r = only_reject(ledger)
    assert (r["file"], r["row"], r["column"]) == ("client.xlsx:imports", 3, "quantity")
    assert ledger.files == {
        "imports": "client.xlsx:imports",
        "exports": "client.xlsx:exports",
        "bom": "client.xlsx:bom",
    }
    assert ledger.sources == [tmp_path / "client.xlsx"]


def test_cp1252_semicolon_decimal_comma(tmp_path, write_client):
    """Excel on a Spanish-locale Windows: Windows-1252 bytes (ú = 0xFA),
    semicolons, decimal commas and a thousands dot."""
    text = (
        "pedimento;partida;clave;fecha;número_parte;descripción;cantidad;valor_usd;valor_mxn\r\n"
        "24 47 3420 4001234;1;IN;10/01/2024;00123;Tornillo cabeza hexagonal ñ;1.234,5;10,25;170\r\n"
    )
    ledger = load(write_client(tmp_path, imports=text.encode("cp1252")))
    assert ledger.rejects.empty
    row = ledger.imports.iloc[0]
    assert row["quantity"] == 1234.5
    assert row["value_usd"] == 10.25
    assert row["description"] == "Tornillo cabeza hexagonal ñ"


def test_utf8_with_bom(tmp_path, write_client):
    text = "\ufeffpedimento,line,clave,date,part_number,quantity,value_usd,value_mxn\n24 47 3420 4001234,1,IN,2024-01-10,Ñ-1,5,1,17\n"
    ledger = load(write_client(tmp_path, imports=text.encode("utf-8")))
    assert ledger.imports["pedimento"].tolist() == ["24 47 3420 4001234"]
    assert ledger.imports["part_number"].tolist() == ["Ñ-1"]


def test_thousands_comma_in_comma_csv(tmp_path, write_client):
    ledger = load(write_client(tmp_path, imports=[imp(quantity="1,234.5", value_mxn="$17,000")]))
    assert ledger.imports[["quantity", "value_mxn"]].values.tolist() == [[1234.5, 17000.0]]


def test_leading_zeros_kept(tmp_path, write_client):
    ledger = load(
        write_client(
            tmp_path, imports=[imp(part_number="000123", fraccion="01012101", origin="USA")]
        )
    )
    assert ledger.imports.loc[0, "part_number"] == "000123"
    assert ledger.imports.loc[0, "fraccion"] == "01012101"


def test_extra_columns_kept_with_their_header(tmp_path, write_client):
    ledger = load(
        write_client(tmp_path, imports=[imp(**{"Centro de Costo": "0042", "Notas": "urgente"})])
    )
    assert ledger.imports.columns[-2:].tolist() == ["Centro de Costo", "Notas"]
    assert ledger.imports.loc[0, "Centro de Costo"] == "0042"


def test_defaults_for_absent_and_blank_optional_columns(tmp_path, write_client):
    folder = write_client(
        tmp_path,
        imports=[imp(), imp(line="2", material_type="", igi_rate="")],
        bom=[{"parent": "FG", "component": "P-001", "qty_per": "2"}],
    )
    ledger = load(folder)
    assert ledger.rejects.empty
    assert ledger.imports["material_type"].tolist() == ["MP", "MP"]
    assert ledger.imports["igi_rate"].tolist() == [0.0, 0.0]
    assert ledger.imports["origin"].tolist() == ["", ""]
    assert ledger.imports["prosec_rate"].isna().all()
    assert ledger.imports["usmca_originating"].isna().all()
    assert ledger.exports.loc[0, "value_usd"] == 0.0
    b = ledger.bom.iloc[0]
    assert b["scrap_rate"] == 0.0
    assert pd.isna(b["valid_from"]) and pd.isna(b["valid_to"])


def test_bom_optional_gives_empty_canonical_frame(tmp_path, write_client):
    ledger = load(write_client(tmp_path))
    assert ledger.bom.empty
    assert ledger.bom.columns.tolist() == [
        "parent",
        "component",
        "qty_per",
        "scrap_rate",
        "valid_from",
        "valid_to",
    ]
    assert ledger.bom["qty_per"].dtype == "float64"
    assert ledger.bom["valid_from"].dtype == "datetime64[ns]"


def test_settings_default_to_folder_name(tmp_path, write_client):
    ledger = load(write_client(tmp_path / "acme"))
    assert ledger.settings.name == "acme"
    assert ledger.folder == tmp_path / "acme"


def test_header_alias_priority_keeps_the_other_as_extra(tmp_path, write_client):
    """fecha_entrada (earlier alias) wins over fecha_pago, which stays as an extra column."""
    row = {k: v for k, v in IMPORT_ROW.items() if k != "date"}
    row.update({"Fecha Pago": "2024-01-20", "Fecha Entrada": "2024-01-10"})
    ledger = load(write_client(tmp_path, imports=[row]))
    assert ledger.imports.loc[0, "date"] == pd.Timestamp("2024-01-10")
    assert ledger.imports.loc[0, "Fecha Pago"] == "2024-01-20"


@pytest.mark.parametrize(
    "text",
    [
        "24 47 3420 4001234",
        "24  47  3420  4001234",
        "24473420 4001234",
        "244734204001234",
        "24-47-3420-4001234",
    ],
)
def test_pedimento_normalised(tmp_path, write_client, text):
    ledger = load(write_client(tmp_path, imports=[imp(pedimento=text)]))
    assert ledger.imports["pedimento"].tolist() == ["24 47 3420 4001234"]


def test_booleans_and_percent_rates(tmp_path, write_client):
    rows = [
        imp(line=str(i), usmca_originating=word, prosec_rate=rate)
        for i, (word, rate) in enumerate(
            [("sí", "5%"), ("No", "0.05"), ("x", "0"), ("", ""), ("yes", "12.5 %")], start=1
        )
    ]
    ledger = load(write_client(tmp_path, imports=rows))
    assert ledger.rejects.empty
    assert ledger.imports["usmca_originating"].tolist() == [True, False, True, pd.NA, True]
    rates = ledger.imports["prosec_rate"].tolist()
    assert rates[:3] == pytest.approx([0.05, 0.05, 0.0])
    assert pd.isna(rates[3]) and rates[4] == pytest.approx(0.125)


def test_immex_nb_load_is_callable_after_module_import(tmp_path, write_client):
    import immex_nb.load  # noqa: F401  (binds the package attribute to the module)

    assert len(immex_nb.load(write_client(tmp_path)).imports) == 1


# ---------------------------------------------------------------------------
# parsing helpers


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("1234.5", False, 1234.5),
        ("1,234.5", False, 1234.5),
        ("1,234,567", False, 1234567.0),
        ("-5", False, -5.0),
        ("1234,5", False, None),  # a comma CSV cannot hold a decimal comma
        ("1234,5", True, 1234.5),
        ("1.234,5", True, 1234.5),
        ("1.5", True, 1.5),
        ("1.23.4", True, None),
        ("abc", False, None),
        ("1e3", False, 1000.0),
        ("nan", False, None),
    ],
)
def test_parse_number(text, decimal_comma, expected):
    assert parse_number(text, decimal_comma) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-03-05 00:00:00", date(2024, 3, 5)),
        ("2024-03-05T08:15", date(2024, 3, 5)),
        ("05/03/2024", date(2024, 3, 5)),  # day first, as in Mexico
        ("5/3/2024", date(2024, 3, 5)),
        ("31/02/2024", None),
        ("2024-13-01", None),
        ("March 5", None),
    ],
)
def test_parse_date_text(text, expected):
    assert parse_date_text(text) == expected


# ---------------------------------------------------------------------------
# rejects: one case per rule of docs/rules/validation.md


@pytest.mark.parametrize(
    ("field", "value", "reason_part"),
    [
        ("part_number", "", "missing required value"),
        ("date", "", "missing required value"),
        ("date", "2024-02-30", "not a valid date"),
        ("quantity", "diez", "not a number"),
        ("value_mxn", "12x", "not a number"),
        ("line", "1.5", "whole number"),
        ("quantity", "0", "quantity must be greater than 0, got 0"),
        ("quantity", "-5", "quantity must be greater than 0, got -5"),
        ("value_usd", "-1", "value_usd must be 0 or greater"),
        ("value_mxn", "-0.5", "value_mxn must be 0 or greater"),
        ("igi_rate", "-1%", "igi_rate must be 0 or greater"),
        ("pedimento", "24 47 3420 400123", "15 digits"),
        ("pedimento", "24 47 3420 4001234X", "15 digits"),
        ("material_type", "XX", "unknown material_type 'XX'; accepted: MP, EE, CT, AF"),
        ("usmca_originating", "maybe", "yes/no"),
    ],
)
def test_import_row_rejected(tmp_path, write_client, field, value, reason_part):
    """Row 3 is bad; row 2 still loads."""
    folder = write_client(tmp_path, imports=[imp(), imp(**{"line": "2", field: value})])
    ledger = load(folder)
    r = only_reject(ledger)
    assert (r["file"], r["row"], r["column"], r["value"]) == ("imports.csv", 3, field, value)
    assert reason_part in r["reason"]
    assert ledger.imports["line"].tolist() == [1]


def test_export_quantity_and_missing_values(tmp_path, write_client):
    folder = write_client(
        tmp_path,
        exports=[
            exp(),
            exp(line="2", quantity="-2"),
            exp(line="3", part_number=""),
            exp(line="4", clave=""),
        ],
    )
    ledger = load(folder)
    got = ledger.rejects[["file", "row", "column"]].values.tolist()
    assert got == [["exports.csv", 3, "quantity"], ["exports.csv", 4, "part_number"]]
    # a blank clave is a return, RT (docs/rules/claves.md)
    assert ledger.exports["line"].tolist() == [1, 4]
    assert ledger.exports["clave"].tolist() == ["RT", "RT"]


def test_duplicate_key_rejects_every_repeat_after_the_first(tmp_path, write_client):
    """Rows 2, 4 and 5 share (pedimento, line 1) once normalised: 4 and 5 are
    rejected, naming row 2; row 3 (line 2) is fine."""
    folder = write_client(
        tmp_path,
        imports=[imp(), imp(line="2"), imp(pedimento="244734204001234"), imp(line="1.0")],
    )
    ledger = load(folder)
    r = ledger.rejects
    assert r["row"].tolist() == [4, 5]
    assert set(r["column"]) == {"line"}
    assert r["reason"].str.contains("duplicate").all()
    assert r["reason"].str.contains("row 2").all()
    assert ledger.imports["line"].tolist() == [1, 2]


def test_same_key_in_imports_and_exports_is_not_a_duplicate(tmp_path, write_client):
    ledger = load(write_client(tmp_path, exports=[exp(pedimento=IMPORT_ROW["pedimento"])]))
    assert ledger.rejects.empty


@pytest.mark.parametrize(
    ("row", "column", "reason_part"),
    [
        ({"qty_per": "0"}, "qty_per", "qty_per must be greater than 0, got 0"),
        ({"qty_per": "-1"}, "qty_per", "qty_per must be greater than 0, got -1"),
        ({"scrap_rate": "-0.1"}, "scrap_rate", "scrap_rate must be 0 or greater"),
        (
            {"valid_from": "2024-06-01", "valid_to": "2024-01-31"},
            "valid_from",
            "valid_from 2024-06-01 is after valid_to 2024-01-31",
        ),
        ({"component": ""}, "component", "missing required value"),
        ({"valid_to": "31/13/2024"}, "valid_to", "not a valid date"),
    ],
)
def test_bom_row_rejected(tmp_path, write_client, row, column, reason_part):
    good = {
        "parent": "FG",
        "component": "P-001",
        "qty_per": "2",
        "scrap_rate": "0.05",
        "valid_from": "",
        "valid_to": "",
    }
    ledger = load(write_client(tmp_path, bom=[good, {**good, "component": "P-002", **row}]))
    r = only_reject(ledger)
    assert (r["file"], r["row"], r["column"]) == ("bom.csv", 3, column)
    assert reason_part in r["reason"]
    assert ledger.bom["component"].tolist() == ["P-001"]


def test_bom_same_day_validity_is_fine(tmp_path, write_client):
    bom = [
        {
            "parent": "FG",
            "component": "P",
            "qty_per": "1",
            "valid_from": "2024-01-01",
            "valid_to": "01/01/2024",
        }
    ]
    assert load(write_client(tmp_path, bom=bom)).rejects.empty


def test_empty_row_listed_and_row_numbers_follow_the_spreadsheet(tmp_path, write_client):
    """Header row 1, data rows 2 and 4, an empty row 3 (commas only), a blank
    line 5, a bad row 6, then trailing blank lines (not rows)."""
    header = ",".join(IMPORT_ROW)
    good = ",".join(IMPORT_ROW.values())
    bad = good.replace(",100,", ",-1,").replace(",1,IN,", ",3,IN,")
    text = f"{header}\n{good}\n,,,,,,,\n{good.replace(',1,IN,', ',2,IN,')}\n\n{bad}\n\n\n"
    ledger = load(write_client(tmp_path, imports=text))
    r = ledger.rejects
    assert r[["row", "column", "reason"]].values.tolist() == [
        [3, "", "empty row"],
        [5, "", "empty row"],
        [6, "quantity", "quantity must be greater than 0, got -1"],
    ]
    assert ledger.read["imports"] == 5
    assert len(ledger.imports) == 2


def test_value_beyond_the_header_is_rejected(tmp_path, write_client):
    header = ",".join(IMPORT_ROW)
    good = ",".join(IMPORT_ROW.values())
    text = f"{header}\n{good},stray\n"
    r = only_reject(load(write_client(tmp_path, imports=text)))
    assert r["row"] == 2
    assert "header has only 8 columns" in r["reason"]


def test_read_equals_loaded_plus_rejected_rows(tmp_path, write_client):
    """Row 3 has two problems (bad date and negative quantity) but counts once."""
    imports = [
        imp(),
        imp(line="2", date="x", quantity="-1"),
        imp(line="3", material_type="ZZ"),
        imp(line="4"),
    ]
    exports = [exp(), exp(line="1")]
    ledger = load(write_client(tmp_path, imports=imports, exports=exports))
    s = ledger.summary().set_index("table")
    assert s.loc["imports", ["read", "loaded", "rejected"]].tolist() == [4, 2, 2]
    assert s.loc["exports", ["read", "loaded", "rejected"]].tolist() == [2, 1, 1]
    assert s.loc["bom", ["read", "loaded", "rejected"]].tolist() == [0, 0, 0]
    assert (s["read"] == s["loaded"] + s["rejected"]).all()
    assert len(ledger.rejects) == 4  # two problems on imports row 3


def test_rejects_frame_shape_when_clean(tmp_path, write_client):
    ledger = load(write_client(tmp_path))
    assert ledger.rejects.columns.tolist() == ["file", "row", "column", "value", "reason"]
    assert ledger.rejects.empty


# ---------------------------------------------------------------------------
# unusable input


def test_missing_folder(tmp_path):
    with pytest.raises(ImmexError, match="not found"):
        load(tmp_path / "nope")


def test_missing_required_file_lists_files_found(tmp_path, write_client):
    folder = write_client(tmp_path, exports=False)
    (folder / "notes.txt").write_text("hola")
    with pytest.raises(ImmexError) as err:
        load(folder)
    msg = str(err.value)
    assert "exports.csv" in msg
    assert "imports.csv" in msg and "notes.txt" in msg  # the files found


def test_missing_column_names_file_column_aliases_and_columns_found(tmp_path, write_client):
    row = {k: v for k, v in IMPORT_ROW.items() if k != "quantity"}
    with pytest.raises(ImmexError) as err:
        load(write_client(tmp_path, imports=[row]))
    msg = str(err.value)
    assert msg.startswith("imports.csv: required column 'quantity'")
    assert "cantidad" in msg and "qty" in msg  # accepted aliases
    assert "columns found: ['pedimento', 'line'" in msg


def test_unreadable_file(tmp_path, write_client):
    folder = write_client(tmp_path, imports=b"PK\x03\x04\x00\x00binary")
    with pytest.raises(ImmexError, match="imports.csv"):
        load(folder)


def test_corrupt_workbook(tmp_path, write_client):
    folder = write_client(tmp_path)
    (folder / "extra.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ImmexError, match="extra.xlsx"):
        load(folder)


def test_table_given_twice(tmp_path, write_client):
    from openpyxl import Workbook

    folder = write_client(tmp_path)
    wb = Workbook()
    wb.active.title = "imports"
    wb.save(folder / "client.xlsx")
    with pytest.raises(
        ImmexError, match=r"imports.*client\.xlsx:imports.*imports\.csv|imports\.csv.*client\.xlsx"
    ):
        load(folder)


# ---------------------------------------------------------------------------
# immex-nb validate


def test_cli_validate_clean_exit_0(tmp_path, write_client, capsys):
    folder = write_client(tmp_path / "acme")
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "imports" in out and "No rows rejected" in out
    written = pd.read_csv(folder / "rejects.csv")
    assert written.columns.tolist() == ["file", "row", "column", "value", "reason"]
    assert written.empty


def test_cli_validate_rejects_exit_1(tmp_path, write_client, capsys):
    folder = write_client(tmp_path / "acme", imports=[imp(), imp(line="2", quantity="-5")])
    out_dir = tmp_path / "out"
    assert main(["validate", str(folder), "--out", str(out_dir)]) == 1
    captured = capsys.readouterr()
    assert "imports.csv row 3" in captured.out
    assert "quantity must be greater than 0, got -5" in captured.out
    assert "Traceback" not in captured.err
    written = pd.read_csv(out_dir / "rejects.csv", dtype=str)
    assert written[["file", "row", "column", "value"]].values.tolist() == [
        ["imports.csv", "3", "quantity", "-5"]
    ]
    assert not (folder / "rejects.csv").exists()
    manifest = json.loads((out_dir / "validate_manifest.json").read_text())
    assert manifest["command"] == "validate"
    assert manifest["row_counts"]["imports_read"] == 2
    assert manifest["row_counts"]["imports_rejected"] == 1
    assert set(manifest["inputs"]) == {str(folder / "imports.csv"), str(folder / "exports.csv")}


def test_cli_validate_unusable_exit_2(tmp_path, write_client, capsys):
    folder = write_client(tmp_path / "acme", exports=False)
    assert main(["validate", str(folder)]) == 2
    captured = capsys.readouterr()
    assert "exports.csv" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_workbook_named_after_the_table_uses_its_first_sheet(tmp_path, write_client):
    """imports.xlsx with a single "Hoja1" sheet, the header on Excel row 2
    (row 1 left blank): rows keep their Excel numbers."""
    from openpyxl import Workbook

    folder = write_client(tmp_path, imports=False)
    wb = Workbook()
    ws = wb.active
    ws.title = "Hoja1"
    ws.append([])
    ws.append(list(IMPORT_ROW))
    ws.append(list(IMPORT_ROW.values()))
    ws.append(list(imp(line="2", quantity="cien").values()))
    wb.save(folder / "imports.xlsx")
    ledger = load(folder)
    assert len(ledger.imports) == 1
    r = only_reject(ledger)
    assert (r["file"], r["row"], r["column"], r["value"]) == (
        "imports.xlsx:Hoja1",
        4,
        "quantity",
        "cien",
    )


def test_header_only_table_loads_no_rows(tmp_path, write_client):
    ledger = load(write_client(tmp_path, exports=",".join(EXPORT_ROW) + "\n"))
    assert ledger.exports.empty
    assert ledger.exports["quantity"].dtype == "float64"
    assert ledger.rejects.empty


# ---------------------------------------------------------------------------
# whole-column work agrees with the one-cell definitions


def _reference_raw(text):
    """The slow, obvious reading: Python's csv module, header = first non-empty
    record, trailing empty records dropped, rows padded to the header."""
    import csv
    import io

    from immex_nb.readers import sniff_delimiter

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    records = [[c.strip() for c in r] for r in reader]
    filled = [n for n, r in enumerate(records, start=1) if any(r)]
    if not filled:
        return None
    header = records[filled[0] - 1]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    rows, overflow = [], {}
    for n in range(filled[0] + 1, filled[-1] + 1):
        cells = records[n - 1]
        used = max((i + 1 for i, c in enumerate(cells) if c), default=0)
        if used > width:
            overflow[n] = used
        rows.append((n, (cells + [""] * width)[:width]))
    return header, rows, overflow


_CELL = st.one_of(
    st.text(alphabet='ab é,;"\n\r\t', max_size=5),
    st.sampled_from(["", " ", '""', '"a,b"', '"x""y"', '"line\nbreak"', '"a"b', 'a"b', " 7 "]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=1, max_size=8),
    rectangular=st.booleans(),
    delimiter=st.sampled_from([",", ";", "\t"]),
    ending=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_reading_agrees_with_the_csv_module(tmp_path, rows, rectangular, delimiter, ending):
    """Whichever splitter reads the file (pyarrow when every record has as many
    cells as the first, pandas when some have fewer, the csv module
    otherwise), the header, the cells, the row numbers and the values beyond
    the header are those the csv module gives — unless a record spanning lines
    looks like an unclosed quote (tests/hostile/test_unterminated_quote.py)."""
    import csv
    import io

    from immex_nb.readers import Source, read_raw, sniff_delimiter

    if rectangular:
        rows = [(r + [""] * len(rows[0]))[: len(rows[0])] for r in rows]
    text = ending.join(delimiter.join(r) for r in rows) + ending
    path = tmp_path / "imports.csv"
    path.write_bytes(text.encode("utf-8"))
    try:
        expected = _reference_raw(text)
    except csv.Error:
        with pytest.raises(ImmexError, match="not a valid CSV"):
            read_raw(Source("imports", path))
        return
    if expected is None:
        with pytest.raises(ImmexError, match="empty"):
            read_raw(Source("imports", path))
        return
    raw = read_raw(Source("imports", path))
    if not raw.unclosed.empty:
        # a record the csv module reads over several lines looked like a quote
        # that never closes: the reader read its first line alone instead
        # (docs/rules/validation.md), so only such files may differ
        sniffed = sniff_delimiter(text)
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sniffed))
        assert len(records) < len(list(io.StringIO(text, newline="")))
        return
    header, body, overflow = expected
    assert raw.header == header
    assert raw.cells.index.tolist() == [n for n, _ in body]
    assert [list(r) for r in raw.cells.itertuples(index=False, name=None)] == [r for _, r in body]
    assert raw.overflow.to_dict() == overflow


_TEXT = st.one_of(
    st.text(alphabet="0123456789 -.,/%$eE+:Tx\u00a0\uff15", max_size=12),
    st.from_regex(r"[0-9]{2}[ -]?[0-9]{2}[ -]{0,2}[0-9]{4}[ /]?[0-9]{6,8}(\.0)?", fullmatch=True),
    st.from_regex(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}( [0-9]{2}:[0-9]{2})?", fullmatch=True),
    st.from_regex(r"[-+]?[0-9]{0,4}([.,][0-9]{0,4}){0,2}( ?%)?", fullmatch=True),
    st.sampled_from(["", "MP", "mp", "AF", "XX", "sí", "No", "x", "maybe", "1e3", "nan", "-0"]),
)


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(_TEXT, max_size=25), decimal_comma=st.booleans())
def test_column_parsing_agrees_with_parse_cell(texts, decimal_comma):
    """Every column kind: the whole-column parse gives, cell by cell, what
    parse_cell gives — the value (its default when blank), or a problem with
    parse_cell's message — whether the column is parsed a distinct text at a
    time (texts that repeat) or cell by cell (texts that hardly do)."""
    from unittest import mock

    import immex_nb.load  # noqa: F401
    from immex_nb.schema import BOM, IMPORTS

    module = sys.modules["immex_nb.load"]
    columns = [*IMPORTS.columns, BOM.column("valid_from")]
    for repeats in (True, False):
        with mock.patch.object(module, "_repeats", lambda text, r=repeats: r):
            for column in columns:
                _check_column_parsing(texts, column, decimal_comma)


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="0123456789.", max_size=7), max_size=25),
    decimal_comma=st.booleans(),
)
def test_plain_decimal_columns_agree_with_parse_cell(texts, decimal_comma):
    """A column of digits and points only (read by one cast when every cell
    is a plain decimal): the values and problems parse_cell gives."""
    from immex_nb.schema import IMPORTS

    for name in ("quantity", "igi_rate", "line"):
        _check_column_parsing(texts, IMPORTS.column(name), decimal_comma)


def _check_column_parsing(texts, column, decimal_comma):
    import math

    from immex_nb.load import Problems, _Invalid, parse_cell, parse_column
    from immex_nb.schema import IMPORTS

    index = pd.Index(range(2, len(texts) + 2), name="row")
    if column.kind == "date":  # years datetime64[ns] cannot hold are an error, not data
        years = [d.year for d in map(parse_date_text, texts) if d is not None]
        assume(all(1678 <= y <= 2261 for y in years))
    if column.kind == "int":  # so are whole numbers int64 cannot hold
        numbers = [parse_cell(t, column, decimal_comma) for t in texts]
        assume(all(abs(n) < 2**63 for n in numbers if isinstance(n, int)))
    text = pd.Series(texts, index=index, dtype="str")
    problems = Problems("imports.csv", pd.DataFrame({column.name: text}))
    got = parse_column(text, column, decimal_comma, problems)
    assert got.index.equals(text.index)
    rejects = problems.frame(IMPORTS)
    found = {(r.row, r.value): r.reason for r in rejects.itertuples()}
    for row, cell in text.items():
        expected = parse_cell(cell, column, decimal_comma)
        value = got[row]
        if isinstance(expected, _Invalid):
            assert pd.isna(value), (column.name, cell, value)
            assert found.pop((row, cell)) == expected.reason
        elif expected is None:
            assert pd.isna(value), (column.name, cell, value)
        elif column.kind == "date":
            assert value == pd.Timestamp(expected), (cell, value)
        elif column.kind == "float":
            assert math.copysign(1, value) == math.copysign(1, expected)
            assert value == expected, (column.name, cell, value, expected)
        else:
            assert value == expected, (column.name, cell, value, expected)
    assert not found, found


_SPACED = st.text(
    alphabet=st.sampled_from(
        ["a", "é", "0", ".", "\u00a0", "\u2003", "\u3000", " ", "\t", "\x1c", "\u200b", "\u0a85"]
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(_SPACED, max_size=30), cut=st.integers(0, 30), skip=st.integers(0, 3))
def test_stripping_a_column_is_str_strip(cells, cut, skip):
    """Cells are stripped as ``str.strip()`` strips them, whatever their bytes
    (whitespace of one to three bytes, letters whose last byte a whitespace
    character shares), in columns of several chunks read from an offset."""
    import pyarrow as pa

    from immex_nb.readers import _strip

    chunks = [pa.array(cells[:cut], pa.large_string()), pa.array(cells[cut:], pa.large_string())]
    array = pa.chunked_array(chunks, pa.large_string()).slice(min(skip, len(cells)))
    column = pd.Series(array, dtype="str")
    expected = [c.strip() for c in cells[min(skip, len(cells)) :]]
    assert _strip(column).tolist() == expected


@pytest.mark.parametrize(
    ("seed", "delimiter", "blank_lines"),
    [(0, ",", False), (1, ";", False), (2, ",", True), (3, ";", True)],
)
def test_messy_file_rejects_exactly_the_planted_problems(
    tmp_path, write_client, seed, delimiter, blank_lines
):
    """600 rows in many spellings (pedimento packed, dashed or spaced; dates
    ISO, day-first or with Excel's time; numbers with thousands separators or,
    in a semicolon file, decimal commas), a fifth of them carrying one planted
    problem each.  The rejects are exactly the planted problems, in row
    order; every other row loads with the value its spelling means."""
    import csv
    import io
    import random

    r = random.Random(seed)
    comma = delimiter == ";"
    header = [
        "pedimento",
        "line",
        "clave",
        "date",
        "part_number",
        "quantity",
        "value_usd",
        "value_mxn",
        "material_type",
        "igi_rate",
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    expected_rejects, loaded, rejected_rows = [], [], 0
    first_row_of = {}
    row = 1
    for i in range(600):
        row += 1
        digits = f"24{47 + i % 3:02d}3420{4000000 + i // 4:07d}"
        canon = f"{digits[:2]} {digits[2:4]} {digits[4:8]} {digits[8:]}"
        ped = r.choice([canon, digits, "-".join(canon.split()), f" {canon} "])
        line = i % 4 + 1
        day = r.randint(1, 28)
        date_text, date_value = r.choice(
            [
                (f"2024-03-{day:02d}", f"2024-03-{day:02d}"),
                (f"{day:02d}/03/2024", f"2024-03-{day:02d}"),
                (f"2024-03-{day:02d} 00:00:00", f"2024-03-{day:02d}"),
            ]
        )
        units = r.randint(1, 99999)
        cents = r.randint(0, 99)
        if comma:  # 1234,56 / 1.234,56 / 1234.56
            thousands = f"{units:,}".replace(",", ".")
            qty_text = r.choice(
                [f"{units},{cents:02d}", f"{thousands},{cents:02d}", f"{units}.{cents:02d}"]
            )
        else:  # 1234.56 / 1,234.56
            qty_text = r.choice([f"{units}.{cents:02d}", f"{units:,}.{cents:02d}"])
        quantity = float(f"{units}.{cents:02d}")
        cells = {
            "pedimento": ped,
            "line": str(line),
            "clave": "IN",
            "date": date_text,
            "part_number": f"P-{i % 37:03d}",
            "quantity": qty_text,
            "value_usd": "10",
            "value_mxn": "170",
            "material_type": r.choice(["MP", "ee", ""]),
            "igi_rate": r.choice(["5%", "0.05", ""]),
        }
        problem = r.choice(
            [None] * 8
            + ["quantity", "date", "pedimento", "part_number", "material", "duplicate", "empty"]
            + ["two"]
        )
        if problem == "duplicate" and not first_row_of:
            problem = None
        reject = None
        if problem == "quantity":
            cells["quantity"] = "-5"
            reject = ("quantity", "-5", "quantity must be greater than 0, got -5")
        elif problem == "date":
            cells["date"] = "31/02/2024"
            reject = (
                "date",
                "31/02/2024",
                "date is not a valid date: '31/02/2024' (use YYYY-MM-DD or DD/MM/YYYY)",
            )
        elif problem == "pedimento":
            cells["pedimento"] = "2447342"
            reject = (
                "pedimento",
                "2447342",
                "pedimento must be 15 digits (YY AA PPPP NNNNNNN), got '2447342' (7 digits)",
            )
        elif problem == "part_number":
            cells["part_number"] = " "
            reject = ("part_number", "", "missing required value (part_number is empty)")
        elif problem == "material":
            cells["material_type"] = "XX"
            reject = ("material_type", "XX", "unknown material_type 'XX'; accepted: MP, EE, CT, AF")
        elif problem == "two":  # listed in column order, not in the order found
            cells["quantity"], cells["material_type"] = "0", "XX"
            expected_rejects.append(
                [row, "quantity", "0", "quantity must be greater than 0, got 0"]
            )
            reject = ("material_type", "XX", "unknown material_type 'XX'; accepted: MP, EE, CT, AF")
        elif problem == "duplicate":
            (d_canon, d_line), d_row = r.choice(sorted(first_row_of.items()))
            cells["pedimento"], cells["line"] = d_canon.replace(" ", ""), f"{d_line}.0"
            reject = (
                "line",
                f"{d_line}.0",
                f"duplicate (pedimento, line): pedimento {d_canon}, line {d_line} is already on row {d_row}",
            )
        if problem == "empty":
            out.write("\n" if blank_lines else delimiter * (len(header) - 1) + "\n")
            expected_rejects.append([row, "", "", "empty row"])
            rejected_rows += 1
            continue
        writer.writerow([cells[h] for h in header])
        if reject:
            expected_rejects.append([row, *reject])
        if problem not in ("pedimento", "duplicate"):
            first_row_of[(canon, line)] = row
        if reject is None:
            loaded.append((canon, line, pd.Timestamp(date_value), quantity))
        else:
            rejected_rows += 1
    text = out.getvalue()
    ledger = load(write_client(tmp_path, imports=text.encode("cp1252" if comma else "utf-8")))
    got = ledger.rejects[["row", "column", "value", "reason"]].values.tolist()
    assert got == expected_rejects
    assert len(ledger.imports) == len(loaded) == 600 - rejected_rows
    assert (
        list(
            ledger.imports[["pedimento", "line", "date", "quantity"]].itertuples(
                index=False, name=None
            )
        )
        == loaded
    )
    assert set(ledger.imports["material_type"]) <= {"MP", "EE"}
    assert set(ledger.imports["igi_rate"]) <= {0.05, 0.0}


def test_whitespace_is_what_str_strip_removes():
    import sys

    from immex_nb.readers import WHITESPACE

    assert sorted(WHITESPACE) == [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]


def test_sniffing_reads_the_whole_header_line_when_a_prefix_cuts_it(tmp_path, write_client):
    """The first 65 536 characters end inside the header, after ``Notas,a,b;``
    (two commas, one semicolon); the whole header line has more semicolons."""
    prefix = " \n" * 32_763 + "Notas,a,b;"
    assert len(prefix) == 65_536
    text = prefix + ";".join(IMPORT_ROW) + "\nx;" + ";".join(IMPORT_ROW.values()) + "\n"
    ledger = load(write_client(tmp_path, imports=text))
    assert ledger.rejects.empty
    assert ledger.imports["Notas,a,b"].tolist() == ["x"]


def test_sniffing_finds_a_header_after_many_blank_lines(tmp_path, write_client):
    """The header is looked for in a growing prefix of the text: 30 000 blank
    lines (90 000 characters) before a semicolon header still sniff ';'."""
    header = ";".join(IMPORT_ROW)
    text = "  \n" * 30_000 + header + "\n" + ";".join(IMPORT_ROW.values()) + "\n"
    ledger = load(write_client(tmp_path, imports=text))
    assert ledger.imports["part_number"].tolist() == ["P-001"]
    assert ledger.rejects.empty


def test_out_of_range_date_and_huge_line_are_rejects_not_crashes(tmp_path, write_client):
    """A typo'd year (1500) and a line number beyond 15 digits become rejects."""
    folder = write_client(
        tmp_path,
        imports=[
            {**IMPORT_ROW, "date": "1500-01-01"},
            {**IMPORT_ROW, "pedimento": "24 47 3420 4000999", "line": "12345678901234567890"},
        ],
    )
    ledger = load(folder)
    assert ledger.imports.empty
    reasons = dict(zip(ledger.rejects["column"], ledger.rejects["reason"], strict=True))
    assert "out of range" in reasons["date"]
    assert "too large" in reasons["line"]


def test_spanish_headers_with_connector_words(tmp_path, write_client):
    """Spreadsheets write "Número de Parte", "País de origen", "Fecha de entrada",
    "Valor en aduana": the connectors are dropped before matching aliases."""
    text = (
        "Pedimento,Partida,Clave,Fecha de entrada,Número de Parte,Cantidad,Valor Dólares,"
        "Valor en aduana,País de origen,Tipo de material\n"
        "24 47 3420 4000001,1,IN,2024-03-05,0042,10,100,1800,CHN,EE\n"
    )
    ledger = load(write_client(tmp_path, imports=text))
    assert ledger.rejects.empty
    row = ledger.imports.iloc[0]
    assert (row["part_number"], row["value_mxn"], row["origin"], row["material_type"]) == (
        "0042",
        1800.0,
        "CHN",
        "EE",
    )


# ---------------------------------------------------------------------------
# quantities the discharge cannot count (int64 micro-units)


@pytest.mark.parametrize(
    ("table", "value", "reason"),
    [
        (
            "imports",
            "1e-07",
            "quantity 1e-07 is below the smallest quantity immex-nb keeps (0.000001)",
        ),
        (
            "imports",
            "0.0000005",
            "quantity 0.0000005 is below the smallest quantity immex-nb keeps (0.000001)",
        ),
        (
            "imports",
            "244734204001234",
            "quantity 244734204001234 is implausibly large (over 1,000,000,000,000); "
            "check the column order",
        ),
        (
            "imports",
            "1e400",  # reads as infinity
            "quantity 1e400 is implausibly large (over 1,000,000,000,000); check the column order",
        ),
        (
            "exports",
            "1e-07",
            "quantity 1e-07 is below the smallest quantity immex-nb keeps (0.000001)",
        ),
        (
            "exports",
            "1000000000001",
            "quantity 1000000000001 is implausibly large (over 1,000,000,000,000); "
            "check the column order",
        ),
    ],
)
def test_quantity_out_of_range_rejected(tmp_path, write_client, table, value, reason):
    """Row 3's quantity rounds to 0 micro-units (1e-07 × 10⁶ = 0.1; 5e-07 × 10⁶
    = 0.5, which rounds to even, 0) or is over 10¹²; row 2 loads, and read 2 =
    loaded 1 + rejected 1."""
    row = imp if table == "imports" else exp
    folder = write_client(tmp_path, **{table: [row(), row(line="2", quantity=value)]})
    ledger = load(folder)
    r = only_reject(ledger)
    assert (r["file"], r["row"], r["column"], r["value"], r["reason"]) == (
        f"{table}.csv",
        3,
        "quantity",
        value,
        reason,
    )
    assert getattr(ledger, table)["line"].tolist() == [1]
    s = ledger.summary().set_index("table")
    assert s.loc[table, ["read", "loaded", "rejected"]].tolist() == [2, 1, 1]


def test_quantity_range_limits_are_inclusive(tmp_path, write_client):
    """0.000001 (1 micro-unit) and exactly 10¹² load; quantity ≤ 0 keeps its
    single reason (no second 'below the smallest' reason)."""
    imports = [
        imp(quantity="0.000001"),
        imp(line="2", quantity="1000000000000"),
        imp(line="3", quantity="0"),
        imp(line="4", quantity="-1e-07"),
    ]
    ledger = load(write_client(tmp_path, imports=imports))
    assert ledger.imports["quantity"].tolist() == [0.000001, 1e12]
    assert ledger.rejects[["row", "reason"]].values.tolist() == [
        [4, "quantity must be greater than 0, got 0"],
        [5, "quantity must be greater than 0, got -1e-07"],
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "0.0000001",
            "qty_per 0.0000001 is below the smallest quantity per unit immex-nb keeps (0.000001)",
        ),
        (
            "2000000",
            "qty_per 2000000 is implausibly large (over 1,000,000 per unit); check the column order",
        ),
    ],
)
def test_bom_qty_per_out_of_range_rejected(tmp_path, write_client, value, reason):
    good = {"parent": "FG", "component": "P-001", "qty_per": "1000000"}  # the limit itself loads
    bom = [good, {**good, "component": "P-002", "qty_per": value}]
    ledger = load(write_client(tmp_path, bom=bom))
    r = only_reject(ledger)
    assert (r["file"], r["row"], r["column"], r["value"], r["reason"]) == (
        "bom.csv",
        3,
        "qty_per",
        value,
        reason,
    )
    assert ledger.bom["component"].tolist() == ["P-001"]
    s = ledger.summary().set_index("table")
    assert s.loc["bom", ["read", "loaded", "rejected"]].tolist() == [2, 1, 1]


def test_validate_rejects_a_pedimento_in_the_quantity_column(tmp_path, write_client, capsys):
    """The review case: the pedimento number shifted into quantity is a reject
    (exit 1), not a row that overflows the discharge later."""
    folder = write_client(tmp_path / "acme", imports=[imp(quantity="244734204001234")])
    assert main(["validate", str(folder), "--out", str(tmp_path / "out")]) == 1
    out = capsys.readouterr().out
    assert "imports.csv row 2, quantity" in out
    assert "implausibly large" in out


def test_infinite_money_is_a_reject(tmp_path, write_client):
    """``1e400`` reads as infinity: a reject naming the column, not a silent inf."""
    ledger = load(write_client(tmp_path, imports=[imp(value_mxn="1e400")]))
    assert ledger.imports.empty
    r = ledger.rejects.iloc[0]
    assert (r["file"], r["row"], r["column"]) == ("imports.csv", 2, "value_mxn")
    assert "not a finite number" in r["reason"]


def test_duty_rate_typed_as_a_percentage_is_a_reject(tmp_path, write_client):
    """``igi_rate`` 15 would multiply the duty by 100; ``15%`` and 0.15 are fine."""
    ledger = load(
        write_client(
            tmp_path,
            imports=[
                imp(igi_rate="15"),
                imp(line="2", igi_rate="15%"),
                imp(line="3", igi_rate="0.15"),
            ],
        )
    )
    assert ledger.imports["igi_rate"].tolist() == [0.15, 0.15]
    r = ledger.rejects.iloc[0]
    assert (r["row"], r["column"]) == (2, "igi_rate") and "looks like a percentage" in r["reason"]


# ---------------------------------------------------------------------------
# hand-edited files: quotes that never close, stray bytes, hidden sheets
# (docs/rules/validation.md; the command-line cases are in tests/hostile/)

HEADER = ",".join(IMPORT_ROW) + ",description"


def _line(n: int, part: str, description: str = "Tubo") -> str:
    row = imp(line=str(n), part_number=part)
    return ",".join(row.values()) + "," + description


def test_quoted_line_breaks_are_one_cell_wherever_they_are(tmp_path, write_client):
    """Excel writes a cell with line breaks as a quoted cell over several lines:
    that is one row (spreadsheet numbering), in the last column or the first."""
    text = "\n".join([HEADER, _line(1, "A", '"Tubo\n60 in"'), _line(2, "B"), _line(3, "C", "-")])
    ledger = load(write_client(tmp_path / "last", imports=text.replace(",-", ",1x") + "\n"))
    assert ledger.rejects.empty
    assert ledger.imports["description"].tolist() == ["Tubo\n60 in", "Tubo", "1x"]
    first = "description," + ",".join(IMPORT_ROW) + "\n"
    first += '"Caja\n' + ",".join(["a"] * 9) + '",' + ",".join(IMPORT_ROW.values()) + "\n"
    first += "x," + ",".join(imp(line="2").values()) + "\n"
    ledger = load(write_client(tmp_path / "first", imports=first))
    assert ledger.rejects.empty and len(ledger.imports) == 2


def test_a_quote_closed_lines_later_cannot_swallow_them(tmp_path, write_client):
    """``"Tubo 60 in`` opens a quote that ``"Tubo 40 in"`` two lines below closes:
    the lines between are rows of their own and keep their numbers."""
    text = "\n".join(
        [
            HEADER,
            _line(1, "A", '"Tubo 60 in'),
            _line(2, "B"),
            _line(3, "C", '"Tubo 40 in"'),
            _line(4, "D"),
            _line(5, "E", "x").replace(",100,", ",-1,"),
        ]
    )
    ledger = load(write_client(tmp_path, imports=text + "\n"))
    assert ledger.imports["part_number"].tolist() == ["B", "C", "D"]
    assert ledger.rejects[["row", "column"]].values.tolist() == [
        [2, "description"],
        [6, "quantity"],
    ]
    assert ledger.summary().loc[0, ["read", "loaded", "rejected"]].tolist() == [5, 3, 2]


def test_stray_windows_1252_byte_is_decoded_on_its_line_only(tmp_path, write_client):
    data = (
        HEADER.encode()
        + b"\n"
        + _line(1, "DE\u00d1-1", "cart\u00f3n").encode("utf-8")
        + b"\n"
        + _line(2, "B", "Caf\u00e9").encode("cp1252")
        + b"\r\n"
    )
    ledger = load(write_client(tmp_path, imports=data))
    assert ledger.imports["part_number"].tolist() == ["DE\u00d1-1", "B"]
    assert ledger.imports["description"].tolist() == ["cart\u00f3n", "Caf\u00e9"]
    assert ledger.fallback_lines == {"imports": 1, "exports": 0}
    assert ledger.read_from == {"imports": "imports.csv", "exports": "exports.csv"}


def test_a_byte_neither_utf8_nor_windows_1252_names_its_line(tmp_path, write_client):
    data = HEADER.encode() + b"\n" + _line(1, "A").encode() + b"\n" + b"x\x81\n"
    with pytest.raises(ImmexError, match="imports.csv: cannot read line 3 as text"):
        load(write_client(tmp_path, imports=data))


def _workbook_client(tmp_path, sheets) -> object:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows, state in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        ws.sheet_state = state
    tmp_path.mkdir(exist_ok=True)
    wb.save(tmp_path / "client.xlsx")
    return tmp_path


IMPORT_SHEET = [list(IMPORT_ROW), list(IMPORT_ROW.values())]
EXPORT_SHEET = [list(EXPORT_ROW), list(EXPORT_ROW.values())]


def test_a_lone_hidden_sheet_is_read_and_named(tmp_path):
    folder = _workbook_client(
        tmp_path, [("Imports", IMPORT_SHEET, "veryHidden"), ("exports", EXPORT_SHEET, "visible")]
    )
    ledger = load(folder)
    assert len(ledger.imports) == 1
    assert ledger.files["imports"] == "client.xlsx:imports"  # the rejects' file, as before
    assert ledger.read_from["imports"] == "client.xlsx, sheet 'Imports' (hidden sheet)"
    assert ledger.read_from["exports"] == "client.xlsx, sheet 'exports'"


def test_two_sheets_for_one_table_are_refused(tmp_path):
    folder = _workbook_client(
        tmp_path,
        [
            ("imports", IMPORT_SHEET, "visible"),
            (" IMPORTS", IMPORT_SHEET, "visible"),
            ("exports", EXPORT_SHEET, "visible"),
        ],
    )
    with pytest.raises(ImmexError, match=r"client.xlsx: sheets 'imports', ' IMPORTS' could each"):
        load(folder)


@pytest.mark.parametrize("block", [40, 1 << 16])
def test_per_line_decoding_agrees_with_decoding_each_line(monkeypatch, block):
    """Decoding blocks at once gives, line by line, UTF-8 where the line is
    valid UTF-8 (even with a byte Windows-1252 leaves undefined, as in "Á") and
    Windows-1252 elsewhere, whatever the line ends."""
    import immex_nb.readers as readers

    monkeypatch.setattr(readers, "DECODE_BLOCK", block)
    lines = [
        "Cartón,Ñ\r\n".encode(),
        "Café\n".encode("cp1252"),
        "Ángulo\r".encode(),  # C3 81: 0x81 is undefined in Windows-1252
        "año;€\r".encode("cp1252"),
        b"plain\n",
        "x\u2028y\n".encode(),
        "über".encode("cp1252"),
    ]
    text, fallback = readers.decode_text(b"".join(lines), "t.csv")
    assert text == "Cartón,Ñ\r\nCafé\nÁngulo\raño;€\rplain\nx\u2028y\nüber"
    assert fallback == 3


def test_a_workbook_named_after_a_table_with_other_table_sheets_is_not_guessed(tmp_path):
    """imports.xlsx with sheets "Hoja1" and "exports": exports is that sheet, and
    imports is not guessed from the first sheet (it may be the exports)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "exports"
    for row in EXPORT_SHEET:
        wb.active.append(row)
    wb.create_sheet("Hoja1")
    tmp_path.mkdir(exist_ok=True)
    wb.save(tmp_path / "imports.xlsx")
    with pytest.raises(ImmexError, match="required file missing: imports.csv"):
        load(tmp_path)


def test_inch_marks_inside_cells_are_text(tmp_path, write_client):
    """A quote inside a cell (``Tubo 1/2"``) is part of its text, however many
    there are, beside cells that open with a quote."""
    header = ",".join(IMPORT_ROW)
    rows = [
        ",".join({**IMPORT_ROW, "line": "1", "part_number": 'Tubo 1/2"'}.values()),
        ",".join({**IMPORT_ROW, "line": "2", "part_number": '"P, 2"'}.values()),
    ]
    ledger = load(write_client(tmp_path, imports="\n".join([header, *rows]) + "\n"))
    assert ledger.rejects.empty, ledger.rejects.to_string()
    assert ledger.imports["part_number"].tolist() == ['Tubo 1/2"', "P, 2"]


def test_a_quote_left_open_on_the_last_line_is_a_rejected_row(tmp_path, write_client):
    """The last line opens a quote and the file ends: that line is read on its
    own and rejected, even though it holds nothing else (found by
    test_csv_reading_agrees_with_the_csv_module)."""
    header = ",".join(IMPORT_ROW)
    text = header + "\n" + ",".join(IMPORT_ROW.values()) + '\n"\r,\n'
    ledger = load(write_client(tmp_path, imports=text))
    assert len(ledger.imports) == 1
    assert set(ledger.rejects["row"]) == {3}  # the quote, and a row with nothing else
    assert ledger.rejects["reason"].str.contains("never closes").any()
    summary = ledger.summary().set_index("table").loc["imports"]
    assert summary["read"] == summary["loaded"] + summary["rejected"]
