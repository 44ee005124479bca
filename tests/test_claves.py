"""Kinds of movement (docs/rules/claves.md): the claves table, the loader's
clave checks and the value layer's use of the kinds."""

from __future__ import annotations

import pandas as pd
import pytest

from immex_nb import ImmexError, load
from immex_nb.claves import DEFAULT_RATIO_KINDS, KINDS, Claves, default_claves
from immex_nb.discharge import discharge
from immex_nb.kinds import regularised_in

IMPORTS = """pedimento,line,clave,date,part_number,quantity,value_usd,value_mxn,igi_rate
24 47 3420 4000001,1,,2024-01-05,A,100,2500,50000,0.10
24 47 3420 4000002,1,A1,2024-01-05,A,100,2500,50000,0.10
24 47 3420 4000003,1,f4,2024-01-05,A,100,2500,50000,0.10
24 47 3420 4000004,1,ZZ,2024-01-05,A,100,2500,50000,0.10
24 47 3420 4000005,1,V1,2024-02-05,A,100,2500,50000,0.10
"""
EXPORTS = """pedimento,line,clave,date,part_number,quantity,destination,import_pedimento,import_line
26 47 3420 6000001,1,,2026-03-02,A,10,USA,,
26 47 3420 6000001,2,A3,2026-03-03,A,10,MEX,24 47 3420 4000005,1
26 47 3420 6000001,3,BO,2026-03-03,A,10,USA,,
26 47 3420 6000001,4,IN,2026-03-03,A,10,USA,,
26 47 3420 6000001,5,F4,2026-03-04,A,5,MEX,244734204000001,
26 47 3420 6000001,6,F4,2026-03-04,A,5,MEX,2447342040000,
26 47 3420 6000001,7,F4,2026-03-04,A,5,MEX,,2
26 47 3420 6000001,8,Q7,2026-03-04,A,5,MEX,,
26 47 3420 6000001,9,RT,2026-03-04,A,1,USA,24 47 3420 4000001,-1
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "imports.csv").write_text(IMPORTS, encoding="utf-8")
    (tmp_path / "exports.csv").write_text(EXPORTS, encoding="utf-8")
    return tmp_path


def test_table_is_keyed_by_clave_and_side_with_sources():
    c = default_claves()
    t = c.table
    assert not t.duplicated(["side", "clave"]).any()
    assert (t["source"].str.len() > 10).all()
    assert set(t["kind"]) - {""} <= set(KINDS)
    imports, exports = c.side("imports"), c.side("exports")
    assert imports.loc[imports["in_ledger"]].index.tolist() == ["AF", "IN", "V1"]
    assert imports.loc["V1", "temporary_entry"] and exports.loc["V1", "kind"] == "virtual_transfer"
    assert {k: exports.loc[k, "kind"] for k in ["RT", "V5", "F4", "F5", "A3", "V9"]} == {
        "RT": "return",
        "V5": "virtual_transfer",
        "F4": "regime_change",
        "F5": "regime_change",
        "A3": "regularisation",
        "V9": "donation",
    }
    assert exports.loc["F4", "taxes_paid"] and not exports.loc["RT", "taxes_paid"]
    assert c.ratio_kinds() == DEFAULT_RATIO_KINDS
    assert c.meaning("a3", "exports", "es").startswith("Regularización")


def test_loader_rejects_claves_that_do_not_belong_and_unknown_ones(folder):
    ledger = load(folder)
    r = ledger.rejects
    got = {
        (f, row): reason for f, row, reason in r[["file", "row", "reason"]].itertuples(index=False)
    }
    assert got[("imports.csv", 3)] == "A1 is a definitive import: not part of the IMMEX ledger"
    assert got[("imports.csv", 4)] == (
        "F4 is a change of regime of temporary inputs to definitive: list it in exports"
    )
    assert got[("imports.csv", 5)].startswith("unknown clave 'ZZ'")
    assert "not part of the IMMEX ledger" in got[("exports.csv", 4)]  # BO
    assert got[("exports.csv", 5)] == "IN is a temporary import of inputs: list it in imports"
    assert "15 digits" in got[("exports.csv", 7)]  # a bad import_pedimento
    assert "import_pedimento is blank" in got[("exports.csv", 8)]
    assert got[("exports.csv", 9)].startswith("unknown clave 'Q7'")
    assert got[("exports.csv", 10)].startswith("import_line must be a line number 1 or greater")
    assert r.loc[r["row"] == 3, "column"].tolist() == ["clave"]
    # blank clave = IN / RT; import_pedimento normalised like pedimento
    assert ledger.imports["clave"].tolist() == ["IN", "V1"]
    assert ledger.exports["clave"].tolist() == ["RT", "A3", "F4"]
    assert ledger.exports["import_pedimento"].tolist() == [
        "",
        "24 47 3420 4000005",
        "24 47 3420 4000001",
    ]
    assert ledger.exports["import_line"].tolist() == [0, 1, 0]


def test_client_claves_table_extends_and_overrides(folder):
    (folder / "claves.csv").write_text(
        "side,clave,in_ledger,kind,meaning_en\n"
        "exports,Q7,true,destruction,a destruction notice (client code)\n"
        "imports,A1,true,,a definitive import kept in the ledger by choice\n",
        encoding="utf-8",
    )
    ledger = load(folder)
    assert ledger.exports["clave"].tolist() == ["RT", "A3", "F4", "Q7"]
    assert "A1" in ledger.imports["clave"].tolist()
    c = Claves.load(folder)
    assert c.kinds(pd.Series(["Q7", "RT"])).tolist() == ["destruction", "return"]


def test_bad_client_claves_table_is_an_immex_error(tmp_path):
    (tmp_path / "claves.csv").write_text("side,clave,in_ledger,kind\nexports,X1,true,gift\n")
    with pytest.raises(ImmexError, match="column kind: 'gift'"):
        Claves.load(tmp_path)
    (tmp_path / "claves.csv").write_text("side,clave\nexports,X1\n")
    with pytest.raises(ImmexError, match="missing from the claves table"):
        Claves.load(tmp_path)


def test_regularised_and_regime_changed_value_and_taxes(folder):
    """As of 2026-03-31 (everything expired: 18 months from 2024): the A3 names
    V1 pedimento 4000005 line 1: 10 units of 100 worth MXN 50,000 → 5,000; the
    F4 names 4000001 and takes 5 units of it → 2,500.  Taxes at the general rate
    10 %, DTA 0.008, IVA 16 %: A3 IGI 500, DTA 40, IVA 886.40 (1,426.40); F4
    IGI 250, DTA 20, IVA 443.20 (713.20).  The RT return is not listed."""
    ledger = load(folder)
    r = discharge(ledger.imports, ledger.exports, ledger.bom, as_of="2026-03-31")
    a = r.allocations
    a3 = a[a["export_clave"] == "A3"]
    assert a3["import_pedimento"].tolist() == ["24 47 3420 4000005"] and a3["directed"].all()
    assert a3["late"].all()
    out = regularised_in(r.allocations, "2026-03", r.balances).set_index("export_clave")
    assert out["kind"].to_dict() == {"A3": "regularisation", "F4": "regime_change"}
    assert out["exits"].to_dict() == {"A3": 1, "F4": 1}
    assert out["value_mxn"].to_dict() == pytest.approx({"A3": 5_000, "F4": 2_500})
    assert out["igi"].to_dict() == pytest.approx({"A3": 500, "F4": 250})
    assert out["dta"].to_dict() == pytest.approx({"A3": 40, "F4": 20})
    assert out["iva"].to_dict() == pytest.approx({"A3": 886.40, "F4": 443.20})
    assert out["taxes"].to_dict() == pytest.approx({"A3": 1_426.40, "F4": 713.20})
    assert regularised_in(r.allocations, "2026-02", r.balances).empty
    # a regularised balance is discharged: not open, so not exposure
    b = r.balances.set_index("import_pedimento")
    assert b.loc["24 47 3420 4000005", "discharged"] == 10


def test_kinds_of_categorical_claves_are_those_of_their_text():
    """``with_kinds`` works on the distinct claves: a categorical column (as the
    discharge gives) and its text give the same kinds; blank or missing = RT."""
    from immex_nb.kinds import with_kinds

    text = pd.DataFrame({"export_clave": ["A3", "rt", "F4", None, "", "V1", "A3"]})
    cat = text.astype("category")
    kinds = ["regularisation", "return", "regime_change", "return", "return"]
    got = with_kinds(cat)["export_kind"].tolist()
    assert got == with_kinds(text)["export_kind"].tolist()
    assert got[:5] == kinds and got[6] == "regularisation"
    assert with_kinds(text.drop(columns="export_clave"))["export_kind"].tolist() == ["return"] * 7
