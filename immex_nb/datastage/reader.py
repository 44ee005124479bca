"""Reading SAT Data Stage requests into one typed DataFrame per record type.

SAT answers a Data Stage request ("glosa") with a ZIP of 26 pipe-delimited
``.asc`` files, one per record type (``<folio>_501.asc`` … ``<folio>_Resumen.asc``).
The files look simple and carry every trap of a 20-year-old export::

    Patente|Pedimento|SeccionAduanera|...|EntidadFedContribuyente|...|FechaPagoReal\\r\\n
    0123|5001234|070|...|BC\\x00\\x00\\x00|...|2025-03-10 09:41:07|\\r\\n
                 ^^^ leading zero            ^^^ NUL padding        ^ phantom field

* bytes are Windows-1252 with stray UTF-8 sequences: a file that is valid
  UTF-8 is read as such; otherwise each *line* that is not valid UTF-8 is
  decoded as cp1252 (:attr:`DataStage.cp1252_lines` counts them);
* every data line ends with ``|`` (a phantom empty field, dropped) and CRLF
  (a bare LF is accepted too); header-only files may have no line end at all;
* blanks are ``""``, spaces or NUL runs: every field gets ``strip(" \\x00")``;
* keys stay text (``SeccionAduanera`` ``070``, ``Patente`` ``0123``); ISO
  dates and dot-decimal numbers are typed;
* ZIPs may hold ZIPs and ``__MACOSX/`` debris, members may be corrupt,
  encrypted, Deflate64 or bomb-like (:mod:`immex_nb.datastage.containers`);
* several requests (a folder, or a list of paths) are read at once: an
  identical re-download of a request is skipped with one note, and rows
  repeated by overlapping requests are kept once.

Whole files are parsed by Arrow's CSV reader; only the lines it cannot take
(another number of fields, blanks) go through Python.  A line or a value that
cannot be read (wrong number of fields, a number or a date that does not
parse or does not fit — a year 5202 invoice date) is never lost and never
stops the request: it becomes a row of ``rejects`` with the columns
:func:`immex_nb.load` uses (``file, row, column, value, reason``; ``row`` is
the line number, header = 1).  Totals announced in ``Resumen``
(``Total_Fracciones`` = rows of 551, ``Total_Contribuciones`` = rows of 557)
are checked and a difference is a row of ``findings``, not an exception.

Pedimento identity (``docs/rules/datastage.md``): a pedimento is (patente,
sección aduanera, 7-digit number, validation year), and the year comes from
*the row's own* payment date — ``YY`` is the latest year not after it whose
last digit is ``Pedimento[0]``.  A V1 paid on 2025-01-03 with ``Pedimento``
4000123 is a 2024 pedimento: ``24 47 3420 4000123`` for ``SeccionAduanera``
470, patente 3420; the same seven digits paid in 2014 are ``14 47 3420
4000123``, another pedimento.

Rectifications (``TipoPedimento`` 2) are new pedimentos chained to the one they
correct by record 701; :attr:`DataStage.index` marks for every pedimento the
original of its chain and its latest version so each operation counts once.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from immex_nb.datastage import containers
from immex_nb.datastage.layouts import HEADERS, PEDIMENTO_KEY, RECORD_TYPES, date_field, field_kind
from immex_nb.errors import ImmexError
from immex_nb.schema import REJECT_COLUMNS
from immex_nb.text import has, reword_column, t

FINDING_COLUMNS = ["source", "check", "expected", "found", "detail"]
INDEX_COLUMNS = [
    "pedimento",
    "Patente",
    "Pedimento",
    "SeccionAduanera",
    "clave",
    "tipo_operacion",
    "tipo_pedimento",
    "fecha_pago",
    "rectifies",
    "rectified_by",
    "original",
    "latest",
    "version",
    "is_latest",
]
CHAIN_COLUMNS = [
    "pedimento",
    "pedimento_anterior",
    "clave",
    "fecha_pago",
    "fecha_operacion_anterior",
    "original",
    "latest",
    "version",
    "anterior_in_datastage",
]

_TIPOS_BY_LOWER = {t.lower(): t for t in RECORD_TYPES}
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_STRIP = " \x00"
_NONBLANK = re.compile(rb"[^ \x00\r\n\t]")
_MAX_TEXT = 200  # characters of a line or header copied into a reject or finding
# the instants a datetime64[ns] column can hold, in seconds
_NS_LO = int(pd.Timestamp.min.ceil("s").value // 10**9)
_NS_HI = int(pd.Timestamp.max.floor("s").value // 10**9)


@dataclass
class DataStage:
    """One or several Data Stage requests, read and typed.

    ``tables[tipo]`` has exactly the SAT columns of that record type (all 26
    types are present, possibly empty).  ``index`` has one row per 501
    pedimento with its 15-digit number and rectification chain; ``chain`` one
    row per 701 rectification.  ``cp1252_lines`` counts the lines that were
    not valid UTF-8 and were decoded as Windows-1252.
    """

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    findings: pd.DataFrame
    sources: list[Path]
    index: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INDEX_COLUMNS))
    chain: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHAIN_COLUMNS))
    cp1252_lines: int = 0
    lines_read: int = 0
    _numbers: dict = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, tipo: str) -> pd.DataFrame:
        key = _TIPOS_BY_LOWER.get(str(tipo).lower())
        if key is None:
            raise KeyError(f"{tipo!r} is not a Data Stage record type; types: {list(RECORD_TYPES)}")
        return self.tables[key]

    @property
    def resumen(self) -> pd.DataFrame:
        return self.tables["Resumen"]

    def period(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """First ``Fecha_Inicial`` and last ``Fecha_Final`` of the requests read."""
        r = self.resumen
        if r.empty:
            return None, None
        lo, hi = r["Fecha_Inicial"].min(), r["Fecha_Final"].max()
        return (None if pd.isna(lo) else lo), (None if pd.isna(hi) else hi)

    def pedimento_numbers(self, tipo: str) -> pd.Series:
        """The 15-digit pedimento of every row of ``tipo`` (NaN when it cannot
        be built), from the row's own payment date (docs/rules/datastage.md)."""
        key = _TIPOS_BY_LOWER.get(str(tipo).lower())
        if key == "Resumen":
            raise KeyError("Resumen has no pedimento key")
        df = self[tipo]
        cached = self._numbers.get(key)
        if cached is not None and cached[0] is df and len(cached[1]) == len(df):
            return cached[1]
        numbers = _pedimento_for_rows(df, self.index, key, self._fallback_year())
        self._numbers[key] = (df, numbers)
        return numbers

    def with_pedimento(self, tipo: str, *, latest_only: bool = False) -> pd.DataFrame:
        """The rows of ``tipo`` with ``pedimento`` (15 digits), ``original``,
        ``latest`` and ``is_latest`` columns in front.  ``latest_only`` keeps
        the rows of pedimentos not superseded by a rectification in the data."""
        if tipo == "Resumen":
            raise KeyError("Resumen has no pedimento key")
        numbers = self.pedimento_numbers(tipo)
        out = self[tipo].copy()
        idx = self.index.set_index("pedimento")
        out.insert(0, "pedimento", numbers)
        out.insert(1, "original", lookup(numbers, idx["original"]).fillna(numbers))
        out.insert(2, "latest", lookup(numbers, idx["latest"]).fillna(numbers))
        out.insert(3, "is_latest", (out["latest"] == out["pedimento"]).astype(bool))
        if latest_only:
            out = out[out["is_latest"]].reset_index(drop=True)
        return out

    def _fallback_year(self) -> int | None:
        _, hi = self.period()
        return None if hi is None else int(hi.year)


# ---------------------------------------------------------------- decoding


_BAD_AT: list[int] = []


def _record_error(exc: UnicodeError) -> tuple[str, int]:
    _BAD_AT.append(exc.start)  # type: ignore[attr-defined]
    return "", exc.end  # type: ignore[attr-defined]


def _latin1_byte(exc: UnicodeError) -> tuple[str, int]:
    """cp1252 leaves five bytes undefined: read them as Latin-1."""
    raw = exc.object[exc.start : exc.end]  # type: ignore[attr-defined]
    return raw.decode("latin-1"), exc.end  # type: ignore[attr-defined]


codecs.register_error("immex_nb.datastage.mark", _record_error)
codecs.register_error("immex_nb.datastage.latin1", _latin1_byte)


def decode_line(raw: bytes) -> str:
    """UTF-8 if the line is valid UTF-8, else Windows-1252 (Latin-1 for the
    five bytes cp1252 leaves undefined)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="immex_nb.datastage.latin1")


def to_utf8(data: bytes) -> tuple[bytes, int]:
    """``data`` as UTF-8 bytes, each line decoded by :func:`decode_line`, and
    the number of lines that were not valid UTF-8 (read as cp1252).  A clean
    file is returned as is.

    Done in bulk: the lines holding non-ASCII bytes and the lines that are
    not valid UTF-8 are located with one decoding pass; the file is then
    decoded as cp1252 in one piece, except the few lines that are valid
    UTF-8 with non-ASCII characters, which are kept as they are."""
    if data.isascii():
        return data, 0
    try:
        data.decode("utf-8")
        return data, 0
    except UnicodeDecodeError:
        pass
    raw = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(raw == 10)
    high_lines = np.unique(np.searchsorted(newlines, np.flatnonzero(raw >= 0x80)))
    _BAD_AT.clear()
    data.decode("utf-8", errors="immex_nb.datastage.mark")
    bad_lines = np.unique(np.searchsorted(newlines, np.array(_BAD_AT, dtype="int64")))
    _BAD_AT.clear()
    utf8_lines = np.setdiff1d(high_lines, bad_lines, assume_unique=True)
    if not len(utf8_lines):
        text = data.decode("cp1252", errors="immex_nb.datastage.latin1")
        return text.encode("utf-8"), len(bad_lines)
    pieces: list[bytes] = []
    prev = 0
    for line in utf8_lines.tolist():
        start = 0 if line == 0 else int(newlines[line - 1]) + 1
        end = int(newlines[line]) if line < len(newlines) else len(data)
        pieces.append(
            data[prev:start].decode("cp1252", errors="immex_nb.datastage.latin1").encode("utf-8")
        )
        pieces.append(data[start:end])
        prev = end
    pieces.append(data[prev:].decode("cp1252", errors="immex_nb.datastage.latin1").encode("utf-8"))
    return b"".join(pieces), len(bad_lines)


# ---------------------------------------------------------------- parsing


@dataclass
class _Parsed:
    table: pa.Table | None  # the layout's columns, stripped text
    rows: np.ndarray  # line number of every row of ``table`` (header = 1)
    rejects: list[dict]
    data_lines: int  # non-blank lines after the header (accepted + rejected)
    findings: list[dict]
    cp1252_lines: int = 0


def _empty_parsed(findings: list[dict] | None = None, rejects=None, data_lines=0, cp=0) -> _Parsed:
    return _Parsed(None, np.zeros(0, dtype="int64"), rejects or [], data_lines, findings or [], cp)


def parse_asc(data: bytes, tipo: str, label: str) -> _Parsed:
    """Split one ``.asc`` file into a table of stripped text fields (layout order)."""
    expected = HEADERS[tipo]
    n = len(expected)
    buf, cp = to_utf8(data)
    del data
    nl = buf.find(b"\n")
    head = buf if nl < 0 else buf[:nl]
    if not head.strip(b" \x00\r"):
        f = _finding(
            label,
            "empty_file",
            _words("header_line"),
            _words("nothing"),
            _words("no_header", tipo=tipo),
        )
        return _empty_parsed([f], cp=cp)
    header = [h.strip(_STRIP) for h in head.decode("utf-8").strip("\r").lstrip("\ufeff").split("|")]
    if header and header[-1] == "":
        header.pop()
    findings: list[dict] = []
    order: list[int] | None = None
    if header != expected:
        if set(expected) <= set(header):
            order = [header.index(c) for c in expected]
            findings.append(
                _finding(
                    label,
                    "header_order",
                    "|".join(expected),
                    "|".join(header),
                    _words("matched_by_name"),
                )
            )
        else:
            missing = [c for c in expected if c not in header]
            findings.append(
                _finding(
                    label,
                    "header_mismatch",
                    "|".join(expected),
                    "|".join(header),
                    _words("columns_missing", missing=missing),
                )
            )
            rejects = []
            count = 0
            for i, raw in enumerate(buf[nl + 1 :].split(b"\n"), start=2) if nl >= 0 else ():
                if raw.strip(b" \x00\r\t"):
                    count += 1
                    text = raw.decode("utf-8").rstrip("\r")[:_MAX_TEXT]
                    rejects.append(
                        _reject(label, i, "", text, f"header does not match the {tipo} layout")
                    )
            return _empty_parsed(findings, rejects, count, cp)
    if nl < 0 or not _NONBLANK.search(buf, nl + 1):
        return _empty_parsed(findings, cp=cp)
    width = len(header)
    try:
        table, rows, rejects, data_lines = _parse_body(buf, nl + 1, width, label, tipo, n)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        table, rows, rejects, data_lines = _parse_body_python(buf, nl + 1, width, label, tipo, n)
    if order is not None:
        table = table.select(order)
    table = table.rename_columns(expected)
    return _Parsed(table, rows, rejects, data_lines, findings, cp)


def _line_fields(text: str, width: int) -> list[str] | None:
    parts = text.split("|")
    if len(parts) == width + 1 and parts[-1].strip(_STRIP + "\r") == "":
        parts.pop()
    if len(parts) != width:
        return None
    return [p.strip(_STRIP) for p in parts]


def _count_reject(label: str, line: int, text: str, parts_len: int, tipo: str, n: int) -> dict:
    found = parts_len - (1 if text.split("|")[-1].strip(_STRIP + "\r") == "" else 0)
    return _reject(
        label,
        line,
        "",
        text[:_MAX_TEXT],
        f"{found} fields; the {tipo} layout has {n} (plus the trailing |)",
    )


def _parse_body(buf: bytes, offset: int, width: int, label: str, tipo: str, n: int):
    """Arrow parses the body in one pass; lines with another number of fields
    (no trailing ``|``, blanks, broken lines) come back through the handler
    and are read in Python."""
    if buf.count(b"\r", offset) != buf.count(b"\r\n", offset):
        raise ValueError("a carriage return inside a line: read line by line")
    first = buf[offset : buf.find(b"\n", offset) if buf.find(b"\n", offset) >= 0 else len(buf)]
    trailing = first.rstrip(b"\r").endswith(b"|")
    ncols = width + 1 if trailing else width
    names = [f"f{i}" for i in range(ncols)]
    invalid: list[tuple[int, str]] = []

    def handler(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(buf)[offset:]),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter="|",
            quote_char=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
            invalid_row_handler=handler,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )
    if any(num is None or num < 1 for num, _ in invalid):
        raise ValueError("row numbers unknown")
    total = table.num_rows + len(invalid)
    bad_numbers = np.array(sorted(num for num, _ in invalid), dtype="int64")
    body_lines = np.arange(1, total + 1, dtype="int64")
    keep = np.ones(total, dtype=bool)
    keep[bad_numbers - 1] = False
    rows = body_lines[keep] + 1  # header is line 1
    cols = [pc.utf8_trim(table.column(i), _STRIP) for i in range(ncols)]
    rejects: list[dict] = []
    drop = np.zeros(table.num_rows, dtype=bool)
    if (
        buf.find(b"\n\n", offset) >= 0
        or buf.find(b"\n\r\n", offset) >= 0
        or buf[offset : offset + 1] in (b"\n", b"\r")
    ):
        raw = np.frombuffer(buf, np.uint8, offset=offset)
        starts = np.concatenate(([0], np.flatnonzero(raw == 10) + 1))
        ends = np.concatenate((starts[1:] - 1, [len(raw)]))
        lengths = ends - starts
        cr = np.zeros(len(starts), dtype=bool)
        one = lengths == 1
        cr[one] = raw[starts[one]] == 13
        empty_lines = np.flatnonzero((lengths == 0) | cr) + 2  # file line numbers
        drop |= np.isin(rows, empty_lines)
    data_lines = int(table.num_rows - drop.sum())
    if trailing:
        phantom = cols.pop()
        extra = np.asarray(pc.not_equal(phantom, "").to_numpy(zero_copy_only=False), dtype=bool)
        extra &= ~drop
        for i in np.flatnonzero(extra):
            text = "|".join(str(c[int(i)]) for c in table.columns)
            rejects.append(_count_reject(label, int(rows[i]), text, ncols, tipo, n))
        drop |= extra
    extra_rows: list[list[str]] = []
    extra_numbers: list[int] = []
    for num, text in invalid:
        if not text.strip(" \x00\r\t"):
            continue
        data_lines += 1
        fields = _line_fields(text, width)
        if fields is None:
            rejects.append(_count_reject(label, num + 1, text, len(text.split("|")), tipo, n))
            continue
        extra_rows.append(fields)
        extra_numbers.append(num + 1)
    out = pa.table(cols[:width], names=[f"f{i}" for i in range(width)])
    if drop.any():
        mask = pa.array(~drop)
        out = out.filter(mask)
        rows = rows[~drop]
    if extra_rows:
        more = pa.table(
            {f"f{i}": pa.array([r[i] for r in extra_rows], pa.string()) for i in range(width)}
        )
        out = pa.concat_tables([out, more])
        rows = np.concatenate([rows, np.array(extra_numbers, dtype="int64")])
        order = np.argsort(rows, kind="stable")
        out = out.take(pa.array(order))
        rows = rows[order]
    rejects.sort(key=lambda r: r["row"])
    return out, rows, rejects, data_lines


def _parse_body_python(buf: bytes, offset: int, width: int, label: str, tipo: str, n: int):
    """The line-by-line reader, for what Arrow refuses."""
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[dict] = []
    data_lines = 0
    for i, raw in enumerate(buf[offset:].split(b"\n"), start=2):
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if not text.strip(" \x00\r\t"):
            continue
        data_lines += 1
        fields = _line_fields(text, width)
        if fields is None:
            rejects.append(_count_reject(label, i, text, len(text.split("|")), tipo, n))
            continue
        rows.append(fields)
        numbers.append(i)
    table = pa.table({f"f{i}": pa.array([r[i] for r in rows], pa.string()) for i in range(width)})
    return table, np.array(numbers, dtype="int64"), rejects, data_lines


def _reject(file: str, row: int, column: str, value: str, reason: str) -> dict:
    return {"file": file, "row": row, "column": column, "value": value, "reason": reason}


def _words(key: str, **fields) -> str:
    """A finding's words: the English of ``ds_finding.<key>``
    (immex_nb/data/text/ds_findings.csv, where the Spanish sits beside it;
    :func:`findings_in` words a table of findings in another language)."""
    return t(f"ds_finding.{key}", "en", **fields)


def check_words(check: str, lang: str) -> str:
    """What a finding's ``check`` code means, in ``lang`` (``ds_check.<check>``;
    the ``resumen_<column>`` checks share ``ds_check.resumen``).  A code
    without a text is returned as it is."""
    if has(f"ds_check.{check}"):
        return t(f"ds_check.{check}", lang)
    if check.startswith("resumen_"):
        names = {c.lower(): c for c in HEADERS["Resumen"]}
        column = names.get(check[len("resumen_") :], check[len("resumen_") :])
        return t("ds_check.resumen", lang, column=column)
    return check


def findings_in(findings: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``findings`` (:attr:`DataStage.findings` or ``views.data_quality``) with
    every text said in ``lang`` — source, expected, found, detail; file
    names, folios, codes and the messages of Python errors carried as they
    are — and a ``meaning`` column beside ``check`` (:func:`check_words`).
    The findings table keeps the English."""
    if findings is None or not len(findings):
        return findings
    out = findings.copy()
    for column in ("source", "expected", "found", "detail"):
        if column in out:  # a source is a file or a folio, but for "3 paths" and "all files"
            words = (
                ("ds_finding.paths", "ds_finding.all_files")
                if column == "source"
                else "ds_finding."
            )
            out[column] = reword_column(out[column], lang, prefix=words)
    if "check" in out:
        where = list(out.columns).index("check") + 1
        out.insert(where, "meaning", [check_words(str(c), lang) for c in out["check"]])
    return out


def _finding(source: str, check: str, expected: object, found: object, detail: str) -> dict:
    return {
        "source": str(source)[:300],
        "check": check,
        "expected": str(expected)[:600],
        "found": str(found)[:600],
        "detail": str(detail)[:600],
    }


# ---------------------------------------------------------------- typing


def _bool(arr) -> np.ndarray:
    """A boolean Arrow array as numpy (null → False)."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _type_number(col: pa.ChunkedArray) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
    """(float64 values, bad mask, out-of-range mask).

    Dot decimal, no thousands separator, no exponent; a value too large for
    a float64 (``inf``) is out of range.  One cast when the column is clean;
    the shape is checked value by value only when it is not."""
    present = pc.not_equal(col, "")
    cand = pc.if_else(present, col, pa.scalar(None, pa.string()))
    try:
        values = pc.cast(cand, pa.float64())
        shaped = None
        if pc.any(pc.match_substring(cand, "e", ignore_case=True)).as_py():  # 1e5
            shaped = pc.match_substring_regex(cand, _NUMBER.pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        shaped = pc.match_substring_regex(cand, _NUMBER.pattern)
        text = pc.if_else(shaped, cand, pa.scalar(None, pa.string()))
        try:
            values = pc.cast(text, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            numbers = pd.to_numeric(pd.Series(text.to_pylist(), dtype=object), errors="coerce")
            values = pa.chunked_array([pa.array(numbers.to_numpy(dtype="float64"))])
    finite = _bool(pc.is_finite(values))
    has = _bool(present)
    shape_ok = has if shaped is None else _bool(shaped)
    ok = shape_ok & finite
    bad = has & ~ok
    out_of_range = bad & shape_ok
    return pc.if_else(pa.array(ok), values, pa.scalar(None, pa.float64())), bad, out_of_range


def _type_number_one_by_one(col) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The slow, exception-proof path of :func:`_type_number`."""
    values, bad, far = [], [], []
    for text in col.to_pylist():
        value, wrong, out = None, False, False
        if text:
            if _NUMBER.match(text):
                try:
                    value = float(text)
                except (ValueError, OverflowError):
                    value = None
                if value is None or not np.isfinite(value):
                    value, wrong, out = None, True, True
            else:
                wrong = True
        values.append(value)
        bad.append(wrong)
        far.append(out)
    return pa.array(values, pa.float64()), np.array(bad, bool), np.array(far, bool)


def _as_text(col) -> pa.Array:
    return pa.array(["" if v is None else str(v) for v in col.to_pylist()], pa.string())


def _seconds_one_by_one(cand: pa.ChunkedArray) -> pa.Array:
    """ISO date or date-time strings → seconds, strictly (``2025-02-30`` is
    not a date), any year; what does not parse is null."""
    parsed: dict[str, int | None] = {}
    for value in pc.unique(cand).to_pylist():
        if value is None:
            continue
        seconds = None
        if _DATE.match(value):
            try:
                seconds = int(np.datetime64(value.replace(" ", "T"), "s").astype("int64"))
            except (ValueError, OverflowError):
                seconds = None
        parsed[value] = seconds
    return pa.array([parsed.get(v) for v in cand.to_pylist()], pa.int64())


def _type_date(col: pa.ChunkedArray, kind: str) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
    """(datetime64[ns]-ready timestamps, bad mask, out-of-range mask).

    Parsed at second resolution (any year) by one strict ISO cast, value by
    value only when the cast refuses the column; then held against the range
    a ``datetime64[ns]`` column can hold: a date outside it (year 5202) is a
    reject, never an exception."""
    present = pc.not_equal(col, "")
    cand = pc.if_else(present, col, pa.scalar(None, pa.string()))
    try:
        secs = pc.cast(pc.cast(cand, pa.timestamp("s")), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        secs = _seconds_one_by_one(cand)
    got = _bool(pc.is_valid(secs))
    inside = _bool(pc.and_(pc.greater_equal(secs, _NS_LO), pc.less_equal(secs, _NS_HI)))
    has = _bool(present)
    ok = got & inside
    out_of_range = has & got & ~inside
    bad = has & ~ok
    secs = pc.if_else(pa.array(ok), secs, pa.scalar(None, pa.int64()))
    ts = pc.cast(secs, pa.timestamp("s"))
    if kind == "date":
        ts = pc.floor_temporal(ts, unit="day")
    ts = pc.cast(ts, pa.timestamp("ns"))
    return ts, bad, out_of_range


def _type_arrow(
    table: pa.Table, tipo: str, label: str, rows: np.ndarray
) -> tuple[pa.Table, np.ndarray, list[dict]]:
    """Type the text columns of one file's ``table``: (typed table, rows-kept
    mask, rejects).  ``rows`` holds the line number of each row, for the
    rejects.  Never raises on a value."""
    rejects: list[dict] = []
    bad = np.zeros(table.num_rows, dtype=bool)
    columns = []
    for col in HEADERS[tipo]:
        kind = field_kind(col)
        text = table.column(col)
        if kind == "text":
            columns.append(text)
            continue
        if kind == "number":
            try:
                values, wrong, far = _type_number(text)
            except (pa.ArrowException, ValueError, TypeError, OverflowError):
                values, wrong, far = _type_number_one_by_one(text)
            reason = "not a number (dot decimal, no thousands separator)"
            far_reason = "number out of range"
        else:
            try:
                values, wrong, far = _type_date(text, kind)
            except (pa.ArrowException, ValueError, TypeError, OverflowError):
                values, wrong, far = _type_date(pa.chunked_array([_as_text(text)]), kind)
            reason = (
                "not an ISO date (yyyy-mm-dd)"
                if kind == "date"
                else "not an ISO date-time (yyyy-mm-dd hh:mm:ss)"
            )
            far_reason = "date outside the range that can be typed (years 1677–2262)"
        if wrong.any():
            shown = text.take(pa.array(np.flatnonzero(wrong))).to_pylist()
            for i, value in zip(np.flatnonzero(wrong), shown, strict=True):
                rejects.append(
                    _reject(
                        label,
                        int(rows[i]),
                        col,
                        value[:_MAX_TEXT],
                        far_reason if far[i] else reason,
                    )
                )
        bad |= wrong
        columns.append(values)
    rejects.sort(key=lambda r: r["row"])
    return pa.table(columns, names=HEADERS[tipo]), ~bad, rejects


def _to_frame(table: pa.Table, tipo: str) -> pd.DataFrame:
    """The typed Arrow table as the DataFrame the views use: text as ``str``,
    numbers ``float64``, dates ``datetime64[ns]``."""
    frame = {}
    for col in HEADERS[tipo]:
        kind = field_kind(col)
        s = table.column(col).to_pandas()
        if kind == "text":
            s = s.astype("str")
        elif kind == "number":
            s = s.astype("float64")
        else:
            s = s.astype("datetime64[ns]")
        frame[col] = s
    df = pd.DataFrame(frame, columns=HEADERS[tipo])
    if tipo == "Resumen":
        for col in ("Total_Fracciones", "Total_Contribuciones"):
            df[col] = df[col].where(df[col].abs() < 2**53).round().astype("Int64")
    return df


def _empty_table(tipo: str) -> pd.DataFrame:
    cols = {}
    for col in HEADERS[tipo]:
        kind = field_kind(col)
        if kind == "number":
            cols[col] = pd.Series(dtype="float64")
        elif kind in ("date", "datetime"):
            cols[col] = pd.Series(dtype="datetime64[ns]")
        else:
            cols[col] = pd.Series(dtype="str")
    df = pd.DataFrame(cols)
    if tipo == "Resumen":
        for col in ("Total_Fracciones", "Total_Contribuciones"):
            df[col] = df[col].astype("Int64")
    return df


# ---------------------------------------------------------------- pedimento numbers


def lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """``keys.map(mapping)`` that also works when ``mapping`` is empty or
    holds dates (the last value wins for a repeated key)."""
    m = mapping[~mapping.index.duplicated(keep="last")]
    return pd.Series(m.reindex(keys.to_numpy()).to_numpy(), index=keys.index, dtype=m.dtype)


def pedimento_year(pedimento7: object, year: object) -> int | None:
    """Validation year of a 7-digit ``Pedimento`` paid in ``year``: the latest
    year ≤ ``year`` whose last digit is the pedimento's first digit
    (``'4000123'``, 2025 → 2024; ``'5000123'``, 2025 → 2025)."""
    text = str(pedimento7 or "")
    if not text[:1].isdigit() or year is None or pd.isna(year):
        return None
    y = int(year)
    return y - ((y - int(text[0])) % 10)


def full_pedimento(
    patente: object, pedimento7: object, seccion: object, year: object
) -> str | None:
    """``('3420', '4000123', '470', 2025)`` → ``'24 47 3420 4000123'``; None when a
    part is not digits or the year is unknown."""
    pat, ped, sec = (str(x or "").strip() for x in (patente, pedimento7, seccion))
    if (
        not (pat.isdigit() and ped.isdigit() and sec.isdigit())
        or len(pat) > 4
        or len(ped) > 7
        or len(sec) > 3
    ):
        return None
    ped, pat, sec = ped.zfill(7), pat.zfill(4), sec.zfill(3)
    yy = pedimento_year(ped, year)
    if yy is None:
        return None
    return f"{yy % 100:02d} {sec[:2]} {pat} {ped}"


def _arrow_text(values: pd.Series) -> pa.Array:
    """A text column as an Arrow string array (blank for missing), trimmed."""
    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pa.array(pd.Series(values, dtype=object).astype(str).to_numpy(), pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(arr.cast(pa.large_string()), ""))


_SEP_SPACE = pa.scalar(" ", pa.large_string())


def _digits(arr: pa.Array, most: int) -> np.ndarray:
    length = pc.utf8_length(arr)
    ok = pc.and_(pc.ascii_is_decimal(arr), pc.less_equal(length, most))
    return _bool(ok)


def pedimento_numbers(
    patente: pd.Series, pedimento7: pd.Series, seccion: pd.Series, years: pd.Series
) -> pd.Series:
    """:func:`full_pedimento` for whole columns (NaN where a part is not
    digits or the year is unknown); ``years`` is the payment year of each row.
    Computed in Arrow: no Python string per row."""
    index = patente.index
    if len(index) == 0:
        return pd.Series([], index=index, dtype="str")
    pat, ped, sec = _arrow_text(patente), _arrow_text(pedimento7), _arrow_text(seccion)
    y = pd.to_numeric(pd.Series(np.asarray(years), index=index), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    ok = _digits(pat, 4) & _digits(ped, 7) & _digits(sec, 3) & ~np.isnan(y)
    ped7 = pc.utf8_lpad(ped, 7, "0")
    first = pc.utf8_slice_codeunits(ped7, 0, 1)
    first = pc.if_else(pa.array(ok), first, "0")
    d0 = np.asarray(pc.cast(first, pa.int64()).to_numpy(zero_copy_only=False))
    yr = np.where(ok, y, 0).astype("int64")
    valid_year = yr - ((yr - d0) % 10)
    yy = pc.utf8_lpad(pc.cast(pa.array(valid_year % 100), pa.large_string()), 2, "0")
    sec2 = pc.utf8_slice_codeunits(pc.utf8_lpad(sec, 3, "0"), 0, 2)
    number = pc.binary_join_element_wise(yy, sec2, pc.utf8_lpad(pat, 4, "0"), ped7, _SEP_SPACE)
    number = pc.if_else(pa.array(ok), number, pa.scalar(None, number.type))
    return pd.Series(number.to_pandas(), index=index).astype("str")


def isin(values, members) -> np.ndarray:
    """``values.isin(members)`` for text, in Arrow (pandas' own is slow on
    Arrow-backed strings with many members); missing values are never in."""
    arr = (
        values
        if isinstance(values, (pa.Array, pa.ChunkedArray))
        else pa.array(values, from_pandas=True)
    )
    if isinstance(members, (pa.Array, pa.ChunkedArray)):
        pool = members
    elif isinstance(members, pd.Series):
        pool = pa.array(members.dropna(), from_pandas=True)
    else:
        pool = pa.array([m for m in members if isinstance(m, str)], pa.string())
    if pool.type != arr.type:
        pool = pool.cast(arr.type)
    return _bool(pc.is_in(arr, value_set=pool))


def _as_str(s: pd.Series) -> pd.Series:
    return pd.Series(s.tolist(), index=s.index, dtype="str")


def _keys(df: pd.DataFrame, cols=PEDIMENTO_KEY) -> pd.Series:
    """``'0123|5000001|070'`` per row (works on empty frames)."""
    out = pd.Series("", index=df.index, dtype="str")
    for i, c in enumerate(cols):
        out = out + ("|" if i else "") + df[c].astype("str")
    return out


def _year_of(values: pd.Series) -> pd.Series:
    return values.dt.year.astype("Float64") if len(values) else pd.Series(dtype="Float64")


def _pedimento_for_rows(
    df: pd.DataFrame, index: pd.DataFrame, tipo: str, fallback_year: int | None
) -> pd.Series:
    """15-digit pedimento of each row, from the row's own payment date.

    A row whose date is missing takes the number of its 501 pedimento when
    501 holds exactly one pedimento with that patente, number and sección
    (never the last of several: the same seven digits come back every ten
    years), else the year of the end of the request period."""
    if df.empty:
        return pd.Series([], index=df.index, dtype="str")
    col = date_field(tipo)
    years = _year_of(df[col]) if col else pd.Series(np.nan, index=df.index)
    result = pedimento_numbers(df["Patente"], df["Pedimento"], df["SeccionAduanera"], years)
    missing = result.isna() & years.isna().to_numpy()
    if missing.any():
        sub = df[missing]
        key = _keys(sub)
        counts = _keys(index).value_counts() if len(index) else pd.Series(dtype="int64")
        unique = index[_keys(index).map(counts).eq(1).to_numpy()] if len(index) else index
        known = pd.Series(unique["pedimento"].to_numpy(), index=_keys(unique).to_numpy())
        found = lookup(key, known) if len(known) else pd.Series(np.nan, index=key.index)
        fill = pd.Series(
            float(fallback_year) if fallback_year is not None else np.nan, index=sub.index
        )
        fallback = pedimento_numbers(sub["Patente"], sub["Pedimento"], sub["SeccionAduanera"], fill)
        result = result.astype(object)
        result[missing] = found.where(found.notna(), fallback).to_numpy()
        result = _as_str(result)
    return result


def _build_index(
    t501: pd.DataFrame, t701: pd.DataFrame, fallback_year: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    findings: list[dict] = []
    numbers = pedimento_numbers(
        t501["Patente"],
        t501["Pedimento"],
        t501["SeccionAduanera"],
        _year_of(t501["FechaPagoReal"]),
    )
    idx = pd.DataFrame(
        {
            "pedimento": numbers.to_numpy(),
            "Patente": t501["Patente"].to_numpy(),
            "Pedimento": t501["Pedimento"].to_numpy(),
            "SeccionAduanera": t501["SeccionAduanera"].to_numpy(),
            "clave": t501["ClaveDocumento"].to_numpy(),
            "tipo_operacion": t501["TipoOperacion"].to_numpy(),
            "tipo_pedimento": t501["TipoPedimento"].to_numpy(),
            "fecha_pago": t501["FechaPagoReal"].to_numpy(),
        }
    )
    idx["pedimento"] = _as_str(idx["pedimento"])
    repeated = idx["pedimento"].notna() & idx["pedimento"].duplicated(keep="last")
    if repeated.any():
        findings.append(
            _finding(
                "501",
                "pedimento_repeated",
                0,
                int(repeated.sum()),
                _words("pedimento_repeated"),
            )
        )
        idx = idx[~repeated.to_numpy()].reset_index(drop=True)
    unreadable = int(idx["pedimento"].isna().sum())
    if unreadable:
        findings.append(
            _finding(
                "501",
                "pedimento_unreadable",
                0,
                unreadable,
                _words("pedimento_unreadable"),
            )
        )

    chain_rows = []
    for r in t701.itertuples(index=False):
        pay_year = (
            r.FechaPagoReal.year
            if not pd.isna(r.FechaPagoReal)
            else (r.FechaPago.year if not pd.isna(r.FechaPago) else fallback_year)
        )
        # each side numbered from its own date (docs/rules/datastage.md), never
        # looked up by the seven digits alone
        new = full_pedimento(r.Patente, r.Pedimento, r.SeccionAduanera, pay_year)
        pat_prev = r.PatenteAnterior or r.Patente
        sec_prev = r.SeccionAduaneraAnterior or r.SeccionAduanera
        prev_year = (
            r.FechaOperacionAnterior.year if not pd.isna(r.FechaOperacionAnterior) else pay_year
        )
        prev = full_pedimento(pat_prev, r.PedimentoAnterior, sec_prev, prev_year)
        if new is None or prev is None:
            findings.append(
                _finding(
                    "701",
                    "rectification_unreadable",
                    _words("pedimento_numbers"),
                    f"{r.Patente} {r.Pedimento} {r.SeccionAduanera} → {r.PedimentoAnterior}",
                    _words("rectification_unreadable"),
                )
            )
            continue
        chain_rows.append(
            {
                "pedimento": new,
                "pedimento_anterior": prev,
                "clave": r.ClaveDocumento,
                "fecha_pago": r.FechaPago,
                "fecha_operacion_anterior": r.FechaOperacionAnterior,
            }
        )
    chain = pd.DataFrame(
        chain_rows,
        columns=[
            "pedimento",
            "pedimento_anterior",
            "clave",
            "fecha_pago",
            "fecha_operacion_anterior",
        ],
    )
    chain = chain.drop_duplicates(["pedimento", "pedimento_anterior"])
    successor: dict[str, str] = {}
    predecessor: dict[str, str] = {}
    for new, prev in zip(chain["pedimento"], chain["pedimento_anterior"], strict=True):
        if prev in successor and successor[prev] != new:
            findings.append(
                _finding(
                    "701",
                    "rectification_fork",
                    successor[prev],
                    new,
                    _words("rectification_fork", pedimento=prev),
                )
            )
            new = max(new, successor[prev])
        successor[prev] = new
        predecessor[new] = prev

    cycles: set[frozenset[str]] = set()  # each cycle is one finding, however often it is walked

    def walk(start: str, step: dict[str, str]) -> tuple[str, int]:
        seen = {start}
        cur, n = start, 0
        while cur in step:
            cur = step[cur]
            n += 1
            if cur in seen:
                members, at = {cur}, step[cur]  # cur was met before: it lies on the cycle
                while at != cur:
                    members.add(at)
                    at = step[at]
                if frozenset(members) not in cycles:
                    cycles.add(frozenset(members))
                    findings.append(
                        _finding(
                            "701",
                            "rectification_cycle",
                            _words("a_chain"),
                            min(members),
                            _words("rectification_cycle"),
                        )
                    )
                break
            seen.add(cur)
        return cur, n

    def resolve(p: str) -> tuple[str, str, int]:
        latest, _ = walk(p, successor)
        original, depth = walk(p, predecessor)
        return original, latest, depth + 1

    linked = set(successor) | set(predecessor)
    peds = idx["pedimento"]
    in_chain = isin(peds, linked)
    idx["original"] = peds
    idx["latest"] = peds
    idx["version"] = np.ones(len(idx), dtype="int64")
    if in_chain.any():
        resolved = [resolve(p) for p in peds[in_chain]]
        idx.loc[in_chain, "original"] = [r[0] for r in resolved]
        idx.loc[in_chain, "latest"] = [r[1] for r in resolved]
        idx.loc[in_chain, "version"] = [r[2] for r in resolved]
    idx["rectifies"] = _as_str(peds.map(predecessor))
    idx["rectified_by"] = _as_str(peds.map(successor))
    idx["version"] = idx["version"].astype("int64")
    idx["is_latest"] = (idx["latest"] == idx["pedimento"]).astype(bool)
    in_ds = set(peds.dropna())
    if len(chain):
        res = [resolve(p) for p in chain["pedimento"]]
        chain["original"] = [r[0] for r in res]
        chain["latest"] = [r[1] for r in res]
        chain["version"] = pd.Series([r[2] for r in res], dtype="int64", index=chain.index)
        chain["anterior_in_datastage"] = isin(chain["pedimento_anterior"], in_ds)
    else:
        chain = pd.DataFrame(columns=CHAIN_COLUMNS)
    return idx[INDEX_COLUMNS], chain[CHAIN_COLUMNS].reset_index(drop=True), findings


# ---------------------------------------------------------------- public entry


@dataclass
class _Part:
    table: pa.Table
    rows: np.ndarray
    label: str
    folio: str


def read_datastage(
    path_or_paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    max_member_bytes: int = containers.MAX_MEMBER_BYTES,
    max_ratio: float = containers.MAX_RATIO,
) -> DataStage:
    """Read Data Stage requests: a ZIP, a folder of ``.asc`` files or of
    ZIPs, or a list of any of those.

    Raises :class:`ImmexError` only when nothing usable is there; every
    row-level problem lands in ``rejects`` and every file- or request-level
    inconsistency (an unreadable member, an identical re-download, a
    Resumen total that does not match) in ``findings``.
    """
    paths = containers.as_paths(path_or_paths)
    findings: list[dict] = []

    def note(source: str, check: str, detail: str) -> None:
        findings.append(_finding(source, check, "", source, detail))

    limits = containers.Limits(max_member_bytes=max_member_bytes, max_ratio=max_ratio)
    files = containers.sources(paths, note)
    rejects: list[dict] = []
    seen: dict[tuple[str, str], tuple[str, str, str]] = {}  # → (digest, label, container)
    copies: dict[str, dict[str, str]] = {}  # folio → {copy container: first container}
    parts: dict[str, list[_Part]] = {t: [] for t in RECORD_TYPES}
    line_counts: dict[tuple[str, str], int] = {}
    cp1252 = 0
    lines_read = 0
    n_members = 0
    for m in containers.members(files, note, limits):
        n_members += 1
        key = (m.folio, m.tipo)
        digest = hashlib.blake2b(m.data, digest_size=20).hexdigest()
        if key in seen:
            first_digest, first_label, first_container = seen[key]
            if first_digest == digest:
                copies.setdefault(m.folio, {}).setdefault(m.container, first_container)
            else:
                findings.append(
                    _finding(
                        m.label,
                        "duplicate_file",
                        first_label,
                        m.label,
                        _words("duplicate_file"),
                    )
                )
            continue
        seen[key] = (digest, m.label, m.container)
        parsed = parse_asc(m.data, m.tipo, m.label)
        m.data = b""
        rejects.extend(parsed.rejects)
        findings.extend(parsed.findings)
        line_counts[key] = parsed.data_lines
        lines_read += parsed.data_lines
        cp1252 += parsed.cp1252_lines
        if parsed.table is not None and parsed.table.num_rows:
            typed, ok, bad = _type_arrow(parsed.table, m.tipo, m.label, parsed.rows)
            rejects.extend(bad)
            rows = parsed.rows
            if not ok.all():
                typed, rows = typed.filter(pa.array(ok)), rows[ok]
            if typed.num_rows:
                parts[m.tipo].append(_Part(typed, rows, m.label, m.folio))
        del parsed
    damaged = {"unreadable_member", "refused_member", "truncated_zip"}
    if not n_members and not any(f["check"] in damaged for f in findings):
        where = ", ".join(str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        raise ImmexError(
            f"no Data Stage files in {where}; expected <folio>_<tipo>.asc files "
            f"(tipo one of {', '.join(RECORD_TYPES)}) or a ZIP of them"
        )
    for folio, where in copies.items():
        shown = sorted(where)
        findings.append(
            _finding(
                folio,
                "identical_request",
                sorted(set(where.values()))[0],
                _words("copy" if len(shown) == 1 else "copies", n=len(shown)),
                _words(
                    "identical_request",
                    folio=folio,
                    names=", ".join(shown[:3]) + (" …" if len(shown) > 3 else ""),
                ),
            )
        )
    folios = sorted({folio for folio, _ in seen})
    for folio in folios:
        missing = [t for t in RECORD_TYPES if (folio, t) not in seen]
        if missing:
            findings.append(
                _finding(
                    folio,
                    "missing_file",
                    _words("record_types", n=len(RECORD_TYPES)),
                    f"{len(RECORD_TYPES) - len(missing)}",
                    _words("missing_file", tipos=", ".join(missing)),
                )
            )

    tables: dict[str, pd.DataFrame] = {}
    for tipo in RECORD_TYPES:
        tables[tipo], dup = _assemble(tipo, parts[tipo])
        parts[tipo] = []
        _release()
        if dup:
            findings.append(
                _finding(
                    tipo,
                    "duplicate_rows",
                    0,
                    dup,
                    _words("duplicate_rows"),
                )
            )

    # Resumen totals against the lines actually delivered, per folio
    for r in tables["Resumen"].itertuples(index=False):
        folio = r.Folio
        if folio not in folios:
            findings.append(
                _finding(
                    folio,
                    "folio_mismatch",
                    _words("files_named_after_folio"),
                    ", ".join(folios),
                    _words("folio_mismatch"),
                )
            )
            continue
        for tipo, col, total in (
            ("551", "Total_Fracciones", r.Total_Fracciones),
            ("557", "Total_Contribuciones", r.Total_Contribuciones),
        ):
            found = line_counts.get((folio, tipo), 0)
            if pd.isna(total) or int(total) != found:
                findings.append(
                    _finding(
                        folio,
                        f"resumen_{col.lower()}",
                        total,
                        found,
                        _words("resumen_total", column=col, total=total, tipo=tipo, found=found),
                    )
                )
    if rejects:
        name = paths[0].name if len(paths) == 1 else _words("paths", n=len(paths))
        findings.append(_finding(name, "rejected_lines", 0, len(rejects), _words("see_rejects")))

    fallback = tables["Resumen"]["Fecha_Final"].max() if len(tables["Resumen"]) else pd.NaT
    fallback_year = None if pd.isna(fallback) else int(fallback.year)
    index, chain, chain_findings = _build_index(tables["501"], tables["701"], fallback_year)
    findings.extend(chain_findings)
    ds = DataStage(
        tables=tables,
        rejects=pd.DataFrame(rejects, columns=REJECT_COLUMNS).astype({"row": "int64"}),
        findings=pd.DataFrame(findings, columns=FINDING_COLUMNS),
        sources=[p for p, _ in files],
        index=index,
        chain=chain,
        cp1252_lines=cp1252,
        lines_read=lines_read,
    )
    _orphans(ds)
    return ds


def _release() -> None:
    """Hand the memory Arrow freed back to the system, so the next record
    type's numpy columns do not pile on top of it."""
    with contextlib.suppress(AttributeError, NotImplementedError):  # older pyarrow
        pa.default_memory_pool().release_unused()


def _assemble(tipo: str, parts: list[_Part]) -> tuple[pd.DataFrame, int]:
    """One frame from the typed files of one record type: (frame, rows
    dropped as repeated by overlapping requests)."""
    if not parts:
        return _empty_table(tipo), 0
    sizes = [p.table.num_rows for p in parts]
    folio_names = sorted({p.folio for p in parts})
    folio_of_part = np.array([folio_names.index(p.folio) for p in parts])
    table = pa.concat_tables([p.table for p in parts])
    parts.clear()
    dup = 0
    if len(folio_names) > 1:
        keep, dup = _first_copies(table, tipo, np.repeat(folio_of_part, sizes))
        if dup:
            table = table.filter(pa.array(keep))
    return _to_frame(table, tipo), dup


def _codes(columns: list) -> np.ndarray:
    """One integer per row, equal exactly when the rows are equal in every
    column (no hashing, so no collision)."""
    n = len(columns[0]) if columns else 0
    codes = np.zeros(n, dtype="int64")
    for col in columns:
        values = pc.unique(col)
        idx = pc.fill_null(pc.index_in(col, value_set=values), -1)
        idx = np.asarray(idx.to_numpy(zero_copy_only=False), dtype="int64") + 1
        codes = pd.factorize(codes * (len(values) + 1) + idx)[0].astype("int64")
    return codes


def _rough_key(table: pa.Table, tipo: str) -> np.ndarray:
    """An integer per row that equal rows always share (7-digit pedimento
    and date); unequal rows may share it too, they are told apart later."""
    date = date_field(tipo)
    if date is None or "Pedimento" not in table.column_names:
        return _codes(list(table.columns))
    try:
        number = pc.cast(table.column("Pedimento"), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _codes([table.column("Pedimento"), table.column(date)])
    number = np.asarray(pc.fill_null(number, -1).to_numpy(zero_copy_only=False), dtype="int64")
    seconds = pc.fill_null(pc.cast(table.column(date), pa.int64()), -1)
    seconds = np.asarray(seconds.to_numpy(zero_copy_only=False), dtype="int64")
    return number * 1_000_003 + seconds


def _first_copies(table: pa.Table, tipo: str, folios: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows that overlapping requests repeat are kept once.  A row repeated
    *within* one request is kept as often as that request has it; another
    request only adds the copies beyond that count.  Only rows whose
    pedimento and date appear in more than one request are compared field
    by field."""
    keep = np.ones(table.num_rows, dtype=bool)
    key = _rough_key(table, tipo)
    kf, uniques = pd.factorize(key)
    nf = int(folios.max()) + 1
    pairs = np.unique(kf.astype("int64") * nf + folios)
    in_requests = np.bincount(pairs // nf, minlength=len(uniques))
    cand = in_requests[kf] > 1
    if not cand.any():
        return keep, 0
    sub = table.filter(pa.array(cand))
    rows = pd.DataFrame({"c": _codes(list(sub.columns)), "f": folios[cand]})
    rows["occ"] = rows.groupby(["c", "f"], sort=False).cumcount()
    repeated = rows.duplicated(["c", "occ"], keep="first").to_numpy()
    keep[np.flatnonzero(cand)[repeated]] = False
    return keep, int(repeated.sum())


def _identity(df: pd.DataFrame, tipo: str, extra: tuple[str, ...] = ()) -> list:
    """The identity columns of each row as Arrow arrays: patente, number,
    sección, validation year (from the row's own date) and ``extra``."""
    ped = pa.array(df["Pedimento"], from_pandas=True)
    first = pc.utf8_slice_codeunits(pc.fill_null(ped, ""), 0, 1)
    first = pc.if_else(pc.ascii_is_decimal(first), first, "0")
    d0 = np.asarray(pc.cast(first, pa.int64()).to_numpy(zero_copy_only=False), dtype="int64")
    col = date_field(tipo)
    years = df[col].dt.year.to_numpy(dtype="float64", na_value=np.nan) if col else None
    if years is None:
        years = np.full(len(df), np.nan)
    y = np.where(np.isnan(years), -1, years).astype("int64")
    valid = np.where(y < 0, -1, y - ((y - d0) % 10))
    cols = [pa.array(df[c], from_pandas=True) for c in ("Patente", "SeccionAduanera")]
    cols += [ped, pa.array(valid)]
    cols += [pa.array(df[c], from_pandas=True) for c in extra]
    return cols


def _missing_parents(child: list, parent: list) -> int:
    """Rows of ``child`` whose identity no row of ``parent`` has (exact,
    through shared integer codes, no string per row)."""
    n = len(child[0])
    both = [
        pa.chunked_array([*_chunks(c), *_chunks(p)], type=_common(c, p))
        for c, p in zip(child, parent, strict=True)
    ]
    codes = _codes(both)
    return int((~np.isin(codes[:n], codes[n:])).sum())


def _chunks(arr) -> list:
    return list(arr.chunks) if isinstance(arr, pa.ChunkedArray) else [arr]


def _common(a, b) -> pa.DataType:
    if a.type == b.type:
        return a.type
    if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
        return pa.large_string()
    return pa.int64()


def _orphans(ds: DataStage) -> None:
    """551 rows without a 501 parent and 557 rows without a 551 partida,
    matched on the whole identity (patente, sección, number, validation
    year), so a number reused ten years later is not taken for the parent."""
    extra = []

    def cast(cols: list) -> list:
        return [c.cast(pa.large_string()) if pa.types.is_string(c.type) else c for c in cols]

    if len(ds["551"]):
        n = _missing_parents(cast(_identity(ds["551"], "551")), cast(_identity(ds["501"], "501")))
        if n:
            extra.append(_finding("551", "orphan_partida", 0, n, _words("orphan_partida")))
    if len(ds["557"]):
        kp = ("Fraccion", "SecuenciaFraccion")
        n = (
            _missing_parents(
                cast(_identity(ds["557"], "557", kp)), cast(_identity(ds["551"], "551", kp))
            )
            if len(ds["551"])
            else len(ds["557"])
        )
        if n:
            extra.append(
                _finding("557", "orphan_contribucion", 0, n, _words("orphan_contribucion"))
            )
    if extra:
        ds.findings = pd.concat(
            [ds.findings, pd.DataFrame(extra, columns=FINDING_COLUMNS)], ignore_index=True
        )
