"""Finding a client's tables on disk and reading them as plain text.

A client folder holds the canonical tables either as CSV files or as sheets
of an Excel workbook, in whatever form the client's system exported them::

    data/acme/imports.csv     UTF-8 (with or without BOM) or Windows-1252,
    data/acme/exports.csv     comma or semicolon delimited
    data/acme/client.xlsx     sheets "Imports", "exports", "BOM" (any case)

This module only *finds* and *reads*: every cell comes back as text
(``"00123"`` stays ``"00123"``; an Excel date cell becomes ``"2024-03-05"``),
one :class:`RawTable` per canonical table, with the spreadsheet row number of
every data row (header = row 1).  Turning text into typed columns, and
rejecting the rows that do not parse, is :mod:`immex_nb.load`'s job.

A file that cannot be read at all raises :class:`~immex_nb.errors.ImmexError`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from immex_nb.errors import ImmexError

#: encodings tried in order: Excel's "CSV UTF-8" (with BOM), plain UTF-8, then
#: Windows-1252, which is what Excel writes for "CSV (delimited)" on Windows.
ENCODINGS = ("utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class Source:
    """Where one canonical table comes from."""

    table: str
    path: Path
    sheet: str | None = None  # None: a CSV file

    @property
    def label(self) -> str:
        """The name rejects use: ``imports.csv`` or ``client.xlsx:imports``."""
        return self.path.name if self.sheet is None else f"{self.path.name}:{self.sheet}"


@dataclass(frozen=True)
class RawTable:
    """A table as text: header cells, data rows (padded to the header's width)
    and each data row's spreadsheet row number."""

    source: Source
    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    widths: list[int]  # position of each row's last cell that holds a value (for rows
    # longer than the header; a value beyond the header belongs to no column)
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
    """Read ``source`` as text rows (CSV or workbook sheet)."""
    if source.sheet is None:
        records, decimal_comma = _read_csv_records(source.path)
    else:
        records, decimal_comma = _read_sheet_records(source.path, source.sheet), False
    return _to_raw_table(source, records, decimal_comma)


def decode_bytes(data: bytes, name: str) -> str:
    """UTF-8 (BOM or not), else Windows-1252; anything else is unreadable."""
    if b"\x00" in data:
        raise ImmexError(f"{name}: not a text file (is it a spreadsheet saved with a .csv name?)")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImmexError(f"{name}: cannot read this file as text; save it as CSV UTF-8 or Windows-1252")


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: whichever of ``,`` ``;`` TAB occurs most
    (outside quotes); comma when none does."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv_records(path: Path) -> tuple[list[list[str]], bool]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImmexError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    text = decode_bytes(data, path.name)
    delimiter = sniff_delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ImmexError(f"{path.name}: not a valid CSV file ({exc})") from None
    return records, delimiter == ";"


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


def _to_raw_table(source: Source, records: list[list[str]], decimal_comma: bool) -> RawTable:
    """Split records into header and data rows, keeping spreadsheet row numbers.

    Rows before the header that are completely empty are skipped (the header
    is the first non-empty row); empty rows after the last data row are not
    rows at all (Excel often reports formatted but empty rows at the end).
    """
    numbered = list(enumerate(records, start=1))
    first = _first_non_empty(numbered)
    numbered = [(n, r) for n, r in numbered if n >= first]
    while numbered and not _non_empty(numbered[-1][1]):
        numbered.pop()
    if not numbered:
        raise ImmexError(f"{source.label}: the table is empty (no header row)")
    (_, header), body = numbered[0], numbered[1:]
    header = [h.strip() for h in header]
    while header and not header[-1]:  # trailing delimiters / unused Excel columns
        header.pop()
    width = len(header)
    rows, widths = [], []
    for _, r in body:
        widths.append(_last_non_empty(r) if len(r) > width else len(r))
        rows.append((r + [""] * width)[:width])
    return RawTable(source, header, rows, [n for n, _ in body], widths, decimal_comma)


def _non_empty(row: list[str]) -> bool:
    return any(c.strip() for c in row)


def _first_non_empty(numbered: list[tuple[int, list[str]]]) -> int:
    return next((n for n, r in numbered if _non_empty(r)), 0)


def _last_non_empty(row: list[str]) -> int:
    """1-based position of the last non-empty cell (0 for an empty row)."""
    for i in range(len(row), 0, -1):
        if row[i - 1].strip():
            return i
    return 0
