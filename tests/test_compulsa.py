"""Compulsa (Anexo 24 ↔ Data Stage): each issue type, tolerances, rectifications, CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from immex_nb.datastage import ISSUES, compulsa, compulsa_summary, read_datastage
from immex_nb.datastage.compulsa import COLUMNS
from immex_nb.samples.datastage import example_ledger, synth_datastage, write_request

K = {"Patente": "0123", "SeccionAduanera": "070"}
PAY = "2025-03-10 09:41:07"


def _a24_import(
    line, fraccion, qty, mxn, *, ped="25 07 0123 5000001", clave="IN", date="2025-03-10"
):
    return {
        "pedimento": ped,
        "line": line,
        "clave": clave,
        "date": pd.Timestamp(date),
        "part_number": f"P{line}",
        "fraccion": fraccion,
        "quantity": float(qty),
        "value_usd": mxn / 20.0,
        "value_mxn": float(mxn),
    }


def _ds_request(path, partidas, *, ped="5000001", clave="IN", entry="2025-03-10", extra501=()):
    rows551 = [
        {
            **K,
            "Pedimento": ped,
            "Fraccion": f,
            "SecuenciaFraccion": str(i),
            "CantidadUMComercial": f"{q:.3f}",
            "ValorAduana": str(v),
            "ValorComercial": str(v),
            "ValorDolares": f"{v / 20:.2f}",
            "TipoOperacion": "1",
            "ClaveDocumento": clave,
            "FechaPagoReal": PAY,
        }
        for i, (f, q, v) in enumerate(partidas, start=1)
    ]
    rows501 = [
        {
            **K,
            "Pedimento": ped,
            "TipoOperacion": "1",
            "ClaveDocumento": clave,
            "TipoPedimento": "1",
            "FechaPagoReal": PAY,
        },
        *extra501,
    ]
    rows506 = [
        {
            **K,
            "Pedimento": ped,
            "TipoFecha": "1",
            "FechaOperacion": entry,
            "FechaValidacionPagoR": PAY,
        },
        {
            **K,
            "Pedimento": ped,
            "TipoFecha": "2",
            "FechaOperacion": PAY[:10],
            "FechaValidacionPagoR": PAY,
        },
    ]
    resumen = [
        {
            "Folio": "F1",
            "RFCoPatenteAduanal": "X",
            "Fecha_Inicial": "2025-03-01",
            "Fecha_Final": "2025-03-31",
            "Fecha_Ejecucion": "2025-04-01",
            "Total_Fracciones": str(len(rows551)),
            "Total_Contribuciones": "0",
        }
    ]
    return read_datastage(
        write_request(
            {"501": rows501, "506": rows506, "551": rows551, "Resumen": resumen}, path, folio="F1"
        )
    )


NO_EXPORTS = pd.DataFrame(
    columns=["pedimento", "line", "clave", "date", "part_number", "quantity", "value_usd"]
)


def test_hand_worked_quantity_mismatch_and_value_tolerance(tmp_path):
    """Anexo 24: fracción 73181501 = lines 1+2 = 100+50 pieces, 1,000+500 MXN; fracción 85366999 = 10 pieces, 300 MXN.
    Data Stage: 73181501 = 150 pieces, 1,500 MXN (agrees); 85366999 = 12 pieces, 301 MXN.
    → quantity_mismatch 10 vs 12; the 1-peso value difference is within 1 × value_tolerance (1 partida)."""
    imports = pd.DataFrame(
        [
            _a24_import(1, "7318150101", 100, 1000),
            _a24_import(2, "73181501", 50, 500),
            _a24_import(3, "8536.69.99", 10, 300),
        ]
    )
    ds = _ds_request(tmp_path / "a.zip", [("73181501", 150, 1500), ("85366999", 12, 301)])
    out = compulsa(imports, NO_EXPORTS, ds)
    assert list(out.columns) == COLUMNS
    assert out[["pedimento", "fraccion", "issue"]].values.tolist() == [
        ["25 07 0123 5000001", "85366999", "quantity_mismatch"]
    ]
    r = out.iloc[0]
    assert (r["anexo24_quantity"], r["datastage_quantity"]) == (10.0, 12.0)
    assert (r["anexo24_value_mxn"], r["datastage_value_mxn"]) == (300.0, 301.0)
    tight = compulsa(imports, NO_EXPORTS, ds, value_tolerance=0.5)
    assert tight["issue"].tolist() == ["quantity_mismatch", "value_mismatch"]
    loose = compulsa(imports, NO_EXPORTS, ds, qty_tolerance=2.0)
    assert loose.empty


def test_missing_fraccion_on_either_side(tmp_path):
    """Anexo 24 has 73181501 and 39269099; Data Stage has 73181501 and 85366999."""
    imports = pd.DataFrame([_a24_import(1, "73181501", 5, 50), _a24_import(2, "39269099", 7, 70)])
    ds = _ds_request(tmp_path / "a.zip", [("73181501", 5, 50), ("85366999", 3, 30)])
    out = compulsa(imports, NO_EXPORTS, ds)
    assert out[["fraccion", "issue"]].values.tolist() == [
        ["39269099", "missing_in_datastage"],
        ["85366999", "missing_in_anexo24"],
    ]
    assert out.loc[0, "anexo24_quantity"] == 7.0 and pd.isna(out.loc[0, "datastage_quantity"])
    assert out.loc[1, "datastage_quantity"] == 3.0 and pd.isna(out.loc[1, "anexo24_quantity"])


def test_clave_and_date_mismatch_are_pedimento_level(tmp_path):
    """Anexo 24 says IN on 2025-03-08; SAT has V1, entry 2025-03-10, paid 2025-03-10."""
    imports = pd.DataFrame([_a24_import(1, "73181501", 5, 50, date="2025-03-08")])
    ds = _ds_request(tmp_path / "a.zip", [("73181501", 5, 50)], clave="V1")
    out = compulsa(imports, NO_EXPORTS, ds)
    assert out[["fraccion", "issue", "anexo24_clave", "datastage_clave"]].values.tolist() == [
        ["", "clave_mismatch", "IN", "V1"],
        ["", "date_mismatch", "", "V1"],
    ]
    assert out.loc[1, "anexo24_date"] == pd.Timestamp("2025-03-08")
    assert out.loc[1, "datastage_date"] == pd.Timestamp("2025-03-10")
    assert compulsa(imports, NO_EXPORTS, ds, date_tolerance_days=2)["issue"].tolist() == [
        "clave_mismatch"
    ]


def test_a_pedimento_with_two_claves_shows_both_sorted(tmp_path):
    """Two Anexo 24 lines of one pedimento say V1 and IN (same fracción); SAT says IN:
    a clave mismatch "IN,V1" against "IN", at pedimento and at fracción level."""
    imports = pd.DataFrame(
        [
            _a24_import(1, "73181501", 2, 20, clave="V1"),
            _a24_import(2, "73181501", 3, 30, clave="IN"),
        ]
    )
    ds = _ds_request(tmp_path / "a.zip", [("73181501", 5, 50)], clave="IN")
    out = compulsa(imports, NO_EXPORTS, ds)
    assert out[["issue", "anexo24_clave", "datastage_clave"]].values.tolist() == [
        ["clave_mismatch", "IN,V1", "IN"]
    ]
    assert out.loc[0, "detail"] == "Anexo 24 IN,V1; Data Stage IN"


def test_payment_date_is_also_accepted(tmp_path):
    """Entry 2025-03-12 (after payment 2025-03-10): an Anexo 24 dated on either day agrees."""
    ds = _ds_request(tmp_path / "a.zip", [("73181501", 5, 50)], entry="2025-03-12")
    for day in ("2025-03-10", "2025-03-12"):
        imports = pd.DataFrame([_a24_import(1, "73181501", 5, 50, date=day)])
        assert compulsa(imports, NO_EXPORTS, ds).empty


def test_whole_pedimento_missing_each_way_and_period_scope(tmp_path):
    """5000002 (March) is only in Anexo 24; 5000003 only in the Data Stage; 5000004 (May) is outside the request."""
    extra = {
        **K,
        "Pedimento": "5000003",
        "TipoOperacion": "1",
        "ClaveDocumento": "A1",
        "TipoPedimento": "1",
        "FechaPagoReal": PAY,
    }
    ds = _ds_request(tmp_path / "a.zip", [("73181501", 5, 50)], extra501=[extra])
    imports = pd.DataFrame(
        [
            _a24_import(1, "73181501", 5, 50),
            _a24_import(1, "73181501", 9, 90, ped="25 07 0123 5000002"),
            _a24_import(1, "73181501", 9, 90, ped="25 07 0123 5000004", date="2025-05-02"),
        ]
    )
    out = compulsa(imports, NO_EXPORTS, ds)
    assert out[["pedimento", "fraccion", "issue"]].values.tolist() == [
        ["25 07 0123 5000002", "73181501", "missing_in_datastage"],
        ["25 07 0123 5000003", "", "missing_in_anexo24"],  # a 501 with no partidas
    ]
    assert compulsa(imports, NO_EXPORTS, ds, claves=["IN"])["issue"].tolist() == [
        "missing_in_datastage"
    ]
    everything = compulsa(imports, NO_EXPORTS, ds, in_period_only=False)
    assert "25 07 0123 5000004" in set(everything["pedimento"])


@pytest.mark.parametrize("issue", ISSUES)
def test_each_planted_difference_is_found_alone(tmp_path, issue):
    imports, exports = example_ledger()
    res = synth_datastage(
        imports, exports, tmp_path / "x.zip", differences=[issue], rectifications=0
    )
    out = compulsa(imports, exports, read_datastage(res.path))
    assert set(out["issue"]) == {issue}
    assert sorted(map(tuple, out[["pedimento", "fraccion", "issue"]].values.tolist())) == sorted(
        map(tuple, res.planted[["pedimento", "fraccion", "issue"]].values.tolist())
    )


def test_synthetic_request_reconciles_except_the_planted_differences(tmp_path):
    imports, exports = example_ledger()
    res = synth_datastage(
        imports, exports, tmp_path / "x.zip", rectifications=1, chain_length=2, nested=True
    )
    ds = read_datastage(res.path)
    out = compulsa(imports, exports, ds)
    found = (
        out[["pedimento", "fraccion", "issue"]]
        .sort_values(["pedimento", "fraccion", "issue"])
        .values.tolist()
    )
    assert found == res.planted[["pedimento", "fraccion", "issue"]].values.tolist()
    assert set(out["issue"]) == set(ISSUES)
    # exports carry no fracción: compared per pedimento, fracción blank
    assert out.loc[out["issue"] == "missing_in_datastage", "fraccion"].tolist() == [""]


def test_rectification_chain_makes_the_original_agree(tmp_path):
    """The original is filed with the first partida's value 10 % low, then rectified twice;
    Anexo 24 keeps the original number and the right value: no difference once 701 is followed."""
    imports, exports = example_ledger()
    res = synth_datastage(
        imports, exports, tmp_path / "x.zip", differences=[], rectifications=1, chain_length=2
    )
    ds = read_datastage(res.path)
    original = res.rectified["original"].iat[0]
    latest = res.rectified["rectification"].iat[-1]
    assert ds.index.set_index("pedimento").loc[original, "latest"] == latest
    p551 = ds.with_pedimento("551")
    first = p551[p551["SecuenciaFraccion"] == "1"].set_index("pedimento")["ValorAduana"]
    assert first[original] < first[latest]  # the original really was wrong
    assert compulsa(imports, exports, ds).empty
    # an Anexo 24 that already carries the rectification's number agrees too
    renamed = imports.assign(pedimento=imports["pedimento"].replace(original, latest))
    assert compulsa(renamed, exports, ds).empty


def test_summary_lists_all_six_issues(tmp_path):
    imports, exports = example_ledger()
    res = synth_datastage(imports, exports, tmp_path / "x.zip")
    out = compulsa(imports, exports, read_datastage(res.path))
    s = compulsa_summary(out)
    assert s["issue"].tolist() == list(ISSUES)
    assert s["findings"].sum() == len(out)
    assert (
        s.set_index("issue")["findings"]
        == res.planted["issue"].value_counts().reindex(list(ISSUES))
    ).all()
    empty = compulsa_summary(out.iloc[0:0])
    assert empty["findings"].eq(0).all() and len(empty) == 6
    # what each issue means: the texts the report shows, in the language asked
    assert s.loc[0, "meaning"] == "In Anexo 24 but not in the SAT Data Stage"
    spanish = compulsa_summary(out, lang="es")
    assert spanish.loc[0, "meaning"] == "En el Anexo 24 pero no en el Data Stage del SAT"
    assert spanish.drop(columns="meaning").equals(s.drop(columns="meaning"))


def test_cli_compulsa_writes_csvs_and_returns_1_on_differences(tmp_path, capsys):
    from immex_nb.cli import main

    imports, exports = example_ledger()
    client = tmp_path / "client"
    client.mkdir()
    imports.assign(date=imports["date"].dt.strftime("%Y-%m-%d")).to_csv(
        client / "imports.csv", index=False
    )
    exports.assign(date=exports["date"].dt.strftime("%Y-%m-%d")).to_csv(
        client / "exports.csv", index=False
    )
    res = synth_datastage(imports, exports, client / "datastage" / "F_solicitudes.zip", folio="F")
    out = tmp_path / "out"
    assert main(["compulsa", str(client), str(res.path), "--out", str(out)]) == 1
    table = pd.read_csv(
        out / "compulsa.csv", dtype={"fraccion": str, "pedimento": str}, keep_default_na=False
    )
    assert sorted(table["issue"]) == sorted(res.planted["issue"])
    summary = pd.read_csv(out / "compulsa_summary.csv")
    assert summary["issue"].tolist() == list(ISSUES)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "compulsa" and manifest["row_counts"]["compulsa"] == len(table)
    assert any(k.endswith("F_solicitudes.zip") for k in manifest["inputs"])
    assert "value_mismatch" in capsys.readouterr().out

    clean = synth_datastage(
        imports, exports, tmp_path / "clean.zip", differences=[], rectifications=0
    )
    assert main(["compulsa", str(client), str(clean.path), "--out", str(tmp_path / "out2")]) == 0
    assert (
        main(["compulsa", str(client), str(tmp_path / "nope.zip"), "--out", str(tmp_path / "o3")])
        == 2
    )
