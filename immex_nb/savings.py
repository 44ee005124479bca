"""What IMMEX and the VAT certification are worth: duty savings vs VAT model.

Pure functions over a :class:`Scenario`.  For a period ``[start, end]``
(inclusive) and a discharged ledger:

* **IGI deferred** — the IGI the period's temporary imports would have paid
  as definitive imports (rate: 0 for T-MEC-originating lines, else the lower
  of the general and PROSEC rate when the client holds PROSEC).
* **IGI finally saved** — that IGI on the material *exported* in the period,
  less what T-MEC art. 2.5 still collects on it (:mod:`immex_nb.tmec`).
* **T-MEC 2.5 IGI payable** on the period's exports to the USA and Canada.
* **VAT on the period's imports** = 16 % × (value + IGI as if definitive +
  DTA 8 ‰), and what it costs under four regimes:

  ============================  ==============================================
  regime                        VAT cost (other components)
  ============================  ==============================================
  IMMEX + VAT certification     0 — 100 % credit, no cash (LIVA 28-A);
                                plus certification and compliance cost
  IMMEX, VAT paid in cash       VAT × cost of capital × refund lag / 12
  IMMEX, VAT guaranteed         VAT × guarantee fee rate
  No IMMEX (definitive)         IGI + DTA 8 ‰ + VAT × cost of capital × lag/12
  ============================  ==============================================

  IMMEX regimes also pay the T-MEC 2.5 IGI, the DTA of temporary imports (a
  fixed fee per pedimento — amount by year from ``dta.csv``, UNCONFIRMED for
  2025–2026 — and 1.76 ‰ on machinery, AF) and the yearly compliance cost
  prorated to the period.  Refunds of duty on exports from definitive imports
  (drawback) and FTAs other than T-MEC are not modelled.

Scenario levers: cost of capital, refund lag, guarantee fee, compliance and
certification cost per year, a tariff shock (``{"CHN": 0.35}`` sets the
general rate for an origin; ``{"CHN": "+0.15"}`` adds 15 points — the 2026
LIGIE increase on non-FTA origins), the share of exports by destination
(re-weights the period's allocations), and the duty rate abroad where no duty
paid is recorded.

Worked one-line ledger, 2025: one import of MXN 100,000 (CHN, general rate
10 %, no PROSEC), half exported to Germany.  IGI deferred 10,000; IGI saved
on the exported half 5,000 (not T-MEC reach: T-MEC payable 0).  DTA 8 ‰ =
800; VAT = 0.16 × 110,800 = 17,728.  With a 12 % cost of capital and a
2-month lag the VAT cash cost is 17,728 × 0.12 × 2/12 = 354.56; with a 1 %
guarantee fee 177.28; certified 0.  No IMMEX: 10,000 + 800 + 354.56 =
11,154.56.  IMMEX regimes pay the 2025 fixed DTA of one pedimento (425,
carried from 2024).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from immex_nb import fmt
from immex_nb.dates import as_timestamp
from immex_nb.errors import ImmexError
from immex_nb.rates import Rates, resolve
from immex_nb.tmec import USMCA_ORIGINS, tmec_25

CERTIFIED = "IMMEX + VAT certification"
CASH = "IMMEX, VAT paid in cash"
GUARANTEE = "IMMEX, VAT guaranteed"
NO_IMMEX = "No IMMEX (definitive imports)"
REGIMES = (CERTIFIED, CASH, GUARANTEE, NO_IMMEX)
COMPONENTS = ("IGI", "IGI (T-MEC 2.5)", "DTA", "VAT", "Compliance")
#: non-FTA origins named for the 2026-01-01 LIGIE increase (docs/rules/tmec-and-savings.md; list not exhaustive)
LIGIE_2026_ORIGINS = ("CHN", "IND", "KOR", "VNM", "TWN")


@dataclass(frozen=True)
class Scenario:
    """Parameters of the savings model (rates as fractions, money in MXN)."""

    cost_of_capital: float = 0.12  # a year
    refund_lag_months: float = 2.0  # from paying VAT in cash to crediting it back
    guarantee_fee_rate: float = 0.01  # fee per peso guaranteed, for the period
    compliance_cost_per_year: float = 0.0  # running IMMEX (Anexo 24 system, audits …)
    certification_cost_per_year: float = 0.0  # extra cost of keeping the VAT certification
    tariff_shock: Mapping[str, float | str] = field(default_factory=dict)
    export_share: Mapping[str, float] | None = None  # {"USA": 0.6, "DEU": 0.4}; None = as recorded
    us_duty_rate: float | Mapping[str, float] | None = None  # duty abroad where none recorded
    prosec: bool = True  # the client holds PROSEC
    vat_certified: bool = True  # the client's actual VAT status (for conclusions)


def ligie_2026_shock(
    rate_or_delta: float | str, origins: Sequence[str] = LIGIE_2026_ORIGINS
) -> dict:
    """Tariff shock for the 2026 LIGIE increase: ``0.35`` (new rate) or
    ``"+0.15"`` (points added) for each listed non-FTA origin."""
    return {o: rate_or_delta for o in origins}


def apply_tariff_shock(
    frame: pd.DataFrame, shock: Mapping[str, float | str] | None
) -> pd.DataFrame:
    """A copy of ``frame`` with ``igi_rate`` changed for the shocked origins:
    a number sets the rate, ``"+x"`` / ``"+x%"`` adds to it (``"+15%"`` = +0.15)."""
    out = frame.copy()
    if not shock:
        return out
    if "origin" not in out.columns or "igi_rate" not in out.columns:
        raise ImmexError("tariff shock needs columns origin and igi_rate")
    origin = out["origin"].astype(object).where(out["origin"].notna(), "").astype(str).str.upper()
    rate = out["igi_rate"].astype("float64").fillna(0.0)
    for key, val in shock.items():
        hit = (origin == str(key).upper()).to_numpy()
        if isinstance(val, str):
            text = val.strip()
            try:
                num = float(text.rstrip("%").lstrip("+"))
            except ValueError:
                raise ImmexError(
                    f"tariff shock {key}: {val!r}; use a rate (0.35) or '+0.15' / '+15%'"
                ) from None
            num = num / 100 if text.endswith("%") else num
            rate = rate.where(~hit, rate + num) if text.startswith("+") else rate.where(~hit, num)
        else:
            rate = rate.where(~hit, float(val))
    out["igi_rate"] = rate
    return out


def definitive_rate(frame: pd.DataFrame, *, prosec: bool = True) -> np.ndarray:
    """IGI rate of a definitive import: 0 for T-MEC-originating lines from
    USA/CAN/MEX, else the lower of general and PROSEC (when held)."""
    igi = frame["igi_rate"].astype("float64").fillna(0.0).to_numpy()
    pr = (
        frame["prosec_rate"].astype("float64").to_numpy()
        if "prosec_rate" in frame.columns
        else np.full(len(frame), np.nan)
    )
    rate = np.fmin(igi, pr) if prosec else igi
    if "usmca_originating" in frame.columns:
        orig = frame["usmca_originating"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        origin = (
            frame["origin"]
            .astype(object)
            .where(frame["origin"].notna(), "")
            .astype(str)
            .str.upper()
            if "origin" in frame.columns
            else pd.Series("", index=frame.index)
        )
        rate = np.where(orig & origin.isin(USMCA_ORIGINS).to_numpy(), 0.0, rate)
    return rate


def _frames(ledger_frames, exports=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(balances, allocations, exports) from a DischargeResult-like object, a
    mapping, or a tuple."""
    if isinstance(ledger_frames, Mapping):
        b, a = ledger_frames["balances"], ledger_frames["allocations"]
        e = ledger_frames.get("exports")
    elif isinstance(ledger_frames, tuple | list):
        b, a = ledger_frames[0], ledger_frames[1]
        e = ledger_frames[2] if len(ledger_frames) > 2 else None
    else:
        b, a = ledger_frames.balances, ledger_frames.allocations
        e = getattr(ledger_frames, "exports", None)
    return b, a, (exports if exports is not None else e)


def period_years(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Length of ``[start, end]`` in years: whole months / 12 when the period
    runs from a 1st to a month's last day, else days / 365.25."""
    stop = end + pd.Timedelta(days=1)
    if start.day == 1 and stop.day == 1:
        return ((stop.year - start.year) * 12 + stop.month - start.month) / 12
    return (stop - start).days / 365.25


def _per_year(amount, years: float):
    """``amount`` (number or Series) ÷ ``years``; NaN for a period of no length."""
    return amount / years if years > 0 else amount * np.nan


@dataclass(frozen=True)
class SavingsResult:
    """``regimes``: tidy ``regime, component, amount_mxn`` (plot-ready);
    ``totals``: ``regime, total_mxn, per_year_mxn``; ``summary``: tidy
    ``metric, amount_mxn``; ``tmec``: the T-MEC 2.5 lines.

    Amounts are for the period; :meth:`per_year` turns any of them into an
    amount a year (half a year's MXN 500 → MXN 1,000 a year)."""

    regimes: pd.DataFrame
    totals: pd.DataFrame
    summary: pd.DataFrame
    tmec: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    years: float
    scenario: Scenario

    def total(self, regime: str) -> float:
        return float(self.totals.loc[self.totals["regime"] == regime, "total_mxn"].iloc[0])

    def metric(self, name: str) -> float:
        return float(self.summary.loc[self.summary["metric"] == name, "amount_mxn"].iloc[0])

    def per_year(self, amount):
        """A period amount (number or Series) a year: ``amount / years``
        (NaN if the period had no length)."""
        return _per_year(amount, self.years)

    @property
    def certification_value(self) -> float:
        """Cost avoided by the VAT certification vs paying VAT in cash."""
        return self.total(CASH) - self.total(CERTIFIED)

    @property
    def immex_value(self) -> float:
        """Cost avoided by IMMEX (in the client's VAT regime) vs definitive imports."""
        own = CERTIFIED if self.scenario.vat_certified else CASH
        return self.total(NO_IMMEX) - self.total(own)

    @property
    def certification_value_per_year(self) -> float:
        return self.per_year(self.certification_value)

    @property
    def immex_value_per_year(self) -> float:
        return self.per_year(self.immex_value)


def _export_allocations(
    allocations: pd.DataFrame, share: Mapping[str, float] | None
) -> pd.DataFrame:
    if not share:
        return allocations
    total = float(sum(share.values()))
    if total <= 0 or any(v < 0 for v in share.values()):
        raise ImmexError(f"export_share {dict(share)} must be shares ≥ 0 with a positive sum")
    parts = []
    for dest, s in share.items():
        part = allocations.copy()
        part["destination"] = str(dest).upper()
        for c in ("value_mxn", "value_usd", "quantity"):
            if c in part.columns:
                part[c] = part[c].astype("float64") * (s / total)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def savings(
    ledger_frames,
    scenario: Scenario | None = None,
    *,
    start,
    end,
    exports: pd.DataFrame | None = None,
    rates: Rates | None = None,
    tmec_lines: pd.DataFrame | None = None,
) -> SavingsResult:
    """The savings model for ``[start, end]`` (see the module docstring).

    ``ledger_frames`` is a :class:`~immex_nb.discharge.DischargeResult` (or a
    mapping / tuple with ``balances`` and ``allocations``, and optionally
    ``exports`` for the duty paid abroad).

    ``tmec_lines``: the T-MEC 2.5 lines of the whole ledger when the caller
    already has them — ``tmec_25(allocations, balances, exports,
    us_duty_rate=scenario.us_duty_rate, prosec=scenario.prosec)`` — so that
    several periods of one ledger (the report's month and year to date) do not
    compute them again.  T-MEC 2.5 is computed per export line, so the
    period's lines are exactly those rows with ``export_date`` in the period.
    Ignored (computed here) under a tariff shock or an export share, which
    change the lines.
    """
    sc = scenario or Scenario()
    start, end = as_timestamp(start, "start"), as_timestamp(end, "end")
    if end < start:
        raise ImmexError(f"period end {end.date()} is before its start {start.date()}")
    r = resolve(rates)
    balances, allocations, exports = _frames(ledger_frames, exports)
    years = period_years(start, end)

    # ---- imports of the period, at the scenario's rates
    b = apply_tariff_shock(balances, sc.tariff_shock)
    b = b.loc[
        (pd.to_datetime(b["import_date"]) >= start) & (pd.to_datetime(b["import_date"]) <= end)
    ]
    value = b["value_mxn"].astype("float64").to_numpy()
    def_rate = definitive_rate(b, prosec=sc.prosec)
    igi_deferred = float((value * def_rate).sum())
    dta_rate = r.dta_rate("ad_valorem", end)
    vat_rate = r.vat_rate(end)
    dta_definitive = float(value.sum() * dta_rate)
    vat = vat_rate * (float(value.sum()) + igi_deferred + dta_definitive)

    is_af = (
        (b["material_type"].astype(str) == "AF").to_numpy()
        if "material_type" in b.columns
        else np.zeros(len(b), bool)
    )
    dta_af = float(value[is_af].sum() * r.dta_rate("af_temporary", end))
    peds = b.loc[~is_af, ["import_pedimento", "import_date"]].drop_duplicates("import_pedimento")
    fee_by_year = {
        y: r.dta_fixed_fee(y)[0] for y in pd.to_datetime(peds["import_date"]).dt.year.unique()
    }
    dta_fixed = (
        float(pd.to_datetime(peds["import_date"]).dt.year.map(fee_by_year).sum())
        if len(peds)
        else 0.0
    )
    dta_immex = dta_fixed + dta_af

    # ---- exports of the period
    rate_cols = [
        c for c in ("igi_rate", "prosec_rate", "usmca_originating") if c in balances.columns
    ]
    shocked_rates = apply_tariff_shock(
        balances[["import_pedimento", "import_line", "origin", *rate_cols]], sc.tariff_shock
    )
    a = allocations.loc[
        (pd.to_datetime(allocations["export_date"]) >= start)
        & (pd.to_datetime(allocations["export_date"]) <= end)
    ]
    a = _export_allocations(a, sc.export_share)
    a_rates = a.drop(columns=[c for c in rate_cols if c in a.columns]).merge(
        shocked_rates.drop(columns="origin").drop_duplicates(["import_pedimento", "import_line"]),
        on=["import_pedimento", "import_line"],
        how="left",
    )
    igi_exported = (
        float(
            (
                a_rates["value_mxn"].astype("float64").to_numpy()
                * definitive_rate(a_rates, prosec=sc.prosec)
            ).sum()
        )
        if len(a_rates)
        else 0.0
    )
    if tmec_lines is not None and not sc.tariff_shock and not sc.export_share:
        when = pd.to_datetime(tmec_lines["export_date"])
        t = tmec_lines.loc[(when >= start) & (when <= end)].reset_index(drop=True)
    else:
        t = tmec_25(
            a,
            shocked_rates,
            None if sc.export_share else exports,
            us_duty_rate=sc.us_duty_rate,
            prosec=sc.prosec,
        )
    tmec_payable = float(t["payable"].sum())

    compliance = sc.compliance_cost_per_year * years
    certification = sc.certification_cost_per_year * years
    vat_cash_cost = vat * sc.cost_of_capital * sc.refund_lag_months / 12
    rows = [
        (CERTIFIED, "IGI (T-MEC 2.5)", tmec_payable),
        (CERTIFIED, "DTA", dta_immex),
        (CERTIFIED, "VAT", 0.0),
        (CERTIFIED, "Compliance", compliance + certification),
        (CASH, "IGI (T-MEC 2.5)", tmec_payable),
        (CASH, "DTA", dta_immex),
        (CASH, "VAT", vat_cash_cost),
        (CASH, "Compliance", compliance),
        (GUARANTEE, "IGI (T-MEC 2.5)", tmec_payable),
        (GUARANTEE, "DTA", dta_immex),
        (GUARANTEE, "VAT", vat * sc.guarantee_fee_rate),
        (GUARANTEE, "Compliance", compliance),
        (NO_IMMEX, "IGI", igi_deferred),
        (NO_IMMEX, "DTA", dta_definitive),
        (NO_IMMEX, "VAT", vat_cash_cost),
        (NO_IMMEX, "Compliance", 0.0),
    ]
    regimes = pd.DataFrame(rows, columns=["regime", "component", "amount_mxn"])
    regimes["regime"] = pd.Categorical(regimes["regime"], categories=list(REGIMES), ordered=True)
    totals = (
        regimes.groupby("regime", observed=False, sort=True)["amount_mxn"]
        .sum()
        .reset_index(name="total_mxn")
    )
    totals["per_year_mxn"] = _per_year(totals["total_mxn"], years)
    summary = pd.DataFrame(
        [
            ("imports_value_mxn", float(value.sum())),
            ("igi_deferred", igi_deferred),
            ("exported_value_mxn", float(a["value_mxn"].astype("float64").sum())),
            ("igi_on_exported", igi_exported),
            ("tmec_payable", tmec_payable),
            ("igi_saved", igi_exported - tmec_payable),
            ("vat_on_imports", vat),
            ("dta_definitive", dta_definitive),
            ("dta_immex", dta_immex),
        ],
        columns=["metric", "amount_mxn"],
    )
    return SavingsResult(regimes, totals, summary, t, start, end, years, sc)


def sensitivity(
    ledger_frames,
    scenario: Scenario,
    param_x: str,
    values_x: Sequence,
    param_y: str | None = None,
    values_y: Sequence | None = None,
    *,
    start,
    end,
    exports: pd.DataFrame | None = None,
    rates: Rates | None = None,
) -> pd.DataFrame:
    """Regime totals over a grid of one or two :class:`Scenario` parameters.

    One row per value (pair): the parameter value(s), the period total of
    each regime, ``certification_value_mxn`` (cash − certified),
    ``immex_value_mxn`` (definitive − the client's own IMMEX regime) and both
    per year.
    """
    names = {f.name for f in dataclasses.fields(Scenario)}
    for p in (param_x, param_y):
        if p is not None and p not in names:
            raise ImmexError(f"unknown scenario parameter {p!r}; accepted: {sorted(names)}")
    if (param_y is None) != (values_y is None):
        raise ImmexError("give both param_y and values_y, or neither")
    rows = []
    for vx in values_x:
        for vy in values_y if param_y is not None else [None]:
            change = {param_x: vx} | ({param_y: vy} if param_y is not None else {})
            res = savings(
                ledger_frames,
                dataclasses.replace(scenario, **change),
                start=start,
                end=end,
                exports=exports,
                rates=rates,
            )
            row = dict(change)
            row.update({reg: res.total(reg) for reg in REGIMES})
            row["certification_value_mxn"] = res.certification_value
            row["immex_value_mxn"] = res.immex_value
            row["certification_value_per_year"] = res.certification_value_per_year
            row["immex_value_per_year"] = res.immex_value_per_year
            rows.append(row)
    return pd.DataFrame(rows)


#: the conclusion's sentences; ``{…}`` filled by :func:`conclusion`
CONCLUSION_TEXT = {
    "en": {
        "client": "this client",
        "certified": "with",
        "not_certified": "without",
        "certification": (
            "From {start} to {end}: the IVA/IEPS certification is worth {cert} a year for "
            "{client} (the cost of paying VAT in cash at {coc} cost of capital and a "
            "{lag}-month lag, less the certification's own cost)."
        ),
        "immex": (
            "IMMEX ({own} certification) is worth {immex} a year compared with definitive "
            "imports (IGI deferred {igi} in the period)."
        ),
        "tmec": "T-MEC 2.5 IGI payable on exports to the USA/Canada: {payable} in the period.",
    },
    "es": {
        "client": "este cliente",
        "certified": "con",
        "not_certified": "sin",
        "certification": (
            "Del {start} al {end}: la certificación de IVA/IEPS vale {cert} al año para "
            "{client} (el costo de pagar el IVA con un costo de capital de {coc} y {lag} "
            "meses de desfase, menos el costo de la propia certificación)."
        ),
        "immex": (
            "IMMEX ({own} certificación) vale {immex} al año frente a importar en definitiva "
            "(IGI diferido en el periodo: {igi})."
        ),
        "tmec": "IGI por pagar por T-MEC 2.5 en exportaciones a EUA/Canadá: {payable} en el periodo.",
    },
}


def conclusion(result: SavingsResult, client: str | None = None, lang: str = "en") -> str:
    """Plain-language reading of a :class:`SavingsResult` in English or
    Spanish (``lang="en" | "es"``), amounts a year via
    :meth:`SavingsResult.per_year`.

    For the module's one-line ledger over 2025 (no certification cost):
    "… the IVA/IEPS certification is worth MXN 355 a year for Acme …".
    """
    if lang not in CONCLUSION_TEXT:
        raise ImmexError(f"lang {lang!r} is not supported; use one of {list(CONCLUSION_TEXT)}")
    t = CONCLUSION_TEXT[lang]
    sc = result.scenario
    parts = [
        t["certification"].format(
            start=result.start.date(),
            end=result.end.date(),
            cert=fmt.money(result.certification_value_per_year),
            client=client or t["client"],
            coc=fmt.percent(sc.cost_of_capital, 0),
            lag=f"{sc.refund_lag_months:g}",
        ),
        t["immex"].format(
            own=t["certified"] if sc.vat_certified else t["not_certified"],
            immex=fmt.money(result.immex_value_per_year),
            igi=fmt.money(result.metric("igi_deferred")),
        ),
    ]
    payable = result.metric("tmec_payable")
    if payable > 0:
        parts.append(t["tmec"].format(payable=fmt.money(payable)))
    return " ".join(parts)
