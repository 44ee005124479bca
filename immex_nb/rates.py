"""Rate tables with their legal source and the dates they are in force.

Four small CSV tables ship with the package (``immex_nb/data``):

==================  ==========================================================
``inpc.csv``        ``month, inpc, source`` — INEGI consumer price index
                    (base 2Q July 2018 = 100), 2019-01 … 2026-01.
``surcharge_rates`` ``valid_from, valid_to, monthly_rate, status, source`` —
                    late-payment surcharge (recargos) per month, by year:
                    1.47 % to 2025, 2.07 % in 2026 (LIF art. 8, CFF art. 21).
``vat.csv``         ``concept, rate, valid_from, valid_to, status, source`` — 16 %.
``dta.csv``         ``concept, kind, value, valid_from, valid_to, status, source``
                    — customs processing fee: 8 per thousand (definitive /
                    change of regime), 1.76 per thousand (AF temporary), and
                    the fixed fee per IMMEX pedimento (MXN 408 in 2023, 425 in
                    2024; 2025–2026 UNCONFIRMED, carried forward and marked so).
==================  ==========================================================

A user extends or overrides any table without touching code:
``Rates.load("my_rates/")`` reads CSV files of the same names and shape from
that folder; their rows replace built-in rows with the same key (the month,
the ``valid_from`` date, the concept and ``valid_from``) and add the others —
e.g. an ``inpc.csv`` holding ``2026-02,144.100,INEGI`` adds February 2026.

Inflation update factor (CFF art. 17-A), worked through: goods entered on
2022-05-16, updated to 2023-05-10.  The factor is the INPC of the month before
the later month (April 2023: 128.363) over the INPC of the month before the
earlier month (April 2022: 120.809) = 1.06253…, truncated to four decimals →
**1.0625** (never below 1).  A month after the last published one uses the
last published value, and the result says so (``inpc_estimated``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError

#: file name → (key columns, required columns, numeric columns)
TABLE_SPECS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "inpc": (("month",), ("month", "inpc"), ("inpc",)),
    "surcharge_rates": (("valid_from",), ("valid_from", "monthly_rate"), ("monthly_rate",)),
    "vat": (("concept", "valid_from"), ("rate", "valid_from"), ("rate",)),
    "dta": (("concept", "valid_from"), ("concept", "kind", "value", "valid_from"), ("value",)),
}
DATE_COLUMNS = ("valid_from", "valid_to")
DTA_KINDS = ("rate", "fixed_mxn")


def month_index(dates) -> np.ndarray:
    """Months counted from year 0 (``year * 12 + month - 1``), int64; NaT → -1."""
    if not (isinstance(dates, np.ndarray) and dates.dtype.kind == "M"):
        d = pd.DatetimeIndex(pd.to_datetime(dates if hasattr(dates, "dtype") else list(dates)))
        if d.tz is not None:  # wall-clock months, as the dates read
            y = np.asarray(d.year, dtype="float64")
            m = np.asarray(d.month, dtype="float64")
            idx = y * 12 + m - 1
            return np.where(np.isnan(idx), -1, idx).astype(np.int64)
        dates = d.to_numpy()
    months = dates.astype("datetime64[M]")  # months since 1970-01; NaT stays NaT
    return np.where(np.isnat(months), -1, months.astype(np.int64) + 1970 * 12)


def _month_label(idx: np.ndarray) -> np.ndarray:
    """``YYYY-MM`` of each month index (formatted once per distinct month)."""
    idx = np.asarray(idx, dtype=np.int64)
    uniq, inv = np.unique(idx.ravel(), return_inverse=True)
    labels = np.array([f"{i // 12:04d}-{i % 12 + 1:02d}" for i in uniq], dtype=object)
    return labels[inv].reshape(idx.shape)


def month_label_array(idx, missing=None) -> pd.api.extensions.ExtensionArray:
    """``YYYY-MM`` of each month index as a text column (pandas ``str``),
    each distinct month formatted once and gathered; ``missing`` rows → NaN."""
    idx = np.asarray(idx, dtype=np.int64)
    uniq, inv = np.unique(idx, return_inverse=True)
    labels = pd.array([f"{i // 12:04d}-{i % 12 + 1:02d}" for i in uniq], dtype="str")
    if missing is not None:
        inv = np.where(missing, -1, inv)
    return labels.take(inv, allow_fill=True)


_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")


def _parse_month(text: str) -> int:
    t = str(text).strip()
    m = _MONTH_RE.fullmatch(t)
    if m and 1 <= int(m.group(2)) <= 12:  # the usual YYYY-MM, without pandas
        return int(m.group(1)) * 12 + int(m.group(2)) - 1
    try:
        p = pd.Period(t, freq="M")
    except (ValueError, TypeError):
        raise ValueError(t) from None
    return p.year * 12 + p.month - 1


def truncate4(x) -> np.ndarray:
    """Truncate to four decimals (CFF 17-A), robust to binary noise:
    ``1.0625`` stays ``1.0625`` even when the division gives ``1.06249999999``."""
    x = np.asarray(x, dtype="float64")
    return np.floor(np.round(x * 1e4, 6)) / 1e4


def _read_table(source, name: str, label: str) -> pd.DataFrame:
    """Read one rate CSV (all text), check its columns, parse dates and numbers."""
    keys, required, numeric = TABLE_SPECS[name]
    try:
        df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImmexError(f"{label}: cannot read rate table ({exc})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ImmexError(
            f"{label}: column(s) {missing} missing from rate table {name}; columns found: {list(df.columns)}"
        )
    for col in ("source", "status"):
        if col not in df.columns:
            df[col] = f"user table {label}" if col == "source" else "user"
    if name == "vat" and "concept" not in df.columns:
        df["concept"] = "general"
    if name != "inpc" and "valid_to" not in df.columns:
        df["valid_to"] = ""
    out = df.copy()
    for col in numeric:
        vals = pd.to_numeric(df[col].str.strip().str.replace(",", "", regex=False), errors="coerce")
        bad = vals.isna() | (vals < 0)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImmexError(
                f"{label}: row {i + 2}, column {col}: {df[col].iloc[i]!r} is not a number ≥ 0"
            )
        out[col] = vals.astype("float64")
    if name == "inpc":
        months = []
        for i, v in enumerate(df["month"]):
            try:
                months.append(_parse_month(v))
            except ValueError:
                raise ImmexError(
                    f"{label}: row {i + 2}, column month: {v!r} is not a month; use YYYY-MM"
                ) from None
        out["month"] = _month_label(np.array(months, dtype=np.int64))
        out["_m"] = np.array(months, dtype=np.int64)
    else:
        for col in DATE_COLUMNS:
            text = df[col].str.strip()
            parsed = pd.to_datetime(text.where(text != ""), errors="coerce", format="ISO8601")
            bad = parsed.isna() & (text != "")
            if col == "valid_from":
                bad = bad | (text == "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise ImmexError(
                    f"{label}: row {i + 2}, column {col}: {df[col].iloc[i]!r} is not a date; use YYYY-MM-DD"
                    + (" (valid_from is required)" if col == "valid_from" else "")
                )
            out[col] = parsed.astype("datetime64[ns]")
    if name == "dta":
        bad = ~out["kind"].str.strip().isin(DTA_KINDS)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImmexError(
                f"{label}: row {i + 2}, column kind: {df['kind'].iloc[i]!r}; accepted: {list(DTA_KINDS)}"
            )
        out["kind"] = out["kind"].str.strip()
    if name in ("dta", "vat"):
        out["concept"] = out["concept"].str.strip()
    return out


def _merge(base: pd.DataFrame, extra: pd.DataFrame, name: str) -> pd.DataFrame:
    keys = list(TABLE_SPECS[name][0])
    if name == "inpc":
        keys = ["_m"]
    both = pd.concat(
        [base, extra[[c for c in extra.columns if c in base.columns]]], ignore_index=True
    )
    both = both.drop_duplicates(keys, keep="last")
    sort = ["_m"] if name == "inpc" else [k for k in ("concept", "valid_from") if k in both.columns]
    return both.sort_values(sort, kind="stable").reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Rates:
    """The four rate tables, each row with ``source`` (and validity).

    Build it with :meth:`Rates.load`; :func:`default_rates` is the built-in set.
    """

    inpc_table: pd.DataFrame
    surcharge_table: pd.DataFrame
    vat_table: pd.DataFrame
    dta_table: pd.DataFrame
    files: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ load
    @classmethod
    def load(cls, override_dir: str | os.PathLike | None = None) -> Rates:
        """Built-in tables, extended/overridden by same-named CSVs in ``override_dir``."""
        tables = {}
        pkg = resources.files("immex_nb") / "data"
        for name in TABLE_SPECS:
            with (pkg / f"{name}.csv").open("rb") as fh:
                tables[name] = _read_table(fh, name, f"immex_nb/data/{name}.csv")
        files: list[str] = []
        if override_dir is not None:
            folder = Path(override_dir)
            if not folder.is_dir():
                raise ImmexError(f"rates folder {folder} does not exist or is not a folder")
            found = False
            for name in TABLE_SPECS:
                path = folder / f"{name}.csv"
                if path.exists():
                    found = True
                    files.append(str(path))
                    tables[name] = _merge(tables[name], _read_table(path, name, str(path)), name)
            if not found:
                raise ImmexError(
                    f"rates folder {folder} holds none of {[f'{n}.csv' for n in TABLE_SPECS]}; "
                    f"files found: {sorted(p.name for p in folder.iterdir())}"
                )
        return cls(
            inpc_table=tables["inpc"],
            surcharge_table=tables["surcharge_rates"],
            vat_table=tables["vat"],
            dta_table=tables["dta"],
            files=tuple(files),
        )

    # ------------------------------------------------------------------ INPC
    @property
    def last_inpc_month(self) -> str:
        """Last month with a published INPC, ``YYYY-MM``."""
        return str(self.inpc_table["month"].iloc[-1])

    def inpc_lookup(self, months) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """INPC for month indices (see :func:`month_index`), vectorised.

        Returns ``(value, used_month_index, estimated)``: a month that is not in
        the table takes the last value published before it (the first one for a
        month before the table), and ``estimated`` is True for it.
        """
        m = np.asarray(months, dtype=np.int64)
        tm = self.inpc_table["_m"].to_numpy(dtype=np.int64)
        tv = self.inpc_table["inpc"].to_numpy(dtype="float64")
        pos = np.searchsorted(tm, m, side="right") - 1
        pos = np.clip(pos, 0, len(tm) - 1)
        used = tm[pos]
        return tv[pos], used, used != m

    def inpc(self, month) -> float:
        """INPC of one month (``"2024-03"``, a date or a Period); the last
        published value for a month beyond the table."""
        if isinstance(month, str) and len(month.strip()) == 7:
            idx = _parse_month(month)
        else:
            idx = int(
                month_index([pd.Timestamp(str(month) if isinstance(month, pd.Period) else month)])[
                    0
                ]
            )
        return float(self.inpc_lookup([idx])[0][0])

    def inpc_factors(self, from_months, as_of) -> dict:
        """:meth:`inpc_factor_table`'s columns as arrays, for entry months given
        as month indices (:func:`month_index`, -1 = no date)."""
        raw = np.asarray(from_months, dtype=np.int64)
        missing = raw < 0
        m_from = np.where(missing, 0, raw - 1)
        m_to = int(month_index([pd.Timestamp(as_of)])[0]) - 1
        v_from, u_from, e_from = self.inpc_lookup(m_from)
        v_to, u_to, e_to = self.inpc_lookup(np.array([m_to]))
        factor = np.where(missing, np.nan, np.maximum(truncate4(v_to[0] / v_from), 1.0))
        return {
            "inpc_month_from": month_label_array(u_from, missing),
            "inpc_month_to": month_label_array(np.zeros(len(raw), dtype=np.int64) + u_to[0]),
            "inpc_from": np.where(missing, np.nan, v_from),
            "inpc_to": np.full(len(raw), v_to[0]),
            "inpc_factor": factor,
            "inpc_estimated": (e_from | e_to[0]) & ~missing,
        }

    def inpc_factor_table(self, from_dates, as_of) -> pd.DataFrame:
        """Update factor per date, with its working (CFF art. 17-A).

        Columns: ``inpc_month_from`` / ``inpc_month_to`` (the months before the
        date's month and before ``as_of``'s month, as used), ``inpc_from``,
        ``inpc_to``, ``inpc_factor`` (truncated to 4 decimals, at least 1) and
        ``inpc_estimated`` (a month was not in the table).
        """
        idx = getattr(from_dates, "index", None)
        columns = self.inpc_factors(month_index(from_dates), as_of)
        n = len(columns["inpc_factor"])
        return pd.DataFrame(columns, index=idx if idx is not None and len(idx) == n else None)

    def inpc_factor(self, from_dates, as_of) -> pd.Series:
        """The update factor alone (see :meth:`inpc_factor_table`)."""
        return self.inpc_factor_table(from_dates, as_of)["inpc_factor"]

    # ------------------------------------------------------------- surcharges
    def surcharge_rates(self, years) -> tuple[np.ndarray, np.ndarray]:
        """Monthly late-payment rate per calendar year, vectorised.

        Returns ``(rate, estimated)``: a year after the table's last row uses
        that last rate (``estimated`` True); a year before the first uses the
        first rate (also flagged).
        """
        y = np.asarray(years, dtype=np.int64)
        t = self.surcharge_table.sort_values("valid_from")
        start_y = t["valid_from"].dt.year.to_numpy(dtype=np.int64)
        to = t["valid_to"]
        end_y = np.where(to.isna(), 10_000, to.dt.year.fillna(0).to_numpy(dtype=np.int64))
        rates = t["monthly_rate"].to_numpy(dtype="float64")
        pos = np.searchsorted(start_y, y, side="right") - 1
        before = pos < 0
        pos = np.clip(pos, 0, len(start_y) - 1)
        estimated = before | (y > end_y[pos])
        return rates[pos], estimated

    def surcharge_rate(self, year: int) -> float:
        """Monthly late-payment (mora) rate of a year: 0.0147 to 2025, 0.0207 in 2026."""
        return float(self.surcharge_rates([int(year)])[0][0])

    # --------------------------------------------------------------- VAT, DTA
    @staticmethod
    def _in_force(t: pd.DataFrame, on) -> pd.Series:
        on = pd.Timestamp("today").normalize() if on is None else pd.Timestamp(on)
        rows = t[t["valid_from"] <= on].sort_values("valid_from")
        if rows.empty:
            rows = t.sort_values("valid_from").head(1)
        return rows.iloc[-1]

    def vat_rate(self, on=None, concept: str = "general") -> float:
        """VAT rate in force on a date (0.16)."""
        t = self.vat_table[self.vat_table["concept"] == concept]
        if t.empty:
            raise ImmexError(
                f"VAT concept {concept!r} not in the VAT table; concepts: {sorted(self.vat_table['concept'].unique())}"
            )
        return float(self._in_force(t, on)["rate"])

    def dta_rate(self, concept: str = "ad_valorem", on=None) -> float:
        """DTA rate: ``"ad_valorem"`` 0.008 (definitive, change of regime,
        regularisation) or ``"af_temporary"`` 0.00176 (AF temporary imports)."""
        t = self.dta_table[
            (self.dta_table["concept"] == concept) & (self.dta_table["kind"] == "rate")
        ]
        if t.empty:
            known = sorted(self.dta_table.loc[self.dta_table["kind"] == "rate", "concept"].unique())
            raise ImmexError(f"DTA rate concept {concept!r} unknown; accepted: {known}")
        return float(self._in_force(t, on)["value"])

    def dta_fixed_fee(self, year: int) -> tuple[float, bool]:
        """Fixed DTA per IMMEX temporary pedimento in a year and whether the
        amount is confirmed (``(425.0, True)`` for 2024; 2025–2026 carry the
        2024 amount, unconfirmed)."""
        t = self.dta_table[
            (self.dta_table["concept"] == "immex_fixed_fee")
            & (self.dta_table["kind"] == "fixed_mxn")
        ]
        if t.empty:
            raise ImmexError("DTA table has no immex_fixed_fee row")
        row = self._in_force(t, pd.Timestamp(year=int(year), month=1, day=1))
        confirmed = str(row["status"]).strip().lower() == "confirmed"
        in_range = pd.isna(row["valid_to"]) or row["valid_to"].year >= int(year)
        in_range = in_range and row["valid_from"].year <= int(year)
        return float(row["value"]), bool(confirmed and in_range)

    # ---------------------------------------------------------------- display
    def sources(self) -> pd.DataFrame:
        """One tidy table of every rate row with its source (for annexes)."""
        inpc = self.inpc_table.assign(
            table="inpc",
            key=self.inpc_table["month"],
            value=self.inpc_table["inpc"],
            valid_from=pd.NaT,
            valid_to=pd.NaT,
        )
        sur = self.surcharge_table.assign(
            table="surcharge_rates",
            key=self.surcharge_table["valid_from"].dt.year.astype(str),
            value=self.surcharge_table["monthly_rate"],
        )
        vat = self.vat_table.assign(
            table="vat", key=self.vat_table["concept"], value=self.vat_table["rate"]
        )
        dta = self.dta_table.assign(table="dta", key=self.dta_table["concept"])
        cols = ["table", "key", "value", "valid_from", "valid_to", "status", "source"]
        return pd.concat(
            [t.reindex(columns=cols) for t in (inpc, sur, vat, dta)], ignore_index=True
        )


@lru_cache(maxsize=1)
def default_rates() -> Rates:
    """The built-in tables (cached)."""
    return Rates.load()


def resolve(rates: Rates | str | os.PathLike | None) -> Rates:
    """``None`` → built-in tables; a folder → built-in + that folder; a Rates → itself."""
    if rates is None:
        return default_rates()
    if isinstance(rates, Rates):
        return rates
    return Rates.load(rates)
