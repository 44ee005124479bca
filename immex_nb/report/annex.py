"""``annex.xlsx``: the tables behind a monthly report, one sheet per table.

A consultant forwards the annex to the client's customs team, who filter it
and paste from it; so every sheet has one bold header row on a coloured band,
frozen below the header, an autofilter, column widths that fit, and number
formats chosen from the column's meaning::

    value_mxn, igi, total, …   #,##0.00        (money)
    quantity, open, …          #,##0.00##      (2–4 decimals)
    igi_rate, *_ratio          0.00%           (rates are fractions: 0.15 → 15.00%)
    dates                      yyyy-mm-dd
    line, *_line               0

The first sheet, ``About``, names the client, the period, the as-of date and
describes each sheet with its row count.  Text stays text (part numbers and
tariff items keep their leading zeros).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

import pandas as pd

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MONEY = re.compile(
    r"(mxn|usd|value|igi$|^igi|dta|iva|tax|total|recargos|actualizacion|multa|payable|saving|duty|amount|cost)",
    re.IGNORECASE,
)
_RATE = re.compile(r"(rate|ratio|share|pct|percent)$", re.IGNORECASE)
_INT_ID = re.compile(r"(^line$|_line$|^row$|^days|days_)", re.IGNORECASE)
_HEADER_BG = "#0B4F6C"


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
    return "text"


def _cell(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def write_annex(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    about: Mapping[str, object] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Write ``tables`` (sheet title → DataFrame, in order) to ``path`` atomically.

    ``about`` is a small mapping shown at the top of the ``About`` sheet
    (client, period, as of …); ``descriptions`` explains each table there.
    """
    import xlsxwriter

    from immex_nb.outputs import atomic_path

    descriptions = dict(descriptions or {})
    target = Path(path)
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp),
            {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
        )
        hdr = wb.add_format(
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
        formats = {
            "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
            "money": wb.add_format({"num_format": "#,##0.00"}),
            "qty": wb.add_format({"num_format": "#,##0.00##"}),
            "rate": wb.add_format({"num_format": "0.00%"}),
            "int": wb.add_format({"num_format": "#,##0"}),
            "int_id": wb.add_format({"num_format": "0"}),
            "bool": None,
            "text": None,
        }
        title = wb.add_format({"bold": True, "font_size": 14, "font_color": _HEADER_BG})
        bold = wb.add_format({"bold": True})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})

        taken: set[str] = {"About"}
        names = {key: sheet_name(key, taken) for key in tables}

        about_ws = wb.add_worksheet("About")
        about_ws.write(0, 0, "Annex to the monthly IMMEX report", title)
        r = 2
        for key, value in (about or {}).items():
            about_ws.write(r, 0, str(key), bold)
            about_ws.write(
                r, 1, _cell(value) if not isinstance(value, date | datetime) else str(value)
            )
            r += 1
        r += 1
        about_ws.write_row(r, 0, ["Sheet", "Rows", "What it holds"], hdr)
        for key, df in tables.items():
            r += 1
            about_ws.write_url(r, 0, f"internal:'{names[key]}'!A1", string=names[key])
            about_ws.write_number(r, 1, len(df))
            about_ws.write(r, 2, descriptions.get(key, ""), wrap)
        about_ws.set_column(0, 0, 28)
        about_ws.set_column(1, 1, 10)
        about_ws.set_column(2, 2, 90)

        for key, df in tables.items():
            ws = wb.add_worksheet(names[key])
            cols = [str(c) for c in df.columns]
            ws.write_row(0, 0, cols, hdr)
            ws.freeze_panes(1, 0)
            widths = [min(max(len(c), 8) + 2, 50) for c in cols]
            for j, col in enumerate(df.columns):
                series = df[col]
                kind = _kind(str(col), series)
                fmt = formats[kind]
                values = [_cell(v) for v in series.tolist()]
                for i, v in enumerate(values, start=1):
                    if v is None:
                        continue
                    if isinstance(v, str):
                        ws.write_string(i, j, v)
                    elif isinstance(v, bool):
                        ws.write_boolean(i, j, v)
                    elif isinstance(v, datetime | date):
                        ws.write_datetime(i, j, v, fmt)
                    elif isinstance(v, int | float):
                        ws.write_number(i, j, v, fmt)
                    else:
                        ws.write_string(i, j, str(v))
                if kind == "text":
                    longest = max((len(v) for v in values if isinstance(v, str)), default=0)
                    widths[j] = min(max(widths[j], longest + 2), 50)
                elif kind == "date":
                    widths[j] = max(widths[j], 12)
                elif kind in ("money", "qty"):
                    widths[j] = max(widths[j], 14)
                ws.set_column(j, j, widths[j], fmt)
            if len(cols):
                ws.autofilter(0, 0, max(len(df), 1), len(cols) - 1)
            if df.empty:
                ws.write(2, 0, "(no rows this period)")
        wb.close()
    return target
