"""Reading a SAT Data Stage request into one typed DataFrame per record type.

SAT answers a Data Stage request ("glosa") with a ZIP of 26 pipe-delimited
``.asc`` files, one per record type (``<folio>_501.asc`` … ``<folio>_Resumen.asc``).
The files look simple and carry every trap of a 20-year-old export::

    Patente|Pedimento|SeccionAduanera|...|EntidadFedContribuyente|...|FechaPagoReal\\r\\n
    0123|5001234|070|...|BC\\x00\\x00\\x00|...|2025-03-10 09:41:07|\\r\\n
                 ^^^ leading zero            ^^^ NUL padding        ^ phantom field

* bytes are Windows-1252 with stray UTF-8 sequences: each *line* is decoded
  as UTF-8 and, failing that, as cp1252;
* every data line ends with ``|`` (a phantom empty field, dropped) and CRLF
  (a bare LF is accepted too); header-only files may have no line end at all;
* blanks are ``""``, spaces or NUL runs: every field gets ``strip(" \\x00")``;
* keys stay text (``SeccionAduanera`` ``070``, ``Patente`` ``0123``); ISO
  dates and dot-decimal numbers are typed;
* ZIPs may hold ZIPs and ``__MACOSX/`` debris; several requests (months) can
  be read at once and are concatenated (rows repeated by overlapping requests
  are kept once).

A line that cannot be read (wrong number of fields, a number or date that
does not parse) is never lost: it becomes a row of ``rejects`` with the same
columns as :func:`immex_nb.load` uses (``file, row, column, value, reason``;
``row`` is the line number, header = 1).  Totals announced in ``Resumen``
(``Total_Fracciones`` = rows of 551, ``Total_Contribuciones`` = rows of 557)
are checked and a difference is a row of ``findings``, not an exception.

The 15-digit pedimento number is rebuilt as ``YY AA PPPP NNNNNNN`` (DATASTAGE.md
§4.1): ``YY`` is the latest year not after the payment year whose last digit
is ``Pedimento[0]`` — a V1 paid on 2025-01-03 with ``Pedimento`` 4000123 is a
2024 pedimento: ``24 47 3420 4000123`` for ``SeccionAduanera`` 470, patente 3420.

Rectifications (``TipoPedimento`` 2) are new pedimentos chained to the one they
correct by record 701; :attr:`DataStage.index` marks for every pedimento the
original of its chain and its latest version so each operation counts once.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from immex_nb.datastage.layouts import HEADERS, PEDIMENTO_KEY, RECORD_TYPES, date_field, field_kind
from immex_nb.errors import ImmexError
from immex_nb.schema import REJECT_COLUMNS

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


@dataclass
class DataStage:
    """One or several Data Stage requests, read and typed.

    ``tables[tipo]`` has exactly the SAT columns of that record type (all 26
    types are present, possibly empty).  ``index`` has one row per 501
    pedimento with its 15-digit number and rectification chain; ``chain`` one
    row per 701 rectification.
    """

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    findings: pd.DataFrame
    sources: list[Path]
    index: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INDEX_COLUMNS))
    chain: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHAIN_COLUMNS))

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

    def with_pedimento(self, tipo: str, *, latest_only: bool = False) -> pd.DataFrame:
        """The rows of ``tipo`` with ``pedimento`` (15 digits), ``original``,
        ``latest`` and ``is_latest`` columns in front.  ``latest_only`` keeps
        the rows of pedimentos not superseded by a rectification in the data."""
        df = self[tipo]
        if tipo == "Resumen":
            raise KeyError("Resumen has no pedimento key")
        out = df.copy()
        numbers = _pedimento_for_rows(out, self.index, tipo, self._fallback_year())
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


# ---------------------------------------------------------------- collecting


@dataclass
class _File:
    label: str  # "folio_solicitudes.zip:folio_501.asc"
    folio: str
    tipo: str
    data: bytes


def _classify(name: str) -> tuple[str, str] | None:
    """``'ABC123_501.asc'`` → ``('ABC123', '501')``; anything else → None."""
    base = PurePosixPath(name).name
    if not base.lower().endswith(".asc") or base.startswith("._"):
        return None
    stem = base[:-4]
    folio, _, tipo = stem.rpartition("_")
    real = _TIPOS_BY_LOWER.get(tipo.lower())
    if real is None:
        return None
    return folio, real


def _skip(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return any(p == "__MACOSX" for p in parts) or PurePosixPath(name).name.startswith("._")


def _walk_zip(data: bytes, label: str, unknown: list[str], depth: int = 0) -> Iterator[_File]:
    if depth > 5:
        unknown.append(f"{label} (nested too deep)")
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        unknown.append(f"{label} (not a readable ZIP)")
        return
    with zf:
        for info in zf.infolist():
            if info.is_dir() or _skip(info.filename):
                continue
            inner = f"{label}:{info.filename}"
            if info.filename.lower().endswith(".zip"):
                yield from _walk_zip(zf.read(info), inner, unknown, depth + 1)
                continue
            kind = _classify(info.filename)
            if kind is None:
                unknown.append(inner)
                continue
            yield _File(inner, kind[0], kind[1], zf.read(info))


def _collect(path: Path, unknown: list[str]) -> tuple[list[_File], list[Path]]:
    files: list[_File] = []
    sources: list[Path] = []
    if path.is_file():
        candidates = [path]
        root = path.parent
    elif path.is_dir():
        candidates = sorted(
            p for p in path.rglob("*") if p.is_file() and not _skip(str(p.relative_to(path)))
        )
        root = path
    else:
        raise ImmexError(
            f"Data Stage path {path} does not exist; give a ZIP, a folder of .asc files or a folder of ZIPs"
        )
    for p in candidates:
        rel = p.name if p == path else str(p.relative_to(root))
        if p.suffix.lower() == ".zip":
            sources.append(p)
            files.extend(_walk_zip(p.read_bytes(), rel, unknown))
        elif (kind := _classify(p.name)) is not None:
            sources.append(p)
            files.append(_File(rel, kind[0], kind[1], p.read_bytes()))
        elif path.is_dir():
            unknown.append(rel)
    if path.is_file() and not files and path.suffix.lower() not in (".zip", ".asc"):
        raise ImmexError(f"{path} is not a Data Stage ZIP or .asc file")
    return files, sources


# ---------------------------------------------------------------- parsing


def decode_line(raw: bytes) -> str:
    """UTF-8 if the line is valid UTF-8, else Windows-1252 (Latin-1 for the
    five bytes cp1252 leaves undefined)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def _split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]


@dataclass
class _Parsed:
    rows: list[list[str]]
    row_numbers: list[int]
    rejects: list[dict]
    data_lines: int  # non-blank lines after the header (accepted + rejected)
    findings: list[dict]


def parse_asc(data: bytes, tipo: str, label: str) -> _Parsed:
    """Split one ``.asc`` file into rows of stripped text fields (layout order)."""
    expected = HEADERS[tipo]
    n = len(expected)
    lines = _split_lines(data)
    rows: list[list[str]] = []
    numbers: list[int] = []
    rejects: list[dict] = []
    findings: list[dict] = []
    if not lines or not lines[0].strip(b" \x00\r"):
        findings.append(
            _finding(label, "empty_file", "header line", "nothing", f"{tipo} file has no header")
        )
        return _Parsed(rows, numbers, rejects, 0, findings)
    header = [h.strip(_STRIP) for h in decode_line(lines[0]).lstrip("\ufeff").split("|")]
    if header and header[-1] == "":
        header.pop()
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
                    "columns matched by name",
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
                    f"columns missing: {missing}; every line rejected",
                )
            )
    width = len(header)
    data_lines = 0
    for i, raw in enumerate(lines[1:], start=2):
        if not raw.strip(b" \x00\r\t"):
            continue
        data_lines += 1
        text = decode_line(raw)
        if order is None and header != expected:
            rejects.append(
                _reject(label, i, "", text[:200], f"header does not match the {tipo} layout")
            )
            continue
        parts = text.split("|")
        if len(parts) == width + 1 and parts[-1].strip(_STRIP + "\r") == "":
            parts.pop()
        if len(parts) != width:
            found = len(parts) - (1 if parts[-1].strip(_STRIP + "\r") == "" else 0)
            rejects.append(
                _reject(
                    label,
                    i,
                    "",
                    text[:200],
                    f"{found} fields; the {tipo} layout has {n} (plus the trailing |)",
                )
            )
            continue
        fields = [p.strip(_STRIP) for p in parts]
        if order is not None:
            fields = [fields[j] for j in order]
        rows.append(fields)
        numbers.append(i)
    return _Parsed(rows, numbers, rejects, data_lines, findings)


def _reject(file: str, row: int, column: str, value: str, reason: str) -> dict:
    return {"file": file, "row": row, "column": column, "value": value, "reason": reason}


def _finding(source: str, check: str, expected: object, found: object, detail: str) -> dict:
    return {
        "source": source,
        "check": check,
        "expected": str(expected),
        "found": str(found),
        "detail": detail,
    }


def _type_table(df: pd.DataFrame, tipo: str) -> tuple[pd.DataFrame, list[dict]]:
    """Type the text columns of ``df`` (which also holds ``_file``/``_row``);
    rows with an unparseable value are removed and returned as rejects."""
    rejects: list[dict] = []
    bad = pd.Series(False, index=df.index)
    typed: dict[str, pd.Series] = {}
    for col in HEADERS[tipo]:
        kind = field_kind(col)
        s = df[col]
        if kind == "text":
            continue
        present = s != ""
        if kind == "number":
            ok = s.str.fullmatch(_NUMBER.pattern)
            values = pd.to_numeric(s.where(present & ok), errors="coerce").astype("float64")
            reason = "not a number (dot decimal, no thousands separator)"
        else:
            ok = s.str.fullmatch(_DATE.pattern)
            values = pd.to_datetime(s.where(present & ok), format="ISO8601", errors="coerce")
            ok = ok & values.notna()
            if kind == "date":
                values = values.dt.normalize()
            values = values.astype("datetime64[ns]")
            reason = (
                "not an ISO date (yyyy-mm-dd)"
                if kind == "date"
                else "not an ISO date-time (yyyy-mm-dd hh:mm:ss)"
            )
        wrong = present & ~ok.fillna(False).astype(bool)
        for ix in wrong[wrong].index:
            rejects.append(
                _reject(df.at[ix, "_file"], int(df.at[ix, "_row"]), col, s.at[ix], reason)
            )
        bad |= wrong
        typed[col] = values
    for col, values in typed.items():
        df[col] = values
    if tipo == "Resumen":
        for col in ("Total_Fracciones", "Total_Contribuciones"):
            df[col] = df[col].round().astype("Int64")
    return df[~bad], rejects


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
    """15-digit pedimento of each row: the year comes from the pedimento's 501
    payment date when 501 has it, else from the row's own date, else from the
    end of the request period."""
    if df.empty:
        return pd.Series([], index=df.index, dtype="str")
    key = _keys(df)
    idx = index.drop_duplicates(["Patente", "Pedimento", "SeccionAduanera"], keep="last")
    known = pd.Series(idx["pedimento"].to_numpy(), index=_keys(idx).to_numpy(), dtype="str")
    result = lookup(key, known).astype(object)
    missing = result.isna()
    if missing.any():
        col = date_field(tipo)
        years = _year_of(df[col]) if col else pd.Series(np.nan, index=df.index)
        years = years.fillna(fallback_year) if fallback_year is not None else years
        sub = df[missing]
        result[missing] = [
            full_pedimento(p, n, s, None if pd.isna(y) else y)
            for p, n, s, y in zip(
                sub["Patente"],
                sub["Pedimento"],
                sub["SeccionAduanera"],
                years[missing],
                strict=True,
            )
        ]
    return pd.Series(result.tolist(), index=df.index, dtype="str")


def _build_index(
    t501: pd.DataFrame, t701: pd.DataFrame, fallback_year: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    findings: list[dict] = []
    idx = pd.DataFrame(
        {
            "pedimento": [
                full_pedimento(p, n, s, None if pd.isna(d) else d.year)
                for p, n, s, d in zip(
                    t501["Patente"],
                    t501["Pedimento"],
                    t501["SeccionAduanera"],
                    t501["FechaPagoReal"],
                    strict=True,
                )
            ],
            "Patente": t501["Patente"].to_numpy(),
            "Pedimento": t501["Pedimento"].to_numpy(),
            "SeccionAduanera": t501["SeccionAduanera"].to_numpy(),
            "clave": t501["ClaveDocumento"].to_numpy(),
            "tipo_operacion": t501["TipoOperacion"].to_numpy(),
            "tipo_pedimento": t501["TipoPedimento"].to_numpy(),
            "fecha_pago": t501["FechaPagoReal"].to_numpy(),
        }
    )
    idx["pedimento"] = pd.Series(idx["pedimento"].tolist(), dtype="str")
    unreadable = int(idx["pedimento"].isna().sum())
    if unreadable:
        findings.append(
            _finding(
                "501",
                "pedimento_unreadable",
                0,
                unreadable,
                "501 rows whose Patente/Pedimento/SeccionAduanera/FechaPagoReal "
                "do not give a 15-digit pedimento; left out of the views",
            )
        )
    known = dict(zip(_keys(idx), idx["pedimento"], strict=True))

    def number(pat, ped, sec, year):
        return known.get(f"{pat}|{ped}|{sec}") or full_pedimento(pat, ped, sec, year)

    chain_rows = []
    for r in t701.itertuples(index=False):
        pay_year = (
            r.FechaPagoReal.year
            if not pd.isna(r.FechaPagoReal)
            else (r.FechaPago.year if not pd.isna(r.FechaPago) else fallback_year)
        )
        new = number(r.Patente, r.Pedimento, r.SeccionAduanera, pay_year)
        pat_prev = r.PatenteAnterior or r.Patente
        sec_prev = r.SeccionAduaneraAnterior or r.SeccionAduanera
        prev_year = (
            r.FechaOperacionAnterior.year if not pd.isna(r.FechaOperacionAnterior) else pay_year
        )
        prev = number(pat_prev, r.PedimentoAnterior, sec_prev, prev_year)
        if new is None or prev is None:
            findings.append(
                _finding(
                    "701",
                    "rectification_unreadable",
                    "pedimento numbers",
                    f"{r.Patente} {r.Pedimento} {r.SeccionAduanera} → {r.PedimentoAnterior}",
                    "a 701 row whose pedimento numbers cannot be built",
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
                    f"{prev} is rectified by two pedimentos; the later number is taken as latest",
                )
            )
            new = max(new, successor[prev])
        successor[prev] = new
        predecessor[new] = prev

    def walk(start: str, step: dict[str, str]) -> tuple[str, int]:
        seen = {start}
        cur, n = start, 0
        while cur in step:
            cur = step[cur]
            n += 1
            if cur in seen:
                findings.append(
                    _finding(
                        "701", "rectification_cycle", "a chain", start, "701 rows form a cycle"
                    )
                )
                break
            seen.add(cur)
        return cur, n

    def resolve(p: str) -> tuple[str, str, int]:
        latest, _ = walk(p, successor)
        original, depth = walk(p, predecessor)
        return original, latest, depth + 1

    resolved = [resolve(p) if isinstance(p, str) else (p, p, 1) for p in idx["pedimento"]]
    idx["rectifies"] = idx["pedimento"].map(predecessor)
    idx["rectified_by"] = idx["pedimento"].map(successor)
    idx["original"] = [r[0] for r in resolved]
    idx["latest"] = [r[1] for r in resolved]
    idx["version"] = pd.Series([r[2] for r in resolved], dtype="int64")
    idx["is_latest"] = (idx["latest"] == idx["pedimento"]).astype(bool)
    in_ds = set(idx["pedimento"])
    if len(chain):
        res = [resolve(p) for p in chain["pedimento"]]
        chain["original"] = [r[0] for r in res]
        chain["latest"] = [r[1] for r in res]
        chain["version"] = pd.Series([r[2] for r in res], dtype="int64")
        chain["anterior_in_datastage"] = chain["pedimento_anterior"].isin(in_ds)
    else:
        chain = pd.DataFrame(columns=CHAIN_COLUMNS)
    for col in ("rectifies", "rectified_by"):
        idx[col] = pd.Series(idx[col].tolist(), index=idx.index, dtype="str")
    return idx[INDEX_COLUMNS], chain[CHAIN_COLUMNS].reset_index(drop=True), findings


# ---------------------------------------------------------------- public entry


def read_datastage(path: str | Path) -> DataStage:
    """Read a Data Stage ZIP, a folder of ``.asc`` files, or a folder of ZIPs.

    Raises :class:`ImmexError` only when nothing usable is there; every
    row-level problem lands in ``rejects`` and every file- or request-level
    inconsistency in ``findings``.
    """
    path = Path(path)
    unknown: list[str] = []
    files, sources = _collect(path, unknown)
    if not files:
        raise ImmexError(
            f"no Data Stage files in {path}; expected <folio>_<tipo>.asc files "
            f"(tipo one of {', '.join(RECORD_TYPES)}) or a ZIP of them"
        )
    findings: list[dict] = [
        _finding(u, "unknown_file", "<folio>_<tipo>.asc", u, "ignored") for u in unknown
    ]
    rejects: list[dict] = []
    seen: dict[tuple[str, str], _File] = {}
    frames: dict[str, list[pd.DataFrame]] = {t: [] for t in RECORD_TYPES}
    line_counts: dict[tuple[str, str], int] = {}
    for f in files:
        key = (f.folio, f.tipo)
        if key in seen:
            same = seen[key].data == f.data
            findings.append(
                _finding(
                    f.label,
                    "duplicate_file",
                    seen[key].label,
                    f.label,
                    "identical copy skipped"
                    if same
                    else "same folio and type with other content; first copy kept",
                )
            )
            continue
        seen[key] = f
        parsed = parse_asc(f.data, f.tipo, f.label)
        rejects.extend(parsed.rejects)
        findings.extend(parsed.findings)
        line_counts[key] = parsed.data_lines
        if parsed.rows:
            df = pd.DataFrame(parsed.rows, columns=HEADERS[f.tipo], dtype="str")
            df["_file"] = f.label
            df["_row"] = parsed.row_numbers
            df["_folio"] = f.folio
            frames[f.tipo].append(df)
    folios = sorted({folio for folio, _ in seen})
    for folio in folios:
        missing = [t for t in RECORD_TYPES if (folio, t) not in seen]
        if missing:
            findings.append(
                _finding(
                    folio,
                    "missing_file",
                    "26 record types",
                    f"{26 - len(missing)}",
                    f"no file for {', '.join(missing)} (read as empty)",
                )
            )

    tables: dict[str, pd.DataFrame] = {}
    for tipo in RECORD_TYPES:
        if not frames[tipo]:
            tables[tipo] = _empty_table(tipo)
            continue
        df = pd.concat(frames[tipo], ignore_index=True)
        df, bad = _type_table(df, tipo)
        rejects.extend(bad)
        data_cols = HEADERS[tipo]
        if df["_folio"].nunique() > 1:
            occurrence = df.groupby([*data_cols, "_folio"], dropna=False, sort=False).cumcount()
            dup = df.assign(_occ=occurrence).duplicated([*data_cols, "_occ"], keep="first")
            if dup.any():
                findings.append(
                    _finding(
                        tipo,
                        "duplicate_rows",
                        0,
                        int(dup.sum()),
                        "rows repeated by overlapping requests are kept once",
                    )
                )
                df = df[~dup]
        tables[tipo] = df[data_cols].reset_index(drop=True)

    # Resumen totals against the lines actually delivered, per folio
    for r in tables["Resumen"].itertuples(index=False):
        folio = r.Folio
        if folio not in folios:
            findings.append(
                _finding(
                    folio,
                    "folio_mismatch",
                    "files named after Resumen.Folio",
                    ", ".join(folios),
                    "Resumen.Folio matches no file prefix",
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
                        f"Resumen.{col} announces {total} rows; {tipo} has {found}",
                    )
                )
    if rejects:
        findings.append(_finding(str(path.name), "rejected_lines", 0, len(rejects), "see rejects"))

    fallback = tables["Resumen"]["Fecha_Final"].max() if len(tables["Resumen"]) else pd.NaT
    fallback_year = None if pd.isna(fallback) else int(fallback.year)
    index, chain, chain_findings = _build_index(tables["501"], tables["701"], fallback_year)
    findings.extend(chain_findings)
    ds = DataStage(
        tables=tables,
        rejects=pd.DataFrame(rejects, columns=REJECT_COLUMNS).astype({"row": "int64"}),
        findings=pd.DataFrame(findings, columns=FINDING_COLUMNS),
        sources=sources,
        index=index,
        chain=chain,
    )
    _orphans(ds)
    return ds


def _orphans(ds: DataStage) -> None:
    """551 rows without a 501 parent and 557 rows without a 551 partida."""
    extra = []
    k = list(PEDIMENTO_KEY)
    if len(ds["551"]):
        parents = ds["501"][k].drop_duplicates()
        m = ds["551"][k].merge(parents, how="left", indicator=True)
        n = int((m["_merge"] == "left_only").sum())
        if n:
            extra.append(
                _finding("551", "orphan_partida", 0, n, "551 rows whose pedimento is not in 501")
            )
    if len(ds["557"]):
        kp = [*k, "Fraccion", "SecuenciaFraccion"]
        parents = ds["551"][kp].drop_duplicates()
        m = ds["557"][kp].merge(parents, how="left", indicator=True)
        n = int((m["_merge"] == "left_only").sum())
        if n:
            extra.append(
                _finding("557", "orphan_contribucion", 0, n, "557 rows whose partida is not in 551")
            )
    if extra:
        ds.findings = pd.concat(
            [ds.findings, pd.DataFrame(extra, columns=FINDING_COLUMNS)], ignore_index=True
        )
