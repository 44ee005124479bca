"""T-MEC / USMCA art. 2.5 (ex-NAFTA 303): IGI due on non-originating inputs
of goods exported to the United States or Canada.

Mexico collects the import duty on the non-originating inputs of a good
exported to a T-MEC partner, less the duty already paid on that good in the
US or Canada — but never less than zero::

    payable = igi_mx − min(igi_mx, duty_abroad)

* In scope: allocations (from :func:`immex_nb.discharge`) of a **return
  abroad** (the exit's clave is of kind ``return`` in the claves table — RT,
  H1 —, not a change of regime F4/F5, a regularisation A3, a virtual transfer
  V1/V5 or a donation: docs/rules/claves.md) whose export goes to ``USA`` or
  ``CAN`` and whose import line is *not originating*: ``usmca_originating``
  false or not stated, and origin not USA/CAN/MEX.
* ``igi_mx`` = allocated ``value_mxn`` × the rate the client can use: the
  lower of the general ``igi_rate`` and ``prosec_rate`` when it holds PROSEC
  (RGCE 1.6.11 lets PROSEC / Regla 8a / FTA rates be used).
* ``duty_abroad``: the export line's ``us_duty_paid_usd`` when the exports
  frame gives it; otherwise a scenario rate (``us_duty_rate``) × the export
  line's ``value_usd`` (or, lacking that, the allocated value); otherwise 0.
  USD becomes MXN at the export line's own rate (Σ allocated ``value_mxn`` ÷
  Σ allocated ``value_usd``, i.e. the import lines' exchange rates) unless
  ``exchange_rate`` is given.  The export line's duty is shared among its
  in-scope allocations in proportion to their ``igi_mx`` so that, summed per
  export line, ``payable = Σigi − min(Σigi, duty)`` exactly as art. 2.5
  states it for the exported good (by value where all IGI is zero).
* Due date: the return pedimento, or within 60 calendar days after the export
  by a complementary pedimento → ``due_date = export_date + 60 days``.
* One rule for what is due and overdue as of a date, everywhere (report,
  notebooks): every in-scope export dated up to ``as_of`` (not only the last
  60 days), ``due_date = export_date + 60 days``, ``overdue`` ⇔ ``due_date <
  as_of`` with something payable — :func:`tmec_due`.

Worked line.  Export 2025-03-03 of a harness to the USA; it consumed wire from
China worth MXN 20,000 (USD 1,000), general rate 10 %, no PROSEC → ``igi_mx``
= 2,000.  The US importer paid USD 50 duty → MXN 1,000 at the wire's 20 MXN/
USD → payable = 2,000 − min(2,000, 1,000) = **1,000**, due 2025-05-02.  Had it
paid USD 150 (MXN 3,000 > 2,000) the payable would be 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from immex_nb.dates import as_timestamp
from immex_nb.errors import ImmexError

PARTNERS = ("USA", "CAN")
USMCA_ORIGINS = ("USA", "CAN", "MEX")
DUE_DAYS = 60
RATE_COLUMNS = ("igi_rate", "prosec_rate", "usmca_originating")
KEYS = ["import_pedimento", "import_line"]
EXPORT_KEYS = ["export_pedimento", "export_line"]
TMEC_COLUMNS = [
    "export_pedimento",
    "export_line",
    "export_date",
    "destination",
    "export_part",
    "part_number",
    "import_pedimento",
    "import_line",
    "origin",
    "value_mxn",
    "value_usd",
    "igi_rate",
    "prosec_rate",
    "rate_used",
    "igi_mx",
    "duty_basis",
    "duty_abroad_usd",
    "duty_abroad_mxn",
    "credit",
    "payable",
    "due_date",
]


def _upper(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str).str.strip().str.upper()


def _factorized(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``s`` as codes into its distinct values (missing values are a value of
    their own): a function of the value computed on the few distinct values
    and taken by code equals it computed row by row, without touching each
    row's text (allocations have millions of rows and a few hundred
    categories)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    return codes, pd.Series(uniques)


def _upper_isin(s: pd.Series, values) -> np.ndarray:
    """``_upper(s).isin(values)`` as a boolean array, on distinct values."""
    codes, uniques = _factorized(s)
    return _upper(uniques).isin(values).to_numpy(dtype=bool)[codes]


#: kinds of exit art. 2.5 reaches: returns abroad (docs/rules/claves.md)
TMEC_KINDS = ("return",)


def _is_return(frame: pd.DataFrame, claves) -> np.ndarray:
    if "export_clave" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    from immex_nb.claves import default_claves

    codes, uniques = _factorized(frame["export_clave"])
    kind = (claves or default_claves()).kinds(uniques.astype(object), "exports")
    return kind.isin(TMEC_KINDS).to_numpy(dtype=bool)[codes]


def _originating(frame: pd.DataFrame) -> np.ndarray:
    """Originating inputs: the flag true, or origin USA/CAN/MEX."""
    by_origin = (
        _upper_isin(frame["origin"], USMCA_ORIGINS)
        if "origin" in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    if "usmca_originating" not in frame.columns:
        return by_origin
    flag = frame["usmca_originating"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return flag | by_origin


def in_scope(frame: pd.DataFrame, claves=None) -> pd.Series:
    """Allocations art. 2.5 reaches: a return (kind in :data:`TMEC_KINDS`; frames
    without ``export_clave`` are taken as returns), destination USA/CAN and the
    input not originating (flag false/NA and origin not USA/CAN/MEX)."""
    keep = _upper_isin(frame["destination"], PARTNERS) & ~_originating(frame)
    keep &= _is_return(frame, claves)
    return pd.Series(keep, index=frame.index)


#: the allocation columns tmec_25 reads
READ_COLUMNS = (
    *EXPORT_KEYS,
    "export_date",
    "destination",
    "export_part",
    "part_number",
    *KEYS,
    "origin",
    "value_mxn",
    "value_usd",
    *RATE_COLUMNS,
    "export_clave",
)


def _with_rates(
    allocations: pd.DataFrame, balances: pd.DataFrame | None
) -> tuple[pd.DataFrame, dict]:
    """The columns of ``allocations`` that :func:`tmec_25` reads (a selection,
    not a copy), with the rate columns (and ``origin`` when the allocations
    lack it) of their import line in ``balances``: what a left merge on
    ``import_pedimento, import_line`` gives, by row positions; and the dtypes
    that merge gives the key columns (to be applied to the rows kept)."""
    a = allocations[[c for c in allocations.columns if c in READ_COLUMNS]]
    key_dtypes = a[KEYS].dtypes.to_dict()
    if balances is not None:
        missing = [c for c in KEYS if c not in balances.columns]
        if missing:
            raise ImmexError(
                f"tmec_25: balances lack {missing}; columns found: {list(balances.columns)}"
            )
        take = [c for c in RATE_COLUMNS if c in balances.columns]
        if "origin" not in a.columns and "origin" in balances.columns:
            take.append("origin")
        r = balances[KEYS + take].drop_duplicates(KEYS)
        # the key columns come out as the merge makes them (object where the two
        # sides' categories differ): the dtypes of the merge of no rows
        keys = a[KEYS].iloc[0:0].merge(r[KEYS].iloc[0:0], on=KEYS, how="left")
        key_dtypes = keys.dtypes.to_dict()
        lines = pd.MultiIndex.from_arrays([r[c] for c in KEYS])
        at = lines.get_indexer(pd.MultiIndex.from_arrays([a[c] for c in KEYS]))
        a = a.drop(columns=[c for c in take if c in a.columns])
        for c in take:
            a[c] = pd.api.extensions.take(r[c].array, at, allow_fill=True)
    if "igi_rate" not in a.columns:
        raise ImmexError(
            "tmec_25 needs igi_rate: pass the discharge balances (or allocations that carry igi_rate)"
        )
    for c, default in (("prosec_rate", np.nan), ("usmca_originating", pd.NA)):
        if c not in a.columns:
            a[c] = default
    return a, key_dtypes


def _duty_rate_for(dest: pd.Series, us_duty_rate) -> np.ndarray:
    if us_duty_rate is None:
        return np.full(len(dest), np.nan)
    if isinstance(us_duty_rate, Mapping):
        return (
            _upper(dest)
            .map({str(k).upper(): float(v) for k, v in us_duty_rate.items()})
            .astype("float64")
            .to_numpy()
        )
    return np.full(len(dest), float(us_duty_rate))


def tmec_25(
    allocations: pd.DataFrame,
    balances: pd.DataFrame | None = None,
    exports: pd.DataFrame | None = None,
    *,
    us_duty_rate: float | Mapping[str, float] | None = None,
    prosec: bool = True,
    exchange_rate: float | None = None,
    as_of=None,
    claves=None,
) -> pd.DataFrame:
    """T-MEC 2.5 IGI per in-scope allocation (see the module docstring).

    ``allocations`` and ``balances`` are the discharge frames (``balances``
    supplies ``igi_rate``, ``prosec_rate`` and ``usmca_originating`` by
    ``import_pedimento, import_line``); ``exports`` (canonical, columns
    ``pedimento, line``) supplies ``us_duty_paid_usd`` and the export line's
    ``value_usd``.  ``us_duty_rate`` is the scenario duty rate abroad (a
    number, or ``{"USA": r, "CAN": r}``) used where no duty paid is given;
    ``prosec=False`` when the client holds no PROSEC registration;
    ``exchange_rate`` (MXN per USD) overrides the lines' own rates;
    ``as_of`` drops exports dated after it; ``claves`` (default the built-in
    table) says which exits are returns.
    """
    need = ["export_pedimento", "export_line", "export_date", "destination", *KEYS, "value_mxn"]
    missing = [c for c in need if c not in allocations.columns]
    if missing:
        raise ImmexError(
            f"tmec_25 needs the discharge allocations; column(s) {missing} missing; columns found: {list(allocations.columns)}"
        )
    a, key_dtypes = _with_rates(allocations, balances)
    keep = in_scope(a, claves)
    if as_of is not None:
        keep &= pd.to_datetime(a["export_date"]) <= as_timestamp(as_of)
    a = a.loc[np.asarray(keep, dtype=bool)]
    if "value_usd" not in a.columns:
        a["value_usd"] = np.nan
    for c in ("export_part", "part_number", "origin"):
        if c not in a.columns:
            a[c] = ""

    igi_rate = pd.to_numeric(a["igi_rate"], errors="coerce").astype("float64").fillna(0.0)
    prosec_rate = pd.to_numeric(a["prosec_rate"], errors="coerce").astype("float64")
    rate = np.fmin(igi_rate.to_numpy(), prosec_rate.to_numpy()) if prosec else igi_rate.to_numpy()
    a["igi_rate"] = igi_rate
    a["prosec_rate"] = prosec_rate
    a["rate_used"] = rate
    a["value_mxn"] = a["value_mxn"].astype("float64")
    a["value_usd"] = pd.to_numeric(a["value_usd"], errors="coerce").astype("float64")
    a["igi_mx"] = a["value_mxn"] * a["rate_used"]

    # ---- duty paid abroad, per export line
    by_line = a.groupby(EXPORT_KEYS, sort=False)
    line = by_line.agg(
        igi_line=("igi_mx", "sum"),
        mxn_line=("value_mxn", "sum"),
        usd_line=("value_usd", "sum"),
        destination=("destination", "first"),
    )
    paid = pd.Series(np.nan, index=line.index)
    export_value = pd.Series(np.nan, index=line.index)
    if exports is not None and len(exports) and {"pedimento", "line"} <= set(exports.columns):
        e = (
            exports.assign(
                export_pedimento=exports["pedimento"].astype(str),
                export_line=exports["line"].astype(np.int64),
            )
            .drop_duplicates(EXPORT_KEYS)
            .set_index(EXPORT_KEYS)
        )
        if "us_duty_paid_usd" in e.columns:
            paid = (
                pd.to_numeric(e["us_duty_paid_usd"], errors="coerce")
                .reindex(line.index)
                .astype("float64")
            )
        if "value_usd" in e.columns:
            export_value = (
                pd.to_numeric(e["value_usd"], errors="coerce").reindex(line.index).astype("float64")
            )
    scen_rate = _duty_rate_for(line["destination"], us_duty_rate)
    base = export_value.where(export_value > 0, line["usd_line"]).to_numpy()
    scenario = scen_rate * base
    duty_usd = np.where(paid.notna(), paid.to_numpy(), np.where(np.isnan(scenario), 0.0, scenario))
    basis = np.where(paid.notna(), "paid", np.where(np.isnan(scenario), "none", "scenario"))
    if exchange_rate is not None:
        fx = np.full(len(line), float(exchange_rate))
    else:
        fx = np.divide(
            line["mxn_line"].to_numpy(),
            line["usd_line"].to_numpy(),
            out=np.full(len(line), np.nan),
            where=line["usd_line"].to_numpy() > 0,
        )
        if np.isnan(fx).any() and (duty_usd[np.isnan(fx)] > 0).any():
            raise ImmexError(
                "tmec_25: an export line with duty paid abroad has no USD value to derive an exchange rate; pass exchange_rate="
            )
        fx = np.nan_to_num(fx)
    line["duty_usd_line"] = duty_usd
    line["duty_mxn_line"] = duty_usd * fx
    line["duty_basis"] = basis

    # each allocation gets its export line's figures by the line's group number
    # (the rows of ``line`` are the groups in that order): a join, without one
    at = by_line.ngroup().to_numpy()
    for c in ("igi_line", "mxn_line", "duty_usd_line", "duty_mxn_line"):
        a[c] = line[c].to_numpy()[at]
    a["duty_basis"] = line["duty_basis"].array.take(at)
    weight = np.where(
        a["igi_line"] > 0,
        np.divide(a["igi_mx"], a["igi_line"], out=np.zeros(len(a)), where=a["igi_line"] > 0),
        np.divide(a["value_mxn"], a["mxn_line"], out=np.zeros(len(a)), where=a["mxn_line"] > 0),
    )
    a["duty_abroad_usd"] = a["duty_usd_line"] * weight
    a["duty_abroad_mxn"] = a["duty_mxn_line"] * weight
    a["credit"] = np.minimum(a["igi_mx"], a["duty_abroad_mxn"])
    a["payable"] = a["igi_mx"] - a["credit"]
    a["export_date"] = pd.to_datetime(a["export_date"]).astype("datetime64[ns]")
    a["due_date"] = a["export_date"] + pd.Timedelta(days=DUE_DAYS)
    # the import keys as the merge with the balances made them; a categorical
    # with sorted categories sorts as its text, so it is sorted first (by code)
    # and cast after
    later = {}
    for c, dtype in key_dtypes.items():
        if a[c].dtype == dtype:
            continue
        if dtype == np.dtype(object) and _sorted_categories(a[c]):
            later[c] = dtype
        else:
            a[c] = a[c].astype(dtype)
    out = a[TMEC_COLUMNS].sort_values(
        ["export_date", "export_pedimento", "export_line", "import_pedimento", "import_line"],
        kind="stable",
    )
    return out.astype(later).reset_index(drop=True) if later else out.reset_index(drop=True)


def _sorted_categories(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype) and (
        not s.cat.ordered and s.cat.categories.is_monotonic_increasing
    )


def _destinations(group: np.ndarray, destination: pd.Series) -> np.ndarray:
    """Per group (numbers ``0…n-1``; ``-1`` = no group), its destinations as
    text, distinct, sorted and joined by ", " (``"USA"``, ``"CAN, USA"``).
    Each group's set of destinations is a bit mask over the few distinct
    texts (in sorted order), and each distinct mask is spelled once."""
    codes, uniques = _factorized(destination)
    names = [str(v) for v in uniques]
    texts = sorted(set(names))
    rank = {name: i for i, name in enumerate(texts)}
    text = np.array([rank[name] for name in names], dtype=np.int64)[codes]
    n = int(group.max()) + 1 if len(group) else 0
    valid = group >= 0
    out = np.empty(n, dtype=object)
    if len(texts) <= 62:
        mask = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(mask, group[valid], np.left_shift(1, text[valid]))
        masks, at = np.unique(mask, return_inverse=True)
        spelled = [", ".join(t for i, t in enumerate(texts) if int(m) >> i & 1) for m in masks]
        out[:] = np.asarray(spelled, dtype=object)[at]
        return out
    pair = pd.DataFrame({"group": group[valid], "text": text[valid]}).drop_duplicates()
    for g, t in pair.groupby("group", sort=False)["text"]:
        out[g] = ", ".join(texts[i] for i in sorted(t))
    return out


def tmec_summary(df: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """Per export pedimento: export date, due date (60 days later), lines,
    IGI, duty abroad, credit and payable; with ``as_of``, days left and
    whether the 60 days have passed (``overdue``)."""
    cols = [
        "export_pedimento",
        "export_date",
        "due_date",
        "destination",
        "lines",
        "igi_mx",
        "duty_abroad_mxn",
        "credit",
        "payable",
    ]
    if df.empty:
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
        out["export_pedimento"] = out["export_pedimento"].astype(str)
    else:
        by_ped = df.groupby("export_pedimento", sort=False)
        out = by_ped.agg(
            export_date=("export_date", "min"),
            due_date=("due_date", "min"),
            lines=("export_line", "nunique"),
            igi_mx=("igi_mx", "sum"),
            duty_abroad_mxn=("duty_abroad_mxn", "sum"),
            credit=("credit", "sum"),
            payable=("payable", "sum"),
        )
        out.insert(2, "destination", _destinations(by_ped.ngroup().to_numpy(), df["destination"]))
        out = (
            out.reset_index()
            .sort_values(["due_date", "export_pedimento"], kind="stable")
            .reset_index(drop=True)
        )
    if as_of is not None:  # the one rule: exports up to as_of; overdue ⇔ due_date < as_of
        as_of = as_timestamp(as_of)
        out = out[pd.to_datetime(out["export_date"]) <= as_of].reset_index(drop=True)
        days = (pd.to_datetime(out["due_date"]) - as_of).dt.days
        out["days_to_due"] = days.astype("Int64")
        out["overdue"] = (days < 0).fillna(False).astype(bool) & (out["payable"] > 0)
    return out


def tmec_due(
    allocations: pd.DataFrame,
    balances: pd.DataFrame | None = None,
    exports: pd.DataFrame | None = None,
    as_of=None,
    **options,
) -> pd.DataFrame:
    """What T-MEC 2.5 IGI is due, and overdue, as of ``as_of``: the one rule the
    report and the notebooks call.  Every in-scope export dated up to ``as_of``
    (the whole ledger, not a recent window), per export pedimento,
    ``due_date = export_date + 60 days``, ``days_to_due`` and ``overdue`` ⇔
    ``due_date < as_of`` with a payable above 0.  ``options`` go to
    :func:`tmec_25` (``us_duty_rate``, ``prosec``, ``exchange_rate``, ``claves``).
    """
    lines = tmec_25(allocations, balances, exports, as_of=as_of, **options)
    return tmec_summary(lines, as_of)
