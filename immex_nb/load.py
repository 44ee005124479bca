"""Load a client folder into validated canonical tables, rejecting bad rows.

``load("data/acme")`` reads ``imports``, ``exports`` and (optionally)
``bom`` — CSV files or workbook sheets, Spanish or English headers — maps
the headers onto the canonical names of :mod:`immex_nb.schema`, parses every
cell, and checks the rules of docs/rules/validation.md.  A row that breaks a rule is not
loaded; it becomes one or more rows of ``rejects`` (one per problem) naming
the file, the row number a spreadsheet shows, the column, the value and the
reason.  Nothing is dropped silently: per table, rows read = rows loaded +
rows rejected (:meth:`Ledger.summary`).

A worked example — ``imports.csv`` as a client sends it (semicolon,
Windows-1252, decimal comma)::

    row 1  Pedimento;Partida;Clave;Fecha;Número Parte;Cantidad;Valor USD;Valor MXN
    row 2  24 47 3420 4001234;1;IN;05/03/2024;00123;1500,5;100;1700
    row 3  24 47 3420 4001234;2;IN;2024-03-05;00124;-5;10;170
    row 4  24 47 3420 4001234;1;IN;05/03/2024;00125;2;10;170
    row 5  2447342;3;IN;31/02/2024;00126;2;10;170

loads row 2 (``part_number`` ``"00123"``, ``quantity`` 1500.5, ``date``
2024-03-05, ``material_type`` defaulted to ``"MP"``) and rejects::

    imports.csv  row 3  quantity   -5          quantity must be greater than 0, got -5
    imports.csv  row 4  line       1           duplicate (pedimento, line) … first on row 2
    imports.csv  row 5  pedimento  2447342     pedimento must have 15 digits …, got 7
    imports.csv  row 5  date       31/02/2024  date is not a valid date …

so ``read`` 4 = ``loaded`` 1 + ``rejected`` 3 (row 5 counts once).

The steps, one function each: find and read the files as text
(:mod:`immex_nb.readers`), match headers, reject empty rows, values beyond
the header and lines whose quote never closes, parse cells
(missing or unparseable values), check values (:func:`value_checks`:
quantity > 0, values ≥ 0, quantities within what the discharge can count,
…), check BOM validity ranges, check duplicate keys, and keep the rows
without problems with their canonical dtypes.  A file that cannot be used
at all raises :class:`~immex_nb.errors.ImmexError`.

Every step works on whole columns, as vector operations over the pyarrow
text the reader gives, so that a client with a million import lines loads in
a few seconds (``bench/bench_load.py``): the plain forms (``2024-03-05``,
``05/03/2024``, ``1500.5``, ``24 47 3420 4001234``) are parsed all at once
and any other text by the one-cell parser (:func:`parse_cell`), once per
distinct text, whose results and messages the plain forms share.  A column
that repeats its texts (dates, pedimentos) is parsed a distinct text at a
time; rules are numpy masks over whole columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.claves import SIDES, Claves, default_claves, normalize_claves
from immex_nb.errors import ImmexError
from immex_nb.readers import (
    RawTable,
    Source,
    blank_cells,
    find_sources,
    list_files,
    read_raw,
    text_array,
)
from immex_nb.schema import (
    MATERIAL_TYPES,
    REJECT_COLUMNS,
    TABLES,
    Column,
    Table,
    canonical_header,
    normalize_pedimento,
)
from immex_nb.settings import SETTINGS_FILE, ClientSettings, read_settings
from immex_nb.text import reword_column, t

#: pandas dtype of each schema column kind once loaded
DTYPES = {
    "pedimento": "str",
    "str": "str",
    "material": "str",
    "int": "int64",
    "float": "float64",
    "date": "datetime64[ns]",
    "bool": "boolean",
}
TRUE_WORDS = ("true", "1", "si", "yes", "y", "x", "verdadero", "s")
FALSE_WORDS = ("false", "0", "no", "n", "falso")
#: dtype of each kind while rows are checked (a whole number that failed to
#: parse needs a missing value); :func:`finalize` then gives :data:`DTYPES`
WORKING_DTYPES = {**DTYPES, "int": "Int64"}


def reason(key: str, **fields) -> str:
    """A reject reason: the English of ``reject.<key>`` (immex_nb/data/text/rejects.csv,
    where its Spanish sits beside it; :func:`rejects_in` words a table of them)."""
    return t(f"reject.{key}", "en", **fields)


def rejects_in(rejects: pd.DataFrame, lang: str, claves: Claves | None = None) -> pd.DataFrame:
    """``rejects`` with each ``reason`` said in ``lang`` (its fields, e.g. the
    cell quoted, as they are; a clave's meaning from ``claves``, default the
    built-in table).  rejects.csv keeps the English."""
    if lang == "en" or rejects is None or not len(rejects):
        return rejects
    table = (claves or default_claves()).table
    sides = {side: t(f"reject_side.{side}", lang) for side in SIDES}
    values = {
        "meaning": {  # a client's own claves.csv may leave a meaning blank
            en: said
            for en, said in zip(table["meaning_en"], table[f"meaning_{lang}"], strict=True)
            if isinstance(en, str) and isinstance(said, str) and said
        },
        "side": sides,
        "belongs": sides,
    }
    return rejects.assign(reason=reword_column(rejects["reason"], lang, values=values))


EMPTY_ROW = reason("empty_row")
SUMMARY_COLUMNS = ["table", "file", "read", "loaded", "rejected"]


@dataclass(frozen=True)
class Ledger:
    """A client's validated tables.

    ``imports``, ``exports`` and ``bom`` hold only the rows that passed every
    check, with the canonical columns (then any extra columns, as text);
    ``rejects`` lists every problem (``file, row, column, value, reason``).
    ``read`` counts the data rows read per table and ``files`` names where each
    table came from (the ``file`` of its rejects); ``read_from`` says it for
    people (``client.xlsx, sheet 'Imports'``, and whether the sheet is hidden);
    ``fallback_lines`` counts, per CSV table, the lines that were not UTF-8 and
    were read as Windows-1252 (docs/rules/validation.md).
    """

    imports: pd.DataFrame
    exports: pd.DataFrame
    bom: pd.DataFrame
    rejects: pd.DataFrame
    settings: ClientSettings
    folder: Path
    sources: list[Path]
    read: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    #: the claves table in force for this client (built-in + its claves.csv)
    claves: Claves | None = None
    read_from: dict[str, str] = field(default_factory=dict)
    fallback_lines: dict[str, int] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per table: ``table, file, read, loaded, rejected`` where
        ``rejected`` counts rows (a row with three problems counts once)."""
        rows = []
        for name in TABLES:
            file = self.files.get(name, "")
            rejected = (
                self.rejects.loc[self.rejects["file"] == file, "row"].nunique() if file else 0
            )
            loaded = len(getattr(self, name))
            rows.append([name, file, self.read.get(name, 0), loaded, int(rejected)])
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype(
            {"read": "int64", "loaded": "int64", "rejected": "int64"}
        )

    @property
    def clean(self) -> bool:
        return self.rejects.empty


# ---------------------------------------------------------------------------
# the whole folder


def load(folder: str | Path) -> Ledger:
    """Read and validate a client folder (docs/rules/tables.md, docs/rules/validation.md)."""
    folder = _check_folder(folder)
    sources = find_sources(folder, list(TABLES))
    _require_tables(folder, sources)
    settings = read_settings(folder)
    claves = Claves.load(folder)  # the client's claves.csv, if any, extends the table
    frames, rejects, read, files, read_from, fallback = {}, [], {}, {}, {}, {}
    for name, table in TABLES.items():
        if name in sources:
            raw = read_raw(sources[name])
            frames[name], table_rejects = load_table(raw, table, claves)
            rejects.append(table_rejects)
            read[name], files[name] = len(raw.cells), sources[name].label
            read_from[name], fallback[name] = sources[name].description, raw.fallback_lines
        else:
            frames[name], read[name] = empty_frame(table), 0
    used = list(dict.fromkeys(s.path for s in sources.values()))
    if (folder / SETTINGS_FILE).exists():
        used.append(folder / SETTINGS_FILE)  # settings change results: manifests hash them too
    used += [Path(f) for f in claves.files]  # so does a client's own claves table
    return Ledger(
        imports=frames["imports"],
        exports=frames["exports"],
        bom=frames["bom"],
        rejects=_concat_rejects(rejects),
        settings=settings,
        folder=folder,
        sources=used,
        read=read,
        files=files,
        claves=claves,
        read_from=read_from,
        fallback_lines=fallback,
    )


def _check_folder(folder: str | Path) -> Path:
    path = Path(folder)
    if not path.exists():
        raise ImmexError(f"{path}: client folder not found")
    if not path.is_dir():
        raise ImmexError(
            f"{path}: not a folder (give the client folder holding imports.csv, exports.csv)"
        )
    return path


def _require_tables(folder: Path, sources: dict[str, Source]) -> None:
    missing = [t.name for t in TABLES.values() if t.required_file and t.name not in sources]
    if missing:
        wanted = ", ".join(f"{m}.csv (or an '{m}' sheet in an .xlsx workbook)" for m in missing)
        raise ImmexError(
            f"{folder}: required file missing: {wanted}; files found: {list_files(folder)}"
        )


def empty_frame(table: Table) -> pd.DataFrame:
    """A table with no rows, with the canonical columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series(dtype=DTYPES[c.kind]) for c in table.columns})


# ---------------------------------------------------------------------------
# one table


def load_table(
    raw: RawTable, table: Table, claves: Claves | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed rows that passed every check, and the rejects of this table
    (``claves``: the client's claves table, default the built-in one)."""
    mapping = match_headers(raw, table)
    text = text_frame(raw, mapping)
    problems = Problems(raw.source.label, text)
    reject_empty_rows(text, problems)
    reject_overflow(raw, problems)
    reject_unclosed_quotes(raw, mapping, problems)
    filled = _without_flagged(text, problems)
    typed = parse_cells(filled, table, raw.decimal_comma, problems)
    check_values(typed, table, problems)
    if table.name == "bom":
        check_validity_ranges(typed, problems)
    if table.name in SIDES:
        check_claves(typed, table.name, problems, claves or default_claves())
    if table.key:
        check_duplicates(typed, table, problems)
    kept = _without_flagged(typed, problems)
    return finalize(kept, table), problems.frame(table)


def _without_flagged(frame: pd.DataFrame, problems: Problems) -> pd.DataFrame:
    """The rows of ``frame`` without a problem (``frame`` itself when none has one)."""
    flagged = problems.flagged(frame.index)
    return frame[~flagged] if flagged.any() else frame


def match_headers(raw: RawTable, table: Table) -> dict[int, str]:
    """Header position → column name: canonical names first, then the extra
    columns under their own header text.

    A header matches a column when its :func:`canonical_header` equals the
    column's name or one of its aliases.  Two headers for the same column
    (``fecha_entrada`` and ``fecha_pago``): the name, then the earlier alias,
    wins; the other is kept as an extra column.
    """
    keys = [canonical_header(h) for h in raw.header]
    mapping: dict[int, str] = {}
    for column in table.columns:
        accepted = [canonical_header(a) for a in (column.name, *column.aliases)]
        candidates = [
            (accepted.index(k), i) for i, k in enumerate(keys) if k in accepted and i not in mapping
        ]
        if candidates:
            mapping[min(candidates)[1]] = column.name
    _require_columns(raw, table, mapping)
    return _add_extra_columns(raw, mapping)


def _require_columns(raw: RawTable, table: Table, mapping: dict[int, str]) -> None:
    found = set(mapping.values())
    missing = [c for c in table.columns if c.required and c.name not in found]
    if not missing:
        return
    parts = [f"'{c.name}' (accepted: {', '.join((c.name, *c.aliases))})" for c in missing]
    noun = "column" if len(missing) == 1 else "columns"
    raise ImmexError(
        f"{raw.source.label}: required {noun} {'; '.join(parts)} not found; "
        f"columns found: {raw.header}"
    )


def _add_extra_columns(raw: RawTable, mapping: dict[int, str]) -> dict[int, str]:
    names = set(mapping.values())
    result = dict(mapping)
    for i, header in enumerate(raw.header):
        if i in mapping:
            continue
        name = header or f"column_{i + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base} ({n})", n + 1
        names.add(name)
        result[i] = name
    return dict(sorted(result.items()))


def text_frame(raw: RawTable, mapping: dict[int, str]) -> pd.DataFrame:
    """The cells as stripped text, columns renamed, indexed by spreadsheet row."""
    return raw.cells.rename(columns=mapping)


class Problems:
    """Collects reject rows for one table (``file, row, column, value, reason``).

    Problems arrive a column at a time (:meth:`add_many`); :meth:`frame` lists
    them by row, then column in the table's order, then in the order found.
    """

    def __init__(self, label: str, text: pd.DataFrame):
        self.label = label
        self.text = text
        self._parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []

    def add(self, row: int, column: str, reason: str, value: str | None = None) -> None:
        self.add_many([row], column, [reason], None if value is None else [value])

    def add_many(self, rows, column: str, reasons, values=None) -> None:
        """One problem on ``column`` for each of ``rows``: ``reasons`` is one text
        for all or one per row; ``values`` default to the rows' cells of
        ``column`` (``""`` when the table has no such column)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        if values is None:
            if column in self.text.columns:
                values = self.text[column].loc[rows].to_numpy(dtype=object)
            else:
                values = [""] * len(rows)
        if isinstance(reasons, str):
            reasons = [reasons] * len(rows)
        values = np.asarray([str(v) for v in values], dtype=object)
        self._parts.append((rows, column, values, np.asarray(reasons, dtype=object)))

    def flagged(self, index: pd.Index) -> np.ndarray:
        """Which rows of ``index`` have a problem."""
        if not self._parts:
            return np.zeros(len(index), dtype=bool)
        return index.isin(np.concatenate([part[0] for part in self._parts]))

    def rows(self) -> list[int]:
        if not self._parts:
            return []
        return np.unique(np.concatenate([part[0] for part in self._parts])).tolist()

    def frame(self, table: Table) -> pd.DataFrame:
        if not self._parts:
            return _reject_dtypes(pd.DataFrame(columns=REJECT_COLUMNS, dtype=object))
        order = {c: i for i, c in enumerate(table.names)}
        rows = np.concatenate([part[0] for part in self._parts])
        columns = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in self._parts])
        rank = np.concatenate(
            [np.full(len(p[0]), order.get(p[1], len(order))) for p in self._parts]
        )
        found = np.arange(len(rows))
        sort = np.lexsort((found, rank, rows))
        frame = pd.DataFrame(
            {
                "file": self.label,
                "row": rows[sort],
                "column": columns[sort],
                "value": np.concatenate([part[2] for part in self._parts])[sort],
                "reason": np.concatenate([part[3] for part in self._parts])[sort],
            },
            columns=REJECT_COLUMNS,
        )
        return _reject_dtypes(frame)


def reject_empty_rows(text: pd.DataFrame, problems: Problems) -> None:
    """A row whose every cell is empty is listed, never silently skipped."""
    empty = np.ones(len(text), dtype=bool)
    for name in text.columns:
        empty &= blank_cells(text[name])
    rows = text.index[empty]
    problems.add_many(rows, "", EMPTY_ROW, values=[""] * len(rows))


def reject_overflow(raw: RawTable, problems: Problems) -> None:
    """A value to the right of the last header cell belongs to no column."""
    width = len(raw.header)
    reasons = [
        reason("overflow", cell=cells_used, width=width) for cells_used in raw.overflow.tolist()
    ]
    problems.add_many(raw.overflow.index, "", reasons, values=[""] * len(reasons))


UNCLOSED_QUOTE = reason("unclosed_quote")


def reject_unclosed_quotes(raw: RawTable, mapping: dict[int, str], problems: Problems) -> None:
    """A line whose quote never closes is read on its own (so it cannot swallow
    the lines after it) and rejected, naming the cell where the quote opens."""
    if raw.unclosed is None or raw.unclosed.empty:
        return
    for row, position in raw.unclosed.items():
        column = mapping.get(int(position) - 1, "")
        value = None if column else ""
        problems.add(int(row), column, UNCLOSED_QUOTE, value)


# ---------------------------------------------------------------------------
# parsing cells


class _Invalid:
    """Marker for a cell that failed to parse, with the reason."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def parse_cells(
    text: pd.DataFrame, table: Table, decimal_comma: bool, problems: Problems
) -> pd.DataFrame:
    """Typed values per canonical column (absent optional columns get their
    default), in :data:`WORKING_DTYPES`; unparseable or missing required
    cells become problems (the cell holds a missing value, as does a blank
    optional cell without a default)."""
    typed = {}
    for column in table.columns:
        if column.name in text.columns:
            typed[column.name] = parse_column(text[column.name], column, decimal_comma, problems)
        else:
            typed[column.name] = pd.Series(
                default_value(column), index=text.index, dtype=WORKING_DTYPES[column.kind]
            )
    for name in text.columns:
        if name not in typed:
            typed[name] = text[name]
    return pd.DataFrame(typed, index=text.index, copy=False)


def parse_column(
    text: pd.Series, column: Column, decimal_comma: bool, problems: Problems
) -> pd.Series:
    """Parse a column and record its failures.

    The texts in the plain forms of :data:`FAST_PARSERS` are parsed all at
    once; the others (and the blanks) by :func:`parse_cell`, once per distinct
    text, which the plain forms agree with.  A column that repeats its texts
    (dates, pedimentos, yes/no) is parsed a distinct text at a time and spread
    to the rows; one that hardly does (quantities, values) cell by cell.
    """
    if column.kind == "pedimento" and _all_canonical_pedimentos(text):
        # the usual file: every cell already "YY AA PPPP NNNNNNN", its own value
        return pd.Series(text.array, index=text.index, name=column.name, copy=False)
    if column.kind != "str" and _repeats(text):
        codes, distinct = _factorize(text)
        values, failed, reasons = _parse_texts(distinct, column, decimal_comma)
        why = np.full(len(distinct), None, dtype=object)
        why[failed] = reasons
        values, failed = values.take(codes), failed[codes]
        reasons = why[codes[failed]]
    else:
        positional = text.reset_index(drop=True)
        values, failed, reasons = _parse_texts(positional, column, decimal_comma)
    if len(reasons):
        at = np.flatnonzero(failed)
        problems.add_many(
            text.index[at], column.name, reasons, text.iloc[at].to_numpy(dtype=object)
        )
    return pd.Series(values, index=text.index, name=column.name, copy=False)


#: a column is parsed a distinct text at a time when its first
#: :data:`REPEAT_SAMPLE` cells hold at most this share of distinct texts
REPEAT_SHARE = 0.25
REPEAT_SAMPLE = 20_000


def _repeats(text: pd.Series) -> bool:
    """Whether the column repeats its texts enough to parse each distinct text once."""
    import pyarrow.compute as pc

    if len(text) <= REPEAT_SAMPLE:
        return True
    sample = text_array(text).slice(0, REPEAT_SAMPLE)
    return pc.count_distinct(sample).as_py() <= REPEAT_SHARE * REPEAT_SAMPLE


def _factorize(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each cell's position among the distinct texts, and the distinct texts
    (in order of first appearance, with a fresh 0…k−1 index)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(text_array(text))
    chunks = encoded.chunks
    if not chunks:
        return np.zeros(0, dtype=np.intp), pd.Series([], dtype="str")
    # pyarrow gives every chunk the one dictionary of the whole column
    if any(not c.dictionary.equals(chunks[0].dictionary) for c in chunks[1:]):
        chunks = encoded.unify_dictionaries().chunks
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks])
    return codes.astype(np.intp, copy=False), pd.Series(chunks[0].dictionary, dtype="str")


def _factorize_any(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """:func:`_factorize` for a text column that may hold missing values
    (one more distinct value, last)."""
    missing = column.isna().to_numpy(dtype=bool)
    if not missing.any():
        return _factorize(column)
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    return codes, pd.Series(distinct, dtype="str")


def _parse_texts(
    texts: pd.Series, column: Column, decimal_comma: bool
) -> tuple[object, np.ndarray, np.ndarray]:
    """The value of each text (``texts`` has a 0…n−1 index) as an array of the
    column's working dtype, which texts failed, and the reason of each failure
    (in the order of the texts)."""
    values, settled = FAST_PARSERS[column.kind](texts, decimal_comma)
    failed = np.zeros(len(texts), dtype=bool)
    bad_at: list[np.ndarray] = []  # positions of failures, and their reasons
    bad_why: list[np.ndarray] = []
    blank = blank_cells(texts)  # never settled: parse_cell's, all at once
    if blank.any():
        empty = parse_cell("", column, decimal_comma)
        at = np.flatnonzero(blank)
        if isinstance(empty, _Invalid):
            bad_at.append(at)
            bad_why.append(np.full(len(at), empty.reason, dtype=object))
        elif empty is not None:
            values.iloc[at] = _typed_array([empty], column.kind).take(np.zeros(len(at), np.intp))
    rest = np.flatnonzero(~settled & ~blank)
    if len(rest):
        codes, distinct = pd.factorize(texts.iloc[rest])
        parsed = [parse_cell(t, column, decimal_comma) for t in distinct]
        invalid = np.array([isinstance(p, _Invalid) for p in parsed], dtype=bool)
        bad = invalid[codes]
        why = np.array(
            [p.reason if isinstance(p, _Invalid) else None for p in parsed], dtype=object
        )
        bad_at.append(rest[bad])
        bad_why.append(why[codes[bad]])
        good = [p for p in parsed if not isinstance(p, _Invalid)]
        if good:
            position = np.cumsum(~invalid) - 1  # of each valid distinct text among the good
            fine = ~bad
            values.iloc[rest[fine]] = _typed_array(good, column.kind).take(position[codes[fine]])
    if not bad_at:
        return values.array, failed, np.empty(0, dtype=object)
    at = np.concatenate(bad_at)
    failed[at] = True
    return values.array, failed, np.concatenate(bad_why)[np.argsort(at, kind="stable")]


def _typed_array(values: list, kind: str):
    """Python values that :func:`parse_cell` returned, as a column of ``kind``."""
    if kind == "date":
        # datetime.date objects, converted as pandas converts them
        return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]").array
    return pd.array(values, dtype=WORKING_DTYPES[kind])


def parse_cell(text: str, column: Column, decimal_comma: bool) -> object:
    """One cell's value, its default when blank and optional, or ``_Invalid``."""
    if text == "":
        if column.required:
            return _Invalid(reason("missing", column=column.name))
        return default_value(column)
    try:
        return PARSERS[column.kind](text, column, decimal_comma)
    except ValueError as exc:
        return _Invalid(str(exc))


def default_value(column: Column) -> object:
    """What a blank optional cell (or an absent optional column) holds."""
    if column.default is not None:
        return column.default
    return {"str": "", "material": "MP"}.get(column.kind)


def parse_pedimento(text: str, column: Column, decimal_comma: bool) -> str:
    value = normalize_pedimento(text)
    if value is None:
        digits = sum(ch.isdigit() for ch in text)
        if digits == 15:
            raise ValueError(reason("pedimento_chars", text=text))
        raise ValueError(reason("pedimento_digits", text=text, digits=digits))
    return value


def parse_text(text: str, column: Column, decimal_comma: bool) -> str:
    return text


def parse_material(text: str, column: Column, decimal_comma: bool) -> str:
    value = text.upper()
    if value not in MATERIAL_TYPES:
        accepted = ", ".join(MATERIAL_TYPES)
        raise ValueError(reason("material", column=column.name, text=text, accepted=accepted))
    return value


def parse_bool(text: str, column: Column, decimal_comma: bool) -> bool:
    word = _strip_accents(text).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(reason("bool", column=column.name, text=text))


def parse_int(text: str, column: Column, decimal_comma: bool) -> int:
    number = parse_number(text, decimal_comma)
    if number is None or not number.is_integer():
        raise ValueError(reason("whole", column=column.name, text=text))
    if abs(number) > 2**53:
        raise ValueError(reason("too_many_digits", column=column.name, text=text))
    return int(number)


def parse_float(text: str, column: Column, decimal_comma: bool) -> float:
    is_rate = column.name.endswith("_rate")
    percent = is_rate and text.endswith("%")
    body = text[:-1].strip() if percent else text
    number = parse_number(body, decimal_comma)
    if number is None:
        key = f"{'rate' if is_rate else 'number'}_{'comma' if decimal_comma else 'point'}"
        raise ValueError(reason(key, column=column.name, text=text))
    return number / 100 if percent else number


def parse_date(text: str, column: Column, decimal_comma: bool) -> date:
    value = parse_date_text(text)
    if value is None:
        raise ValueError(reason("date", column=column.name, text=text))
    if not _FIRST_DAY.date() <= value <= _LAST_DAY.date():
        first, last = f"{_FIRST_DAY:%Y-%m-%d}", f"{_LAST_DAY:%Y-%m-%d}"
        raise ValueError(
            reason("date_range", column=column.name, text=text, first=first, last=last)
        )
    return value


PARSERS: dict[str, Callable[[str, Column, bool], object]] = {
    "pedimento": parse_pedimento,
    "str": parse_text,
    "material": parse_material,
    "bool": parse_bool,
    "int": parse_int,
    "float": parse_float,
    "date": parse_date,
}

_THOUSANDS_COMMA = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")
_THOUSANDS_DOT = re.compile(r"[-+]?\d{1,3}(\.\d{3})+(,\d*)?")
_PLAIN = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def parse_number(text: str, decimal_comma: bool = False) -> float | None:
    """``"1234.5"``, ``"1,234.5"``, ``"$1,234.50"`` → 1234.5; with
    ``decimal_comma`` (a semicolon CSV) also ``"1234,5"`` and ``"1.234,5"``
    (a value without a comma still reads with a decimal point: ``"1.5"`` →
    1.5).  ``None`` when the text is not a number."""
    t = text.replace("\u00a0", "").replace(" ", "").replace("$", "")
    if "," in t:
        if decimal_comma:
            if "." in t and not _THOUSANDS_DOT.fullmatch(t):
                return None
            t = t.replace(".", "").replace(",", ".")
        elif _THOUSANDS_COMMA.fullmatch(t):
            t = t.replace(",", "")
        else:
            return None
    if not _PLAIN.fullmatch(t):
        return None
    return float(t)


_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?")


def parse_date_text(text: str) -> date | None:
    """``2024-03-05``, ``2024-03-05 00:00:00`` (Excel), ``05/03/2024`` (day
    first, as in Mexico) → ``date(2024, 3, 5)``; ``None`` otherwise (also for
    impossible dates such as ``31/02/2024``)."""
    if m := _ISO.fullmatch(text):
        y, mo, d = m.groups()
    elif m := _DMY.fullmatch(text):
        d, mo, y = m.groups()
    else:
        return None
    try:
        return date(int(y), int(mo), int(d))
    except ValueError:
        return None


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


# ---------------------------------------------------------------------------
# whole-column parsing of the plain forms
#
# Each fast parser takes distinct cell texts and returns their values in the
# kind's working dtype and which of them it settled.  It settles only texts in
# a plain form for which it gives exactly what :func:`parse_cell` gives
# (ASCII digits only: ``\d`` in the patterns above also accepts other digits);
# every other text, blanks included, is left to :func:`parse_cell`.


def _fullmatch(texts: pd.Series, pattern: str) -> np.ndarray:
    return texts.str.fullmatch(f"(?:{pattern})").to_numpy(dtype=bool)


def _unsettled(texts: pd.Series, kind: str) -> pd.Series:
    return pd.Series(None, index=texts.index, dtype=WORKING_DTYPES[kind])


def _to_float(texts: pd.Series) -> np.ndarray:
    """``float(t)`` of each text, by pyarrow's cast (correctly rounded, as ``float``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if texts.empty:
        return np.empty(0, dtype=np.float64)
    array = pc.cast(pa.array(texts, type=pa.string()), pa.float64())
    return array.to_numpy(zero_copy_only=False)


#: per byte of a canonical pedimento ``YY AA PPPP NNNNNNN``: a space (else a digit)
_PEDIMENTO_SPACES = np.array([c == " " for c in "00 00 0000 0000000"])


def _all_canonical_pedimentos(text: pd.Series) -> bool:
    """Whether every cell of the column is a pedimento in its canonical form
    (what :func:`_fast_pedimento` settles as itself), read from the bytes."""
    width = len(_PEDIMENTO_SPACES)
    for chunk in text_array(text).chunks:
        _, offsets, data = chunk.buffers()
        n = len(chunk)
        if not n:
            continue
        if data is None or chunk.null_count:
            return False
        ends = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + n + 1]
        if ends[-1] - ends[0] != width * n or not (np.diff(ends) == width).all():
            return False
        cells = np.frombuffer(data, dtype=np.uint8)[ends[0] : ends[-1]].reshape(n, width)
        digit = (cells >= ord("0")) & (cells <= ord("9"))
        if not ((digit != _PEDIMENTO_SPACES) & ((cells == ord(" ")) == _PEDIMENTO_SPACES)).all():
            return False
    return True


def _fast_pedimento(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    canonical = _fullmatch(texts, r"[0-9]{2} [0-9]{2} [0-9]{4} [0-9]{7}")
    packed = _fullmatch(texts, r"[0-9]{15}")
    values = texts.where(canonical)
    if packed.any():
        t = texts[packed]
        spaced = t.str.slice(0, 2) + " " + t.str.slice(2, 4) + " " + t.str.slice(4, 8)
        values[packed] = spaced + " " + t.str.slice(8, 15)
    return values, canonical | packed


def _fast_text(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    settled = (texts != "").to_numpy(dtype=bool)
    return texts.where(settled), settled


def _fast_material(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    settled = texts.isin(MATERIAL_TYPES).to_numpy(dtype=bool)
    return texts.where(settled), settled


def _fast_none(kind: str):
    """Settles nothing: yes/no words are few, :func:`parse_cell` reads each once."""

    def fast(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
        return _unsettled(texts, kind), np.zeros(len(texts), dtype=bool)

    return fast


def _fast_int(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    # at most 15 digits: parse_int goes through a float, exact up to 2**53
    settled = _fullmatch(texts, r"-?[0-9]{1,15}")
    values = _unsettled(texts, "int")
    if settled.any():
        values[settled] = _to_float(texts[settled]).astype(np.int64)
    return values, settled


def _fast_float(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    plain = _plain_decimals(texts)
    if plain is not None:
        return plain
    settled = _fullmatch(texts, r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
    values = np.full(len(texts), np.nan)
    values[settled] = _to_float(texts[settled])
    if decimal_comma:  # "1234,5" in a semicolon CSV
        comma = _fullmatch(texts, r"-?[0-9]+,[0-9]+")
        values[comma] = _to_float(texts[comma].str.replace(",", ".", regex=False))
        settled = settled | comma
    return pd.Series(values, index=texts.index), settled


def _plain_decimals(texts: pd.Series) -> tuple[pd.Series, np.ndarray] | None:
    """The common case of :func:`_fast_float` without a regular expression: a
    column whose cells hold only digits and points, every one that is not blank
    read by pyarrow's cast.  For such texts the cast succeeds exactly when the
    text is a plain decimal (at least one digit, at most one point), so a
    column that holds any other text (``1.2.3``, ``.``) gives ``None`` and is
    read the general way.  Blanks are left to :func:`parse_cell`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = text_array(texts)
    for chunk in array.chunks:
        _, offsets, data = chunk.buffers()
        if data is None or not len(chunk):
            continue
        ends = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        used = np.frombuffer(data, dtype=np.uint8)[ends[0] : ends[-1]]
        if not used.size:
            continue
        if used.min() < ord(".") or used.max() > ord("9") or (used == ord("/")).any():
            return None  # a byte besides the digits and the point
    filled = ~blank_cells(array)
    cells = array if filled.all() else array.filter(pa.array(filled))
    try:
        numbers = pc.cast(cells, pa.float64())
    except pa.ArrowInvalid:
        return None
    values = np.full(len(texts), np.nan)
    values[filled] = numbers.to_numpy()
    return pd.Series(values, index=texts.index), filled


#: ISO, then day-first dates (the two forms :func:`parse_date_text` reads most)
DATE_FORMATS = (
    (r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "%Y-%m-%d"),
    (r"[0-9]{2}/[0-9]{2}/[0-9]{4}", "%d/%m/%Y"),
)


def _fast_date(texts: pd.Series, decimal_comma: bool) -> tuple[pd.Series, np.ndarray]:
    values = _unsettled(texts, "date")
    settled = np.zeros(len(texts), dtype=bool)
    for pattern, fmt in DATE_FORMATS:
        match = _fullmatch(texts, pattern) & ~settled
        if not match.any():
            continue
        dates = pd.to_datetime(texts[match], format=fmt, errors="coerce")
        # impossible dates (NaT) and dates out of range go to parse_cell
        ok = (dates.notna() & (dates >= _FIRST_DAY) & (dates <= _LAST_DAY)).to_numpy(dtype=bool)
        positions = np.flatnonzero(match)[ok]
        values.iloc[positions] = dates[ok].astype("datetime64[ns]").to_numpy()
        settled[positions] = True
    return values, settled


#: dates outside this range are rejected (a typo, not a pedimento date)
_FIRST_DAY = pd.Timestamp("1900-01-01")
_LAST_DAY = pd.Timestamp("2199-12-31")

FAST_PARSERS: dict[str, Callable[[pd.Series, bool], tuple[pd.Series, np.ndarray]]] = {
    "pedimento": _fast_pedimento,
    "str": _fast_text,
    "material": _fast_material,
    "bool": _fast_none("bool"),
    "int": _fast_int,
    "float": _fast_float,
    "date": _fast_date,
}


# ---------------------------------------------------------------------------
# value checks on typed columns


#: the quantities the discharge can count, per column: ``(smallest, largest)``.
#: It counts in int64 micro-units (:data:`immex_nb.discharge.MICRO`): a
#: quantity under 0.000001 rounds to nothing, and int64 holds at most about
#: 9.2 × 10¹² units.  A quantity over 10¹² is a misplaced column (a pedimento
#: number such as 244734204001234 in the quantity column), and a BOM
#: ``qty_per`` over 1 000 000 units of a component per unit exported is no
#: bill of materials.
QUANTITY_RANGES = {"quantity": (1e-6, 1e12), "qty_per": (1e-6, 1e6)}


#: duty rates above 1 (100 %) are taken for percentages typed as numbers
DUTY_RATES = ("igi_rate", "prosec_rate")


def value_checks(column: Column) -> list[tuple[str, Callable[[np.ndarray], np.ndarray]]]:
    """The value rules of ``column``, in the order they are checked: each a
    name (``reject.<name>`` in immex_nb/data/text/rejects.csv) and a test giving, for an array of
    the column's numbers, which pass — the signs (quantity > 0, values ≥ 0 …),
    finite numbers, rates as fractions, and the range of the quantities
    (:data:`QUANTITY_RANGES`).  A missing value (NaN) is never tested."""
    checks: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = []
    if column.kind not in ("int", "float"):
        return checks
    if column.positive:
        checks.append(("positive", lambda s: s > 0))
    if column.non_negative:
        checks.append(("non_negative", lambda s: s >= 0))
    if column.kind == "float" and column.name not in QUANTITY_RANGES:  # "1e400" reads as inf
        checks.append(("finite", lambda s: ~np.isinf(s)))
    if column.name in DUTY_RATES:  # 15 for 15 %: a common slip that multiplies duties by 100
        checks.append(("percentage", lambda s: ~(s > 1)))
    if column.name in QUANTITY_RANGES:
        low, high = QUANTITY_RANGES[column.name]
        # a value ≤ 0 already fails "positive" (one reason per cell)
        checks.append(("too_small", lambda s, low=low: ~((s > 0) & (s < low))))
        checks.append(("too_large", lambda s, high=high: ~(s > high)))
    return checks


def _check_reason(check: str, column: str, value: str) -> str:
    low, high = QUANTITY_RANGES.get(column, (0.0, 0.0))
    if column == "qty_per" and check in ("too_small", "too_large"):
        check += "_per_unit"
    return reason(check, column=column, value=value, low=f"{low:.6f}", high=f"{high:,.0f}")


def check_values(typed: pd.DataFrame, table: Table, problems: Problems) -> None:
    """Test every number against its column's :func:`value_checks`, a whole
    column at a time, and turn each failure into a problem."""
    for column in table.columns:
        checks = value_checks(column)
        if not checks:
            continue
        numbers = typed[column.name].to_numpy(dtype="float64", na_value=np.nan)
        present = ~np.isnan(numbers)
        for check, passes in checks:
            with np.errstate(invalid="ignore"):
                failing = present & ~passes(numbers)
            if not failing.any():
                continue
            rows = typed.index[failing]
            values = problems.text[column.name].loc[rows].tolist()
            reasons = [_check_reason(check, column.name, v) for v in values]
            problems.add_many(rows, column.name, reasons, values)


def check_claves(typed: pd.DataFrame, side: str, problems: Problems, claves: Claves) -> None:
    """Claves and directed-discharge columns (docs/rules/claves.md, docs/rules/discharge.md).

    The clave is normalised (trimmed, upper case; blank → ``IN`` in imports,
    ``RT`` in exports).  A clave that does not belong on this side is a reject
    saying what it is and where it belongs; an unknown clave one naming it.  In
    exports, ``import_line`` is a line number ≥ 1 (blank or 0: no line named,
    the way the loaded frame holds it) and needs ``import_pedimento``.
    """
    # a few distinct claves: each is normalised and judged once
    codes, distinct = _factorize_any(typed["clave"])
    normal = normalize_claves(distinct, side)
    if not normal.equals(distinct):  # else every clave is already as the table keys it
        typed["clave"] = pd.Series(normal.array.take(codes), index=typed.index)
    why = claves.reasons(normal, side).to_numpy(dtype=object)
    bad = pd.notna(why)[codes]
    problems.add_many(typed.index[bad], "clave", why[codes[bad]].tolist())
    if side != "exports" or "import_line" not in problems.text.columns:
        return
    parsed = typed["import_line"].notna().to_numpy(dtype=bool)  # unparseable: already a reject
    given = parsed & (problems.text["import_line"].reindex(typed.index) != "").to_numpy(bool)
    line = typed["import_line"].astype("Float64").fillna(0).to_numpy(dtype="float64")
    no_ped = (typed["import_pedimento"].fillna("") == "").to_numpy(dtype=bool)
    below = given & (line < 0)
    orphan = given & no_ped & (line >= 1)
    values = problems.text["import_line"].reindex(typed.index)[below]
    problems.add_many(
        typed.index[below],
        "import_line",
        [reason("import_line_below", value=v) for v in values],
    )
    problems.add_many(
        typed.index[orphan],
        "import_line",
        reason("import_line_orphan"),
    )


def check_validity_ranges(typed: pd.DataFrame, problems: Problems) -> None:
    """A BOM row valid from a date after the one it is valid to is never valid."""
    start, end = typed["valid_from"], typed["valid_to"]
    after = (start > end).to_numpy(dtype=bool)  # a blank (NaT) compares False
    reasons = [
        reason("validity", start=s.date().isoformat(), end=e.date().isoformat())
        for s, e in zip(start[after], end[after], strict=True)
    ]
    problems.add_many(typed.index[after], "valid_from", reasons)


def check_duplicates(typed: pd.DataFrame, table: Table, problems: Problems) -> None:
    """Every repeat of a key after its first row is rejected, naming that row."""
    key_columns = list(table.key)
    if not _any_repeated_key(typed, key_columns):
        return
    keys = typed[key_columns]
    keys = keys[keys.notna().all(axis=1).to_numpy(dtype=bool)]  # unparsed keys are skipped
    repeat = keys.duplicated(keep="first").to_numpy(dtype=bool)
    group = keys.groupby(key_columns, sort=False).ngroup().to_numpy()
    _, first = np.unique(group, return_index=True)  # position of each key's first row
    rows = keys.index.to_numpy()
    first_rows = rows[first[group[repeat]]].tolist()
    repeated = zip(*(keys[c][repeat].tolist() for c in key_columns), strict=True)
    reasons = []
    for key, first_row in zip(repeated, first_rows, strict=True):
        shown = ", ".join(f"{c} {k}" for c, k in zip(key_columns, key, strict=True))
        reasons.append(
            reason("duplicate", columns=", ".join(key_columns), shown=shown, row=first_row)
        )
    problems.add_many(rows[repeat], key_columns[-1], reasons)


def _any_repeated_key(typed: pd.DataFrame, key_columns: list[str]) -> bool:
    """Whether two rows with every key column parsed share a key: each key
    column as codes of its distinct values (:func:`_key_codes`), combined into
    one integer per row.  A file in key order (the usual one) shows it at once:
    the integers only grow."""
    combined = np.zeros(len(typed), dtype=np.int64)
    parsed = np.ones(len(typed), dtype=bool)
    bound = 1
    for name in key_columns:
        codes, size = _key_codes(typed[name])
        bound *= size + 1
        if bound >= 2**62:  # too many combinations for one integer
            return bool(typed[key_columns].dropna().duplicated().any())
        parsed &= codes >= 0
        combined = combined * (size + 1) + codes
    keys = combined[parsed]
    if len(keys) < 2 or bool((keys[1:] > keys[:-1]).all()):
        return False
    return bool(pd.Series(keys).duplicated().any())


def _key_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """The same code for the same value (0 … size − 1; a missing value −1), and size."""
    missing = column.isna().to_numpy(dtype=bool)
    if column.dtype == "str" and not missing.any():
        codes, distinct = _factorize(column)
        return codes.astype(np.int64, copy=False), len(distinct)
    if column.dtype.kind in "iu" and len(column) and not missing.any():
        numbers = column.to_numpy(dtype=np.int64)
        low, high = int(numbers.min()), int(numbers.max())
        if high - low < 2**31:
            return numbers - low, high - low + 1
    codes, distinct = pd.factorize(column)
    return codes.astype(np.int64, copy=False), len(distinct)


# ---------------------------------------------------------------------------
# the loaded frame


def finalize(kept: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Canonical dtypes, canonical columns first, a fresh 0…n−1 index."""
    out = {c.name: kept[c.name].astype(DTYPES[c.kind]) for c in table.columns}
    for name in kept.columns:
        if name not in out:
            out[name] = kept[name].astype("str")
    frame = pd.DataFrame(out, index=kept.index, copy=False).reset_index(drop=True)
    if frame.empty:
        frame = frame.astype({c.name: DTYPES[c.kind] for c in table.columns})
    return frame


def _reject_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(
        {"file": "str", "row": "int64", "column": "str", "value": "str", "reason": "str"}
    )


def _concat_rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _reject_dtypes(pd.DataFrame({c: [] for c in REJECT_COLUMNS}))
    return pd.concat(parts, ignore_index=True)
