"""Anexo 30 (SCCCyG) worksheet of one month — docs/rules/anexo30.md.

SAT keeps, for companies certified for the IVA/IEPS credit, an account of the
temporary imports still to be discharged (the *Sistema de Control de Cuentas
de Créditos y Garantías*): per fracción arancelaria, fixed assets apart.  This
module computes, for a period ``YYYY-MM`` and from the FIFO discharge, the two
tables a consultant checks that account against:

* **descargos** — one row per ``(export_pedimento, export_clave, fraccion,
  activo_fijo)`` for the exits dated in the period: the customs value
  (``value_mxn × allocated / quantity``) of the imported lines of that fracción
  the exit discharged;
* **saldos** — one row per ``(fraccion, activo_fijo)``: opening (the open value
  of the ledger as it stood on the previous month's last day), credits
  (imports dated in the period), descargos, closing (the open value as it stood
  on the period's last day) and the expired part of the closing.

``opening + credits − descargos = closing`` holds per row: the FIFO over a
cut-off ledger is *prefix-stable* (imports dated in the period come after every
earlier lot in FIFO order and can only be reached by exits dated in the period,
so the allocations of earlier exits are the same in both runs), hence each
lot's discharged quantity grows from one run to the other by exactly what the
period's exits took from it, in the same integer micro-units.  The two runs
are computed independently and the identity is checked in code
(:class:`IdentityError` names the fracción); it is never forced.

Money: full precision (float64) in every figure and in the CSVs, as in the
other results (docs/rules/anexo30.md §Rounding); round to cents only to show.
A figure rounded on its own can break the identity by one cent, so the
check is on the unrounded figures, with a tolerance of half a cent
(:data:`IDENTITY_TOLERANCE_MXN`).

Pure: DataFrames in, DataFrames out; prints nothing, writes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from immex_nb.dates import Period
from immex_nb.errors import ImmexError

#: ``|opening + credits − descargos − closing|`` allowed per (fraccion, activo_fijo), MXN.
IDENTITY_TOLERANCE_MXN = 0.005

#: material_type whose lines are fixed assets (activo fijo ``S``).
FIXED_ASSET_TYPE = "AF"

#: What a blank export clave means (an exit with no clave is a return, docs/rules/tables.md).
DEFAULT_EXPORT_CLAVE = "RT"

DESCARGOS_COLUMNS = [
    "export_pedimento",
    "export_clave",
    "export_date",
    "fraccion",
    "activo_fijo",
    "value_mxn",
]
SALDOS_COLUMNS = [
    "fraccion",
    "activo_fijo",
    "opening_value_mxn",
    "credits_value_mxn",
    "descargos_value_mxn",
    "closing_value_mxn",
    "expired_value_mxn",
]
MONEY_COLUMNS = SALDOS_COLUMNS[2:]
_KEY = ["fraccion", "activo_fijo"]
_LOT = ["import_pedimento", "import_line"]
_BLANKS = {"", "nan", "none", "<na>", "nat"}


class IdentityError(ImmexError):
    """``opening + credits − descargos ≠ closing`` for a fracción: a defect of
    immex-nb, not of the data (the message names the fracción and the figures)."""


# --------------------------------------------------------------------------- helpers


def _text(values: pd.Series) -> pd.Series:
    """Codes as plain text: stripped, blanks (NaN, None, "nan") → ``""``."""
    s = pd.Series(values).astype("object")
    s = s.where(s.notna(), "").astype(str).str.strip()
    return s.mask(s.str.lower().isin(_BLANKS), "").astype("object")


def activo_fijo(material_type: pd.Series) -> pd.Series:
    """``S`` for fixed assets (material_type ``AF``), else ``N``."""
    mt = _text(material_type).str.upper()
    return pd.Series(np.where(mt == FIXED_ASSET_TYPE, "S", "N"), index=mt.index, dtype="object")


def export_clave(clave: pd.Series) -> pd.Series:
    """Exit claves as written on the worksheet: upper case, blank → ``RT``."""
    c = _text(clave).str.upper()
    return c.mask(c == "", DEFAULT_EXPORT_CLAVE)


def _lots(balances: pd.DataFrame) -> pd.DataFrame:
    """Per import line: its key, date, fracción, activo_fijo and values."""
    lots = pd.DataFrame(
        {
            "import_pedimento": balances["import_pedimento"].astype(str).to_numpy(),
            "import_line": balances["import_line"].astype(np.int64).to_numpy(),
            "import_date": pd.to_datetime(balances["import_date"]).to_numpy(),
            "fraccion": _text(balances["fraccion"]).to_numpy() if "fraccion" in balances else "",
            "activo_fijo": activo_fijo(balances["material_type"]).to_numpy(),
            "value_mxn": balances["value_mxn"].astype("float64").to_numpy(),
            "open_value_mxn": balances["open_value_mxn"].astype("float64").to_numpy(),
            "expired": balances["expired"].astype(bool).to_numpy(),
        }
    )
    dup = lots.duplicated(_LOT, keep=False)
    if dup.any():
        first = lots.loc[dup].iloc[0]
        raise ImmexError(
            f"import line {first['import_pedimento']} / {first['import_line']} appears more than "
            "once; each (pedimento, line) must be unique (run `immex-nb validate`)"
        )
    return lots


def _sum_by_key(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    return frame.groupby(_KEY, sort=True)[column].sum().rename(name)


# --------------------------------------------------------------------------- tables


def descargos_table(allocations: pd.DataFrame, balances: pd.DataFrame, period) -> pd.DataFrame:
    """Descargos of the exits dated in ``period``.

    ``allocations`` and ``balances`` are those of the discharge as of the
    period's last day (any cut-off on or after it: exits after the period are
    left out here).  Sorted by export date, pedimento, clave, fracción, activo_fijo.
    """
    p = Period.parse(period)
    lo, hi = p.bounds
    a = allocations
    when = pd.to_datetime(a["export_date"])
    a = a.loc[((when >= lo) & (when <= hi)).to_numpy()]
    clave = a["export_clave"] if "export_clave" in a else pd.Series("", index=a.index)
    rows = pd.DataFrame(
        {
            "export_pedimento": a["export_pedimento"].astype(str).to_numpy(),
            "export_clave": export_clave(clave).to_numpy(),
            "export_date": pd.to_datetime(a["export_date"]).to_numpy(),
            "import_pedimento": a["import_pedimento"].astype(str).to_numpy(),
            "import_line": a["import_line"].astype(np.int64).to_numpy(),
            "value_mxn": a["value_mxn"].astype("float64").to_numpy(),
        }
    )
    lots = _lots(balances)[[*_LOT, *_KEY]]
    rows = rows.merge(lots, on=_LOT, how="left", validate="many_to_one")
    if rows["fraccion"].isna().any():
        miss = rows.loc[rows["fraccion"].isna()].iloc[0]
        raise IdentityError(
            f"internal error: allocation from import line {miss['import_pedimento']} / "
            f"{miss['import_line']} has no balance row; please report it"
        )
    group = ["export_pedimento", "export_clave", *_KEY]
    out = (
        rows.groupby(group, sort=False)
        .agg(export_date=("export_date", "min"), value_mxn=("value_mxn", "sum"))
        .reset_index()
    )
    out = out[DESCARGOS_COLUMNS].sort_values(
        ["export_date", "export_pedimento", "export_clave", *_KEY], kind="stable"
    )
    out = out.reset_index(drop=True)
    out["export_date"] = pd.to_datetime(out["export_date"])
    return out.astype({c: "object" for c in ("export_pedimento", "export_clave", *_KEY)})


def saldos_table(
    opening_balances: pd.DataFrame,
    closing_balances: pd.DataFrame,
    descargos: pd.DataFrame,
    period,
    *,
    check: bool = True,
) -> pd.DataFrame:
    """Saldos per ``(fraccion, activo_fijo)`` of ``period``.

    ``opening_balances``: balances of the discharge as of the previous month's
    last day; ``closing_balances``: as of the period's last day; ``descargos``:
    :func:`descargos_table` of the period.  One row per (fracción, activo_fijo)
    of every import line dated on or before the period's last day (zeros
    included), sorted by fracción then activo_fijo.  With ``check`` the
    identity is verified (:func:`check_identity`).
    """
    p = Period.parse(period)
    lo, hi = p.bounds
    opening = _lots(opening_balances)
    closing = _lots(closing_balances)
    in_period = (closing["import_date"] >= lo) & (closing["import_date"] <= hi)
    expired = closing.loc[closing["expired"]]
    parts = [
        _sum_by_key(opening, "open_value_mxn", "opening_value_mxn"),
        _sum_by_key(closing.loc[in_period], "value_mxn", "credits_value_mxn"),
        _sum_by_key(descargos, "value_mxn", "descargos_value_mxn"),
        _sum_by_key(closing, "open_value_mxn", "closing_value_mxn"),
        _sum_by_key(expired, "open_value_mxn", "expired_value_mxn"),
    ]
    keys = pd.MultiIndex.from_frame(
        pd.concat([opening[_KEY], closing[_KEY], descargos[_KEY]], ignore_index=True)
        .drop_duplicates()
        .sort_values(_KEY, kind="stable")
    )
    out = pd.concat([s.reindex(keys) for s in parts], axis=1).fillna(0.0).reset_index()
    out = out[SALDOS_COLUMNS].astype({c: "float64" for c in MONEY_COLUMNS})
    out = out.astype({c: "object" for c in _KEY}).reset_index(drop=True)
    if check:
        check_identity(out)
    return out


def identity_residual(saldos: pd.DataFrame) -> pd.Series:
    """``opening + credits − descargos − closing`` per row (MXN, full precision)."""
    return (
        saldos["opening_value_mxn"]
        + saldos["credits_value_mxn"]
        - saldos["descargos_value_mxn"]
        - saldos["closing_value_mxn"]
    )


def check_identity(saldos: pd.DataFrame, tolerance: float = IDENTITY_TOLERANCE_MXN) -> None:
    """Raise :class:`IdentityError` naming the first (fracción, activo_fijo)
    where ``opening + credits − descargos`` and ``closing`` differ by more
    than ``tolerance`` MXN."""
    residual = identity_residual(saldos)
    bad = ~(residual.abs() <= tolerance)  # NaN counts as a violation
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        r = saldos.iloc[i]
        fraccion = r["fraccion"] or "(blank)"
        raise IdentityError(
            f"internal error: Anexo 30 identity fails for fracción {fraccion} "
            f"activo_fijo {r['activo_fijo']}: opening {r['opening_value_mxn']:.6f} + credits "
            f"{r['credits_value_mxn']:.6f} − descargos {r['descargos_value_mxn']:.6f} ≠ "
            f"closing {r['closing_value_mxn']:.6f} (residual {residual.iloc[i]:.6f} MXN); "
            "please report it"
        )


def anexo30(opening_result, closing_result, period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(descargos, saldos)`` from two discharge results of the same ledger and
    options: ``opening_result`` as of the previous month's last day,
    ``closing_result`` as of the period's last day."""
    p = Period.parse(period)
    for result, day, what in (
        (opening_result, p.previous.end, "opening"),
        (closing_result, p.end, "closing"),
    ):
        as_of = getattr(result, "as_of", None)
        if as_of is not None and pd.Timestamp(as_of) != pd.Timestamp(day):
            raise ImmexError(
                f"the {what} discharge of period {p} must be as of {day:%Y-%m-%d}, "
                f"not {pd.Timestamp(as_of):%Y-%m-%d}"
            )
    descargos = descargos_table(closing_result.allocations, closing_result.balances, p)
    saldos = saldos_table(opening_result.balances, closing_result.balances, descargos, p)
    return descargos, saldos


def anexo30_tables(ledger_or_run, period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(descargos, saldos)`` of ``period`` for a ledger (what
    :func:`immex_nb.load` returns) or a :class:`immex_nb.run.ClientRun`.

    A run lends its ledger and options (deadline rule, OEA); its own discharge
    is reused when it is as of the period's last day (the monthly report's run).
    """
    from immex_nb.run import ClientRun

    p = Period.parse(period)
    if isinstance(ledger_or_run, ClientRun):
        run = ledger_or_run
        options = {"deadline_rule": run.deadline_rule, "oea": run.oea}
        closing = (
            run
            if run.as_of == pd.Timestamp(p.end)
            else ClientRun(run.ledger, p.end, rates=run.rates, **options)
        )
        ledger = run.ledger
    else:
        ledger = ledger_or_run
        closing = ClientRun(ledger, p.end)
        options = {"deadline_rule": closing.deadline_rule, "oea": closing.oea}
    opening = ClientRun(ledger, p.previous.end, rates=closing.rates, **options)
    return anexo30(opening.discharge, closing.discharge, p)


def summary(descargos: pd.DataFrame, saldos: pd.DataFrame) -> dict:
    """Headline figures of the worksheet (full precision)."""
    totals = {c: float(saldos[c].sum()) for c in MONEY_COLUMNS}
    return {
        "descargo_rows": int(len(descargos)),
        "exit_pedimentos": int(descargos["export_pedimento"].nunique()),
        "saldo_rows": int(len(saldos)),
        **totals,
    }
