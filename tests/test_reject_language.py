"""Reject reasons in the reader's language (docs/rules/validation.md, reasons;
each sentence's two languages: tests/test_reworded_texts.py).

rejects.csv keeps the loader's English; a Spanish report or notebook words each
reason from the same catalogue (immex_nb/data/text/rejects.csv), the quoted
cell carried over."""

from __future__ import annotations

import re

from conftest import EXPORT_ROW, IMPORT_ROW

from immex_nb.load import load, rejects_in
from immex_nb.text import LANGS, _patterns, catalog, reword

KEYS = sorted(k for k in catalog() if k.startswith("reject."))


def test_a_text_from_no_reason_is_left_as_it_is():
    assert reword("something else entirely", "es") == "something else entirely"
    assert reword("quantity must be greater than 0, got", "es").endswith(
        "got"
    )  # no value: no match


ENGLISH = re.compile(
    r"\b(must|got|is not|accepted|missing|duplicate|empty row|header|"
    r"not part of|list it|quote|line number|below|implausibly|looks like|is after|unknown|"
    r"too large|names a line)\b"
)


def test_a_messy_client_reads_in_spanish_and_keeps_english_in_rejects_csv(tmp_path, write_client):
    """One bad cell of every kind the loader names, in the three tables."""
    imp = IMPORT_ROW
    bad_imports = [
        {**imp, "line": "2", "part_number": ""},
        {**imp, "line": "3", "date": "2024-02-30"},
        {**imp, "line": "4", "date": "1800-01-01"},
        {**imp, "line": "5", "quantity": "diez"},
        {**imp, "line": "6.5"},
        {**imp, "line": "7", "quantity": "-5"},
        {**imp, "line": "8", "value_usd": "-1"},
        {**imp, "line": "9", "pedimento": "24 47 3420 400123"},
        {**imp, "line": "10", "pedimento": "24 47 3420 4001234X"},
        {**imp, "line": "11", "material_type": "XX"},
        {**imp, "line": "12", "usmca_originating": "maybe"},
        {**imp, "line": "13", "igi_rate": "15"},
        {**imp, "line": "14", "igi_rate": "x%"},
        {**imp, "line": "15", "clave": "A1"},
        {**imp, "line": "16", "clave": "ZZ"},
        {**imp, "line": "17", "clave": "RT"},
        {**imp, "line": "18", "quantity": "1e15"},
        {**imp, "line": "1"},  # a repeat of row 2's key… after row 2 failed: of the first row
        {**imp, "line": "99999999999999999999"},
    ]
    exp = EXPORT_ROW
    bad_exports = [
        {**exp, "line": "2", "import_pedimento": "24 47 3420 4001234", "import_line": "-1"},
        {**exp, "line": "3", "import_line": "2"},
    ]
    bom = [
        {"parent": "FG", "component": "P-001", "qty_per": "2", "scrap_rate": "0"},
        {"parent": "FG", "component": "P-002", "qty_per": "0.0000001", "scrap_rate": "0"},
        {"parent": "FG", "component": "P-003", "qty_per": "1", "valid_from": "2024-06-01",
         "valid_to": "2024-01-31"},
    ]  # fmt: skip
    folder = write_client(tmp_path, imports=[imp, *bad_imports], exports=[exp, *bad_exports],
                          bom=bom)  # fmt: skip
    path = folder / "imports.csv"
    width = len(path.read_text(encoding="utf-8").splitlines()[0].split(","))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('24 47 3420 4001234,21,IN,2024-01-10,"P-9,100\n')  # a quote never closed
        fh.write("," * (width - 1) + "\n")  # an empty row
        fh.write("24 47 3420 4001234,20" + "," * (width - 2) + ",stray\n")  # beyond the header
    ledger = load(folder)
    rejects = ledger.rejects
    assert len(rejects) == 26, rejects.to_string()  # one per bad row

    matched = set()
    for reason in rejects["reason"]:
        matched |= {key for key, pattern in _patterns("reject.") if pattern.fullmatch(reason)}
    elsewhere = {  # decimal-comma files, NaN/inf, and the other quantity ranges
        "reject.number_comma", "reject.rate_comma", "reject.finite",
        "reject.too_small", "reject.too_large_per_unit",
    }  # fmt: skip
    assert matched == set(KEYS) - elsewhere

    english = rejects_in(rejects, "en", ledger.claves)
    assert english["reason"].tolist() == rejects["reason"].tolist()
    assert all(ENGLISH.search(r) for r in rejects["reason"]), "rejects.csv keeps the English"

    spanish = rejects_in(rejects, "es", ledger.claves)
    assert spanish.drop(columns="reason").equals(rejects.drop(columns="reason"))
    for before, after in zip(rejects["reason"], spanish["reason"], strict=True):
        assert after != before, before
        assert not ENGLISH.search(after), after
    said = dict(zip(rejects["value"], spanish["reason"], strict=True))
    assert said["diez"] == "quantity no es un número: 'diez' (use 1234.5 o 1,234.5)"
    assert said["A1"] == "clave A1 (Importación definitiva): no forma parte del control IMMEX"
    assert said["RT"].startswith("clave RT (") and said["RT"].endswith(
        "regístrela en el archivo de exportaciones (exports)"
    )
    assert said["ZZ"].startswith("clave desconocida 'ZZ'")


def test_a_clean_ledger_has_nothing_to_word(tmp_path, write_client):
    ledger = load(write_client(tmp_path))
    assert ledger.rejects.empty
    for lang in LANGS:
        assert rejects_in(ledger.rejects, lang, ledger.claves).empty
