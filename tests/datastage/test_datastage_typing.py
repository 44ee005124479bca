"""Typing never raises: every value that cannot become a number or a date is
a reject naming file, line, column and value, and the other rows load."""

from __future__ import annotations

import pandas as pd

from immex_nb.datastage import read_datastage
from immex_nb.samples.datastage import render_asc

KEY = {"Patente": "0123", "SeccionAduanera": "070"}


def r501(pedimento: str, **kw) -> dict:
    row = {
        **KEY,
        "Pedimento": pedimento,
        "TipoOperacion": "1",
        "ClaveDocumento": "IN",
        "TipoCambio": "18.50000",
        "TipoPedimento": "1",
        "FechaPagoReal": "2025-03-10 09:41:07",
    }
    row.update(kw)
    return row


def test_each_untypable_value_is_a_reject_with_its_reason(tmp_path):
    rows = [
        r501("5000001"),
        r501("5000002", TipoCambio="1e5"),  # exponent: not the SAT format
        r501("5000003", TipoCambio="9" * 400),  # too large for a float
        r501("5000004", FechaPagoReal="2025-02-30 10:00:00"),  # no such day
        r501("5000005", FechaPagoReal="5202-03-10 09:41:07"),  # outside datetime64[ns]
        r501("5000006", FechaPagoReal="1492-10-12 00:00:00"),
        r501("5000007", TipoCambio="18,5"),
        r501("5000008", FechaPagoReal="2025-03-11"),  # a date alone is a valid date-time
    ]
    folder = tmp_path / "asc"
    folder.mkdir()
    (folder / "F1_501.asc").write_bytes(render_asc("501", rows))
    ds = read_datastage(folder)
    assert list(ds["501"]["Pedimento"]) == ["5000001", "5000008"]
    assert ds["501"]["FechaPagoReal"].iat[1] == pd.Timestamp("2025-03-11")
    rej = ds.rejects.set_index("row")
    assert list(rej.index) == [3, 4, 5, 6, 7, 8]
    assert rej.loc[3, "reason"].startswith("not a number")
    assert rej.loc[4, "reason"] == "number out of range"
    assert rej.loc[4, "value"] == "9" * 200  # values are cut, never copied whole
    assert rej.loc[5, "reason"].startswith("not an ISO date-time")
    assert "range" in rej.loc[6, "reason"] and rej.loc[6, "value"].startswith("5202")
    assert "range" in rej.loc[7, "reason"]
    assert rej.loc[8, ["column", "value"]].tolist() == ["TipoCambio", "18,5"]
    assert (rej["file"] == "F1_501.asc").all()


def test_a_file_made_only_of_bad_values_gives_an_empty_typed_table(tmp_path):
    folder = tmp_path / "asc"
    folder.mkdir()
    rows = [r501("5000001", FechaPagoReal="5202-01-01 00:00:00")]
    (folder / "F1_501.asc").write_bytes(render_asc("501", rows))
    ds = read_datastage(folder)
    assert ds["501"].empty and ds["501"]["FechaPagoReal"].dtype == "datetime64[ns]"
    assert len(ds.rejects) == 1 and ds.index.empty


def test_a_carriage_return_inside_a_field_does_not_split_the_line(tmp_path):
    folder = tmp_path / "asc"
    folder.mkdir()
    row = {**KEY, "Pedimento": "5000001", "NumeroGuia": "AB\rC", "TipoGuia": "M"}
    row["FechaPagoReal"] = "2025-03-10 09:41:07"
    (folder / "F1_503.asc").write_bytes(render_asc("503", [row]))
    ds = read_datastage(folder)
    assert ds["503"]["NumeroGuia"].tolist() == ["AB\rC"] and ds.rejects.empty


def test_a_pedimento_differing_between_requests_is_indexed_once(tmp_path):
    """Two requests carry 5000001 with another exchange rate: both 501 rows stay,
    the index (and the views built on it) keep one and say so."""
    folder = tmp_path / "zips"
    folder.mkdir()
    for folio, rate in (("F1", "18.50000"), ("F2", "18.60000")):
        asc = folder / folio
        asc.mkdir()
        (asc / f"{folio}_501.asc").write_bytes(
            render_asc("501", [r501("5000001", TipoCambio=rate)])
        )
    ds = read_datastage(folder)
    assert len(ds["501"]) == 2 and ds.index["pedimento"].tolist() == ["25 07 0123 5000001"]
    assert "pedimento_repeated" in set(ds.findings["check"])


def test_orphans_are_matched_on_the_whole_identity(tmp_path):
    """551 partida of 2015 whose only 501 is the 2025 pedimento with the same seven
    digits is an orphan; so is a 557 row without its partida."""
    folder = tmp_path / "asc"
    folder.mkdir()
    p551 = {**KEY, "Fraccion": "07031001", "SecuenciaFraccion": "1", "TipoOperacion": "1"}
    rows551 = [
        {**p551, "Pedimento": "5000001", "FechaPagoReal": "2025-03-10 09:41:07"},
        {**p551, "Pedimento": "5000001", "FechaPagoReal": "2015-03-10 09:41:07"},
    ]
    p557 = {**KEY, "Fraccion": "07031001", "ClaveContribucion": "6", "FormaPago": "5"}
    rows557 = [
        {**p557, "Pedimento": "5000001", "SecuenciaFraccion": "1", "ImportePago": "10"},
        {**p557, "Pedimento": "5000001", "SecuenciaFraccion": "2", "ImportePago": "10"},
    ]
    for row in rows557:
        row["FechaPagoReal"] = "2025-03-10 09:41:07"
    (folder / "F1_501.asc").write_bytes(render_asc("501", [r501("5000001")]))
    (folder / "F1_551.asc").write_bytes(render_asc("551", rows551))
    (folder / "F1_557.asc").write_bytes(render_asc("557", rows557))
    found = read_datastage(folder).findings.set_index("check")["found"]
    assert found["orphan_partida"] == "1" and found["orphan_contribucion"] == "1"
