"""Kinds of movement: the table of pedimento claves (docs/rules/claves.md).

One table, ``immex_nb/data/claves.csv``, keyed by **clave and side**
(``imports`` or ``exports``: ``V1`` is a virtual temporary import on one side
and a virtual return on the other).  Each row says, with its ``source``:

==================  ==========================================================
``in_ledger``       the row belongs on this side of the IMMEX ledger (a
                    temporary entry in ``imports``; an exit that discharges in
                    ``exports``); a row that does not is a reject
``temporary_entry`` the clave is a temporary IMMEX entry (IN, AF, V1)
``kind``            for exits: ``return``, ``virtual_transfer``,
                    ``regime_change``, ``regularisation``, ``destruction``,
                    ``donation``
``taxes_paid``      IGI/DTA/IVA are paid with the pedimento (F4, F5, A3)
``counts_as_return`` the exit counts toward the 12-month return ratio of the
                    VAT certification (UNCONFIRMED by law: docs/rules/claves.md)
``belongs``         where a row with this clave belongs (``imports``,
                    ``exports`` or ``none``): what a reject reason says
``meaning_es/_en``  what the clave is, in words
==================  ==========================================================

A client extends or overrides it like the rate tables: a ``claves.csv`` of the
same shape in the client folder (or any folder given to :meth:`Claves.load`);
its rows replace the built-in rows with the same ``(side, clave)`` and add the
others — e.g. ``exports,DS,true,false,destruction,false,false,exports,…`` for
the code a client uses for destruction notices (there is no pedimento clave for
a destruction).

Every exit discharges (docs/rules/discharge.md); the kind only decides what the
KPIs, the report and the Anexo 30 worksheet say of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError
from immex_nb.text import t

CLAVES_FILE = "claves.csv"
SIDES = ("imports", "exports")
KINDS = (
    "return",
    "virtual_transfer",
    "regime_change",
    "regularisation",
    "destruction",
    "donation",
)
#: Kinds of exit counted toward the 12-month return ratio when nothing else is
#: said: returns abroad and virtual transfers.  UNCONFIRMED (no public source
#: settles it; docs/rules/claves.md) — a parameter, never a constant.
DEFAULT_RATIO_KINDS = ("return", "virtual_transfer")
#: What a blank clave means, per side (docs/rules/claves.md).
BLANK_CLAVE = {"imports": "IN", "exports": "RT"}
COLUMNS = (
    "side",
    "clave",
    "in_ledger",
    "temporary_entry",
    "kind",
    "taxes_paid",
    "counts_as_return",
    "belongs",
    "meaning_es",
    "meaning_en",
    "status",
    "source",
)
_BOOLS = ("in_ledger", "temporary_entry", "taxes_paid", "counts_as_return")
_TRUE, _FALSE = ("true", "1", "yes", "si", "sí", "s", "y"), ("false", "0", "no", "n", "")


def normalize_claves(values: pd.Series, side: str) -> pd.Series:
    """Claves as the table keys them: trimmed, upper case; blank → ``IN``
    (imports) or ``RT`` (exports)."""
    text = values.astype("str").fillna("").str.strip().str.upper()
    text = text.where(~values.isna(), "")
    return text.mask(text == "", BLANK_CLAVE[side])


def _read(source, label: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImmexError(f"{label}: cannot read the claves table ({exc})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("side", "clave", "in_ledger") if c not in df.columns]
    if missing:
        raise ImmexError(
            f"{label}: column(s) {missing} missing from the claves table; "
            f"columns found: {list(df.columns)}; accepted: {list(COLUMNS)}"
        )
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = f"user table {label}" if col == "source" else ""
    df = df[list(COLUMNS)].copy()
    for col in df.columns:
        df[col] = df[col].str.strip()
    df["side"] = df["side"].str.lower()
    df["clave"] = df["clave"].str.upper()
    df["kind"] = df["kind"].str.lower()
    df["belongs"] = df["belongs"].str.lower().mask(df["belongs"] == "", df["side"])
    for i, row in enumerate(df.itertuples(index=False), start=2):
        if row.side not in SIDES:
            raise ImmexError(f"{label}: row {i}, column side: {row.side!r}; accepted: {SIDES}")
        if not row.clave:
            raise ImmexError(f"{label}: row {i}, column clave is empty")
        if row.kind and row.kind not in KINDS:
            raise ImmexError(f"{label}: row {i}, column kind: {row.kind!r}; accepted: {KINDS}")
        if row.belongs not in (*SIDES, "none"):
            raise ImmexError(
                f"{label}: row {i}, column belongs: {row.belongs!r}; accepted: imports, exports, none"
            )
    for col in _BOOLS:
        low = df[col].str.lower()
        bad = ~low.isin(_TRUE + _FALSE)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImmexError(
                f"{label}: row {i + 2}, column {col}: {df[col].iloc[i]!r}; accepted: true or false"
            )
        df[col] = low.isin(_TRUE)
    exits = (df["side"] == "exports") & df["in_ledger"] & (df["kind"] == "")
    if exits.any():
        i = int(np.flatnonzero(exits.to_numpy())[0])
        raise ImmexError(
            f"{label}: row {i + 2}: an exit clave ({df['clave'].iloc[i]}) needs a kind; accepted: {KINDS}"
        )
    return df


@dataclass(frozen=True, eq=False)
class Claves:
    """The claves table (one row per ``(side, clave)``); build it with :meth:`load`."""

    table: pd.DataFrame
    files: tuple[str, ...] = field(default=())

    @classmethod
    def load(cls, override_dir: str | os.PathLike | None = None) -> Claves:
        """Built-in table, extended/overridden by ``override_dir/claves.csv`` when
        that file exists (a client folder without one gets the built-in table)."""
        with (resources.files("immex_nb") / "data" / CLAVES_FILE).open("rb") as fh:
            table = _read(fh, f"immex_nb/data/{CLAVES_FILE}")
        files: tuple[str, ...] = ()
        if override_dir is not None:
            path = Path(override_dir) / CLAVES_FILE
            if path.is_file():
                extra = _read(path, str(path))
                table = pd.concat([table, extra], ignore_index=True)
                table = table.drop_duplicates(["side", "clave"], keep="last")
                files = (str(path),)
        table = table.sort_values(["side", "clave"], kind="stable").reset_index(drop=True)
        return cls(table=table, files=files)

    # ---------------------------------------------------------------- lookups
    def side(self, side: str) -> pd.DataFrame:
        """The rows of one side, indexed by clave."""
        if side not in SIDES:
            raise ImmexError(f"side {side!r} is not one of {SIDES}")
        return self.table[self.table["side"] == side].set_index("clave")

    def column(self, claves: pd.Series, side: str, column: str, default=None) -> pd.Series:
        """``column`` of the table for each clave in ``claves`` (normalised; a
        clave not in the table gets ``default``)."""
        rows = self.side(side)[column]
        claves = pd.Series(claves)
        codes, distinct = pd.factorize(claves, use_na_sentinel=False)  # few distinct claves
        keys = normalize_claves(pd.Series(distinct, dtype=object), side)
        out = keys.map(rows)
        if default is not None:
            out = out.where(keys.isin(rows.index), default)
        return pd.Series(out.to_numpy()[codes], index=claves.index, dtype=out.dtype)

    def kinds(self, claves: pd.Series, side: str = "exports") -> pd.Series:
        """The kind of each exit clave ('' when the table gives none)."""
        return self.column(claves, side, "kind", default="").astype(str)

    def in_ledger(self, claves: pd.Series, side: str) -> pd.Series:
        """True where the clave belongs on ``side`` of the IMMEX ledger; False
        for a known clave that does not; True for an unknown clave (the loader
        rejects those; the engine keeps whatever it is given)."""
        return self.column(claves, side, "in_ledger", default=True).astype(bool)

    def reasons(self, claves: pd.Series, side: str) -> pd.Series:
        """A reject reason for each clave that does not belong on ``side``
        (``None`` where it does): what the clave is and where it belongs."""
        rows = self.side(side)
        keys = normalize_claves(pd.Series(claves), side)
        out = pd.Series([None] * len(keys), index=keys.index, dtype=object)
        accepted = ", ".join(rows.index[rows["in_ledger"]])
        for clave in pd.unique(keys):
            at = keys == clave
            if clave not in rows.index:
                out[at] = t(
                    "reject.clave_unknown", "en",
                    clave=clave, side=side, accepted=accepted, file=CLAVES_FILE,
                )  # fmt: skip
                continue
            row = rows.loc[clave]
            if row["in_ledger"]:
                continue
            meaning = row["meaning_en"]
            if row["belongs"] in SIDES and row["belongs"] != side:
                out[at] = t(
                    "reject.clave_elsewhere", "en",
                    clave=clave, meaning=meaning, belongs=row["belongs"],
                )  # fmt: skip
            else:
                out[at] = t("reject.clave_not_ledger", "en", clave=clave, meaning=meaning)
        return out

    def ratio_kinds(self) -> tuple[str, ...]:
        """Kinds whose claves count toward the return ratio in this table."""
        rows = self.side("exports")
        return tuple(sorted(set(rows.loc[rows["counts_as_return"], "kind"]) - {""}))

    def meaning(self, clave: str, side: str, lang: str = "es") -> str:
        rows = self.side(side)
        key = normalize_claves(pd.Series([clave]), side).iat[0]
        if key not in rows.index:
            return key
        return str(rows.at[key, f"meaning_{lang}"])


@lru_cache(maxsize=1)
def default_claves() -> Claves:
    """The built-in claves table (cached)."""
    return Claves.load()
