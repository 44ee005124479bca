"""``annex.xlsx``: the Anexo 24 workbook a consultant hands to the client.

The monthly report shows the figures; the annex holds the rows behind them in
the shape a customs team works with (docs/annex.md)::

    Índice                  client, period, as-of date, headline figures, and
                            every sheet with its rows (and where the full table is)
    Saldos por pedimento    one row per open import line (pedimento, partida,
                            unidad de medida, cantidades, saldo, fecha límite …)
    Importaciones del mes   the month's temporary imports
    Exportaciones del mes   the month's exports and returns
    Descargos del mes       the month's exports and the import lines they discharged
    Vencimientos 30-60-90   pedimentos with open lines expired or due within 90 days
    Faltantes               exports that found no import balance
    Rechazos                rows of the client's files that were not loaded
    Exposición              taxes, update, surcharges and fines per open line
    Exposición (cálculo)    the rates and factors behind them
    Ahorro IGI e IVA        duty and VAT deferred and saved, month and year to date
    Anexo 30 saldos, descargos  the Anexo 30 (SCCCyG) worksheet, when given

Sheet names and headers come from the text catalog (``annex.*`` keys,
Spanish by default); every money header names its currency (``Valor del saldo
MXN``) and every quantity has the unit of measure in the column beside it.

Big clients.  A sheet never holds more than ``max_rows`` rows (50,000 by
default; the month's discharges are kept whole) and never more than Excel's
1,048,576: past that, the sheet keeps the first rows in its order (the most urgent saldos, the newest shortfalls) and the complete table
is written beside the workbook as ``annex_<sheet>.csv`` — the Índice and the
sheet itself say so.  The rows are written straight into the worksheet XML, a
column at a time (xlsxwriter ``constant_memory`` for everything else): the
big benchmark client's annex (316,000 rows in eight sheets, four full tables
as CSV) takes 5–7 CPU-seconds and about 50 MB of memory, where writing it cell
by cell took two minutes (``make bench``).

Text is always written as text: a part number ``=1+2`` or ``-0042`` stays a
string (no formulas, no numbers guessed from text, no URLs).  Worked example
of the formats::

    Valor del saldo MXN   1234.5        →  1,234.50
    Saldo                 12.3456       →  12.3456   (unit in the next column: KGM)
    Tasa IGI              0.15          →  15.00%
    Fecha límite          2026-03-31    →  2026-03-31 (a real Excel date)
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.text import DEFAULT_LANG, check_lang, t

#: Excel's last row (1,048,576) less the header row
EXCEL_MAX_ROWS = 1_048_575
#: rows kept in one sheet by default; the full table goes beside the workbook
MAX_ROWS = 50_000
#: rows of XML built and written at a time
_CHUNK = 20_000

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MONEY = re.compile(
    r"(mxn|usd|value|igi$|^igi|dta|iva|tax|total|recargos|actualizacion|multa|payable|saving|duty|amount|cost)",
    re.IGNORECASE,
)
_RATE = re.compile(r"(rate|ratio|share|pct|percent)$", re.IGNORECASE)
_INT_ID = re.compile(r"(^line$|_line$|^row$|^days|days_)", re.IGNORECASE)
_HEADER_BG = "#0B4F6C"
_NUM_FORMATS = {
    "date": "yyyy-mm-dd",
    "money": "#,##0.00",
    "qty": "#,##0.00##",
    "rate": "0.00%",
    "factor": "0.0000",
    "int": "#,##0",
    "int_id": "0",
}
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_x[0-9A-Fa-f]{4}_")
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


# --------------------------------------------------------------------------- the sheet model


@dataclass
class Sheet:
    """One sheet as the reader sees it: ``frame`` holds the reader's columns
    (headers final), ``kinds`` maps a column to its format kind (``text``,
    ``date``, ``money``, ``qty``, ``rate``, ``factor``, ``int``, ``int_id``,
    ``bool``; inferred from name and dtype when missing)."""

    key: str
    title: str
    frame: pd.DataFrame
    description: str = ""
    kinds: dict[str, str] = field(default_factory=dict)
    empty_note: str = ""
    month: bool = False  # the period's own rows: kept whole up to Excel's limit


@dataclass(frozen=True)
class Written:
    """What :func:`write_report_annex` wrote."""

    path: Path
    sheets: dict[str, str]  # sheet key → sheet name
    rows: dict[str, tuple[int, int]]  # sheet key → (rows in the sheet, rows in the table)
    full_tables: dict[str, Path]  # sheet key → CSV beside the workbook (cut sheets only)


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (≤ 31 characters, none of ``[]:*?/\\``)."""
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "Sheet"
    base = base[:31]
    candidate, n = base, 2
    while candidate.lower() in {t.lower() for t in taken}:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate


def _kind(name: str, series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int_id" if _INT_ID.search(name) else "int"
    if pd.api.types.is_float_dtype(series):
        if _RATE.search(name):
            return "rate"
        if _INT_ID.search(name):
            return "int_id"
        if _MONEY.search(name):
            return "money"
        return "qty"
    if series.dtype == object and len(series):
        sample = series.dropna()
        if len(sample) and all(isinstance(v, date | datetime) for v in sample.iloc[:50]):
            return "date"
    return "text"


# --------------------------------------------------------------------------- cells as XML


def _col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _escape_text(value: str) -> str:
    """``<is><t>…</t></is>`` for one string: XML-escaped, control characters
    as ``_xHHHH_`` (as Excel reads them), leading/trailing spaces kept."""
    if len(value) > 32_767:
        value = value[:32_767]
    if _CONTROL.search(value):
        value = _CONTROL.sub(
            lambda m: "_x005F" + m.group(0) if len(m.group(0)) > 1 else f"_x{ord(m.group(0)):04X}_",
            value,
        )
    text = value.translate(_XML_ESCAPES)
    if value[:1].isspace() or value[-1:].isspace():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


def _as_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _serial(day: pd.Timestamp) -> str:
    """Excel's serial number of a date (days since 1899-12-30, time as a fraction)."""
    days = (day.tz_localize(None) if day.tzinfo else day) - pd.Timestamp("1899-12-30")
    value = days / pd.Timedelta(days=1)
    return str(int(value)) if value == int(value) else repr(float(value))


def _coded(series: pd.Series, kind: str) -> tuple[np.ndarray, list[str], int]:
    """Row codes, the cell tail (``t=… ><…>…</c>``) of each distinct value, and
    the longest text — for text, dates and booleans, which repeat a lot."""
    if kind == "date":
        codes, uniques = pd.factorize(pd.to_datetime(series, errors="coerce"))
        return codes, [f"><v>{_serial(u)}</v></c>" for u in uniques], 10
    if kind == "bool":
        codes, uniques = pd.factorize(series.astype("boolean"))
        return codes, [f' t="b"><v>{1 if u else 0}</v></c>' for u in uniques], 5
    codes, uniques = pd.factorize(series)
    texts = [_as_text(u) for u in uniques]
    tails = [f' t="inlineStr">{_escape_text(x)}</c>' for x in texts]
    # an empty text is no cell at all
    codes = np.where(np.append([x == "" for x in texts], True)[codes], -1, codes)
    return codes, tails, max((len(x) for x in texts), default=0)


def _column_cells(
    series: pd.Series, kind: str, letter: str, rows: list[str], style: int | None
) -> tuple[list[str], int]:
    """The ``<c>`` element of every row of one column (``""`` where empty), and
    a width that fits."""
    pre = f'<c r="{letter}'
    s = f' s="{style}"' if style else ""
    if kind in ("text", "date", "bool"):
        codes, tails, width = _coded(series, kind)
        tails = [f'"{s}{tail}' for tail in tails]
        cells = [
            pre + r + tails[c] if c >= 0 else "" for r, c in zip(rows, codes.tolist(), strict=True)
        ]
        return cells, width + (1 if kind == "date" else 0)
    mid = f'"{s}><v>'
    arr = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(arr)
    if kind in ("int", "int_id"):
        values = np.where(ok, np.round(arr), 0).astype(np.int64).tolist()
    else:
        values = arr.tolist()
    cells = [
        f"{pre}{r}{mid}{v!r}</v></c>" if o else ""
        for r, v, o in zip(rows, values, ok.tolist(), strict=True)
    ]
    biggest = float(np.abs(arr[ok]).max()) if ok.any() else 0.0
    if kind in ("money", "qty", "int"):
        digits = len(f"{biggest:,.0f}")
        width = digits + (5 if kind == "qty" else 3 if kind == "money" else 0)
    elif kind == "rate":
        width = 8
    else:
        width = len(f"{biggest:.0f}") if biggest else 4
    return cells, width


# --------------------------------------------------------------------------- the writer


class _FastZip(zipfile.ZipFile):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("compresslevel", 1)
        super().__init__(*args, **kwargs)


class _Book:
    """An xlsxwriter workbook in constant-memory mode whose data rows are
    written as XML a column at a time (see module docstring)."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        wb = self.wb
        self.hdr = wb.add_format(
            {
                "bold": True,
                "font_color": "#FFFFFF",
                "bg_color": _HEADER_BG,
                "border": 1,
                "border_color": "#D0D7DE",
                "text_wrap": True,
                "valign": "top",
            }
        )
        self.formats = {k: wb.add_format({"num_format": v}) for k, v in _NUM_FORMATS.items()}
        self.styles = {k: f._get_xf_index() for k, f in self.formats.items()}
        self.title = wb.add_format({"bold": True, "font_size": 14, "font_color": _HEADER_BG})
        self.bold = wb.add_format({"bold": True})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.note = wb.add_format({"italic": True, "font_color": "#6B7280"})

    def table(self, ws, sheet: Sheet, max_rows: int, note: str = "") -> None:
        """Header on row 1 (frozen, filtered), then the rows of ``sheet.frame``."""
        df = sheet.frame
        cols = [str(c) for c in df.columns]
        n = min(len(df), max_rows, EXCEL_MAX_ROWS)
        ws.freeze_panes(1, 0)
        if not cols:
            return
        ws.write_row(0, 0, cols, self.hdr)
        ws.set_row(0, 30 if max(map(len, cols)) > 14 else None)
        widths = [min(max(len(c) * 0.9, 8), 40) for c in cols]
        kinds = [sheet.kinds.get(c) or _kind(c, df[c]) for c in cols]
        if len(df) == 0:
            ws.write_string(1, 0, sheet.empty_note or "—", self.note)
        elif n:
            widths = self._rows(ws, df, kinds, n, widths)
        for j, (kind, width) in enumerate(zip(kinds, widths, strict=True)):
            ws.set_column(j, j, min(width + 2, 60), self.formats.get(kind))
        ws.autofilter(0, 0, max(n, 1), len(cols) - 1)
        if note:
            ws.write_string(n + 2, 0, note, self.note)

    def _rows(self, ws, df: pd.DataFrame, kinds: list[str], n: int, widths: list[float]):
        widths = list(widths)
        letters = [_col_letter(j) for j in range(len(kinds))]
        fast = hasattr(ws, "_write_single_row") and getattr(ws, "row_data_fh", None) is not None
        if fast:
            ws._write_single_row(1)  # flush the header row to the row-data file
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            part = df.iloc[start:stop]
            rows = [str(r) for r in range(start + 2, stop + 2)]
            columns = []
            for j, kind in enumerate(kinds):
                cells, width = _column_cells(
                    part.iloc[:, j], kind, letters[j], rows, self.styles.get(kind)
                )
                columns.append(cells)
                widths[j] = max(widths[j], min(width, 50))
            if fast:
                # interleave row tags and cells into one list (slice assignment
                # runs in C), then join once
                step = len(columns) + 2
                flat = ["</row>"] * (len(rows) * step)
                flat[0::step] = [f'<row r="{r}">' for r in rows]
                for j, cells in enumerate(columns, start=1):
                    flat[j::step] = cells
                ws.row_data_fh.write("".join(flat))
            else:  # pragma: no cover - xlsxwriter without the constant-memory internals
                self._slow_rows(ws, part, kinds, start)
        if fast:
            ws._check_dimensions(n, len(kinds) - 1)
            ws.previous_row = n + 1
        return widths

    def _slow_rows(self, ws, part: pd.DataFrame, kinds: list[str], start: int) -> None:
        for j, kind in enumerate(kinds):
            fmt = self.formats.get(kind)
            for i, v in enumerate(part.iloc[:, j].tolist(), start=start + 1):
                if kind == "text":
                    s = _as_text(v)
                    if s:
                        ws.write_string(i, j, s)
                elif kind == "date":
                    if v is not None and not pd.isna(v):
                        ws.write_datetime(i, j, pd.Timestamp(v).to_pydatetime(), fmt)
                elif kind == "bool":
                    if v is not None and not pd.isna(v):
                        ws.write_boolean(i, j, bool(v))
                elif v is not None and not pd.isna(v) and math.isfinite(float(v)):
                    ws.write_number(i, j, float(v), fmt)

    def close(self) -> None:
        """Close the workbook, deflating its parts at level 1: the sheets are
        plain XML, a third bigger but several times faster than level 6."""
        import xlsxwriter.workbook as xw

        patched = getattr(xw, "ZipFile", None) is zipfile.ZipFile
        if patched:
            xw.ZipFile = _FastZip
        try:
            self.wb.close()
        finally:
            if patched:
                xw.ZipFile = zipfile.ZipFile


def _cell(value: object) -> object:
    """A plain Python value for one About-sheet cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.strftime("%Y-%m-%d")
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return ""
    return value


def _write_book(
    sheets: Sequence[Sheet],
    path: Path,
    *,
    lang: str,
    title: str,
    about: Mapping[str, object],
    summary: pd.DataFrame | None,
    max_rows: int,
    full_table: Callable[[Sheet], Path | None],
) -> tuple[dict[str, str], dict[str, tuple[int, int]], dict[str, Path]]:
    from immex_nb.outputs import atomic_path

    limit = max(0, min(int(max_rows), EXCEL_MAX_ROWS))
    limits = {sh.key: EXCEL_MAX_ROWS if sh.month else limit for sh in sheets}
    names: dict[str, str] = {}
    rows: dict[str, tuple[int, int]] = {}
    full: dict[str, Path] = {}
    index_name = t("annex.sheet.index", lang)
    taken = {index_name}
    for sh in sheets:
        names[sh.key] = sheet_name(sh.title, taken)
    for sh in sheets:
        total = len(sh.frame)
        shown = min(total, limits[sh.key])
        rows[sh.key] = (shown, total)
        if shown < total:
            written = full_table(sh)
            if written is not None:
                full[sh.key] = written

    with atomic_path(path) as tmp:
        book = _Book(tmp)
        ws = book.wb.add_worksheet(index_name)
        ws.write_string(0, 0, title, book.title)
        r = 2
        for key, value in about.items():
            ws.write_string(r, 0, str(key), book.bold)
            v = _cell(value)
            if isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(r, 1, v)
            else:
                ws.write_string(r, 1, str(v))
            r += 1
        if summary is not None and len(summary):
            r += 1
            ws.write_row(r, 0, [str(c) for c in summary.columns], book.hdr)
            for rec in summary.itertuples(index=False):
                r += 1
                for j, v in enumerate(rec):
                    v = _cell(v)
                    if isinstance(v, int | float) and not isinstance(v, bool):
                        kind = "int" if isinstance(v, int) else "money"
                        ws.write_number(r, j, v, book.formats[kind])
                    else:
                        ws.write_string(r, j, str(v))
        r += 2
        ws.write_row(
            r,
            0,
            [
                t("annex.index.sheet", lang),
                t("annex.index.rows", lang),
                t("annex.index.holds", lang),
                t("annex.index.full", lang),
            ],
            book.hdr,
        )
        for sh in sheets:
            r += 1
            shown, total = rows[sh.key]
            ws.write_url(r, 0, f"internal:'{names[sh.key]}'!A1", string=names[sh.key])
            ws.write_number(r, 1, total, book.formats["int"])
            ws.write_string(r, 2, sh.description, book.wrap)
            if sh.key in full:
                ws.write_string(
                    r,
                    3,
                    t("annex.index.cut", lang, shown=f"{shown:,}", file=full[sh.key].name),
                    book.wrap,
                )
        ws.set_column(0, 0, 34)
        ws.set_column(1, 1, 18)
        ws.set_column(2, 2, 80)
        ws.set_column(3, 3, 48)

        for sh in sheets:
            shown, total = rows[sh.key]
            note = ""
            if shown < total:
                file = full[sh.key].name if sh.key in full else ""
                note = t("annex.note.cut", lang, shown=f"{shown:,}", total=f"{total:,}", file=file)
            book.table(book.wb.add_worksheet(names[sh.key]), sh, limits[sh.key], note)
        book.close()
    return names, rows, full


# --------------------------------------------------------------------------- any tables


def write_annex(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    about: Mapping[str, object] | None = None,
    descriptions: Mapping[str, str] | None = None,
    lang: str = DEFAULT_LANG,
    max_rows: int = EXCEL_MAX_ROWS,
) -> Path:
    """Write ``tables`` (sheet title → DataFrame, in order) to ``path`` atomically,
    after an index sheet listing them (``about``: client, period … at its top;
    ``descriptions``: what each table holds).  Column names are shown as given;
    formats follow each column's name and dtype.  A table longer than
    ``max_rows`` is cut there and written in full to ``<stem>_<n>.csv`` beside."""
    lang = check_lang(lang)
    target = Path(path)
    descriptions = dict(descriptions or {})
    sheets = [
        Sheet(key=str(k), title=str(k), frame=df, description=descriptions.get(k, ""))
        for k, df in tables.items()
    ]
    counter = iter(range(1, len(sheets) + 1))
    numbers = {sh.key: next(counter) for sh in sheets}
    for sh in sheets:
        sh.empty_note = t("annex.note.empty", lang)

    def full_table(sh: Sheet) -> Path:
        return _write_full_csv(sh.frame, target.with_name(f"{target.stem}_{numbers[sh.key]}.csv"))

    _write_book(
        sheets,
        target,
        lang=lang,
        title=t("annex.title", lang),
        about=dict(about or {}),
        summary=None,
        max_rows=max_rows,
        full_table=full_table,
    )
    return target


def _write_full_csv(frame: pd.DataFrame, target: Path) -> Path:
    """The complete table as CSV beside the workbook: UTF-8, ``\\n``, dates as
    ISO, numbers as numbers, text never starting like a formula (a leading
    ``'``, docs/rules/validation.md).  Written with pyarrow, atomically."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from immex_nb.outputs import atomic_path

    arrays, names = [], []
    for col in frame.columns:
        s = frame[col]
        names.append(str(col))
        if pd.api.types.is_datetime64_any_dtype(s):
            days = s.dt.tz_localize(None) if s.dt.tz is not None else s
            arrays.append(pa.array(days.to_numpy(dtype="datetime64[D]"), type=pa.date32()))
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            arrays.append(pa.array(s.to_numpy(), from_pandas=True))
        else:
            codes, uniques = pd.factorize(s)
            guarded = np.array([_guard(_as_text(u)) for u in uniques] + [None], dtype=object)
            arrays.append(pa.array(guarded[codes], type=pa.string()))
    table = pa.Table.from_arrays(arrays, names=names)
    with atomic_path(target) as tmp:
        pacsv.write_csv(table, str(tmp), pacsv.WriteOptions(quoting_style="needed"))
    return target


def _guard(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --------------------------------------------------------------------------- the Anexo 24 workbook

#: sheet key → its columns: (source column, header key ``annex.h.*``, kind)
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "saldos": [
        ("import_pedimento", "pedimento", "text"),
        ("import_line", "partida", "int_id"),
        ("import_date", "fecha", "date"),
        ("clave", "clave", "text"),
        ("part_number", "numero_parte", "text"),
        ("description", "descripcion", "text"),
        ("fraccion", "fraccion", "text"),
        ("material_type", "tipo_material", "text"),
        ("uom", "unidad", "text"),
        ("quantity", "cantidad_importada", "qty"),
        ("discharged", "cantidad_descargada", "qty"),
        ("open", "saldo", "qty"),
        ("deadline", "fecha_limite", "date"),
        ("days_to_deadline", "dias", "int"),
        ("estado", "estado", "text"),
        ("value_mxn", "valor_aduana_mxn", "money"),
        ("value_usd", "valor_aduana_usd", "money"),
        ("open_value_mxn", "valor_saldo_mxn", "money"),
        ("open_value_usd", "valor_saldo_usd", "money"),
    ],
    "descargos": [
        ("export_pedimento", "pedimento_exportacion", "text"),
        ("export_line", "partida_exportacion", "int_id"),
        ("export_date", "fecha_exportacion", "date"),
        ("export_clave", "clave_exportacion", "text"),
        ("export_part", "producto_exportado", "text"),
        ("part_number", "numero_parte_descargado", "text"),
        ("import_pedimento", "pedimento_importacion", "text"),
        ("import_line", "partida_importacion", "int_id"),
        ("import_date", "fecha_importacion", "date"),
        ("uom", "unidad", "text"),
        ("quantity", "cantidad_descargada", "qty"),
        ("net_quantity", "cantidad_neta", "qty"),
        ("scrap_quantity", "merma", "qty"),
        ("deadline", "fecha_limite", "date"),
        ("late", "fuera_de_plazo", "text"),
        ("value_mxn", "valor_descargado_mxn", "money"),
        ("value_usd", "valor_descargado_usd", "money"),
        ("destination", "pais_destino", "text"),
    ],
    "importaciones": [
        ("pedimento", "pedimento", "text"),
        ("line", "partida", "int_id"),
        ("date", "fecha", "date"),
        ("clave", "clave", "text"),
        ("part_number", "numero_parte", "text"),
        ("description", "descripcion", "text"),
        ("fraccion", "fraccion", "text"),
        ("material_type", "tipo_material", "text"),
        ("origin", "pais_origen", "text"),
        ("uom", "unidad", "text"),
        ("quantity", "cantidad_importada", "qty"),
        ("value_mxn", "valor_aduana_mxn", "money"),
        ("value_usd", "valor_aduana_usd", "money"),
        ("igi_rate", "tasa_igi", "rate"),
    ],
    "exportaciones": [
        ("pedimento", "pedimento_exportacion", "text"),
        ("line", "partida_exportacion", "int_id"),
        ("date", "fecha_exportacion", "date"),
        ("clave", "clave_exportacion", "text"),
        ("part_number", "producto_exportado", "text"),
        ("uom", "unidad", "text"),
        ("quantity", "cantidad_exportada", "qty"),
        ("value_usd", "valor_comercial_usd", "money"),
        ("destination", "pais_destino", "text"),
    ],
    "vencimientos": [
        ("import_pedimento", "pedimento", "text"),
        ("import_date", "fecha", "date"),
        ("deadline", "fecha_limite", "date"),
        ("days_to_deadline", "dias", "int"),
        ("plazo", "plazo", "text"),
        ("lines", "partidas_abiertas", "int"),
        ("parts", "numeros_parte", "text"),
        ("open_value_mxn", "valor_saldo_mxn", "money"),
        ("open_value_usd", "valor_saldo_usd", "money"),
    ],
    "faltantes": [
        ("export_pedimento", "pedimento_exportacion", "text"),
        ("export_line", "partida_exportacion", "int_id"),
        ("export_date", "fecha_exportacion", "date"),
        ("export_part", "producto_exportado", "text"),
        ("part_number", "numero_parte", "text"),
        ("uom", "unidad", "text"),
        ("quantity", "cantidad_sin_saldo", "qty"),
        ("motivo", "motivo", "text"),
    ],
    "rechazos": [
        ("file", "archivo", "text"),
        ("row", "renglon", "int_id"),
        ("column", "columna", "text"),
        ("value", "valor", "text"),
        ("reason", "motivo", "text"),
    ],
    "exposicion": [
        ("import_pedimento", "pedimento", "text"),
        ("import_line", "partida", "int_id"),
        ("part_number", "numero_parte", "text"),
        ("fraccion", "fraccion", "text"),
        ("material_type", "tipo_material", "text"),
        ("estado", "estado", "text"),
        ("deadline", "fecha_limite", "date"),
        ("uom", "unidad", "text"),
        ("open", "saldo", "qty"),
        ("open_value_mxn", "valor_saldo_mxn", "money"),
        ("igi", "igi_mxn", "money"),
        ("dta", "dta_mxn", "money"),
        ("iva", "iva_mxn", "money"),
        ("actualizacion", "actualizacion_mxn", "money"),
        ("recargos", "recargos_mxn", "money"),
        ("multa", "multa_mxn", "money"),
        ("total", "total_mxn", "money"),
        ("total_usd", "total_usd", "money"),
    ],
    "exposicion_calculo": [
        ("import_pedimento", "pedimento", "text"),
        ("import_line", "partida", "int_id"),
        ("import_date", "fecha", "date"),
        ("value_mxn", "valor_aduana_mxn", "money"),
        ("open_value_mxn", "valor_saldo_mxn", "money"),
        ("igi_rate", "tasa_igi", "rate"),
        ("prosec_rate", "tasa_prosec", "rate"),
        ("rate_used", "tasa_aplicada", "rate"),
        ("inpc_month_from", "inpc_mes_desde", "text"),
        ("inpc_month_to", "inpc_mes_hasta", "text"),
        ("inpc_from", "inpc_desde", "factor"),
        ("inpc_to", "inpc_hasta", "factor"),
        ("inpc_factor", "factor_actualizacion", "factor"),
        ("inpc_estimated", "inpc_estimado", "text"),
        ("surcharge_months", "meses_recargo", "int"),
        ("surcharge_rate_sum", "tasa_recargos", "rate"),
        ("surcharge_rate_estimated", "recargos_estimados", "text"),
        ("fine_rate", "tasa_multa", "rate"),
    ],
    "ahorro": [
        ("concepto", "concepto", "text"),
        ("month_mxn", "mes_mxn", "money"),
        ("ytd_mxn", "acumulado_mxn", "money"),
    ],
    "anexo30_saldos": [
        ("fraccion", "fraccion", "text"),
        ("activo_fijo", "activo_fijo", "text"),
        ("opening_value_mxn", "saldo_inicial_mxn", "money"),
        ("credits_value_mxn", "cargos_mxn", "money"),
        ("descargos_value_mxn", "descargos_mxn", "money"),
        ("closing_value_mxn", "saldo_final_mxn", "money"),
        ("expired_value_mxn", "vencido_mxn", "money"),
    ],
    "anexo30_descargos": [
        ("export_pedimento", "pedimento_exportacion", "text"),
        ("export_clave", "clave_exportacion", "text"),
        ("export_date", "fecha_exportacion", "date"),
        ("fraccion", "fraccion", "text"),
        ("activo_fijo", "activo_fijo", "text"),
        ("value_mxn", "valor_descargado_mxn", "money"),
    ],
}
#: the order of the sheets after the index
SHEETS = (
    "saldos",
    "importaciones",
    "exportaciones",
    "descargos",
    "vencimientos",
    "faltantes",
    "rechazos",
    "exposicion",
    "exposicion_calculo",
    "ahorro",
    "anexo30_saldos",
    "anexo30_descargos",
)
#: the period's own rows: never cut below Excel's limit
MONTH_SHEETS = ("importaciones", "exportaciones", "descargos", "anexo30_descargos")


def sheet_title(key: str, lang: str = DEFAULT_LANG) -> str:
    """The name of sheet ``key`` (``saldos``, ``descargos`` …) in ``lang`` — for
    the report's "all rows are in annex.xlsx, sheet …" notes."""
    return t(f"annex.sheet.{key}", lang)


def reader_frame(key: str, frame: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """``frame`` with the reader's columns of sheet ``key`` (headers in
    ``lang``; a column missing from ``frame`` comes out empty) and their kinds."""
    out, kinds = {}, {}
    n = len(frame)
    for source, header, kind in COLUMNS[key]:
        name = t(f"annex.h.{header}", lang)
        if source in frame.columns:
            out[name] = frame[source].array  # as stored: no copy, no per-row objects
        else:
            out[name] = pd.Categorical([None] * n)
        kinds[name] = kind
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False), kinds


def _cat(codes: np.ndarray, labels: Sequence[object]) -> pd.Categorical:
    """Row codes into ``labels`` (−1 or a ``None`` label = empty) as a categorical:
    a column of a few words without one Python string per row."""
    label_codes, uniques = pd.factorize(pd.Index(list(labels), dtype=object))
    codes = np.asarray(codes, dtype=np.int64)
    mapped = np.where(codes >= 0, np.append(label_codes, -1)[codes], -1)
    return pd.Categorical.from_codes(mapped, categories=pd.Index(uniques, dtype=object))


def _words(values: pd.Series, mapping: Mapping[object, str]) -> pd.Categorical:
    """Each value's reader word (values not in ``mapping`` kept as text)."""
    codes, uniques = pd.factorize(values)
    return _cat(codes, [mapping.get(u, _as_text(u)) or None for u in uniques])


def _yes_no(values: pd.Series, lang: str) -> pd.Categorical:
    return _words(
        values.astype("boolean"), {True: t("common.yes", lang), False: t("common.no", lang)}
    )


def _days(days: pd.Series) -> np.ndarray:
    return pd.to_numeric(days, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _estado(days: pd.Series, lang: str) -> pd.Categorical:
    d = _days(days)
    labels = [t(f"annex.estado.{k}", lang) for k in ("in_time", "expired", "no_limit")]
    return _cat(np.where(np.isnan(d), 2, np.where(d < 0, 1, 0)), labels)


def _plazo(days: pd.Series, lang: str) -> pd.Categorical:
    d = _days(days)
    keys = ["expired", "d30", "d60", "d90", "later", "no_limit"]
    labels = [t(f"annex.plazo.{k}", lang) for k in keys]
    idx = np.select([np.isnan(d), d < 0, d <= 30, d <= 60, d <= 90], [5, 0, 1, 2, 3], default=4)
    return _cat(idx, labels)


def _uom_by_line(balances: pd.DataFrame) -> tuple[pd.MultiIndex, pd.Categorical] | None:
    """The unit of measure of every import line, to look up by (pedimento, partida)."""
    if "uom" not in balances.columns or balances.empty:
        return None
    keys = pd.MultiIndex.from_arrays([balances["import_pedimento"], balances["import_line"]])
    return keys, pd.Categorical(balances["uom"])


def _lookup(uom: tuple[pd.MultiIndex, pd.Categorical] | None, frame: pd.DataFrame):
    if uom is None or frame.empty:
        return pd.Categorical([None] * len(frame))
    keys, units = uom
    pos = keys.get_indexer(
        pd.MultiIndex.from_arrays([frame["import_pedimento"], frame["import_line"]])
    )
    codes = np.where(pos >= 0, units.codes[pos], -1)
    return pd.Categorical.from_codes(codes, categories=units.categories)


def _sorted(
    frame: pd.DataFrame, by: list[str], ascending: bool | list[bool] = True
) -> pd.DataFrame:
    by = [c for c in by if c in frame.columns]
    if frame.empty or not by:
        return frame.reset_index(drop=True)
    return frame.sort_values(
        by, ascending=ascending, na_position="last", kind="stable"
    ).reset_index(drop=True)


def _saldos(aged: pd.DataFrame, lang: str) -> pd.DataFrame:
    keep = [c for source, _, _ in COLUMNS["saldos"] for c in [source] if c in aged.columns]
    f = _sorted(aged[keep], ["deadline", "import_pedimento", "import_line"])
    f["estado"] = _estado(f["days_to_deadline"], lang)
    return f


def _descargos(alloc: pd.DataFrame, uom, lang: str) -> pd.DataFrame:
    f = _sorted(alloc, ["export_date", "export_pedimento", "export_line", "import_date"])
    f["uom"] = _lookup(uom, f)
    if "late" in f:
        f["late"] = _yes_no(f["late"], lang)
    return f


def _vencimientos(aged: pd.DataFrame, lang: str) -> pd.DataFrame:
    cols = [s for s, _, _ in COLUMNS["vencimientos"]]
    if aged.empty:
        return pd.DataFrame({c: [] for c in cols})
    d = pd.to_numeric(aged["days_to_deadline"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    due = aged.loc[d <= 90]
    if due.empty:
        return pd.DataFrame({c: [] for c in cols})
    g = due.groupby("import_pedimento", sort=False)
    first = _first_parts(due["import_pedimento"], due["part_number"])
    out = pd.DataFrame(
        {
            "import_date": g["import_date"].min(),
            "deadline": g["deadline"].min(),
            "days_to_deadline": g["days_to_deadline"].min(),
            "lines": g.size(),
            "open_value_mxn": g["open_value_mxn"].sum(),
            "open_value_usd": g["open_value_usd"].sum() if "open_value_usd" in due else np.nan,
        }
    )
    out["parts"] = pd.Series(first).reindex(out.index).to_numpy()
    out = out.reset_index()
    out["plazo"] = _plazo(out["days_to_deadline"], lang)
    return _sorted(out, ["deadline", "import_pedimento"])[cols]


def _first_parts(pedimentos: pd.Series, parts: pd.Series, k: int = 4) -> dict[str, str]:
    """Pedimento → its first ``k`` distinct part numbers (sorted), "…" when more."""
    pairs = (
        pd.DataFrame({"p": pedimentos.to_numpy(), "n": parts.astype(str).to_numpy()})
        .drop_duplicates()
        .sort_values(["p", "n"], kind="stable")
    )
    out: dict[str, list[str]] = {}
    for ped, part in zip(pairs["p"].tolist(), pairs["n"].tolist(), strict=True):
        seen = out.setdefault(ped, [])
        if len(seen) <= k:
            seen.append(part)
    return {p: ", ".join(v[:k]) + (" …" if len(v) > k else "") for p, v in out.items()}


def _faltantes(short: pd.DataFrame, imports: pd.DataFrame, lang: str) -> pd.DataFrame:
    from immex_nb.discharge import (
        SHORTFALL_EXHAUSTED,
        SHORTFALL_NEVER_IMPORTED,
        SHORTFALL_NOT_YET,
    )

    f = _sorted(short, ["export_date", "export_pedimento", "export_line"], ascending=False)
    if "uom" in imports.columns and len(f):
        by_part = imports.drop_duplicates("part_number").set_index("part_number")["uom"]
        f["uom"] = pd.Categorical(by_part.reindex(f["part_number"]).array)
    reasons = {
        SHORTFALL_NEVER_IMPORTED: t("annex.faltante.never", lang),
        SHORTFALL_NOT_YET: t("annex.faltante.not_yet", lang),
        SHORTFALL_EXHAUSTED: t("annex.faltante.exhausted", lang),
    }
    f["motivo"] = _words(f["reason"], reasons) if "reason" in f and len(f) else None
    return f


def _exposicion(exp: pd.DataFrame, uom, lang: str) -> pd.DataFrame:
    f = _sorted(exp, ["deadline", "import_pedimento", "import_line"])
    f["uom"] = _lookup(uom, f)
    f["estado"] = _estado(f["days_to_deadline"], lang) if "days_to_deadline" in f else None
    for col in ("inpc_estimated", "surcharge_rate_estimated"):
        if col in f:
            f[col] = _yes_no(f[col], lang)
    return f


def _ahorro(savings: pd.DataFrame | None, kpis: Mapping[str, object], lang: str) -> pd.DataFrame:
    """Concept, month and year to date: the report's savings table, else its KPIs."""
    if savings is not None and {"metric", "month_mxn", "ytd_mxn"} <= set(savings.columns):
        metrics = list(savings["metric"])
        month, ytd = savings["month_mxn"].to_numpy(), savings["ytd_mxn"].to_numpy()
    else:
        metrics = ["igi_deferred", "vat_on_imports", "igi_saved", "tmec_payable"]
        names = {"vat_on_imports": "vat_deferred"}
        month = [kpis.get(f"{names.get(m, m)}_month_mxn") for m in metrics]
        ytd = [kpis.get(f"{names.get(m, m)}_ytd_mxn") for m in metrics]
    from immex_nb.text import has

    concept = [
        t(f"annex.saving.{m}", lang) if has(f"annex.saving.{m}") else str(m) for m in metrics
    ]
    return pd.DataFrame(
        {
            "concepto": concept,
            "month_mxn": pd.to_numeric(pd.Series(month), errors="coerce").to_numpy(),
            "ytd_mxn": pd.to_numeric(pd.Series(ytd), errors="coerce").to_numpy(),
        }
    )


def _anexo30(anexo30) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    if anexo30 is None:
        return None, None
    if isinstance(anexo30, Mapping):
        return anexo30.get("saldos"), anexo30.get("descargos")
    if hasattr(anexo30, "saldos") and hasattr(anexo30, "descargos"):
        return anexo30.saldos, anexo30.descargos
    descargos, saldos = anexo30  # (descargos, saldos), as immex_nb.anexo30 returns them
    return saldos, descargos


def _month(frame: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if frame is None or "date" not in frame.columns:
        return pd.DataFrame()
    d = pd.to_datetime(frame["date"])
    return frame.loc[(d >= start) & (d <= end)]


def report_anexo30(data) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``(descargos, saldos)`` of the Anexo 30 worksheet for a report's period,
    from the report's own two discharges (as of the previous month's last day
    and the period's), or ``None`` when the report compares with another month."""
    from immex_nb.anexo30 import anexo30
    from immex_nb.dates import Period

    period = Period.parse(str(data.period))
    if str(period.previous) != str(getattr(data, "previous_period", "")):
        return None
    return anexo30(data.previous.result, data.current.result, period)


def _anexo30_words(frame: pd.DataFrame | None, lang: str) -> pd.DataFrame | None:
    """A blank fracción shown as "(sin fracción)", as on the Anexo 30 worksheet."""
    if frame is None or "fraccion" not in frame.columns or frame.empty:
        return frame
    blank = frame["fraccion"].isna() | (frame["fraccion"].astype(str).str.strip() == "")
    if not blank.any():
        return frame
    out = frame.copy()
    out["fraccion"] = (
        out["fraccion"].astype(object).where(~blank, t("anexo30.fraccion.blank", lang))
    )
    return out


def _summary(data, lang: str) -> pd.DataFrame | None:
    headline = getattr(data, "headline", None) or []
    if not headline:
        return None
    rows = []
    for h in headline:
        unit = h.get("unit", "")
        label = str(h.get("label", h.get("key", "")))
        if unit and unit != "count" and unit not in label:
            label = f"{label} {unit}"
        rows.append((label, h.get("value"), h.get("previous")))
    return pd.DataFrame(
        rows,
        columns=[
            t("annex.index.figure", lang),
            str(data.period),
            str(getattr(data, "previous_period", "")),
        ],
    )


def annex_sheets(data, *, lang: str | None = None, anexo30=None) -> list[Sheet]:
    """The sheets of the Anexo 24 workbook for a report's data
    (:class:`immex_nb.report.sections.ReportData`), in order."""
    from immex_nb.dates import Period

    lang = check_lang(lang or getattr(data, "language", None) or DEFAULT_LANG)
    cur = data.current
    result = cur.result
    period = Period.parse(str(data.period))
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    uom = _uom_by_line(result.balances)
    alloc = result.allocations
    if len(alloc):
        d = pd.to_datetime(alloc["export_date"])
        alloc = alloc.loc[(d >= start) & (d <= end)]
    from immex_nb.load import rejects_in

    ledger = data.ledger
    frames = {
        "saldos": _saldos(cur.aged, lang),
        "importaciones": _sorted(
            _month(getattr(ledger, "imports", None), start, end), ["date", "pedimento", "line"]
        ),
        "exportaciones": _sorted(
            _month(getattr(ledger, "exports", None), start, end), ["date", "pedimento", "line"]
        ),
        "descargos": _descargos(alloc, uom, lang),
        "vencimientos": _vencimientos(cur.aged, lang),
        "faltantes": _faltantes(result.shortfalls, data.ledger.imports, lang),
        "rechazos": rejects_in(ledger.rejects, lang, getattr(ledger, "claves", None)).reset_index(
            drop=True
        ),
        "exposicion": _exposicion(cur.exposure, uom, lang),
        "ahorro": _ahorro(
            getattr(data, "tables", {}).get("Savings"), getattr(data, "kpis", {}), lang
        ),
    }
    frames["exposicion_calculo"] = frames["exposicion"]
    saldos30, descargos30 = _anexo30(anexo30)
    if saldos30 is not None:
        frames["anexo30_saldos"] = _anexo30_words(saldos30, lang)
    if descargos30 is not None:
        frames["anexo30_descargos"] = _anexo30_words(descargos30, lang)
    values = {"period": str(data.period)}
    sheets = []
    for key in SHEETS:
        if key not in frames:
            continue
        frame, kinds = reader_frame(key, frames[key], lang)
        sheets.append(
            Sheet(
                key=key,
                title=sheet_title(key, lang),
                frame=frame,
                description=t(f"annex.about.{key}", lang, **values),
                kinds=kinds,
                empty_note=t(f"annex.empty.{key}", lang, **values),
                month=key in MONTH_SHEETS,
            )
        )
    return sheets


def write_report_annex(
    data,
    path: str | os.PathLike,
    *,
    lang: str | None = None,
    anexo30=None,
    max_rows: int = MAX_ROWS,
) -> Written:
    """Write the Anexo 24 workbook of a report to ``path`` (atomically).

    ``data`` is the report's :class:`~immex_nb.report.sections.ReportData`;
    ``lang`` defaults to the report's language; ``anexo30`` (optional) is the
    pair ``(descargos, saldos)`` of :mod:`immex_nb.anexo30` (or a mapping with
    those keys) and adds the two Anexo 30 sheets.  A sheet longer than
    ``max_rows`` (the month's discharges: Excel's row limit) keeps its first rows; the whole table is written beside the
    workbook as ``<stem>_<sheet>.csv`` (headers as in the sheet)."""
    lang = check_lang(lang or getattr(data, "language", None) or DEFAULT_LANG)
    target = Path(path)
    sheets = annex_sheets(data, lang=lang, anexo30=anexo30)
    settings = getattr(data, "settings", None)
    about: dict[str, object] = {t("annex.about_client", lang): data.client_name}
    for attr, key in (("legal_name", "legal_name"), ("rfc", "rfc"), ("immex_program", "immex")):
        value = getattr(settings, attr, None)
        if value:
            about[t(f"annex.about_{key}", lang)] = str(value)
    about[t("annex.about_period", lang)] = str(data.period)
    about[t("annex.about_as_of", lang)] = pd.Timestamp(data.as_of).strftime("%Y-%m-%d")
    about[t("annex.about_previous", lang)] = str(getattr(data, "previous_period", ""))

    def full_table(sh: Sheet) -> Path:
        return _write_full_csv(sh.frame, target.with_name(f"{target.stem}_{sh.key}.csv"))

    names, rows, full = _write_book(
        sheets,
        target,
        lang=lang,
        title=t("annex.title", lang),
        about=about,
        summary=_summary(data, lang),
        max_rows=max_rows,
        full_table=full_table,
    )
    return Written(target, names, rows, full)
