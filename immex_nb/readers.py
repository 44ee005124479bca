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
:mod:`csv` itself, as a small file would.  A big file is memory-mapped, not
copied; a UTF-8 file is checked as UTF-8 by pyarrow without being decoded;
and the cells come back as pyarrow text that later steps work on a whole
column at a time (:func:`text_array`, :func:`blank_cells`; only cells whose
first or last byte could be whitespace are stripped) — so that a client
with a million import lines reads in about a second (``bench/bench_load.py``).

Two faults of hand-edited files are read line by line (docs/rules/validation.md):

* **encodings are decided per line**: a file that is not UTF-8 as a whole is
  decoded one physical line at a time, UTF-8 where the line is valid UTF-8
  and Windows-1252 where it is not, so one stray Windows-1252 byte never
  re-decodes the rest of a UTF-8 file (``RawTable.fallback_lines`` counts the
  lines that needed Windows-1252);
* **a quote that never closes cannot swallow lines**: a record that spans
  several physical lines is a quoted cell with line breaks, which Excel
  writes; but when it looks like an opening quote that was never closed (the
  file ends inside it, a quote closes and is followed by text, the record has
  more cells than the header, or a line inside it is a whole row by itself),
  the line where the quote opened is read on its own (``RawTable.unclosed``
  names it, and :mod:`immex_nb.load` rejects it) and reading starts afresh on
  the next line, so every line it had absorbed is read as its own row and the
  rows below keep their numbers.

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
    hidden: bool = False  # a workbook sheet hidden in Excel

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

    @property
    def description(self) -> str:
        """Where the table was read, for people: ``imports.csv``, or
        ``client.xlsx, sheet 'Imports'`` (``… (hidden sheet)`` for a sheet
        Excel hides)."""
        if self.sheet is None:
            return self.path.name
        hidden = " (hidden sheet)" if self.hidden else ""
        return f"{self.path.name}, sheet '{self.sheet}'{hidden}"


@dataclass(frozen=True)
class RawTable:
    """A table as text: the header cells, and the data rows as one text column
    per header cell (columns ``0 … len(header) − 1``, cells stripped, short
    rows padded with ``""``) indexed by spreadsheet row number (``row``).

    ``overflow`` lists the rows holding a value to the right of the header's
    last cell (such a value belongs to no column): row number → 1-based
    position of the row's last cell that holds a value.  ``unclosed`` lists
    the rows where a quote opens and never closes (read on their own, see the
    module's docstring): row number → 1-based position of the cell the quote
    opens.  ``fallback_lines`` counts the physical lines decoded as
    Windows-1252 in a file that is not UTF-8 throughout.
    """

    source: Source
    header: list[str]
    cells: pd.DataFrame
    overflow: pd.Series
    decimal_comma: bool = False  # a semicolon CSV: "1234,5" means 1234.5
    unclosed: pd.Series | None = None
    fallback_lines: int = 0


# ---------------------------------------------------------------------------
# finding the files


def find_sources(folder: Path, tables: list[str]) -> dict[str, Source]:
    """Map each table name found in ``folder`` to its :class:`Source`.

    ``imports.csv`` (any case) or a sheet named ``imports`` in any workbook;
    a workbook named ``imports.xlsx`` without such a sheet gives its first
    visible sheet.  The same table offered twice is an error naming both
    places, and so is a workbook with two sheets that could be one table
    (``imports`` and `` Imports``, or a hidden ``imports`` sheet beside the
    visible first sheet of ``imports.xlsx``): a hidden sheet never wins over a
    visible one unnoticed.
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
    sheets = _sheet_states(path)
    named_tables = {n.strip().lower() for n, _ in sheets} & set(tables)
    sources = []
    for table in tables:
        named = [(n, h) for n, h in sheets if n.strip().lower() == table]
        candidates = list(named)
        if (
            path.stem.lower() == table
            and named_tables <= {table}
            and not any(not hidden for _, hidden in named)
        ):
            # imports.xlsx without sheets named after tables: its first visible sheet;
            # a hidden "imports" sheet competes with that sheet rather than winning
            visible = [(n, h) for n, h in sheets if not h]
            first = visible[0] if visible else (None if named else sheets[0] if sheets else None)
            if first is not None and first not in candidates:
                candidates.append(first)
        if len(candidates) > 1:
            shown = ", ".join(f"'{n}'" + (" (hidden)" if h else "") for n, h in candidates)
            raise ImmexError(
                f"{path.name}: sheets {shown} could each be the '{table}' table; "
                "keep one (delete or rename the others)"
            )
        if candidates:
            name, hidden = candidates[0]
            sources.append(Source(table, path, name, hidden))
    return sources


def _open_workbook(path: Path):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip, XML or format errors: the file is unusable
        raise ImmexError(
            f"{path.name}: cannot read this Excel workbook ({type(exc).__name__}: {exc})"
        ) from None


def _sheet_states(path: Path) -> list[tuple[str, bool]]:
    """The workbook's sheets in order: ``(name, hidden)`` (Excel's hidden and
    very hidden sheets alike)."""
    wb = _open_workbook(path)
    try:
        return [(ws.title, ws.sheet_state != "visible") for ws in wb.worksheets]
    finally:
        wb.close()


# ---------------------------------------------------------------------------
# reading one table as text


def read_raw(source: Source) -> RawTable:
    """Read ``source`` as text (CSV or workbook sheet)."""
    if source.sheet is None:
        csv_text = _read_csv_frame(source.path)
        return _to_raw_table(
            source,
            csv_text.frame,
            csv_text.decimal_comma,
            unclosed=csv_text.unclosed,
            fallback_lines=csv_text.fallback_lines,
        )
    records = _read_sheet_records(source.path, source.sheet)
    return _to_raw_table(source, _records_frame(records), False)


def decode_text(data: bytes, name: str) -> tuple[str, int]:
    """The text of a CSV file, and how many of its lines were Windows-1252.

    UTF-8 throughout (a BOM is dropped) is the common case and is decoded at
    once; otherwise each physical line is decoded as UTF-8 if it is valid
    UTF-8, else as Windows-1252 (as Excel writes "CSV (delimited)"), so a stray
    Windows-1252 byte changes only its own line.  A line that is neither (a
    byte Windows-1252 leaves undefined) makes the file unreadable.
    """
    if b"\x00" in data:
        raise ImmexError(f"{name}: not a text file (is it a spreadsheet saved with a .csv name?)")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        pass
    parts, fallback, start = [], 0, 0
    while start < len(data):
        # blocks of whole lines: a valid block decodes at once, a block with a
        # bad byte line by line
        end = _block_end(data, start)
        block = data[start:end]
        try:
            parts.append(block.decode("utf-8"))
        except UnicodeDecodeError:
            text, bad = _decode_block(block, name, data, start)
            parts.append(text)
            fallback += bad
        start = end
    return "".join(parts), fallback


def _decode_block(block: bytes, name: str, data: bytes, start: int) -> tuple[str, int]:
    """A block of whole lines that is not UTF-8 throughout, decoded line by line.
    Windows-1252 text (Excel's "CSV (delimited)") rarely holds a byte sequence
    that UTF-8 could read (a lead byte followed by a continuation byte); a
    block without any is Windows-1252 on every line that is not ASCII, and is
    decoded at once."""
    codes = np.frombuffer(block, dtype=np.uint8)
    lead = (codes[:-1] >= 0xC2) & (codes[:-1] <= 0xF4)  # starts a UTF-8 character …
    continued = (codes[1:] >= 0x80) & (codes[1:] <= 0xBF)  # … that goes on
    if not (lead & continued).any():
        try:
            text = block.decode("cp1252")
        except UnicodeDecodeError:
            return _decode_each_line(block, name, data, start)
        return text, _lines_not_ascii(codes)
    return _decode_each_line(block, name, data, start)


def _lines_not_ascii(codes: np.ndarray) -> int:
    """How many lines of a block (its bytes) hold a byte beyond ASCII."""
    high = np.flatnonzero(codes >= 0x80)
    if not len(high):
        return 0
    ends = codes == 10
    ends[:-1] |= (codes[:-1] == 13) & (codes[1:] != 10)  # a lone CR ends a line too
    line = np.searchsorted(np.flatnonzero(ends), high)  # the line of each such byte
    return 1 + int(np.count_nonzero(np.diff(line)))


def _decode_each_line(block: bytes, name: str, data: bytes, start: int) -> tuple[str, int]:
    """A block of whole lines, each decoded as UTF-8 if it is valid UTF-8, else
    as Windows-1252; and how many were Windows-1252."""
    parts, fallback = [], 0
    for offset, line in enumerate(block.splitlines(keepends=True)):
        try:
            parts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                parts.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                number = _physical_lines(data[:start]) + 1 + offset  # the block starts a line
                raise ImmexError(
                    f"{name}: cannot read line {number} as text; "
                    "save the file as CSV UTF-8 or Windows-1252"
                ) from None
            fallback += 1
    return "".join(parts), fallback


#: bytes per block tried as UTF-8 at once by :func:`decode_text`
DECODE_BLOCK = 1 << 16


def _block_end(data: bytes, start: int) -> int:
    """The end of a block of whole lines from ``start`` (about
    :data:`DECODE_BLOCK` bytes; a longer line is one block)."""
    end = start + DECODE_BLOCK
    if end >= len(data):
        return len(data)
    cut = data.rfind(b"\n", start, end)
    if cut < 0:
        cut = data.find(b"\n", end)
        if cut < 0:
            return len(data)
    return cut + 1


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: whichever of ``,`` ``;`` TAB occurs most
    (outside quotes); comma when none does."""
    return _line_delimiter(_first_line(text))


def _line_delimiter(header: str) -> str:
    """The delimiter of a header line (see :func:`sniff_delimiter`)."""
    counts = {d: 0 for d in DELIMITERS}
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _first_line(text: str | bytes) -> str:
    """The first line of ``text`` (as ``str.splitlines`` splits it) that is not
    blank, or ``""``; looks at a growing prefix rather than splitting a whole
    big file.  ``text`` may also be valid UTF-8 bytes, decoded a prefix at a time."""
    size = 1 << 16
    while True:
        whole = size >= len(text)
        prefix = text[:size]
        if isinstance(prefix, bytes):  # a character cut at the end falls in the cut line
            prefix = prefix.decode("utf-8", errors="ignore")
        lines = prefix.splitlines()
        # the prefix's last line may be cut short, unless the prefix is the text
        complete = lines if whole else lines[:-1]
        line = next((line for line in complete if line.strip()), None)
        if line is not None:
            return line
        if whole:
            return ""
        size *= 4


@dataclass(frozen=True)
class _CsvText:
    frame: pd.DataFrame  # records as text columns 0 … n − 1, record k = row k + 1
    decimal_comma: bool
    unclosed: dict[int, int]  # record index → 1-based cell where a quote never closes
    fallback_lines: int


def _read_csv_frame(path: Path) -> _CsvText:
    """The CSV's records as text columns ``0 … n − 1`` (short records padded
    with ``""``), whether it is a semicolon CSV (decimal comma), the lines
    with a quote that never closes, and the lines decoded as Windows-1252."""
    data = _read_file(path)
    if not isinstance(data, bytes) and data[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8:
        data = data[:]  # as bytes, to drop the BOM
    utf8 = _valid_utf8(data)
    text: str | None = None
    if utf8 is not None:  # the common case: no need to decode the whole file
        fallback = 0
        header = _first_line(utf8)
    else:
        data = data if isinstance(data, bytes) else data[:]
        text, fallback = decode_text(data, path.name)
        if fallback == 0:
            utf8 = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
        else:
            utf8 = text.encode("utf-8")
        header = _first_line(text)
    delimiter = _line_delimiter(header)
    quoted = utf8.find(b'"') >= 0  # else no cell can hold a line break
    frame = None
    if not (quoted and _may_end_inside_a_quote(utf8, delimiter)):
        frame = _arrow_csv(utf8, delimiter, header.count(delimiter) + 1, quoted)
        if frame is None:
            frame = _pandas_csv(utf8, delimiter)
    unclosed: dict[int, int] = {}
    if frame is None:  # the fast readers refused the file: the csv module, line-aware
        if text is None:
            text = utf8[:].decode("utf-8")
        records, unclosed = split_records(_lines(text), delimiter, path.name)
        frame = _records_frame(records)
    elif quoted and len(frame) != _physical_lines(utf8):  # a quoted cell holds a line break
        frame, unclosed = _check_line_breaks(frame, utf8, delimiter, path.name)
    return _CsvText(frame, delimiter == ";", unclosed, fallback)


#: files at least this big are memory-mapped rather than read into memory
MAP_BYTES = 1 << 20


def _read_file(path: Path):
    """The file's bytes: ``bytes``, or for a big file a read-only memory map
    (no copy of the file, no fresh memory to fault in).  Both slice to
    ``bytes`` and offer ``find``; :func:`_count` counts in either."""
    import mmap

    try:
        with path.open("rb") as fh:
            if path.stat().st_size >= MAP_BYTES:
                try:
                    return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                except (OSError, ValueError):
                    pass  # not mappable: read it
            return fh.read()
    except OSError as exc:
        raise ImmexError(f"{path.name}: cannot read ({exc.strerror or exc})") from None


def _count(data, pattern: bytes) -> int:
    """``data.count(pattern)`` for ``bytes`` or a memory map (a pattern of one
    or two bytes), a block at a time."""
    if isinstance(data, bytes):
        return data.count(pattern)
    codes = np.frombuffer(data, dtype=np.uint8)
    step, total = 1 << 23, 0
    for start in range(0, len(codes), step):
        block = codes[start : start + step + len(pattern) - 1]
        hit = block == pattern[0]
        if len(pattern) == 2:
            hit = hit[:-1] & (block[1:] == pattern[1])
        total += int(np.count_nonzero(hit))
    return total


def _may_end_inside_a_quote(data: bytes, delimiter: str) -> bool:
    """Whether a quote may open a cell and never close before the file ends,
    which the fast readers do not read as the csv module does (nor notice):
    some cell opens with a quote and the file holds an odd number of quotes.
    (A file whose only quotes stand inside cells, as in ``Tubo 1/2"``, or
    whose quotes pair up, as Excel writes them, is read fast.)"""
    opens = data[:1] == b'"' or any(
        data.find(f'{before}"'.encode()) >= 0 for before in (delimiter, "\n", "\r")
    )
    return opens and _count(data, b'"') % 2 == 1


def _valid_utf8(data: bytes) -> bytes | None:
    """``data`` without its BOM when it is UTF-8 throughout and holds no NUL byte
    (checked by pyarrow without decoding the whole file into a ``str``);
    ``None`` otherwise (:func:`decode_text` then decides, line by line)."""
    import pyarrow as pa

    if data.find(b"\x00") >= 0:
        return None
    if data[: len(codecs.BOM_UTF8)] == codecs.BOM_UTF8:
        data = data[len(codecs.BOM_UTF8) :]
    if isinstance(data, bytes) and data.isascii():
        return data
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        whole.cast(pa.large_string())  # validates the UTF-8
    except pa.ArrowInvalid:
        return None
    return data


def _lines(text: str) -> list[str]:
    """The physical lines, with their ends, as the csv module splits them."""
    return list(io.StringIO(text, newline=""))


def _check_line_breaks(
    frame: pd.DataFrame, utf8: bytes, delimiter: str, name: str
) -> tuple[pd.DataFrame, dict[int, int]]:
    """Keep the fast readers' records unless one of those spanning several
    lines is a quote that never closes (:func:`_swallows`); from the first such
    record on, read again with :func:`split_records`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    breaks = np.zeros(len(frame), dtype=np.int64)  # line breaks inside each record
    missing = _physical_lines(utf8) - len(frame)  # lines not starting a record
    has_cr = utf8.find(b"\r") >= 0
    for column in frame.columns:
        if breaks.sum() >= missing:
            break  # every such line is found: no other cell holds a break
        cells = pa.array(frame[column], type=pa.string())
        count = pc.count_substring(cells, "\n")
        if has_cr:
            cr = pc.count_substring(cells, "\r")
            if pc.max(cr).as_py():
                count = pc.add(count, pc.subtract(cr, pc.count_substring(cells, "\r\n")))
        breaks += count.to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.arange(len(frame)) + np.cumsum(breaks) - breaks  # first line of each record
    ends = _line_ends(utf8)  # byte offset after each physical line

    def lines(first: int, last: int | None = None) -> list[str]:
        """Physical lines ``first`` (0-based) up to ``last`` (excluded)."""
        begin = int(ends[first - 1]) if first else 0
        stop = len(utf8) if last is None else int(ends[last - 1])
        return _lines(utf8[begin:stop].decode("utf-8"))

    if not len(frame) or starts[-1] + breaks[-1] + 1 != len(ends):  # not as expected
        records, unclosed = split_records(lines(0), delimiter, name)
        return _records_frame(records), unclosed
    header = next(
        (k for k in range(len(frame)) if _header_width(frame.iloc[k].tolist())), None
    )  # the first record with a value (nearly always the first)
    if header is None:
        return frame, {}
    width = _header_width(frame.iloc[header].tolist())
    for k in np.flatnonzero(breaks).tolist():
        if k <= header:
            continue
        first = int(starts[k])
        if _swallows(lines(first, first + int(breaks[k]) + 1), width, delimiter):
            records, unclosed = split_records(lines(first), delimiter, name, width)
            tail = _records_frame(records).set_axis(pd.RangeIndex(k, k + len(records)))
            whole = pd.concat([frame.iloc[:k], tail]).fillna("").astype("str")
            whole.columns = pd.RangeIndex(len(whole.columns))
            return whole, {k + i: cell for i, cell in unclosed.items()}
    return frame, {}


def _line_ends(data: bytes) -> np.ndarray:
    """The byte offset just after each physical line (its end included)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    if _count(data, b"\r") == _count(data, b"\r\n"):  # no lone CR: lines end at LF
        offsets = np.flatnonzero(codes == 10) + 1
    else:
        ends = codes == 10
        ends[:-1] |= (codes[:-1] == 13) & (codes[1:] != 10)  # a lone CR ends a line too
        ends[-1] |= codes[-1] == 13
        offsets = np.flatnonzero(ends) + 1
    if len(codes) and data[-1:] not in (b"\n", b"\r"):  # a last line without an end
        offsets = np.append(offsets, len(codes))
    return offsets


def _physical_lines(data: bytes) -> int:
    """Lines as the CSV readers count them (``\\n``, ``\\r\\n`` or a lone ``\\r``
    end a line; a last line without an end counts)."""
    if not data:
        return 0
    ends = _count(data, b"\n")
    if data.find(b"\r") >= 0:
        ends += _count(data, b"\r") - _count(data, b"\r\n")
    return ends + (data[-1:] not in (b"\n", b"\r"))


def split_records(
    lines: list[str], delimiter: str, name: str, width: int = 0
) -> tuple[list[list[str]], dict[int, int]]:
    """The records of ``lines`` (physical lines with their ends) as :mod:`csv`
    reads them, except that a record holding an opening quote that was never
    closed (:func:`_swallows`) gives way to the line where the quote opened,
    read on its own, and reading starts afresh on the next line.  ``width`` is
    the header's number of cells when the header is above ``lines``.

    Returns the records and, for each line read on its own because of an
    unclosed quote, its record index → the 1-based cell where the quote opens.
    """
    records: list[list[str]] = []
    unclosed: dict[int, int] = {}
    i, n = 0, len(lines)
    while i < n:
        reader = csv.reader((lines[k] for k in range(i, n)), delimiter=delimiter)
        done = 0  # lines of this reader already given as records
        restart = None
        try:
            for record in reader:
                start, end = i + done, i + reader.line_num
                done = reader.line_num
                if end - start > 1 and width and _swallows(lines[start:end], width, delimiter):
                    restart = start
                    break
                records.append(record)
                if not width:
                    width = _header_width(record)
        except csv.Error as exc:
            start = i + done
            if not (width and i + reader.line_num - start > 1):
                raise ImmexError(f"{name}: not a valid CSV file ({exc})") from None
            restart = start  # e.g. a cell over the csv module's size limit: a quote never closed
        if restart is None:
            break
        alone = _read_alone(lines[restart], delimiter)
        unclosed[len(records)] = len(alone)
        records.append(alone)
        i = restart + 1
    return records, unclosed


def _header_width(record: list[str]) -> int:
    cells = [c.strip(WHITESPACE) for c in record]
    while cells and not cells[-1]:
        cells.pop()
    return len(cells)


def _swallows(lines: list[str], width: int, delimiter: str) -> bool:
    """Whether a record spanning ``lines`` is an opening quote that was never
    closed rather than a quoted cell with line breaks: it does not read as
    well-formed CSV (the file ends inside the quote, or a closing quote is
    followed by text), it has more cells than the header, or a line inside it
    (not its last) is a whole row by itself."""
    try:
        records = list(
            csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter, strict=True)
        )
    except csv.Error:
        return True
    if len(records) != 1 or len(records[0]) > width:
        return True
    return any(len(_read_alone(line, delimiter)) >= max(width, 2) for line in lines[1:-1])


def _read_alone(line: str, delimiter: str) -> list[str]:
    """One physical line read as a record by itself (a quote left open ends
    with the line)."""
    body = line.rstrip("\r\n")
    try:
        return next(csv.reader([body], delimiter=delimiter), [])
    except csv.Error:  # a cell over the size limit: the line as one cell
        return [body]


#: bytes per block pyarrow's CSV reader splits at once (and per chunk of its columns)
CSV_BLOCK = 4 << 20
#: one thread: on a shared 2-core machine pyarrow's thread pool costs more (in system
#: time) than it gains
CSV_THREADS = False


def _arrow_csv(
    data: bytes, delimiter: str, n_fields: int, quoted: bool = True
) -> pd.DataFrame | None:
    """Split with pyarrow when every record has the first record's number of
    cells (else ``None``).  ``n_fields`` is a guess at that number (the
    delimiters of the header line); a file whose first record has more cells
    (a quoted line break in the header) gives ``None`` too.  ``quoted``: the
    file holds a quote, so a cell may hold a line break (without one pyarrow
    splits the file into blocks faster)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                autogenerate_column_names=True, block_size=CSV_BLOCK, use_threads=CSV_THREADS
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=quoted,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                # pandas keeps text as large_string: read it so, not cast afterwards
                column_types={f"f{i}": pa.large_string() for i in range(n_fields)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if any(not (pa.types.is_string(t) or pa.types.is_large_string(t)) for t in table.schema.types):
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
        if not len(array) or (pc.max(pc.binary_length(array)).as_py() or 0) <= limit:
            continue  # no cell has more bytes, so none has more characters
        if (pc.max(pc.utf8_length(array)).as_py() or 0) > limit:
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
    """``str.strip()`` of every cell, done on the whole column; only the cells
    that may begin or end with whitespace (:func:`_may_need_strip`) are
    stripped, the others are kept as they are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = text_array(column)
    maybe = _may_need_strip(array)
    if not maybe.any():
        return pd.Series(array, index=column.index, dtype="str", copy=False)
    whole = array.combine_chunks()
    stripped = pc.utf8_trim(whole.filter(pa.array(maybe)), WHITESPACE)
    whole = pc.replace_with_mask(whole, pa.array(maybe), stripped)
    return pd.Series(whole, index=column.index, dtype="str", copy=False)


def text_array(column: pd.Series):
    """The pyarrow ``large_string`` chunks behind a text column (no copy when
    the column is pandas' ``str`` dtype, as every column read here is)."""
    import pyarrow as pa

    array = pa.array(column.astype("str").array)
    if isinstance(array, pa.Array):
        array = pa.chunked_array([array])
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    return array


def blank_cells(column) -> np.ndarray:
    """Which cells of a text column (a ``str`` Series or its pyarrow array)
    are empty (or missing), read from the offsets without new arrays of
    lengths."""
    array = column if not isinstance(column, pd.Series) else text_array(column)
    parts = []
    for chunk in array.chunks:
        n = len(chunk)
        offsets = chunk.buffers()[1]
        if offsets is None or n == 0:
            parts.append(np.ones(n, dtype=bool))
            continue
        ends = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + n + 1]
        blank = ends[1:] == ends[:-1]
        if chunk.null_count:
            blank |= chunk.is_null().to_numpy(zero_copy_only=False)
        parts.append(blank)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _byte_table(position: int) -> np.ndarray:
    """Which bytes can be the first (``0``) or last (``-1``) byte of the UTF-8
    form of a :data:`WHITESPACE` character."""
    table = np.zeros(256, dtype=bool)
    for ch in WHITESPACE:
        table[ch.encode("utf-8")[position]] = True
    return table


_FIRST_BYTES = _byte_table(0)
_LAST_BYTES = _byte_table(-1)


def _may_need_strip(array) -> np.ndarray:
    """Per cell, whether its first or last byte could belong to a whitespace
    character (a superset of the cells ``str.strip()`` changes), read from the
    arrays' buffers without touching the other bytes.  An empty cell is
    judged by its neighbours' bytes: at worst it is stripped for nothing."""
    parts = []
    for chunk in array.chunks:
        _, offsets, data = chunk.buffers()
        n = len(chunk)
        if data is None or n == 0 or not data.size:
            parts.append(np.zeros(n, dtype=bool))
            continue
        ends = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + n + 1]
        codes = np.frombuffer(data, dtype=np.uint8)
        used = codes[ends[0] : ends[-1]]
        if not used.size or (used.min() > ord(" ") and used.max() < 0x80):
            parts.append(np.zeros(n, dtype=bool))  # no space, no control, no multibyte
            continue
        first = codes[np.minimum(ends[:-1], len(codes) - 1)]
        last = codes[ends[1:] - 1]  # an empty first cell at 0 reads the last byte: no harm
        parts.append(_FIRST_BYTES[first] | _LAST_BYTES[last])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _to_raw_table(
    source: Source,
    frame: pd.DataFrame,
    decimal_comma: bool,
    unclosed: dict[int, int] | None = None,
    fallback_lines: int = 0,
) -> RawTable:
    """Split records into header and data rows, keeping spreadsheet row numbers.

    ``frame`` holds the records in file order (record ``k`` is spreadsheet row
    ``k + 1``), one column per cell position.  Rows before the header that are
    completely empty are skipped (the header is the first non-empty row);
    empty rows after the last data row are not rows at all (Excel often
    reports formatted but empty rows at the end) — unless a quote opens there
    and never closes (``unclosed``): that line is a row, to be rejected.
    """
    stripped = [_strip(frame[c]) for c in frame.columns]
    blanks = [blank_cells(column) for column in stripped]
    filled = np.zeros(len(frame), dtype=bool)
    for blank in blanks:
        filled |= ~blank
    if not filled.any():
        raise ImmexError(f"{source.label}: the table is empty (no header row)")
    first = int(np.argmax(filled))
    last = len(filled) - 1 - int(np.argmax(filled[::-1]))
    # a line whose quote never closes is a row to reject, even when it reads blank
    last = max([last, *(k for k in (unclosed or {}) if first < k < len(filled))])
    header = [column.iat[first] for column in stripped]
    while header and not header[-1]:  # trailing delimiters / unused Excel columns
        header.pop()
    width = len(header)
    rows = pd.Index(np.arange(first + 2, last + 2, dtype=np.int64), name="row")
    body = [column.iloc[first + 1 : last + 1].set_axis(rows) for column in stripped[:width]]
    cells = pd.DataFrame(dict(enumerate(body)), index=rows, copy=False)
    used = np.zeros(len(rows), dtype=np.int64)
    for position, blank in enumerate(blanks[width:], start=width + 1):
        used[~blank[first + 1 : last + 1]] = position
    beyond = used > 0
    overflow = pd.Series(used[beyond], index=rows[beyond], dtype="int64")
    open_quotes = {k + 1: v for k, v in (unclosed or {}).items() if first < k <= last}
    unclosed_rows = pd.Series(
        list(open_quotes.values()),
        index=pd.Index(list(open_quotes), dtype=np.int64, name="row"),
        dtype="int64",
    )
    return RawTable(source, header, cells, overflow, decimal_comma, unclosed_rows, fallback_lines)
