"""Every real-world quirk of Data Stage downloads, built by the generator
(:func:`immex_nb.samples.datastage.synth_quirks`) and read in one go: the
reader never raises, numbers pedimentos by their own year, and reports each
damaged member by name (docs/rules/datastage.md)."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from immex_nb.datastage import compulsa, read_datastage, views
from immex_nb.datastage.reader import to_utf8
from immex_nb.samples.datastage import (
    bomb_member,
    break_members,
    example_ledger,
    synth_datastage,
    synth_quirks,
    zip_bytes,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return synth_quirks(tmp_path_factory.mktemp("quirks") / "requests")


@pytest.fixture(scope="module")
def ds(corpus):
    return read_datastage(corpus.folder)


def checks(ds, check):
    return ds.findings[ds.findings["check"] == check]


def test_year_5202_is_a_reject_and_the_rest_of_the_request_loads(corpus, ds):
    member, line, column = corpus.expected["year_5202"]
    rej = ds.rejects[ds.rejects["column"] == column]
    assert len(rej) == 1
    r = rej.iloc[0]
    assert r["file"].endswith(member) and r["row"] == line and r["value"].startswith("5202-")
    assert "range" in r["reason"]
    # the other 505 rows of that request and its 501 all loaded
    a25 = ds.with_pedimento("501")
    assert (a25["pedimento"].str.startswith("25 07 0123")).sum() == 17
    assert ds["505"]["FechaFacturacion"].dtype == "datetime64[ns]"


def test_a_number_reused_ten_years_apart_is_two_pedimentos(corpus, ds):
    old, new = corpus.expected["reused_number"]
    idx = ds.index.set_index("pedimento")
    assert idx.loc[old, "fecha_pago"].year == 2015 and idx.loc[new, "fecha_pago"].year == 2025
    assert ds.index["pedimento"].is_unique
    p551 = ds.with_pedimento("551")
    for number, year in ((old, 2015), (new, 2025)):
        rows = p551[p551["pedimento"] == number]
        assert len(rows) == 3 and (rows["FechaPagoReal"].dt.year == year).all()
    # every row's number carries its own payment year
    t557 = ds.with_pedimento("557")
    assert (t557["pedimento"].str[:2] == t557["FechaPagoReal"].dt.strftime("%y")).all()
    assert views.pedimentos(ds)["pedimento"].is_unique


def test_compulsa_over_both_decades_finds_nothing(corpus, ds):
    """Anexo 24 of 2015 and 2025 against the Data Stage of both: the same
    seven digits ten years apart are not mixed up, so nothing is invented."""
    found = compulsa(corpus.imports, corpus.exports, ds, in_period_only=False)
    assert found.empty, found[["pedimento", "issue", "detail"]].head()


def test_identical_re_downloads_are_one_note(corpus, ds):
    folio, copies = corpus.expected["identical_request"]
    notes = checks(ds, "identical_request")
    assert len(notes) == 1 and notes["source"].iat[0] == folio
    assert notes["found"].iat[0] == f"{copies} copies"
    assert checks(ds, "duplicate_file").empty


def test_overlapping_requests_keep_each_row_once(corpus, ds):
    shared = corpus.expected["overlap_pedimentos"]
    for tipo, per_pedimento in (("501", 1), ("551", 3), ("557", 6), ("506", 2)):
        t = ds.with_pedimento(tipo)
        counts = t[t["pedimento"].isin(shared)].groupby("pedimento").size()
        assert (counts == per_pedimento).all() and len(counts) == 4, tipo
    assert set(checks(ds, "duplicate_rows")["source"]) >= {"501", "551", "557"}


def test_damaged_members_are_findings_naming_the_member(corpus, ds):
    bad = checks(ds, "unreadable_member").set_index("source")["detail"]
    for member, word in corpus.expected["unreadable"].items():
        assert word.lower() in bad[member].lower(), (member, bad.get(member))
    refused = checks(ds, "refused_member")
    assert refused["source"].tolist() == [corpus.expected["refused"]]
    # the damaged request's other files loaded
    c = ds.with_pedimento("551")
    assert c["pedimento"].str.contains(" 0456 ").sum() == 41
    assert ds.findings[["source", "expected", "found", "detail"]].map(len).max().max() <= 600


def test_truncated_zip_still_gives_its_complete_members(corpus, ds):
    assert checks(ds, "truncated_zip")["source"].tolist() == [corpus.expected["truncated"]]
    bad = checks(ds, "unreadable_member")
    assert corpus.expected["truncated_member"] in set(bad["source"])
    d = ds.with_pedimento("551")
    assert d["pedimento"].str.contains(" 0789 ").sum() == 41


def test_mixed_encodings_are_counted(ds):
    assert ds.cp1252_lines > 0
    dq = views.data_quality(ds).set_index("check")
    assert dq.loc["cp1252_lines", "found"] == str(ds.cp1252_lines)
    assert ds["511"]["Observaciones"].str.contains("OPERACIÓN").all()


def test_a_list_of_paths_reads_like_the_folder(corpus, ds):
    paths = sorted(corpus.folder.glob("*.zip"))
    again = read_datastage(paths)
    for tipo in ("501", "551", "557"):
        pd.testing.assert_frame_equal(again[tipo], ds[tipo])
    assert read_datastage([paths[0], paths[0]]).findings["check"].ne("identical_request").all()


def test_to_utf8_decodes_only_the_bad_lines():
    data = "A|Ñ|\r\n".encode() + "B|Ñ|\r\n".encode("cp1252") + b"C|x|\r\n"
    text, bad = to_utf8(data)
    assert bad == 1 and text.decode() == "A|Ñ|\r\nB|Ñ|\r\nC|x|\r\n"
    assert to_utf8(b"plain") == (b"plain", 0)


def test_bomb_limits_are_parameters(tmp_path):
    """The same member is read when the limits allow it."""
    path = tmp_path / "b.zip"
    path.write_bytes(zip_bytes({"F_558.asc": bomb_member(9 << 20)}))
    strict = read_datastage(path)
    assert checks(strict, "refused_member")["source"].tolist() == ["b.zip:F_558.asc"]
    lax = read_datastage(path, max_ratio=10_000)
    assert checks(lax, "refused_member").empty and checks(lax, "header_mismatch").shape[0] == 1


def test_bad_crc_member_is_a_finding(tmp_path):
    imports, exports = example_ledger(3, 1)
    res = synth_datastage(
        imports, exports, tmp_path / "x.zip", folio="X", differences=[], rectifications=0
    )
    with zipfile.ZipFile(res.path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    res.path.write_bytes(break_members(zip_bytes(files), {"X_551.asc": "bad_crc"}))
    ds = read_datastage(res.path)
    bad = checks(ds, "unreadable_member")
    assert bad["source"].tolist() == ["x.zip:X_551.asc"] and "CRC" in bad["detail"].iat[0]
    assert len(ds["501"]) == 4 and ds["551"].empty
