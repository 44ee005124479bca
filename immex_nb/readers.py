"""Finding a client's tables on disk and reading them as plain text.

A client folder holds the canonical tables either as CSV files or as sheets
of an Excel workbook, in whatever form the client's system exported them::

    data/acme/imports.csv     UTF-8 (with or without BOM) or Windows-1252,
    data/acme/exports.csv     comma or semicolon delimited
    data/acme/client.xlsx     sheets "Imports", "exports", "BOM" (any case)

This module only *finds* and *reads*: every cell comes back as text with
the surrounding whitespace removed (``" 00123 "`` becomes ``"00123"``; an
Excel date cell becomes ``"2024-03-05"``), one :class:`RawTable` per
canonical table, holding one text column per header cell and the spreadsheet
row number of every data row (header = row 1).  Turning text into typed
columns, and rejecting the rows that do not parse, is :mod:`immex_nb.load`'s
job.

A big CSV (hundreds of thousands of lines) is split into cells by pyarrow's
CSV reader, which yields the same records as Python's :mod:`csv` module for a
file whose records all have as many cells as the first; a file with shorter
records (a blank line) goes through pandas' C reader, and anything either
refuses (longer records, an unterminated quote, a huge cell) through
:mod:`csv` itself, as a small file would.

A file that cannot be read at all raises :class:`~immex_nb.errors.ImmexError`.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError

#: encodings tried in order: Excel's "CSV UTF-8" (with BOM), plain UTF-8, then
#: Windows-1252, which is what Excel writes for "CSV (delimited)" on Windows.
ENCODINGS = ("utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
#: what Python's ``str.strip()`` removes (every character whose ``isspace()``
#: is true), spelled out so that a whole column can be stripped at once
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class Source:
    """Where one canonical table comes from."""

    table: str
    path: Path
    sheet: str | None = None  # None: a CSV file

    @property
    def label(self) -> str:
        """The name rejects use: ``imports.csv``, or ``client.xlsx:imports`` for a
        sheet named after its table (in the table's spelling, whatever the sheet's
        capitals), or ``imports.xlsx:Hoja1`` for the first sheet of a workbook
        named after its table."""
        if self.sheet is None:
            return self.path.name
        sheet = self.table if self.sheet.strip().lower() == self.table else self.sheet
        return f"{self.path.name}:{sheet}"


@dataclass(frozen=True)
class RawTable:
    """A table as text: the header cells, and the data rows as one text column
    per header cell (columns ``0 … len(header) − 1``, cells stripped, short
    rows padded with ``""``) indexed by spreadsheet row number (``row``).

    ``overflow`` lists the rows holding a value to the right of the header's
    last cell (such a value belongs to no column): row number → 1-based
    position of the row's last cell that holds a value.
    """

    source: Source
    header: list[str]
    cells: pd.DataFrame
    overflow: pd.Series
    decimal_comma: bool = False  # a semicolon CSV: "1234,5" means 1234.5


# ---------------------------------------------------------------------------
# finding the files


def find_sources(folder: Path, tables: list[str]) -> dict[str, Source]:
    """Map each table name found in ``folder`` to its :class:`Source`.

    ``imports.csv`` (any case) or a sheet named ``imports`` in any workbook;
    a workbook named ``imports.xlsx`` without such a sheet gives its first
    sheet.  The same table offered twice is an error naming both places.
    """
    found: dict[str, list[Source]] = {t: [] for t in tables}
    for path in _files(folder):
        suffix = path.suffix.lower()
        if suffix == ".csv" and path.stem.lower() in found:
            found[path.stem.lower()].append(Source(path.stem.lower(), path))
        elif suffix in WORKBOOK_SUFFIXES:
            for source in _workbook_sources(path, tables):
                found[source.table].append(source)
    result = {}
    for table, sources in found.items():
        if len(sources) > 1:
            places = " and ".join(s.label for s in sources)
            raise ImmexError(f"{folder}: table '{table}' is given twice ({places}); keep only one")
        if sources:
            result[table] = sources[0]
    return result


def list_files(folder: Path) -> list[str]:
    """File names in ``folder`` (for messages)."""
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _files(folder: Path) -> list[Path]:
    # "~$client.xlsx" is the lock file Excel leaves beside an open workbook
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("~$"))


def _workbook_sources(path: Path, tables: list[str]) -> list[Source]:
    names = _sheet_names(path)
    sources = [Source(n.strip().lower(), path, n) for n in names if n.strip().lower() in tables]
    stem = path.stem.lower()
    if not sources and stem in tables and names:
        sources = [Source(stem, path, names[0])]
    return sources


def _open_workbook(path: Path):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip, XML or format errors: the file is unusable
        raise ImmexError(
            f"{path.name}: cannot read this Excel workbook ({type(exc).__name__}: {exc})"
        ) from None


def _sheet_names(path: Path) -> list[str]:
    wb = _open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


# ---------------------------------------------------------------------------
# reading one table as text


def read_raw(source: Source) -> RawTable:
    """Read ``source`` as text (CSV or workbook sheet)."""
    if source.sheet is None:
        frame, decimal_comma = _read_csv_frame(source.path)
    else:
        records = _read_sheet_records(source.path, source.sheet)
        frame, decimal_comma = _records_frame(records), False
    return _to_raw_table(source, frame, decimal_comma)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (BOM or not), else Windows-1252; anything else is unreadable."""
    if b"\x00" in data:
        raise ImmexError(f"{name}: not a text file (is it a spreadsheet saved with a .csv name?)")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImmexError(f"{name}: cannot read this file as text; save it as CSV UTF-8 or Windows-1252")


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: whichever of ``,`` ``;`` TAB occurs most
    (outside quotes); comma when none does."""
    header = _first_line(text)
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_line(text: str) -> str:
    """The first line of ``text`` (as ``str.splitlines`` splits it) that is not
    blank, or ``""``; looks at a growing prefix rather than splitting a whole
    big file."""
    size = 1 << 16
    while True:
        whole = size >= len(text)
        lines = text[:size].splitlines()
        # the prefix's last line may be cut short, unless the prefix is the text
        complete = lines if whole else lines[:-1]
        line = next((line for line in complete if line.strip()), None)
        if line is not None:
            return line
        if whole:
            return ""
        size *= 4


def _read_csv_frame(path: Path) -> tuple[pd.DataFrame, bool]:
    """The CSV's records as text columns ``0 … n − 1`` (short records padded
    with ``""``), and whether it is a semicolon CSV (decimal comma)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImmexError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    text, encoding = _decode(data, path.name)
    delimiter = sniff_delimiter(text)
    if encoding == "utf-8-sig":
        utf8 = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    else:
        utf8 = text.encode("utf-8")
    frame = _arrow_csv(utf8, delimiter, _first_line(text).count(delimiter) + 1)
    if frame is None:
        frame = _pandas_csv(utf8, delimiter)
    if frame is None:
        try:
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise ImmexError(f"{path.name}: not a valid CSV file ({exc})") from None
        frame = _records_frame(records)
    return frame, delimiter == ";"


def _arrow_csv(data: bytes, delimiter: str, n_fields: int) -> pd.DataFrame | None:
    """Split with pyarrow when every record has the first record's number of
    cells (else ``None``).  ``n_fields`` is a guess at that number (the
    delimiters of the header line); a file whose first record has more cells
    (a quoted line break in the header) gives ``None`` too."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(n_fields)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    if len(data) > csv.field_size_limit() and not _within_field_limit(table.columns):
        return None
    return pd.DataFrame(
        {i: pd.Series(column, dtype="str") for i, column in enumerate(table.columns)},
        index=pd.RangeIndex(table.num_rows),
    )


def _pandas_csv(data: bytes, delimiter: str) -> pd.DataFrame | None:
    """Split with pandas' C reader, which pads records shorter than the first
    (a blank line); ``None`` when it refuses the file."""
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quotechar='"',
            doublequote=True,
            engine="c",
            encoding="utf-8",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    frame.columns = pd.RangeIndex(len(frame.columns))
    frame = frame.fillna("").astype("str")
    if len(data) > csv.field_size_limit() and not _within_field_limit(
        frame[c] for c in frame.columns
    ):
        return None
    return frame


def _within_field_limit(columns) -> bool:
    """Python's csv module refuses a cell longer than ``csv.field_size_limit()``;
    so does this reader (the slow path then raises the same error)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    limit = csv.field_size_limit()
    for column in columns:
        array = column if isinstance(column, pa.ChunkedArray) else pa.array(column)
        if len(array) and (pc.max(pc.utf8_length(array)).as_py() or 0) > limit:
            return False
    return True


def _read_sheet_records(path: Path, sheet: str) -> list[list[str]]:
    wb = _open_workbook(path)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()  # some writers store a wrong sheet size; read to the end
        return [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def cell_text(value: object) -> str:
    """An Excel cell value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _records_frame(records: list[list[str]]) -> pd.DataFrame:
    """Records of any lengths as text columns ``0 … n − 1`` (padded with ``""``)."""
    width = max((len(r) for r in records), default=0)
    columns = {i: [r[i] if i < len(r) else "" for r in records] for i in range(width)}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(records)), dtype="str")


def _strip(column: pd.Series) -> pd.Series:
    """``str.strip()`` of every cell, done on the whole column."""
    return column.astype("str").str.strip(WHITESPACE)


def _to_raw_table(source: Source, frame: pd.DataFrame, decimal_comma: bool) -> RawTable:
    """Split records into header and data rows, keeping spreadsheet row numbers.

    ``frame`` holds the records in file order (record ``k`` is spreadsheet row
    ``k + 1``), one column per cell position.  Rows before the header that are
    completely empty are skipped (the header is the first non-empty row);
    empty rows after the last data row are not rows at all (Excel often
    reports formatted but empty rows at the end).
    """
    stripped = [_strip(frame[c]) for c in frame.columns]
    filled = np.zeros(len(frame), dtype=bool)
    for column in stripped:
        filled |= (column != "").to_numpy(dtype=bool)
    if not filled.any():
        raise ImmexError(f"{source.label}: the table is empty (no header row)")
    first = int(np.argmax(filled))
    last = len(filled) - 1 - int(np.argmax(filled[::-1]))
    header = [column.iat[first] for column in stripped]
    while header and not header[-1]:  # trailing delimiters / unused Excel columns
        header.pop()
    width = len(header)
    rows = pd.Index(np.arange(first + 2, last + 2, dtype=np.int64), name="row")
    body = [column.iloc[first + 1 : last + 1].set_axis(rows) for column in stripped]
    cells = pd.DataFrame(dict(enumerate(body[:width])), index=rows)
    used = np.zeros(len(rows), dtype=np.int64)
    for position, column in enumerate(body[width:], start=width + 1):
        used[(column != "").to_numpy(dtype=bool)] = position
    beyond = used > 0
    overflow = pd.Series(used[beyond], index=rows[beyond], dtype="int64")
    return RawTable(source, header, cells, overflow, decimal_comma)
