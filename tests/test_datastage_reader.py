"""Data Stage reader: one test per quirk of docs/rules/datastage.md.

Fixtures are written byte by byte with :func:`render_asc` (exact SAT headers,
trailing ``|``, CRLF) so each test states the bytes it feeds the reader.
"""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from immex_nb.datastage import HEADERS, RECORD_TYPES, read_datastage
from immex_nb.datastage.reader import decode_line, full_pedimento, pedimento_year
from immex_nb.errors import ImmexError
from immex_nb.samples.datastage import (
    example_ledger,
    render_asc,
    synth_datastage,
    write_request,
    zip_bytes,
)
from immex_nb.schema import REJECT_COLUMNS

KEY = {"Patente": "0123", "Pedimento": "5000001", "SeccionAduanera": "070"}


def r501(**kw) -> dict:
    row = {
        **KEY,
        "TipoOperacion": "1",
        "ClaveDocumento": "IN",
        "SeccionAduaneraEntrada": "070",
        "Rfc": "EMN010101AB1",
        "TipoCambio": "18.50000",
        "TotalFletes": "0",
        "PesoBrutoMercancia": ".500",
        "NombreContribuyente": "ELECTRÓNICA",
        "EntidadFedContribuyente": "BC \x00\x00\x00\x00",
        "PaisContribuyente": "MEX",
        "TipoPedimento": "1",
        "FechaRecepcionPedimento": "2025-03-10 09:15:22",
        "FechaPagoReal": "2025-03-10 09:41:07",
    }
    row.update(kw)
    return row


def r551(**kw) -> dict:
    row = {
        **KEY,
        "Fraccion": "07031001",
        "SecuenciaFraccion": "1",
        "SubdivisionFraccion": "01",
        "DescripcionMercancia": "CEBOLLAS",
        "PrecioUnitario": "4.28090",
        "ValorAduana": "42809",
        "ValorComercial": "42809",
        "ValorDolares": "2500.00",
        "CantidadUMComercial": "10000.000",
        "UnidadMedidaComercial": "6",
        "CantidadUMTarifa": "85.25000",
        "UnidadMedidaTarifa": "1",
        "EntidadFedOrigen": " ",
        "EntidadFedDestino": "\x00",
        "TipoOperacion": "1",
        "ClaveDocumento": "IN",
        "FechaPagoReal": "2025-03-10 09:41:07",
    }
    row.update(kw)
    return row


def resumen(n551: int, n557: int, folio: str = "F1") -> dict:
    return {
        "Folio": folio,
        "RFCoPatenteAduanal": "EMN010101AB1",
        "Fecha_Inicial": "2025-03-01",
        "Fecha_Final": "2025-03-31",
        "Fecha_Ejecucion": "2025-04-02",
        "Total_Fracciones": str(n551),
        "Total_Contribuciones": str(n557),
    }


def write_zip(path, tables, folio="F1", **kw):
    return write_request(tables, path, folio=folio, **kw)


# ---------------------------------------------------------------- the 26 layouts


def test_every_record_type_has_its_exact_sat_header(tmp_path):
    """All 26 tables come back, with exactly SAT's columns (spelling traps kept), even header-only."""
    ds = read_datastage(
        write_zip(tmp_path / "a.zip", {"501": [r501()], "Resumen": [resumen(0, 0)]})
    )
    assert set(ds.tables) == set(RECORD_TYPES) and len(RECORD_TYPES) == 26
    for tipo in RECORD_TYPES:
        assert list(ds[tipo].columns) == HEADERS[tipo], tipo
    assert "IndentFiscalProveedor" in HEADERS["505"] and "MunicpioDestinatario" in HEADERS["520"]
    assert HEADERS["507"][3:7] == [
        "ClaveCaso",
        "IdentificadorCaso",
        "TipoPedimento",
        "ComplementoCaso",
    ]
    assert ds["sel"] is ds["Sel"]
    with pytest.raises(KeyError, match="not a Data Stage record type"):
        ds["514"]


def test_trailing_pipe_is_dropped_and_a_line_without_it_is_accepted(tmp_path):
    with_pipe = render_asc("501", [r501()])
    assert with_pipe.split(b"\r\n")[1].endswith(b"|")
    without = render_asc("501", [r501(Pedimento="5000002")], trailing_pipe=False)
    folder = tmp_path / "asc"
    folder.mkdir()
    (folder / "F1_501.asc").write_bytes(with_pipe + without.split(b"\r\n", 1)[1])
    ds = read_datastage(folder)
    assert list(ds["501"].columns) == HEADERS["501"]  # no 32nd phantom column
    assert list(ds["501"]["Pedimento"]) == ["5000001", "5000002"]
    assert ds["501"]["FechaPagoReal"].iat[0] == pd.Timestamp("2025-03-10 09:41:07")
    assert ds.rejects.empty


def test_cp1252_and_embedded_utf8_lines_both_decode(tmp_path):
    """Line 2 is Windows-1252 (Ó = 0xD3), line 3 UTF-8 (Ó = 0xC3 0x93): each line decodes on its own."""
    data = render_asc(
        "511",
        [
            {
                **KEY,
                "SecuenciaObservacion": "1",
                "Observaciones": "OPERACIÓN AÑO",
                "TipoPedimento": "1",
                "FechaValidacionPagoR": "2025-03-10 09:41:07",
            },
            {
                **KEY,
                "SecuenciaObservacion": "2",
                "Observaciones": "OPERACIÓN AÑO",
                "TipoPedimento": "1",
                "FechaValidacionPagoR": "2025-03-10 09:41:07",
            },
        ],
        utf8_rows=[1],
    )
    assert b"OPERACI\xd3N" in data and b"OPERACI\xc3\x93N" in data
    folder = tmp_path / "asc"
    folder.mkdir()
    (folder / "F1_511.asc").write_bytes(data)
    assert list(read_datastage(folder)["511"]["Observaciones"]) == [
        "OPERACIÓN AÑO",
        "OPERACIÓN AÑO",
    ]
    assert decode_line(b"\x81\xd3") == "\x81Ó"  # cp1252-undefined byte falls back to Latin-1


def test_nul_and_space_padding_is_stripped(tmp_path):
    ds = read_datastage(write_zip(tmp_path / "a.zip", {"501": [r501()], "551": [r551()]}))
    assert ds["501"]["EntidadFedContribuyente"].iat[0] == "BC"
    assert ds["551"]["EntidadFedDestino"].iat[0] == ""
    assert ds["551"]["EntidadFedOrigen"].iat[0] == ""


def test_keys_keep_leading_zeros_and_numbers_dates_are_typed(tmp_path):
    ds = read_datastage(write_zip(tmp_path / "a.zip", {"501": [r501()], "551": [r551()]}))
    r = ds["501"].iloc[0]
    assert (r["Patente"], r["Pedimento"], r["SeccionAduanera"]) == ("0123", "5000001", "070")
    assert ds["551"]["Fraccion"].iat[0] == "07031001"
    assert r["PesoBrutoMercancia"] == 0.5  # ".500": leading zero missing
    assert ds["501"]["TipoCambio"].dtype == "float64"
    assert ds["501"]["FechaPagoReal"].dtype == "datetime64[ns]"
    assert ds["Resumen"]["Fecha_Final"].dtype == "datetime64[ns]"


def test_full_pedimento_year_comes_from_the_first_digit_not_the_period():
    """A V1 paid 2025-01-03 with Pedimento 4000123 was validated in 2024 (docs/rules/datastage.md)."""
    assert pedimento_year("4000123", 2025) == 2024
    assert pedimento_year("5000123", 2025) == 2025
    assert pedimento_year("0012345", 2020) == 2020
    assert full_pedimento("3420", "4000123", "470", 2025) == "24 47 3420 4000123"
    assert full_pedimento("0123", "0012345", "070", 2021) == "20 07 0123 0012345"
    assert full_pedimento("34X0", "4000123", "470", 2025) is None


def test_index_numbers_every_501_pedimento(tmp_path):
    rows = [r501(), r501(Pedimento="4000123", FechaPagoReal="2025-01-03 10:00:00")]
    ds = read_datastage(write_zip(tmp_path / "a.zip", {"501": rows, "551": [r551()]}))
    assert list(ds.index["pedimento"]) == ["25 07 0123 5000001", "24 07 0123 4000123"]
    assert ds.with_pedimento("551")["pedimento"].iat[0] == "25 07 0123 5000001"


# ---------------------------------------------------------------- containers


def test_nested_zip_with_macosx_debris_reads_like_the_flat_zip(tmp_path):
    tables = {"501": [r501()], "551": [r551()], "Resumen": [resumen(1, 0)]}
    flat = read_datastage(write_zip(tmp_path / "flat.zip", tables))
    nested_path = write_zip(tmp_path / "nested.zip", tables, nested=True, macosx=True)
    with zipfile.ZipFile(nested_path) as zf:
        names = zf.namelist()
    assert "F1_solicitudes.zip" in names and any(n.startswith("__MACOSX/") for n in names)
    nested = read_datastage(nested_path)
    for tipo in RECORD_TYPES:
        pd.testing.assert_frame_equal(nested[tipo], flat[tipo])
    assert nested.findings.empty  # the ._ files are neither read nor reported


def test_folder_of_asc_files_and_lf_line_ends(tmp_path):
    folder = tmp_path / "asc"
    folder.mkdir()
    (folder / "F1_501.asc").write_bytes(render_asc("501", [r501()], line_end="\n"))
    (folder / "notes.txt").write_text("not a Data Stage file")
    ds = read_datastage(folder)
    assert len(ds["501"]) == 1 and ds["501"]["FechaPagoReal"].notna().all()
    checks = set(ds.findings["check"])
    assert {"unknown_file", "missing_file"} <= checks  # 25 types absent: read as empty, reported


def test_header_only_files_with_and_without_line_end(tmp_path):
    crlf = render_asc("508", [])
    bare = render_asc("552", [])
    assert crlf.endswith(b"\r\n") and not bare.endswith(b"\n")
    folder = tmp_path / "asc"
    folder.mkdir()
    (folder / "F1_508.asc").write_bytes(crlf)
    (folder / "F1_552.asc").write_bytes(bare)
    (folder / "F1_555.asc").write_bytes(b"")  # not even a header: a finding, not a crash
    ds = read_datastage(folder)
    for tipo in ("508", "552", "555"):
        assert ds[tipo].empty and list(ds[tipo].columns) == HEADERS[tipo]
    assert ds.rejects.empty
    assert "empty_file" in set(ds.findings["check"])


def test_several_months_are_concatenated_and_overlaps_counted_once(tmp_path):
    """Request F1 (March) and F2 (March–April) both hold pedimento 5000001: kept once."""
    folder = tmp_path / "zips"
    folder.mkdir()
    april = r501(Pedimento="5000099", FechaPagoReal="2025-04-02 08:00:00")
    write_zip(
        folder / "F1_solicitudes.zip",
        {"501": [r501()], "551": [r551()], "Resumen": [resumen(1, 0, "F1")]},
        folio="F1",
    )
    write_zip(
        folder / "F2_solicitudes.zip",
        {"501": [r501(), april], "551": [r551()], "Resumen": [resumen(1, 0, "F2")]},
        folio="F2",
    )
    ds = read_datastage(folder)
    assert sorted(ds["501"]["Pedimento"]) == ["5000001", "5000099"]
    assert len(ds["551"]) == 1 and len(ds["Resumen"]) == 2
    assert "duplicate_rows" in set(ds.findings["check"])
    assert [p.name for p in ds.sources] == ["F1_solicitudes.zip", "F2_solicitudes.zip"]


def test_no_data_stage_files_is_an_error(tmp_path):
    with pytest.raises(ImmexError, match="no Data Stage files"):
        read_datastage(tmp_path)
    with pytest.raises(ImmexError, match="does not exist"):
        read_datastage(tmp_path / "missing.zip")


# ---------------------------------------------------------------- rejects and findings


def test_bad_lines_go_to_rejects_and_the_rest_loads(tmp_path):
    folder = tmp_path / "asc"
    folder.mkdir()
    good = render_asc("501", [r501()])
    bad_count = b"0123|5000002|070|1|IN|\r\n"  # 5 fields, layout has 31
    bad_number = (
        render_asc("501", [r501(Pedimento="5000003", TipoCambio="18,5")]).split(b"\r\n")[1]
        + b"\r\n"
    )
    bad_date = (
        render_asc("501", [r501(Pedimento="5000004", FechaPagoReal="10/03/2025")]).split(b"\r\n")[1]
        + b"\r\n"
    )
    (folder / "F1_501.asc").write_bytes(good + bad_count + bad_number + bad_date)
    ds = read_datastage(folder)
    assert list(ds["501"]["Pedimento"]) == ["5000001"]
    rej = ds.rejects
    assert list(rej.columns) == REJECT_COLUMNS
    assert list(rej["row"]) == [3, 4, 5]  # header is row 1
    assert list(rej["column"]) == ["", "TipoCambio", "FechaPagoReal"]
    assert list(rej["value"][1:]) == ["18,5", "10/03/2025"]
    assert rej["file"].eq("F1_501.asc").all()
    assert "5 fields" in rej["reason"].iat[0]


def test_resumen_totals_mismatch_is_a_finding_not_a_crash(tmp_path):
    """Resumen announces 2 partidas and 1 contribution; the files hold 1 and 0."""
    ds = read_datastage(
        write_zip(
            tmp_path / "a.zip", {"501": [r501()], "551": [r551()], "Resumen": [resumen(2, 1)]}
        )
    )
    f = ds.findings.set_index("check")
    assert (
        f.loc["resumen_total_fracciones", "expected"] == "2"
        and f.loc["resumen_total_fracciones", "found"] == "1"
    )
    assert f.loc["resumen_total_contribuciones", "found"] == "0"
    ok = read_datastage(
        write_zip(
            tmp_path / "b.zip", {"501": [r501()], "551": [r551()], "Resumen": [resumen(1, 0)]}
        )
    )
    assert not ok.findings["check"].str.startswith("resumen").any()


def test_header_in_another_order_is_matched_by_name(tmp_path):
    cols = HEADERS["503"]
    swapped = [cols[0], cols[1], cols[2], cols[4], cols[3], cols[5]]
    text = "|".join(swapped) + "\r\n" + "0123|5000001|070|M|GUIA1|2025-03-10 09:41:07|\r\n"
    folder = tmp_path / "asc"
    folder.mkdir()
    (folder / "F1_503.asc").write_bytes(text.encode())
    ds = read_datastage(folder)
    assert ds["503"][["NumeroGuia", "TipoGuia"]].iloc[0].tolist() == ["GUIA1", "M"]
    assert "header_order" in set(ds.findings["check"])


# ---------------------------------------------------------------- rectifications


def test_rectification_chain_is_resolved_to_the_latest_version(tmp_path):
    """5000001 (paid 03-10) → rectified by 5900001 (03-13) → rectified by 5900002 (03-20)."""
    rows501 = [
        r501(),
        r501(Pedimento="5900001", TipoPedimento="2", FechaPagoReal="2025-03-13 10:00:00"),
        r501(Pedimento="5900002", TipoPedimento="2", FechaPagoReal="2025-03-20 10:00:00"),
    ]
    rows551 = [
        r551(),
        r551(Pedimento="5900001", FechaPagoReal="2025-03-13 10:00:00"),
        r551(Pedimento="5900002", FechaPagoReal="2025-03-20 10:00:00"),
    ]

    def r701(new, prev, pay, prev_date):
        return {
            **KEY,
            "Pedimento": new,
            "ClaveDocumento": "IN",
            "FechaPago": pay,
            "PedimentoAnterior": prev,
            "PatenteAnterior": "0123",
            "SeccionAduaneraAnterior": "070",
            "DocumentoAnterior": "IN",
            "FechaOperacionAnterior": prev_date,
            "PedimentoOriginal": "0",
            "PatenteAduanalOrig": "0",
            "FechaPagoReal": f"{pay} 10:00:00",
        }

    rows701 = [
        r701("5900002", "5900001", "2025-03-20", "2025-03-13"),
        r701("5900001", "5000001", "2025-03-13", "2025-03-10"),
    ]
    ds = read_datastage(
        write_zip(tmp_path / "a.zip", {"501": rows501, "551": rows551, "701": rows701})
    )
    idx = ds.index.set_index("pedimento")
    assert idx["latest"].eq("25 07 0123 5900002").all()
    assert idx["original"].eq("25 07 0123 5000001").all()
    assert list(idx["version"]) == [1, 2, 3]
    assert idx.loc["25 07 0123 5900001", "rectifies"] == "25 07 0123 5000001"
    assert idx.loc["25 07 0123 5900001", "rectified_by"] == "25 07 0123 5900002"
    latest = ds.with_pedimento("551", latest_only=True)
    assert list(latest["pedimento"]) == ["25 07 0123 5900002"]  # the operation counts once
    assert len(ds.chain) == 2 and ds.chain["anterior_in_datastage"].all()


def test_a_rectification_cycle_is_one_finding(tmp_path):
    """701 rows 5900003 → 5900004 → 5900003 (a cycle nobody can resolve): one
    finding naming the cycle's lowest pedimento, however many times it is walked."""

    def r701(new, prev):
        return {**KEY, "Pedimento": new, "PedimentoAnterior": prev, "PatenteAnterior": "0123",
                "SeccionAduaneraAnterior": "070", "ClaveDocumento": "IN",
                "FechaPagoReal": "2025-03-20 10:00:00"}  # fmt: skip

    rows501 = [
        r501(Pedimento=n, FechaPagoReal="2025-03-20 10:00:00") for n in ("5900003", "5900004")
    ]
    rows701 = [r701("5900003", "5900004"), r701("5900004", "5900003")]
    ds = read_datastage(write_zip(tmp_path / "a.zip", {"501": rows501, "701": rows701}))
    cycles = ds.findings[ds.findings["check"] == "rectification_cycle"]
    assert len(cycles) == 1
    assert cycles.iloc[0]["found"] == "25 07 0123 5900003"


def test_rectification_of_a_pedimento_from_an_earlier_request(tmp_path):
    """The original was paid in an earlier period: the chain still names it."""
    rows701 = [
        {
            **KEY,
            "Pedimento": "5900001",
            "ClaveDocumento": "IN",
            "FechaPago": "2025-03-13",
            "PedimentoAnterior": "4000777",
            "PatenteAnterior": "0123",
            "SeccionAduaneraAnterior": "070",
            "DocumentoAnterior": "IN",
            "FechaOperacionAnterior": "2024-12-20",
            "PedimentoOriginal": "0",
            "PatenteAduanalOrig": "0",
            "FechaPagoReal": "2025-03-13 10:00:00",
        }
    ]
    ds = read_datastage(
        write_zip(
            tmp_path / "a.zip",
            {"501": [r501(Pedimento="5900001", TipoPedimento="2")], "701": rows701},
        )
    )
    assert ds.chain["pedimento_anterior"].tolist() == ["24 07 0123 4000777"]
    assert not ds.chain["anterior_in_datastage"].iat[0]
    assert ds.index["original"].tolist() == ["24 07 0123 4000777"]


# ---------------------------------------------------------------- the generator's output


def test_synthetic_request_round_trips_with_every_quirk(tmp_path, small_ledger):
    imports, exports = small_ledger
    res = synth_datastage(
        imports, exports, tmp_path / "S_solicitudes.zip", folio="S", nested=True, macosx=True
    )
    raw = zipfile.ZipFile(res.path).read("S_solicitudes.zip")
    inner = zipfile.ZipFile(__import__("io").BytesIO(raw))
    assert len([n for n in inner.namelist() if not n.startswith("__MACOSX")]) == 26
    b501 = inner.read("S_501.asc")
    assert b"\r\n" in b501 and b"\x00" in b501 and "ELECTRÓNICA".encode("cp1252") in b501
    assert not inner.read("S_552.asc").endswith(b"\n")
    ds = read_datastage(res.path)
    assert ds.rejects.empty and ds.findings.empty  # Resumen totals agree with 551/557
    assert ds["501"]["NombreContribuyente"].iat[0].startswith("ELECTRÓNICA")
    assert len(ds.chain) == 1


@pytest.fixture
def small_ledger():
    return example_ledger()


def test_zip_bytes_is_deterministic():
    assert zip_bytes({"a.asc": b"x"}) == zip_bytes({"a.asc": b"x"})


# ---------------------------------------------------------------- tidy views and catalogs


def test_catalog_meanings_replace_codes():
    from immex_nb.datastage.views import catalog, meaning

    codes = pd.Series(["21", "05", "0", "77", ""])
    assert meaning(codes, "forma_pago").tolist() == [
        "Crédito en IVA e IEPS (certificación art. 28-A LIVA)",
        "Temporal no sujeta a impuestos",
        "Efectivo",
        "77 (not in catalog)",
        "",
    ]
    assert meaning(pd.Series(["6", "3", "23"]), "contribucion", abbreviation=True).tolist() == [
        "IGI/IGE",
        "IVA",
        "IVA/PRV",
    ]
    assert {"IN", "AF", "RT", "V1", "F4", "A3"} <= set(catalog("clave_pedimento")["code"])
    with pytest.raises(KeyError, match="no catalog"):
        catalog("nope")


def test_partida_and_tax_views_hand_worked(tmp_path):
    """Import 25 07 0123 5000001 line 1: 100 pieces, USD 150, MXN 2,775 (150 × 18.5), IGI 5 %.
    IGI = round(2,775 × 5 %) = 139, forma de pago 5 (deferred);
    IVA = round(16 % × (2,775 + 139)) = round(466.24) = 466, forma de pago 21 (certification credit)."""
    from immex_nb.datastage import views

    imports, exports = example_ledger()
    res = synth_datastage(imports, exports, tmp_path / "x.zip", differences=[], rectifications=0)
    ds = read_datastage(res.path)
    p = views.partidas(ds).set_index(["pedimento", "secuencia"]).loc[("25 07 0123 5000001", 1)]
    assert (p["fraccion"], p["nico"], p["umc"]) == ("73181501", "01", "PZA")
    assert (p["valor_aduana_mxn"], p["igi_rate"], p["igi_mxn"], p["igi_forma_pago"]) == (
        2775.0,
        0.05,
        139.0,
        "5",
    )
    assert (p["iva_rate"], p["iva_mxn"], p["iva_forma_pago"]) == (0.16, 466.0, "21")
    t = views.taxes(ds)
    first = t[(t["pedimento"] == "25 07 0123 5000001") & (t["fraccion"] == "73181501")]
    assert dict(zip(first["contribucion"], first["treatment"], strict=False)) == {
        "IGI/IGE": "deferred",
        "IVA": "credited",
    }
    by_month = views.taxes_by_month(ds)
    assert set(by_month["treatment"]) >= {"paid", "deferred", "credited", "exempt"}
    assert by_month["importe_mxn"].sum() == t["importe_mxn"].sum()


def test_rates_views(tmp_path):
    """17 pedimentos (12 imports + 5 exports) plus one rectification = 18 rows in 501 and
    18 selections (the rectification is selected too); only the 9th pedimento is red → 1/18."""
    from immex_nb.datastage import views

    imports, exports = example_ledger()
    res = synth_datastage(
        imports, exports, tmp_path / "x.zip", differences=[], rectifications=1, red_every=9
    )
    ds = read_datastage(res.path)
    s = views.semaforo_rates(ds, by=("aduana",)).iloc[0]
    assert (s["aduana"], s["selections"], s["red"]) == ("07", 18, 1)
    assert s["red_rate"] == pytest.approx(1 / 18)
    r = views.rectification_rates(ds).iloc[0]
    assert (r["aduana"], r["patente"], r["pedimentos"], r["rectifications"]) == (
        "07",
        "0123",
        18,
        1,
    )
    assert len(ds["Inci"]) == 1
    peds = views.pedimentos(ds)
    assert (
        peds["is_latest"].sum() == 17
        and peds["clave_meaning"].str.startswith("Importación temporal").any()
    )
    assert views.immex_programs(ds) == ["IMMEX 1234-2006"]
    ov = views.overview(ds, lang="en").set_index("item")["value"]
    assert ov["rectifications (701)"] == "1" and ov["operations (latest versions)"] == "17"


def test_unreadable_pedimento_key_is_a_finding(tmp_path):
    ds = read_datastage(write_zip(tmp_path / "a.zip", {"501": [r501(), r501(Patente="34X0")]}))
    f = ds.findings.set_index("check")
    assert f.loc["pedimento_unreadable", "found"] == "1"
    assert ds.index["pedimento"].notna().sum() == 1
