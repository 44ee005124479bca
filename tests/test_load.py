"""Loading client folders: formats, headers, parsing, rejects (CONTRACT §1, §5)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from conftest import EXPORT_ROW, IMPORT_ROW

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
    numbers; a bad row is reported as ``client.xlsx:<sheet>`` with its Excel row."""
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
    assert (r["file"], r["row"], r["column"]) == ("client.xlsx:Imports", 3, "quantity")
    assert ledger.files == {
        "imports": "client.xlsx:Imports",
        "exports": "client.xlsx:EXPORTS",
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
# rejects: one case per rule of CONTRACT §5


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
        tmp_path, exports=[exp(), exp(line="2", quantity="-2"), exp(line="3", clave="")]
    )
    ledger = load(folder)
    got = ledger.rejects[["file", "row", "column"]].values.tolist()
    assert got == [["exports.csv", 3, "quantity"], ["exports.csv", 4, "clave"]]
    assert ledger.exports["line"].tolist() == [1]


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
