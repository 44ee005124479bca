"""Data Stage findings in the reader's language (docs/rules/datastage.md).

The findings table keeps the reader's English; every word text in it comes
from a ``ds_finding.*`` key of immex_nb/data/text/ds_findings.csv, so a
Spanish page words it again (:func:`immex_nb.text.reword`), file names,
folios, codes and Python error messages carried over; every check code has a
short phrase (``ds_check.*``)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import pandas as pd
import pytest
from conftest import text_fields as _fields

from immex_nb.datastage import HEADERS, RECORD_TYPES, read_datastage, views
from immex_nb.datastage.reader import check_words, findings_in
from immex_nb.samples.datastage import (
    bomb_member,
    break_members,
    render_asc,
    write_request,
    zip_bytes,
)
from immex_nb.text import _patterns, catalog, t

KEYS = sorted(k for k in catalog() if k.startswith("ds_finding."))
CHECK_KEYS = sorted(k for k in catalog() if k.startswith("ds_check."))


@pytest.mark.parametrize("key", CHECK_KEYS)
def test_each_check_phrase_has_the_same_fields_and_no_finding_pattern_takes_it(key):
    texts = catalog()[key]
    assert (
        _fields(texts["es"])
        == _fields(texts["en"])
        == ({"column"} if key == "ds_check.resumen" else set())
    )
    assert texts["es"] != texts["en"]
    assert not key.startswith("ds_finding.")
    assert key not in dict(_patterns("ds_finding."))


# ---------------------------------------------------------------- damaged and odd requests

KEY = {"Patente": "0123", "Pedimento": "5000001", "SeccionAduanera": "070"}
PAID = "2025-03-10 09:41:07"


def r501(**kw) -> dict:
    row = {**KEY, "TipoOperacion": "1", "ClaveDocumento": "IN", "TipoCambio": "18.50000",
           "NombreContribuyente": "ELECTRÓNICA", "TipoPedimento": "1", "FechaPagoReal": PAID}  # fmt: skip
    return {**row, **kw}


def r551(**kw) -> dict:
    row = {**KEY, "Fraccion": "07031001", "SecuenciaFraccion": "1", "ValorAduana": "42809",
           "CantidadUMComercial": "10", "FechaPagoReal": PAID}  # fmt: skip
    return {**row, **kw}


def r557(**kw) -> dict:
    row = {**KEY, "Fraccion": "07031001", "SecuenciaFraccion": "9", "ClaveContribucion": "6",
           "FormaPago": "0", "ImportePago": "100", "FechaPagoReal": PAID}  # fmt: skip
    return {**row, **kw}


def r701(new: str, prev: str, **kw) -> dict:
    row = {**KEY, "Pedimento": new, "ClaveDocumento": "IN", "FechaPago": "2025-03-13",
           "PedimentoAnterior": prev, "PatenteAnterior": "0123", "SeccionAduaneraAnterior": "070",
           "DocumentoAnterior": "IN", "FechaOperacionAnterior": "2025-03-10",
           "FechaPagoReal": "2025-03-13 10:00:00"}  # fmt: skip
    return {**row, **kw}


def resumen(folio: str, n551: int, n557: int) -> dict:
    return {"Folio": folio, "RFCoPatenteAduanal": "EMN010101AB1", "Fecha_Inicial": "2025-03-01",
            "Fecha_Final": "2025-03-31", "Fecha_Ejecucion": "2025-04-02",
            "Total_Fracciones": str(n551), "Total_Contribuciones": str(n557)}  # fmt: skip


def _central(data: bytes) -> dict[str, tuple[int, int]]:
    """``{name: (local header offset, central header offset)}``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = {i.filename: i.header_offset for i in zf.infolist()}
        pos = zf.start_dir  # type: ignore[attr-defined]
    out = {}
    while data[pos : pos + 4] == b"PK\x01\x02":
        nlen, xlen, clen = struct.unpack_from("<3H", data, pos + 28)
        name = data[pos + 46 : pos + 46 + nlen].decode()
        out[name] = (local[name], pos)
        pos += 46 + nlen + xlen + clen
    return out


def _patch(data: bytes, name: str, *, flag: int = 0, method: int | None = None) -> bytes:
    out = bytearray(data)
    local, cd = _central(data)[name]
    for at in (local + 6, cd + 8):
        out[at] |= flag
    if method is not None:
        for at in (local + 8, cd + 10):
            out[at : at + 2] = method.to_bytes(2, "little")
    return bytes(out)


def _local(
    name: str,
    payload: bytes,
    *,
    method: int = 0,
    flags: int = 0,
    crc: int | None = None,
    usize: int | None = None,
    csize: int | None = None,
) -> bytes:
    """One local file header and its bytes: a ZIP with no central directory."""
    raw = name.encode()
    head = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, flags, method, 0, 0,
                       zlib.crc32(payload) if crc is None else crc,
                       len(payload) if csize is None else csize,
                       len(payload) if usize is None else usize, len(raw), 0)  # fmt: skip
    return head + raw + payload


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """Requests with every kind of problem cheap to build, read in two calls."""
    root = tmp_path_factory.mktemp("odd")
    folder = root / "requests"
    folder.mkdir()
    # F1: chain problems, repeated and unreadable pedimentos, orphans, Resumen totals
    f1 = {
        "501": [r501(), r501(TipoCambio="19.00000"), r501(Patente="34X0"),
                r501(Pedimento="5900001", TipoPedimento="2")],
        "551": [r551(), r551(Pedimento="5000777")],
        "557": [r557()],
        "701": [r701("5900001", "5000001"), r701("5900002", "5000001"),
                r701("5900003", "5900004"), r701("5900004", "5900003"),
                r701("5900005", "5000001", Patente="34X0")],
        "Resumen": [resumen("F1", 5, 7), resumen("F9", 0, 0)],
    }  # fmt: skip
    write_request(f1, folder / "F1.zip", folio="F1")
    for copy in ("F1 (1).zip", "F1 (2).zip"):  # two identical re-downloads
        (folder / copy).write_bytes((folder / "F1.zip").read_bytes())
    write_request({"501": [r501()]}, folder / "F3.zip", folio="F3")  # overlaps F1
    (folder / "F3 (1).zip").write_bytes((folder / "F3.zip").read_bytes())  # one copy
    # F2: loose files with header and line problems, most types missing
    (folder / "F2_501.asc").write_bytes(
        render_asc("501", [r501(Pedimento="5000002")]) + b"0123|5000003|070|\r\n"
    )
    (folder / "F2_555.asc").write_bytes(b"")
    cols = HEADERS["503"]
    swapped = "|".join([*cols[:3], cols[4], cols[3], cols[5]])
    (folder / "F2_503.asc").write_bytes(f"{swapped}\r\n0123|5000002|070|M|G1|{PAID}|\r\n".encode())
    short = "|".join(HEADERS["504"][:-2])
    (folder / "F2_504.asc").write_bytes(f"{short}\r\n0123|5000002|070|\r\n".encode())
    (folder / "F2_again.zip").write_bytes(
        zip_bytes({"F2_501.asc": render_asc("501", [r501(Pedimento="5000004")])})
    )
    (folder / "notes.txt").write_text("not a Data Stage file")
    (folder / "junk.zip").write_bytes(b"this is no ZIP")
    deep = zip_bytes({"readme.txt": b"x"})
    for level in range(7):
        deep = zip_bytes({f"deep{level}.zip": deep})
    (folder / "deep.zip").write_bytes(deep)
    # D1: members damaged in a ZIP whose directory is whole
    names = [f"D1_{t}.asc" for t in ("501", "502", "503", "504", "505", "506", "507")]
    files = {
        n: render_asc(n[3:6], [r501(Pedimento="5000009")] if "501" in n else []) for n in names
    }
    files["D1_Sel.asc"] = bomb_member()
    damaged = break_members(
        zip_bytes(files),
        {"D1_502.asc": "corrupt", "D1_503.asc": "encrypted", "D1_504.asc": "deflate64",
         "D1_505.asc": "bad_crc"},
    )  # fmt: skip
    damaged = _patch(damaged, "D1_506.asc", method=93)
    damaged = _patch(damaged, "D1_507.asc", flag=0x20)  # compressed patched data
    (root / "D1.zip").write_bytes(damaged)
    # T1: a ZIP cut short (no directory), walked member by member
    body = render_asc("501", [r501(Pedimento="5000008")])
    (root / "T1.zip").write_bytes(
        _local("T1_501.asc", body)
        + _local("T1_502.asc", body, flags=1)
        + _local("T1_503.asc", body, method=9)
        + _local("T1_504.asc", body, method=93)
        + _local("T1_505.asc", _deflate(body), method=8, crc=1, usize=len(body))
        + _local("T1_506.asc", b"\xff\xff\xff\xff", method=8, usize=10)
        + _local("T1_507.asc", body[:20], csize=len(body))  # cut off
    )
    (root / "T2.zip").write_bytes(
        _local("T2_501.asc", body, usize=1000)  # declares more than the limit
        + _local("T2_502.asc", _deflate(body), method=8, usize=1)  # lies: inflates past it
    )
    first = read_datastage([folder, root / "D1.zip", root / "T1.zip"])
    second = read_datastage(root / "T2.zip", max_member_bytes=50)
    return first, second


@pytest.fixture(scope="module")
def findings(odd):
    first, second = odd
    frames = [first.findings, second.findings, views.data_quality(first)]
    return pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)


COLUMNS = {c for cols in HEADERS.values() for c in cols}
SEP = re.compile(r"\s*(?:\||, |→|…)\s*")
FILE = re.compile(r"\.\w{2,4}(:|$)")


def _is_code(text: str) -> bool:
    """File and member names, folios, record types, SAT column names,
    pedimento numbers and counts: nothing to translate."""
    for piece in SEP.split(text):
        if not re.search("[A-Za-z]", piece) or (FILE.search(piece) and len(piece.split()) <= 3):
            continue
        if all(re.search(r"\d", w) or w in COLUMNS or w in RECORD_TYPES for w in piece.split()):
            continue
        return False
    return True


def _keys_of(text: str, prefix: str = "ds_finding.") -> list[str]:
    return [key for key, pattern in _patterns(prefix) if pattern.fullmatch(text)]


def test_every_word_text_of_every_finding_comes_from_the_catalogue(findings):
    matched = set()
    for column in ("expected", "found", "detail"):
        for text in findings[column].dropna().astype(str):
            keys = _keys_of(text)
            assert keys or _is_code(text), (column, text)
            matched |= set(keys[:1])
    for text in findings["source"]:
        keys = _keys_of(text, "ds_finding.paths") + _keys_of(text, "ds_finding.all_files")
        assert keys or _is_code(text), ("source", text)
        matched |= set(keys)
    assert matched == set(KEYS), sorted(set(KEYS) - matched)
    assert _is_code("A2025 otra descarga.zip:F1_501.asc") and _is_code("34X0 5000001 070 → 1")
    assert not _is_code("identical re-download of request F1 skipped: F1 (1).zip, F1.zip")


def test_every_check_has_a_phrase(findings):
    produced = set(findings["check"])
    for check in produced:
        assert check_words(check, "es") != check and check_words(check, "en") != check, check
    resumen = {c for c in produced if c.startswith("resumen_")}
    assert resumen == {"resumen_total_fracciones", "resumen_total_contribuciones"}
    assert {f"ds_check.{c}" for c in produced - resumen} | {"ds_check.resumen"} == set(CHECK_KEYS)
    assert check_words("resumen_total_fracciones", "es") == t(
        "ds_check.resumen", "es", column="Total_Fracciones"
    )
    assert check_words("not_a_check", "es") == "not_a_check"


def test_a_spanish_page_says_every_word_text_in_spanish(findings):
    english = findings_in(findings, "en")
    assert english.drop(columns="meaning").equals(findings)
    spanish = findings_in(findings, "es")
    assert spanish["check"].equals(findings["check"])
    assert spanish["meaning"].tolist() == [check_words(c, "es") for c in findings["check"]]
    for column in ("source", "expected", "found", "detail"):
        for before, after in zip(findings[column], spanish[column], strict=True):
            if column == "source":
                words = _keys_of(before, "ds_finding.paths") + _keys_of(
                    before, "ds_finding.all_files"
                )
            else:
                words = _keys_of(before)
            if words:
                assert after != before, (column, before)
            else:  # a code, a number, a file name: as it is
                assert after == before and _is_code(before), (column, before)
    said = dict(zip(findings["detail"], spanish["detail"], strict=True))
    assert said["ignored"] == "se omitió"
    assert (
        said["corrupt member: bad CRC-32"] == "archivo dañado dentro del ZIP: el CRC-32 no coincide"
    )
    identical = spanish[findings["check"] == "identical_request"].set_index("source")
    assert identical.loc["F1", "found"] == "2 copias" and identical.loc["F3", "found"] == "1 copia"
    assert identical.loc["F3", "detail"] == (
        "se omitió la descarga idéntica repetida de la solicitud F3: F3.zip"
    )
    resumen = spanish[findings["check"] == "resumen_total_fracciones"]
    assert resumen["detail"].tolist() == [
        "Resumen.Total_Fracciones anuncia 5 registros; el 551 tiene 2"
    ]
    rejected = spanish[
        (findings["check"] == "rejected_lines") & (findings["detail"] == "see rejects")
    ]
    assert rejected["source"].tolist() == ["3 rutas"]
    error = spanish[findings["source"] == "D1.zip:D1_507.asc"]["detail"].iat[0]
    # Python's own words carried over
    assert error == "no se puede descomprimir: compressed patched data (flag bit 5)"


def test_the_findings_table_keeps_the_english(odd, findings):
    first, _ = odd
    detail = set(findings["detail"])
    assert {"ignored", "701 rows form a cycle", "see rejects"} <= detail
    assert "compressed with method 93, which cannot be inflated here; re-compress the ZIP with " \
        "ordinary Deflate" in detail  # fmt: skip
    assert "Deflate64 member in a truncated ZIP" in detail
    assert set(first.findings.loc[first.findings["check"] == "missing_file", "expected"]) == {
        "26 record types"
    }
