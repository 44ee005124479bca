"""What the monthly report says, computed once: plain dicts and DataFrames for
the view (:mod:`immex_nb.report.sections`), ``kpis.json`` and ``annex.xlsx``.

:func:`build_report_data` loads a client folder and computes everything the
report shows for a period ``YYYY-MM`` as of its last day — and the same for
the previous period, for month-over-month changes.  Nothing here writes HTML;
words a reader sees come from the text catalog (:mod:`immex_nb.text`).

One set of numbers (docs/report.md): the ledger as of a date excludes imports
dated after it and exports dated after it (docs/rules/discharge.md, cut-off), so the report's
discharge and exposure are those of ``immex-nb discharge/exposure --as-of
<period end>``, to the cent.  Worked example, period ``2025-03`` (as of
2025-03-31), previous ``2025-02``:

* an import of 2025-04-02 is ignored in both snapshots;
* an export of 2025-03-15 discharges in the March snapshot only;
* "this month" tables keep rows dated 2025-03-01 … 2025-03-31; "year to
  date" starts 2025-01-01.

Names that cannot mean two figures:

* ``open_value_mxn`` — customs value still open (all material types);
  ``open_value_excl_af_mxn`` the same without machinery (AF, no time limit):
  what is at risk;
* ``expired_value_mxn`` — *value* of the open lines past their deadline
  ("Valor vencido"), not a tax;
* ``exposure_total_mxn`` — the *taxes* (IGI, DTA, IVA, update, surcharges,
  fines) it would cost to regularise everything open today ("Exposición
  fiscal"); ``exposure_excl_af_mxn`` without AF.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.dates import Period
from immex_nb.errors import ImmexError
from immex_nb.text import check_lang, t

#: days ahead for the "expiring" action list
HORIZONS = (30, 60, 90)
#: the material type without a time limit (machinery and equipment)
NO_LIMIT_TYPE = "AF"


@dataclass
class Snapshot:
    """The ledger as of one date: discharge result, exposure, ageing, KPIs."""

    as_of: pd.Timestamp
    result: object
    exposure: pd.DataFrame
    aged: pd.DataFrame
    kpis: dict


@dataclass
class ReportData:
    client: str
    client_name: str
    period: str
    previous_period: str
    as_of: pd.Timestamp
    previous_as_of: pd.Timestamp
    language: str
    settings: object
    ledger: object
    current: Snapshot
    #: the previous month's snapshot; its ``result.allocations`` is empty (see
    #: :func:`build_report_data`): the report shows only the current month's
    previous: Snapshot
    kpis: dict  # flat, JSON-ready
    previous_kpis: dict
    headline: list[dict]
    tables: dict[str, pd.DataFrame]  # annex sheet id → table
    notes: list[str] = field(default_factory=list)
    datastage: dict | None = None  # {"summary", "findings", "coverage"} | {"error"} | {"none"}
    history: pd.DataFrame | None = None  # month, imports_mxn, discharged_mxn
    firm: object = None  # immex_nb.settings.FirmSettings
    logo: str = ""  # data: URI of the firm's logo
    consultant_notes: str = ""  # the notes file's Markdown text
    #: the month's regularisations and changes of regime, and their taxes (immex_nb.kinds)
    movements: pd.DataFrame | None = None
    #: ``(descargos, saldos)`` of the Anexo 30 worksheet (immex_nb.anexo30), or None
    anexo30: tuple | None = None

    def kpis_json(self) -> dict:
        """The content of ``kpis.json``."""
        from immex_nb import __version__

        return {
            "client": self.client,
            "client_name": self.client_name,
            "period": self.period,
            "as_of": self.as_of.strftime("%Y-%m-%d"),
            "previous_period": self.previous_period,
            "previous_as_of": self.previous_as_of.strftime("%Y-%m-%d"),
            "language": self.language,
            "headline": self.headline,
            "kpis": self.kpis,
            "previous_kpis": self.previous_kpis,
            "version": __version__,
        }


def _in(frame: pd.DataFrame, column: str, period: Period) -> pd.DataFrame:
    if frame.empty or column not in frame.columns:
        return frame.iloc[0:0]
    return frame.loc[period.contains(frame[column])]


def snapshot(ledger, as_of: pd.Timestamp) -> Snapshot:
    """Discharge, exposure, ageing and headline KPIs of ``ledger`` as of a date —
    :class:`immex_nb.run.ClientRun`, the computation of ``immex-nb exposure
    --as-of`` (the ledger as it stood that day; PROSEC, fine rate, deadline
    rule and OEA from the client's settings)."""
    from immex_nb.ageing import ageing
    from immex_nb.kpis import headline_kpis
    from immex_nb.run import ClientRun

    run = ClientRun(ledger, as_of)
    exp, result = run.exposure, run.discharge
    aged = ageing(result.balances, as_of)
    kpis = headline_kpis(result, exp, ledger.rejects)
    kpis.update(_af_split(result.balances, exp))
    return Snapshot(as_of, result, exp, aged, kpis)


#: allocations from which a report gives memory back between its two snapshots:
#: below it the full collection costs more time (≈ 0.15 s) than the memory is worth
RELEASE_ROWS = 200_000


def release_memory() -> None:
    """Free what is unreachable now and give the memory freed by a discharge
    back to the system (glibc's ``malloc_trim``; elsewhere only the former).  The discharge's temporaries are
    freed into the C heap, which keeps them: without this, the next
    snapshot's own temporaries come on top and a big client's report peaks
    hundreds of MB higher."""
    import gc
    import sys

    gc.collect()  # frames caught in reference cycles are freed now, not at some later allocation
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        pass


def _without_allocations(snap: Snapshot) -> Snapshot:
    """``snap`` with an empty ``result.allocations`` (same columns): what the
    report keeps of the previous month — balances, shortfalls, exposure,
    ageing and KPIs; a big client's allocations are millions of rows."""
    import dataclasses

    r = snap.result
    # a copy: a slice would keep the whole arrays alive
    slim = dataclasses.replace(r, allocations=r.allocations.iloc[0:0].copy())
    return dataclasses.replace(snap, result=slim)


def _af_split(balances: pd.DataFrame, exposure: pd.DataFrame) -> dict:
    """Open value and exposure with and without machinery (AF)."""
    open_rows = balances.loc[balances["open"] > 0]
    af = open_rows.get("material_type", pd.Series("", index=open_rows.index)).astype(str)
    af = af == NO_LIMIT_TYPE
    ex_af = (
        exposure["material_type"].astype(str) == NO_LIMIT_TYPE
        if len(exposure) and "material_type" in exposure
        else pd.Series(False, index=exposure.index)
    )
    value = open_rows["open_value_mxn"].fillna(0.0) if len(open_rows) else pd.Series(dtype=float)
    total = exposure["total"].fillna(0.0) if len(exposure) else pd.Series(dtype=float)
    return {
        "open_lines_excl_af": int((~af).sum()),
        "open_value_excl_af_mxn": float(value[~af].sum()),
        "af_open_value_mxn": float(value[af].sum()),
        "exposure_excl_af_mxn": float(total[~ex_af].sum()),
        "af_exposure_mxn": float(total[ex_af].sum()),
    }


def _scenario(settings):
    from immex_nb.savings import Scenario

    return Scenario(prosec=settings.prosec, vat_certified=settings.vat_certified)


def _month_kpis(ledger, snap: Snapshot, period: Period) -> tuple[dict, dict]:
    """Activity, savings and T-MEC KPIs of ``period`` + the frames behind them."""
    from immex_nb.savings import savings
    from immex_nb.tmec import tmec_25, tmec_summary

    start, end = period.bounds
    imp = _in(ledger.imports, "date", period)
    exp = _in(ledger.exports, "date", period)
    r = snap.result
    alloc = _in(r.allocations, "export_date", period)
    short = _in(r.shortfalls, "export_date", period)
    exports = ledger.exports.loc[pd.to_datetime(ledger.exports["date"]) <= end]
    sc = _scenario(ledger.settings)
    # T-MEC 2.5 on every export up to the as-of date, as immex_nb.tmec computes it
    # (once: the month's and the year's savings take their rows from it)
    tm = tmec_25(
        r.allocations,
        r.balances,
        exports,
        us_duty_rate=sc.us_duty_rate,
        prosec=sc.prosec,
    )
    month = savings(r, sc, start=start, end=end, exports=exports, tmec_lines=tm)
    ytd = savings(r, sc, start=start.replace(month=1), end=end, exports=exports, tmec_lines=tm)
    tsum = tmec_summary(tm, end)
    owed = tsum.loc[tsum["payable"] > 0] if len(tsum) else tsum
    overdue = owed.loc[owed["overdue"]] if len(owed) else owed
    k = {
        "imports_lines_month": int(len(imp)),
        "imports_value_mxn_month": float(imp["value_mxn"].sum()) if len(imp) else 0.0,
        "exports_lines_month": int(len(exp)),
        "exports_value_usd_month": float(exp["value_usd"].fillna(0).sum())
        if len(exp) and "value_usd" in exp
        else 0.0,
        "discharged_value_mxn_month": float(alloc["value_mxn"].sum()) if len(alloc) else 0.0,
        "allocations_month": int(len(alloc)),
        "late_allocations_month": int(alloc["late"].astype(bool).sum()) if len(alloc) else 0,
        "shortfalls_month": int(len(short)),
        "igi_deferred_month_mxn": month.metric("igi_deferred"),
        "vat_deferred_month_mxn": month.metric("vat_on_imports"),
        "igi_saved_month_mxn": month.metric("igi_saved"),
        "tmec_payable_month_mxn": month.metric("tmec_payable"),
        "igi_deferred_ytd_mxn": ytd.metric("igi_deferred"),
        "vat_deferred_ytd_mxn": ytd.metric("vat_on_imports"),
        "igi_saved_ytd_mxn": ytd.metric("igi_saved"),
        "tmec_payable_ytd_mxn": ytd.metric("tmec_payable"),
        "tmec_payable_open_mxn": float(owed["payable"].sum()) if len(owed) else 0.0,
        "tmec_overdue_mxn": float(overdue["payable"].sum()) if len(overdue) else 0.0,
        "tmec_overdue_pedimentos": int(len(overdue)),
        "vat_certified": bool(ledger.settings.vat_certified),
    }
    frames = {
        "imports": imp,
        "exports": exp,
        "allocations": alloc,
        "shortfalls": short,
        "savings_month": month,
        "savings_ytd": ytd,
        "tmec_lines": tm,
        "tmec_summary": tsum,
    }
    return k, frames


#: headline cards: key, unit, lower-is-better (None = neutral), lines key.
#: Labels are ``kpi.<key>`` (card) and ``kpi_short.<key>`` (index column).
HEADLINE = (
    ("open_value_mxn", "MXN", None, "open_lines"),
    ("open_value_excl_af_mxn", "MXN", None, "open_lines_excl_af"),
    ("expired_value_mxn", "MXN", True, "expired_lines"),
    ("due_value_mxn", "MXN", True, "due_lines"),
    ("exposure_total_mxn", "MXN", True, "exposure_lines"),
    ("exposure_excl_af_mxn", "MXN", True, None),
    ("shortfall_count", "count", True, None),
    ("tmec_payable_month_mxn", "MXN", None, None),
    ("igi_deferred_month_mxn", "MXN", None, None),
    ("vat_deferred_month_mxn", "MXN", None, None),
)


def _headline(kpis: dict, prev: dict, lang: str) -> list[dict]:
    out = []
    for key, unit, lower_better, lines in HEADLINE:
        item = {
            "key": key,
            "label": t(f"kpi.{key}", lang),
            "short": t(f"kpi_short.{key}", lang),
            "unit": unit,
            "value": kpis.get(key),
            "previous": prev.get(key),
            "lower_is_better": lower_better,
        }
        if lines:
            item["lines"] = kpis.get(lines)
        out.append(item)
    return out


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out


def build_report_data(
    client_dir: str | os.PathLike,
    period: str,
    *,
    previous_period: str | None = None,
    language: str = "es",
    client: str | None = None,
) -> ReportData:
    """Everything the monthly report of ``client_dir`` for ``period`` shows."""
    from immex_nb.load import load
    from immex_nb.settings import read_firm

    language = check_lang(language)
    this = Period.parse(period)
    prev = Period.parse(previous_period) if previous_period else this.previous
    folder = Path(client_dir)
    ledger = load(folder)
    firm = read_firm(folder.parent)
    as_of, prev_as_of = pd.Timestamp(this.end), pd.Timestamp(prev.end)
    # the previous month first: once its figures are computed its allocations
    # (every discharge up to that day) go, before the current month's are made
    old = snapshot(ledger, prev_as_of)
    k_prev, _ = _month_kpis(ledger, old, prev)
    big = len(old.result.allocations) >= RELEASE_ROWS
    old = _without_allocations(old)
    if big:
        release_memory()
    cur = snapshot(ledger, as_of)
    if big:
        release_memory()
    k_month, frames = _month_kpis(ledger, cur, this)
    kpis = _jsonable({**cur.kpis, **k_month})
    prev_kpis = _jsonable({**old.kpis, **k_prev})
    s = ledger.settings
    name = s.legal_name or s.name or client or folder.name
    data = ReportData(
        client=client or folder.name,
        client_name=str(name),
        period=str(this),
        previous_period=str(prev),
        as_of=as_of,
        previous_as_of=prev_as_of,
        language=language,
        settings=s,
        ledger=ledger,
        current=cur,
        previous=old,
        kpis=kpis,
        previous_kpis=prev_kpis,
        headline=_headline(kpis, prev_kpis, language),
        tables={},
        firm=firm,
        logo=_logo_uri(folder.parent, firm.logo),
        consultant_notes=_notes(folder, this),
    )
    if cur.exposure.attrs.get("inpc_estimated"):
        from immex_nb.fmt import month_year

        last = cur.exposure.attrs.get("last_inpc_month", "")
        data.notes.append(
            t("report.s_inpc", language, month=month_year(last, language) if last else "")
        )
    _build_tables(data, frames)
    data.history = _history(ledger, cur, as_of)
    from immex_nb.kinds import regularised_in

    r = cur.result  # A3 regularisations and F4/F5 changes of regime of the month, with their taxes
    data.movements = regularised_in(r.allocations, this, r.balances, claves=ledger.claves)
    from immex_nb.report.annex import report_anexo30

    data.anexo30 = report_anexo30(data)  # None when compared with another month
    ds_dir = folder / "datastage"
    if ds_dir.is_dir():
        data.datastage = _datastage(ledger, ds_dir, this)
        if "findings" in data.datastage:
            data.tables["Data Stage compulsa"] = data.datastage["findings"]
    return data


def _notes(folder: Path, period: Period) -> str:
    """``<client>/notes/<YYYY-MM>.md`` (the consultant's comments), or ""."""
    path = folder / "notes" / f"{period}.md"
    if not path.is_file():
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImmexError(f"{path}: not UTF-8 text; save the notes as UTF-8") from None


def _logo_uri(root: Path, logo: str) -> str:
    """The firm's logo as a ``data:`` URI (the report never loads a file)."""
    import base64

    from immex_nb.settings import LOGO_TYPES

    if not logo:
        return ""
    file = root / logo
    mime = LOGO_TYPES[file.suffix.lower()]
    return f"data:{mime};base64," + base64.b64encode(file.read_bytes()).decode("ascii")


def _datastage(ledger, ds_dir: Path, period: Period) -> dict:
    """The compulsa findings of ``period`` only, or why there are none."""
    try:
        from immex_nb.datastage.compulsa import ISSUES, compulsa
        from immex_nb.datastage.reader import read_datastage
    except ImportError:
        return {"error": "unavailable"}
    try:
        ds = read_datastage(ds_dir)
        first, last = ds.period()
        start, end = period.bounds
        coverage = (first, last)
        if first is None or last is None or pd.Timestamp(last) < start or pd.Timestamp(first) > end:
            return {"none": True, "coverage": coverage}
        findings = compulsa(ledger.imports, ledger.exports, ds)
    except ImmexError as exc:
        return {"error": str(exc)}
    when = findings["anexo24_date"].fillna(findings["datastage_date"])
    findings = findings.loc[period.contains(when)].reset_index(drop=True)
    rows = []
    for issue in ISSUES:
        f = findings[findings["issue"] == issue]
        rows.append(
            {
                "issue": issue,
                "findings": len(f),
                "pedimentos": f["pedimento"].nunique(),
                "anexo24_value_mxn": float(f["anexo24_value_mxn"].sum()),
                "datastage_value_mxn": float(f["datastage_value_mxn"].sum()),
            }
        )
    return {"summary": pd.DataFrame(rows), "findings": findings, "coverage": coverage}


def _history(ledger, snap: Snapshot, as_of: pd.Timestamp) -> pd.DataFrame:
    """Imported value and value discharged by exports, per month, last 12 months."""
    last = Period.of(as_of)
    months = [last.shifted(-i) for i in range(11, -1, -1)]
    imp = ledger.imports.loc[pd.to_datetime(ledger.imports["date"]) <= as_of]
    a = snap.result.allocations

    def month_sum(frame: pd.DataFrame, column: str, m: Period) -> float:
        if frame.empty:
            return 0.0
        return float(frame.loc[m.contains(frame[column]), "value_mxn"].sum())

    return pd.DataFrame(
        {
            "month": [str(m) for m in months],
            "imports_mxn": [month_sum(imp, "date", m) for m in months],
            "discharged_mxn": [month_sum(a, "export_date", m) for m in months],
        }
    )


def action_list(aged: pd.DataFrame) -> pd.DataFrame:
    """Open lines expired or due within 90 days, one row per import pedimento."""
    from immex_nb.ageing import bucket

    cols = [
        "import_pedimento",
        "import_date",
        "deadline",
        "days_to_deadline",
        "bucket",
        "lines",
        "parts",
        "open_value_mxn",
        "open_value_usd",
    ]
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    if aged.empty:
        return empty
    d = pd.to_numeric(aged["days_to_deadline"], errors="coerce").astype("float64")
    due = aged.loc[d <= max(HORIZONS)]  # expired first (negative days), then due within 90 days
    if due.empty:
        return empty
    g = due.groupby("import_pedimento", sort=False)
    out = pd.DataFrame(
        {
            "import_date": g["import_date"].min(),
            "deadline": g["deadline"].min(),
            "days_to_deadline": g["days_to_deadline"].min().astype("int64"),
            "lines": g.size(),
            "parts": g["part_number"].agg(
                lambda s: (
                    ", ".join(sorted(set(map(str, s)))[:4]) + (" …" if s.nunique() > 4 else "")
                )
            ),
            "open_value_mxn": g["open_value_mxn"].sum(),
            "open_value_usd": g["open_value_usd"].sum() if "open_value_usd" in due else np.nan,
        }
    ).reset_index()
    out["bucket"] = bucket(out["days_to_deadline"]).astype(str).to_numpy()
    out = out.sort_values(["deadline", "import_pedimento"], kind="stable").reset_index(drop=True)
    return out[cols]


def rejects_by_column(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejects grouped by ``(file, column)``: ``rows`` (distinct rows), the
    ``first_row`` and the reason given for it (``example``); most rows first.

    Reasons quote the cell (``quantity '-5' is not positive``), so grouping
    by reason would give one group per row.  Three bad quantities in rows 3,
    7 and 9 of imports.csv → one line: imports.csv, quantity, 3 rows, first
    row 3 and row 3's reason.  Problems of a whole row (no column) group under
    ``column = ""``."""
    cols = ["file", "column", "rows", "first_row", "example"]
    if rejects is None or rejects.empty:
        return pd.DataFrame(columns=cols)
    r = rejects.assign(
        file=rejects["file"].astype(object).fillna("").astype(str),
        column=rejects["column"].astype(object).fillna("").astype(str),
    ).sort_values(["file", "column", "row"], kind="stable")
    g = r.groupby(["file", "column"], sort=True, dropna=False)
    out = g.agg(rows=("row", "nunique"), first_row=("row", "first"), example=("reason", "first"))
    out = out.reset_index().sort_values(["rows", "file", "column"], ascending=[False, True, True])
    return out[cols].reset_index(drop=True)


def _build_tables(data: ReportData, frames: dict) -> None:
    from immex_nb.ageing import ageing_summary

    lang = data.language
    cur = data.current
    T = data.tables

    T["Headline KPIs"] = pd.DataFrame(
        [
            {
                "kpi": h["key"],
                "label": h["label"],
                "unit": h["unit"],
                data.period: h["value"],
                data.previous_period: h["previous"],
                "change": (h["value"] - h["previous"])
                if isinstance(h["value"], int | float) and isinstance(h["previous"], int | float)
                else None,
            }
            for h in data.headline
        ]
    )
    all_kpis = pd.DataFrame(
        {
            "kpi": list(data.kpis),
            data.period: [data.kpis[k] for k in data.kpis],
            data.previous_period: [data.previous_kpis.get(k) for k in data.kpis],
        }
    )
    T["All KPIs"] = all_kpis.astype({data.period: "object", data.previous_period: "object"})

    T["Imports of the month"] = frames["imports"].reset_index(drop=True)
    T["Exports of the month"] = frames["exports"].reset_index(drop=True)
    T["Discharges of the month"] = frames["allocations"].reset_index(drop=True)
    alloc = cur.result.allocations
    late = alloc.loc[alloc["late"].astype(bool)] if len(alloc) and "late" in alloc else alloc
    T["Late discharges"] = late.reset_index(drop=True)
    T["Shortfalls"] = cur.result.shortfalls.reset_index(drop=True)

    open_cols = [
        c
        for c in (
            "import_pedimento",
            "import_line",
            "import_date",
            "part_number",
            "description",
            "clave",
            "material_type",
            "origin",
            "fraccion",
            "quantity",
            "discharged",
            "open",
            "deadline",
            "days_to_deadline",
            "bucket",
            "open_value_mxn",
            "open_value_usd",
        )
        if c in cur.aged.columns
    ]
    aged = cur.aged[open_cols].copy()
    if "bucket" in aged:
        aged["bucket"] = aged["bucket"].astype(str)
    T["Open balances"] = aged.sort_values(
        ["deadline", "import_pedimento", "import_line"], na_position="last", kind="stable"
    ).reset_index(drop=True)
    summ = ageing_summary(cur.aged, by="material_type")
    summ["bucket"] = summ["bucket"].astype(str)
    T["Ageing"] = summ
    T["Expiring 90 days"] = action_list(cur.aged)
    ex = cur.exposure.copy()
    if "bucket" in ex:
        ex["bucket"] = ex["bucket"].astype(str)
    T["Exposure"] = ex

    sm, sy = frames["savings_month"].summary, frames["savings_ytd"].summary
    T["Savings"] = pd.DataFrame(
        {
            "metric": sm["metric"],
            "label": [t(f"savings.{m}", lang) for m in sm["metric"]],
            "month_mxn": sm["amount_mxn"].to_numpy(),
            "ytd_mxn": sy.set_index("metric")["amount_mxn"].reindex(sm["metric"]).to_numpy(),
        }
    )
    T["T-MEC 2.5"] = frames["tmec_summary"]
    T["T-MEC 2.5 lines"] = frames["tmec_lines"].reset_index(drop=True)
    from immex_nb.load import rejects_in

    ledger = data.ledger
    T["Rejects"] = rejects_in(ledger.rejects, lang, ledger.claves).reset_index(drop=True)


def save_outputs(data: ReportData, output_dir: str | os.PathLike, *, anexo30=True) -> None:
    """Write ``kpis.json`` and ``annex.xlsx`` (the Anexo 24 workbook,
    :func:`immex_nb.report.annex.write_report_annex`) into ``output_dir``.
    ``anexo30``: ``True`` adds the Anexo 30 sheets computed from the report's
    own discharges, a ``(descargos, saldos)`` pair adds those, ``False`` none."""
    from immex_nb.outputs import write_text
    from immex_nb.report.annex import write_report_annex

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "kpis.json", json.dumps(data.kpis_json(), indent=2, ensure_ascii=False) + "\n")
    tables = data.anexo30 if anexo30 is True else (anexo30 or None)
    write_report_annex(data, out / "annex.xlsx", anexo30=tables)
