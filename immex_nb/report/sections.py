"""What the monthly report says, computed once for the notebook, ``kpis.json``
and ``annex.xlsx``.

:func:`build_report_data` loads a client folder and computes everything the
report shows for a period ``YYYY-MM`` as of its last day — and the same for
the previous period, for month-over-month changes.  The notebook displays it
(:class:`ReportView`), and :func:`save_outputs` writes ``kpis.json`` and
``annex.xlsx`` from the very same object, so the page, the KPI file and the
Excel annex cannot disagree.

As of a date means: imports dated after it are not yet in the ledger, exports
after it are not yet discharged (``discharge(..., as_of=...)``).  Worked
example, period ``2025-03`` (as of 2025-03-31), previous ``2025-02``:

* an import of 2025-04-02 is ignored in both snapshots;
* an export of 2025-03-15 discharges in the March snapshot only, so the March
  open value is lower than February's by what it consumed (the KPI card says
  e.g. ``MXN 1,200,000`` and ``−150,000 (−11.1%) vs Feb 2025``);
* "this month" tables (imports, exports, discharges, shortfalls, T-MEC 2.5)
  keep rows dated 2025-03-01 … 2025-03-31; "year to date" starts 2025-01-01.

Headline KPIs are :func:`immex_nb.kpis.headline_kpis` (open, expired, due,
exposure, shortfalls, rejects) plus the month's activity and savings
(:func:`immex_nb.savings.savings` for the month and the year to date) and the
T-MEC 2.5 IGI payable on the month's exports (:func:`immex_nb.tmec.tmec_25`).
Every string that comes from client data is HTML-escaped here before it
reaches the page.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb import fmt
from immex_nb.errors import ImmexError
from immex_nb.fmt import format_change, format_value

LANGS = ("en", "es")
#: rows shown per table in the HTML report (the annex has them all)
MAX_ROWS = 25
#: days ahead for the "expiring" action list
HORIZONS = (30, 60, 90)

# --------------------------------------------------------------------------- words

TEXT = {
    "en": {
        "title": "Monthly IMMEX compliance report",
        "as_of": "As of",
        "period": "Period",
        "prepared": "Prepared with immex-nb {version}",
        "summary": "Executive summary",
        "activity": "What came in and went out this month",
        "discharges": "Discharges and shortfalls",
        "balances": "Open balances and ageing",
        "expiring": "Expiring in the next 30 / 60 / 90 days — action list",
        "exposure": "Exposure",
        "savings": "Duty and VAT savings",
        "tmec": "T-MEC (USMCA) art. 2.5 — IGI payable",
        "quality": "Data quality",
        "datastage": "Data Stage reconciliation (compulsa)",
        "vs": "vs {prev}",
        "no_rows": "Nothing to report this month.",
        "shown": "Showing {shown} of {total} rows; all rows are in annex.xlsx, sheet “{sheet}”.",
        "all_in_annex": "Full table: annex.xlsx, sheet “{sheet}”.",
        "s_open": "Temporary imports still open: <b>{value}</b> across {lines} import lines ({change} vs {prev}).",
        "s_expired": "<b>{lines} lines worth {value}</b> are past their time limit: regularise them (pedimento A3) or document their return without delay.",
        "s_expired_none": "No open import line is past its time limit.",
        "s_due": "<b>{lines} lines worth {value}</b> reach their time limit within 90 days — see the action list by pedimento below.",
        "s_due_none": "No open line reaches its time limit in the next 90 days.",
        "s_exposure": "If everything still open were regularised today it would cost about <b>{value}</b> in duties, VAT, update and surcharges ({expired} of it on expired goods).",
        "s_activity": "This month: {imp_lines} import lines worth {imp_value} came in; {exp_lines} export lines worth {exp_value} went out.",
        "s_savings": "IMMEX deferred {igi} of import duty (IGI) and {vat} of VAT on this month's imports; year to date {igi_ytd} and {vat_ytd}.",
        "s_tmec": "T-MEC art. 2.5: {value} of IGI is payable on this month's exports to the USA and Canada{first}.",
        "s_tmec_first": ", the first due on {date}",
        "s_shortfalls": "{n} export consumptions ({m} this month) found no import to discharge against (shortfalls): check the BOM and the import records.",
        "s_shortfalls_none": "Every export was covered by an earlier import (no shortfalls).",
        "s_rejects": "{n} rows of the client's files were rejected by validation and are not in these figures (see Data quality).",
        "s_rejects_none": "All rows of the client's files passed validation.",
        "s_return": "Return ratio, last 12 months: {ratio} of the value imported temporarily was discharged by exports ({verdict} the {threshold} a VAT-certified company must keep; threshold unconfirmed).",
        "s_return_ok": "above",
        "s_return_low": "<b>below</b>",
        "s_inpc": "The latest INPC published ({month}) was used for months not yet published.",
        "k_open": "Open temporary imports",
        "k_expired": "Expired (past the time limit)",
        "k_due": "Due within 90 days",
        "k_exposure": "Exposure if regularised today",
        "k_shortfalls": "Shortfalls (exports without import cover)",
        "k_tmec": "T-MEC 2.5 IGI payable, this month",
        "k_igi": "IGI deferred, this month",
        "k_vat": "VAT on this month's temporary imports",
        "k_rejects": "Rows rejected by validation",
        "k_imports": "Imports this month",
        "k_exports": "Exports this month",
        "lines": "{n} lines",
        "act_imports": "Temporary imports of the month by material type",
        "act_exports": "Exports and returns of the month by destination",
        "act_chart": "Imports and exports, last 12 months",
        "imports_mxn": "Imports (MXN)",
        "exports_mxn": "Discharged by exports (MXN)",
        "disc_month": "Discharges of the month by import pedimento",
        "short_month": "Shortfalls of the month",
        "late_note": "{n} discharges this month drew on import lines already past their time limit (flagged late).",
        "ageing_table": "Open value by material type and time left",
        "action_intro": "Each pedimento below has open lines past their time limit or reaching it within 90 days of {as_of}. Expired lines need a regularisation (pedimento A3) now; for the others, before the deadline shown, export or return the goods, transfer them (V1/V5) or change their regime (F4/F5).",
        "exposure_intro": "Cost of the open balances as of {as_of}: in-time lines valued as a change of regime now, expired lines as a regularisation (general IGI rate, inflation update, surcharges). Fines are {fines}.",
        "fines_zero": "not included (amounts unconfirmed)",
        "fines_rate": "{rate} of omitted taxes on expired lines",
        "exposure_table": "Exposure by status and material type",
        "savings_intro": "What the IMMEX program saved in cash: duty and VAT not paid on temporary imports, and duty finally saved on material exported.",
        "savings_table": "Savings, month and year to date",
        "tmec_intro": "IGI on non-originating inputs of goods exported to the USA or Canada, less the duty paid there; due on the export pedimento or within 60 days by a complementary pedimento.",
        "tmec_table": "Payable by export pedimento (exports of the last 60 days)",
        "quality_intro": "Rows that failed validation are left out of every figure in this report. Fixing them at the source changes balances and exposure.",
        "quality_table": "Rejected rows by file and column",
        "quality_files": "Files read",
        "ds_intro": "Anexo 24 (the client's records) compared with the SAT Data Stage held in the client folder.",
        "ds_findings": "Findings to clear with the customs broker",
        "ds_none": "Data Stage files were found but could not be read: {reason}",
        "ds_unavailable": "Data Stage folder present, but the Data Stage module is not installed.",
        "metric": "Figure",
        "month": "This month",
        "ytd": "Year to date",
    },
    "es": {
        "title": "Reporte mensual de cumplimiento IMMEX",
        "as_of": "Al",
        "period": "Periodo",
        "prepared": "Preparado con immex-nb {version}",
        "summary": "Resumen ejecutivo",
        "activity": "Entradas y salidas del mes",
        "discharges": "Descargos y faltantes",
        "balances": "Saldos abiertos y antigüedad",
        "expiring": "Vencimientos en los próximos 30 / 60 / 90 días — acciones",
        "exposure": "Exposición",
        "savings": "Ahorros de IGI e IVA",
        "tmec": "T-MEC art. 2.5 — IGI por pagar",
        "quality": "Calidad de datos",
        "datastage": "Compulsa contra Data Stage",
        "vs": "vs {prev}",
        "no_rows": "Nada que reportar este mes.",
        "shown": "Se muestran {shown} de {total} renglones; todos están en annex.xlsx, hoja “{sheet}”.",
        "all_in_annex": "Tabla completa: annex.xlsx, hoja “{sheet}”.",
        "s_open": "Importaciones temporales abiertas: <b>{value}</b> en {lines} partidas ({change} vs {prev}).",
        "s_expired": "<b>{lines} partidas por {value}</b> rebasaron su plazo: regularícelas (pedimento A3) o documente su retorno cuanto antes.",
        "s_expired_none": "Ninguna partida abierta ha rebasado su plazo.",
        "s_due": "<b>{lines} partidas por {value}</b> vencen en los próximos 90 días — vea la lista por pedimento.",
        "s_due_none": "Ninguna partida abierta vence en los próximos 90 días.",
        "s_exposure": "Regularizar hoy todo lo abierto costaría alrededor de <b>{value}</b> en impuestos, actualización y recargos ({expired} por mercancía vencida).",
        "s_activity": "Este mes entraron {imp_lines} partidas de importación por {imp_value} y salieron {exp_lines} partidas de exportación por {exp_value}.",
        "s_savings": "IMMEX difirió {igi} de IGI y {vat} de IVA en las importaciones del mes; en el año {igi_ytd} y {vat_ytd}.",
        "s_tmec": "T-MEC art. 2.5: {value} de IGI por pagar por las exportaciones del mes a EE. UU. y Canadá{first}.",
        "s_tmec_first": "; el primero vence el {date}",
        "s_shortfalls": "{n} consumos de exportación ({m} este mes) no encontraron importación que descargar (faltantes): revise la BOM y los registros de importación.",
        "s_shortfalls_none": "Toda exportación quedó cubierta por una importación previa (sin faltantes).",
        "s_rejects": "{n} renglones de los archivos del cliente fueron rechazados y no están en estas cifras (vea Calidad de datos).",
        "s_rejects_none": "Todos los renglones de los archivos del cliente pasaron la validación.",
        "s_return": "Índice de retorno, últimos 12 meses: se descargó por exportación {ratio} del valor importado temporalmente ({verdict} del {threshold} que debe mantener una empresa certificada en IVA; umbral sin confirmar).",
        "s_return_ok": "por encima",
        "s_return_low": "<b>por debajo</b>",
        "s_inpc": "Para meses sin INPC publicado se usó el último publicado ({month}).",
        "k_open": "Importaciones temporales abiertas",
        "k_expired": "Vencido (fuera de plazo)",
        "k_due": "Vence en ≤ 90 días",
        "k_exposure": "Exposición si se regulariza hoy",
        "k_shortfalls": "Faltantes (exportaciones sin importación)",
        "k_tmec": "IGI T-MEC 2.5 por pagar, mes",
        "k_igi": "IGI diferido, mes",
        "k_vat": "IVA de las importaciones temporales del mes",
        "k_rejects": "Renglones rechazados",
        "k_imports": "Importaciones del mes",
        "k_exports": "Exportaciones del mes",
        "lines": "{n} partidas",
        "act_imports": "Importaciones temporales del mes por tipo de material",
        "act_exports": "Exportaciones y retornos del mes por destino",
        "act_chart": "Importaciones y exportaciones, últimos 12 meses",
        "imports_mxn": "Importaciones (MXN)",
        "exports_mxn": "Descargado por exportaciones (MXN)",
        "disc_month": "Descargos del mes por pedimento de importación",
        "short_month": "Faltantes del mes",
        "late_note": "{n} descargos del mes tomaron partidas ya fuera de plazo (marcados tardíos).",
        "ageing_table": "Valor abierto por tipo de material y tiempo restante",
        "action_intro": "Cada pedimento tiene partidas abiertas vencidas o que vencen dentro de 90 días a partir del {as_of}. Las vencidas requieren regularización (pedimento A3); para las demás, antes del vencimiento, exporte o retorne, transfiera (V1/V5) o cambie de régimen (F4/F5).",
        "exposure_intro": "Costo de los saldos abiertos al {as_of}: partidas en plazo valuadas como cambio de régimen hoy; vencidas como regularización (tasa general, actualización, recargos). Multas: {fines}.",
        "fines_zero": "no incluidas (montos sin confirmar)",
        "fines_rate": "{rate} de las contribuciones omitidas en partidas vencidas",
        "exposure_table": "Exposición por estado y tipo de material",
        "savings_intro": "Lo que el programa IMMEX ahorró en efectivo: IGI e IVA no pagados en importaciones temporales e IGI finalmente ahorrado en lo exportado.",
        "savings_table": "Ahorros del mes y del año",
        "tmec_intro": "IGI de insumos no originarios de bienes exportados a EE. UU. o Canadá, menos el arancel pagado allá; se paga en el pedimento de exportación o dentro de 60 días con un pedimento complementario.",
        "tmec_table": "Por pagar por pedimento de exportación (exportaciones de los últimos 60 días)",
        "quality_intro": "Los renglones que no pasaron la validación quedan fuera de todas las cifras. Corregirlos en origen cambia saldos y exposición.",
        "quality_table": "Renglones rechazados por archivo y columna",
        "quality_files": "Archivos leídos",
        "ds_intro": "Anexo 24 (registros del cliente) comparado con el Data Stage del SAT en la carpeta del cliente.",
        "ds_findings": "Hallazgos por aclarar con el agente aduanal",
        "ds_none": "Hay archivos de Data Stage pero no se pudieron leer: {reason}",
        "ds_unavailable": "Hay carpeta de Data Stage, pero el módulo no está instalado.",
        "metric": "Concepto",
        "month": "Este mes",
        "ytd": "En el año",
    },
}

SAVINGS_LABELS = {
    "en": {
        "imports_value_mxn": "Value of temporary imports",
        "igi_deferred": "Import duty (IGI) deferred",
        "vat_on_imports": "VAT not paid at import (16%)",
        "exported_value_mxn": "Imported value discharged by exports",
        "igi_on_exported": "IGI on material exported",
        "tmec_payable": "less T-MEC 2.5 IGI payable",
        "igi_saved": "IGI finally saved",
        "dta_definitive": "DTA a definitive import would pay (8 ‰)",
        "dta_immex": "DTA paid on temporary imports",
    },
    "es": {
        "imports_value_mxn": "Valor de las importaciones temporales",
        "igi_deferred": "IGI diferido",
        "vat_on_imports": "IVA no pagado en la importación (16%)",
        "exported_value_mxn": "Valor importado descargado por exportaciones",
        "igi_on_exported": "IGI de lo exportado",
        "tmec_payable": "menos IGI T-MEC 2.5 por pagar",
        "igi_saved": "IGI finalmente ahorrado",
        "dta_definitive": "DTA de una importación definitiva (8 ‰)",
        "dta_immex": "DTA pagado en importaciones temporales",
    },
}

STATUS_LABELS = {
    "en": {"expired": "Expired", "in_time": "In time"},
    "es": {"expired": "Vencido", "in_time": "En plazo"},
}


def _t(lang: str, key: str, **kw: object) -> str:
    s = TEXT[lang][key]
    return s.format(**kw) if kw else s


# --------------------------------------------------------------------------- data


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
    previous: Snapshot
    kpis: dict  # flat, JSON-ready
    previous_kpis: dict
    headline: list[dict]
    tables: dict[str, pd.DataFrame]  # annex sheet title → table
    descriptions: dict[str, str]
    notes: list[str] = field(default_factory=list)
    datastage: dict | None = None  # {"summary": df, "findings": df} or {"error": str}
    history: pd.DataFrame | None = None  # month, imports_mxn, exports_mxn

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
            "headline": self.headline,
            "kpis": self.kpis,
            "previous_kpis": self.previous_kpis,
            "version": __version__,
        }


def _period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    from immex_nb.dates import Period

    end = pd.Timestamp(Period.parse(period).end)
    return end.replace(day=1), end


def _in(frame: pd.DataFrame, column: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if frame.empty or column not in frame.columns:
        return frame.iloc[0:0]
    d = pd.to_datetime(frame[column])
    return frame.loc[(d >= start) & (d <= end)]


def snapshot(ledger, as_of: pd.Timestamp) -> Snapshot:
    """Discharge, exposure, ageing and headline KPIs of ``ledger`` as of a date.

    The discharge and exposure are :func:`immex_nb.exposure.exposure_for` with
    ``later_imports=False`` (the ledger as it stood on ``as_of``; PROSEC, fine
    rate, deadline rule and OEA from the client's settings) — the same
    computation as the ``exposure`` command and the notebooks."""
    from immex_nb.ageing import ageing
    from immex_nb.exposure import exposure_for
    from immex_nb.kpis import headline_kpis

    exp, result = exposure_for(ledger, as_of, later_imports=False)
    aged = ageing(result.balances, as_of)
    kpis = headline_kpis(result, exp, ledger.rejects)
    return Snapshot(as_of, result, exp, aged, kpis)


def _savings(snap: Snapshot, ledger, start: pd.Timestamp, end: pd.Timestamp):
    from immex_nb.savings import Scenario, savings

    s = ledger.settings
    sc = Scenario(
        prosec=bool(getattr(s, "prosec", True)),
        vat_certified=bool(getattr(s, "vat_certified", True)),
    )
    exports = ledger.exports.loc[pd.to_datetime(ledger.exports["date"]) <= end]
    return savings(snap.result, sc, start=start, end=end, exports=exports)


def _month_kpis(ledger, snap: Snapshot, period: str) -> tuple[dict, dict]:
    """Activity, savings and T-MEC KPIs of ``period`` + the frames behind them."""
    start, end = _period_bounds(period)
    imp = _in(ledger.imports, "date", start, end)
    exp = _in(ledger.exports, "date", start, end)
    r = snap.result
    alloc = _in(r.allocations, "export_date", start, end)
    short = _in(r.shortfalls, "export_date", start, end)
    month = _savings(snap, ledger, start, end)
    ytd = _savings(snap, ledger, start.replace(month=1), end)
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
    }
    frames = {
        "imports": imp,
        "exports": exp,
        "allocations": alloc,
        "shortfalls": short,
        "savings_month": month,
        "savings_ytd": ytd,
    }
    return k, frames


HEADLINE = (
    # key, label key, unit, lower-is-better (None = neutral), lines key, short label (index)
    ("open_value_mxn", "k_open", "MXN", None, "open_lines", "Open"),
    ("expired_value_mxn", "k_expired", "MXN", True, "expired_lines", "Expired"),
    ("due_value_mxn", "k_due", "MXN", True, "due_lines", "Due ≤ 90 days"),
    ("exposure_total_mxn", "k_exposure", "MXN", True, "exposure_lines", "Exposure"),
    ("shortfall_count", "k_shortfalls", "count", True, None, "Shortfalls"),
    ("tmec_payable_month_mxn", "k_tmec", "MXN", None, None, "T-MEC 2.5 payable"),
    ("igi_deferred_month_mxn", "k_igi", "MXN", None, None, "IGI deferred"),
    ("vat_deferred_month_mxn", "k_vat", "MXN", None, None, "VAT deferred"),
)


def _headline(kpis: dict, prev: dict, lang: str) -> list[dict]:
    out = []
    for key, label, unit, lower_better, lines, short in HEADLINE:
        item = {
            "key": key,
            "label": _t(lang, label),
            "short": short,
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
    language: str = "en",
    client: str | None = None,
) -> ReportData:
    """Everything the monthly report of ``client_dir`` for ``period`` shows."""
    from immex_nb.dates import Period
    from immex_nb.load import load

    if language not in LANGS:
        raise ImmexError(f"language {language!r} is not supported; use one of {list(LANGS)}")
    prev = str(Period.parse(previous_period or Period.parse(period).previous))
    folder = Path(client_dir)
    ledger = load(folder)
    _, as_of = _period_bounds(period)
    _, prev_as_of = _period_bounds(prev)
    cur = snapshot(ledger, as_of)
    old = snapshot(ledger, prev_as_of)
    k_month, frames = _month_kpis(ledger, cur, period)
    k_prev, _ = _month_kpis(ledger, old, prev)
    kpis = _jsonable({**cur.kpis, **k_month})
    prev_kpis = _jsonable({**old.kpis, **k_prev})
    name = getattr(ledger.settings, "name", "") or client or folder.name
    data = ReportData(
        client=client or folder.name,
        client_name=str(name),
        period=period,
        previous_period=prev,
        as_of=as_of,
        previous_as_of=prev_as_of,
        language=language,
        settings=ledger.settings,
        ledger=ledger,
        current=cur,
        previous=old,
        kpis=kpis,
        previous_kpis=prev_kpis,
        headline=_headline(kpis, prev_kpis, language),
        tables={},
        descriptions={},
    )
    if cur.exposure.attrs.get("inpc_estimated"):
        data.notes.append(
            _t(language, "s_inpc", month=cur.exposure.attrs.get("last_inpc_month", ""))
        )
    _build_tables(data, frames)
    data.history = _history(ledger, cur, as_of)
    ds_dir = folder / "datastage"
    if ds_dir.is_dir():
        data.datastage = _datastage(ledger, ds_dir)
        if "findings" in data.datastage:
            data.tables["Data Stage compulsa"] = data.datastage["findings"]
            data.descriptions["Data Stage compulsa"] = (
                "Differences between Anexo 24 and the SAT Data Stage (compulsa)."
            )
    return data


def _datastage(ledger, ds_dir: Path) -> dict:
    try:
        from immex_nb.datastage.compulsa import compulsa, compulsa_summary
        from immex_nb.datastage.reader import read_datastage
    except ImportError:
        return {"error": "unavailable"}
    try:
        ds = read_datastage(ds_dir)
        findings = compulsa(ledger.imports, ledger.exports, ds)
    except ImmexError as exc:
        return {"error": str(exc)}
    return {"summary": compulsa_summary(findings), "findings": findings}


def _history(ledger, snap: Snapshot, as_of: pd.Timestamp) -> pd.DataFrame:
    """Imported value and value discharged by exports, per month, last 12 months."""
    months = pd.period_range(end=pd.Period(as_of, "M"), periods=12, freq="M")
    imp = ledger.imports.loc[pd.to_datetime(ledger.imports["date"]) <= as_of]
    ib = imp.groupby(pd.to_datetime(imp["date"]).dt.to_period("M"))["value_mxn"].sum()
    a = snap.result.allocations
    eb = (
        a.groupby(pd.to_datetime(a["export_date"]).dt.to_period("M"))["value_mxn"].sum()
        if len(a)
        else pd.Series(dtype=float)
    )
    return pd.DataFrame(
        {
            "month": [str(m) for m in months],
            "imports_mxn": [float(ib.get(m, 0.0)) for m in months],
            "discharged_mxn": [float(eb.get(m, 0.0)) for m in months],
        }
    )


def _action_list(aged: pd.DataFrame) -> pd.DataFrame:
    """Open lines due within 90 days, one row per import pedimento."""
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
    if aged.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    d = pd.to_numeric(aged["days_to_deadline"], errors="coerce").astype("float64")
    due = aged.loc[d <= max(HORIZONS)]  # expired first (negative days), then due within 90 days
    if due.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
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
    from immex_nb.ageing import bucket

    out["bucket"] = bucket(out["days_to_deadline"]).astype(str).to_numpy()
    out = out.sort_values(["deadline", "import_pedimento"], kind="stable").reset_index(drop=True)
    return out[cols]


def _build_tables(data: ReportData, frames: dict) -> None:
    from immex_nb.ageing import ageing_summary
    from immex_nb.tmec import tmec_summary

    lang = data.language
    cur = data.current
    T, D = data.tables, data.descriptions

    headline = pd.DataFrame(
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
    T["Headline KPIs"] = headline
    D["Headline KPIs"] = f"The report's headline figures, {data.period} vs {data.previous_period}."
    T["All KPIs"] = all_kpis.astype({data.period: "object", data.previous_period: "object"})
    D["All KPIs"] = "Every figure written to kpis.json (values as of each period's last day)."

    imp = frames["imports"]
    T["Imports of the month"] = imp.reset_index(drop=True)
    D["Imports of the month"] = f"Temporary import lines dated {data.period}."
    exp = frames["exports"]
    T["Exports of the month"] = exp.reset_index(drop=True)
    D["Exports of the month"] = f"Export and return lines dated {data.period}."
    alloc = frames["allocations"]
    T["Discharges of the month"] = alloc.reset_index(drop=True)
    D["Discharges of the month"] = (
        "FIFO allocations of the month's exports to import lines (late = drawn from an expired line)."
    )
    T["Shortfalls"] = cur.result.shortfalls.reset_index(drop=True)
    D["Shortfalls"] = "Export consumptions that found no import balance, up to the as-of date."

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
    D["Open balances"] = "Every import line with an open quantity, its deadline and time left."
    summ = ageing_summary(cur.aged, by="material_type")
    summ["bucket"] = summ["bucket"].astype(str)
    T["Ageing"] = summ
    D["Ageing"] = "Open lines and value by material type and time left to the deadline."
    T["Expiring 90 days"] = _action_list(cur.aged)
    D["Expiring 90 days"] = (
        "Action list: import pedimentos with open lines already expired or due within 90 days."
    )
    ex = cur.exposure.copy()
    if "bucket" in ex:
        ex["bucket"] = ex["bucket"].astype(str)
    T["Exposure"] = ex
    D["Exposure"] = (
        "CONTRACT §4 exposure per open line (IGI, DTA, VAT, update, surcharges, fines, total)."
    )

    sm, sy = frames["savings_month"].summary, frames["savings_ytd"].summary
    sav = pd.DataFrame(
        {
            "metric": sm["metric"],
            "label": [SAVINGS_LABELS[lang].get(m, m) for m in sm["metric"]],
            "month_mxn": sm["amount_mxn"].to_numpy(),
            "ytd_mxn": sy.set_index("metric")["amount_mxn"].reindex(sm["metric"]).to_numpy(),
        }
    )
    T["Savings"] = sav
    D["Savings"] = (
        "Duty and VAT deferred and saved by IMMEX, month and year to date (immex_nb.savings)."
    )

    tm = frames["savings_ytd"].tmec
    window = (
        tm.loc[pd.to_datetime(tm["export_date"]) > data.as_of - pd.Timedelta(days=60)]
        if len(tm)
        else tm
    )
    T["T-MEC 2.5"] = tmec_summary(window, data.as_of)
    D["T-MEC 2.5"] = (
        "T-MEC art. 2.5 IGI payable per export pedimento of the last 60 days, due 60 days after the export."
    )
    T["T-MEC 2.5 lines"] = tm.reset_index(drop=True)
    D["T-MEC 2.5 lines"] = (
        "Every in-scope allocation of the year to date with its IGI, duty paid abroad, credit and payable."
    )

    rej = data.ledger.rejects
    T["Rejects"] = rej.reset_index(drop=True)
    D["Rejects"] = (
        "Rows of the client's files not loaded (file, spreadsheet row, column, value, reason)."
    )


def save_outputs(data: ReportData, output_dir: str | os.PathLike, *, anexo30=True) -> None:
    """Write ``kpis.json`` and ``annex.xlsx`` (the Anexo 24 workbook,
    :func:`immex_nb.report.annex.write_report_annex`) into ``output_dir``.
    ``anexo30``: ``True`` adds the Anexo 30 sheets computed from the report's
    own discharges, a ``(descargos, saldos)`` pair adds those, ``False`` none."""
    from immex_nb.outputs import write_text
    from immex_nb.report.annex import report_anexo30, write_report_annex

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "kpis.json", json.dumps(data.kpis_json(), indent=2, ensure_ascii=False) + "\n")
    tables = report_anexo30(data) if anexo30 is True else (anexo30 or None)
    write_report_annex(data, out / "annex.xlsx", anexo30=tables)


# --------------------------------------------------------------------------- HTML pieces

_KIND_BY_SUFFIX = (("_mxn", "MXN"), ("_usd", "USD"))


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: object, kind: str) -> str:
    """A table cell's text (:mod:`immex_nb.fmt`); money without its currency,
    which the column header names."""
    if fmt.is_missing(value):
        return fmt.MISSING
    if kind == "MXN-":  # zero shown as a dash (pivot tables)
        return fmt.MISSING if abs(float(value)) < 0.5 else fmt.money(value, "")
    if kind in ("MXN", "USD"):
        return fmt.money(value, "")
    if kind == "date":
        return _e(fmt.date(value))
    if kind == "int":
        return fmt.count(value)
    if kind == "qty":
        return fmt.quantity(value)
    if kind == "rate":
        return fmt.percent(value)
    return _e(value)


#: table headers in Spanish (html_table translates when lang="es")
HEADERS_ES = {
    "Anexo 24 MXN": "Anexo 24 MXN",
    "Column": "Columna",
    "Component": "Componente",
    "DTA": "DTA",
    "Data Stage MXN": "Data Stage MXN",
    "Days left (− overdue)": "Días restantes (− vencido)",
    "Days to due": "Días al vencimiento",
    "Deadline": "Vencimiento",
    "Destination": "Destino",
    "Detail": "Detalle",
    "Due date": "Vence",
    "Duty paid abroad (credit) MXN": "Arancel pagado en destino (crédito) MXN",
    "Example reason": "Ejemplo de motivo",
    "Export date": "Fecha de exportación",
    "Export pedimento": "Pedimento de exportación",
    "Exported part": "Parte exportada",
    "File": "Archivo",
    "Findings": "Hallazgos",
    "First row": "Primer renglón",
    "IGI on inputs MXN": "IGI de insumos MXN",
    "Import date": "Fecha de importación",
    "Import lines discharged": "Partidas descargadas",
    "Import pedimento": "Pedimento de importación",
    "Issue": "Hallazgo",
    "Late discharges": "Descargos tardíos",
    "Line": "Partida",
    "Lines": "Partidas",
    "Loaded": "Cargados",
    "Material type": "Tipo de material",
    "Meaning": "Significado",
    "Open value": "Valor abierto",
    "Open value MXN": "Valor abierto MXN",
    "Parts": "Partes",
    "Payable MXN": "Por pagar MXN",
    "Pedimentos": "Pedimentos",
    "Quantity short": "Cantidad faltante",
    "Reason": "Motivo",
    "Rejected rows": "Renglones rechazados",
    "Rows": "Renglones",
    "Rows read": "Renglones leídos",
    "Status": "Estado",
    "Surcharges": "Recargos",
    "Table": "Tabla",
    "Time left": "Tiempo restante",
    "Total MXN": "Total MXN",
    "Update": "Actualización",
    "VAT": "IVA",
    "Value MXN": "Valor MXN",
    "Value USD": "Valor USD",
    "Value discharged MXN": "Valor descargado MXN",
}


def _css(kind: str) -> str:
    return "code" if kind == "code" else "" if kind in ("text", "date") else "num"


def html_table(
    frame: pd.DataFrame,
    columns: list[tuple[str, str, str]],
    *,
    sheet: str | None = None,
    lang: str = "en",
    max_rows: int = MAX_ROWS,
    total_row: dict[str, object] | None = None,
    badge: dict[str, str] | None = None,
) -> str:
    """An escaped HTML table: ``columns`` = [(column, header, kind)] with kind
    one of text, MXN, USD, date, int, qty, rate; at most ``max_rows`` rows and
    a note pointing to the annex sheet.  ``badge`` maps a column's values to a
    badge class (``ix-bad``/``ix-warn``/``ix-ok``)."""
    if frame is None or frame.empty:
        return f'<p class="ix-empty">{_e(_t(lang, "no_rows"))}</p>'
    cols = [
        (c, HEADERS_ES.get(h, h) if lang == "es" else h, k)
        for c, h, k in columns
        if c in frame.columns
    ]
    head = "".join(f'<th class="{_css(k)}">{_e(h)}</th>' for _, h, k in cols)
    body = []
    for _, row in frame.head(max_rows).iterrows():
        cells = []
        for c, _, k in cols:
            v = row[c]
            txt = _cell(v, k)
            if badge and c in badge and txt not in (fmt.MISSING, ""):
                cls = badge[c].get(str(v), "ix-info") if isinstance(badge[c], dict) else badge[c]
                txt = f'<span class="ix-badge {cls}">{txt}</span>'
            cells.append(f'<td class="{_css(k)}">{txt}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if total_row:
        cells = []
        for i, (c, _, k) in enumerate(cols):
            v = total_row.get(c, "Total" if i == 0 else None)
            txt = _e(v) if isinstance(v, str) else ("" if v is None else _cell(v, k))
            cells.append(f'<td class="{_css(k)}">{txt}</td>')
        body.append('<tr class="ix-total">' + "".join(cells) + "</tr>")
    note = ""
    if sheet:
        if len(frame) > max_rows:
            note = _t(lang, "shown", shown=max_rows, total=fmt.count(len(frame)), sheet=sheet)
        else:
            note = _t(lang, "all_in_annex", sheet=sheet)
    html_note = f'<p class="ix-caption">{_e(note)}</p>' if note else ""
    return f'<div class="ix-table-wrap"><table class="ix-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>{html_note}'


BUCKET_BADGES = {
    "Expired": "ix-bad",
    "Due within 30 days": "ix-bad",
    "Due in 31–60 days": "ix-warn",
    "Due in 61–90 days": "ix-warn",
    "Due in more than 90 days": "ix-ok",
    "No time limit (AF)": "ix-info",
}


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


class ReportView:
    """Displays one section per call in the report notebook (thin cells)."""

    def __init__(self, data: ReportData):
        self.data = data
        self.lang = data.language

    # ---- helpers
    def _display(self, *objs) -> None:
        from IPython.display import HTML, display

        for o in objs:
            if o is None:
                continue
            display(HTML(o) if isinstance(o, str) else o)

    def _h2(self, key: str) -> str:
        return f"<h2>{_e(_t(self.lang, key))}</h2>"

    def _p(self, text: str, cls: str = "") -> str:
        return f'<p class="{cls}">{_e(text)}</p>'

    def _money(self, v: object) -> str:
        return fmt.money(v)

    def _mlabel(self, code: object) -> str:
        from immex_nb.figures import material_label

        return material_label(code, self.lang)

    def _month_name(self, period: str) -> str:
        from immex_nb.figures import month_label

        return month_label(pd.Period(period, "M").to_timestamp(), self.lang)

    # ---- sections
    def header(self) -> None:
        from immex_nb import __version__

        d, lang = self.data, self.lang
        self._display(
            f'<div class="ix-header"><div><div class="ix-eyebrow">{_e(_t(lang, "title"))}</div>'
            f"<h1>{_e(d.client_name)}</h1>"
            f'<div class="ix-eyebrow">{_e(self._month_name(d.period))}</div></div>'
            f'<div class="ix-meta">{_e(_t(lang, "period"))}: <b>{_e(d.period)}</b><br>'
            f"{_e(_t(lang, 'as_of'))}: <b>{d.as_of:%Y-%m-%d}</b><br>{_e(_t(lang, 'prepared', version=__version__))}</div></div>"
        )

    def summary(self) -> None:
        d, lang, k = self.data, self.lang, self.data.kpis
        prev_name = self._month_name(d.previous_period)
        cards = []
        for h in d.headline:
            value = format_value(h["value"], h["unit"])
            change = format_change(h["value"], h["previous"], h["unit"])
            cls = ""
            if (
                isinstance(h["value"], int | float)
                and isinstance(h["previous"], int | float)
                and h["lower_is_better"] is not None
            ):
                diff = h["value"] - h["previous"]
                if abs(diff) >= 0.5:
                    worse = (diff > 0) == bool(h["lower_is_better"])
                    cls = "ix-up-bad" if worse else "ix-up-good"
            alert = (
                " ix-alert"
                if h["key"] in ("expired_value_mxn", "shortfall_count") and h["value"]
                else ""
            )
            lines = ""
            if h.get("lines") is not None:
                n_lines = fmt.count(h["lines"])
                lines = " · " + _e(_t(lang, "lines", n=n_lines))
            cards.append(
                f'<div class="ix-kpi{alert}"><div class="ix-kpi-label">{_e(h["label"])}</div>'
                f'<div class="ix-kpi-value">{_e(value)}</div>'
                f'<div class="ix-kpi-delta"><span class="{cls}">{_e(change)}</span> {_e(_t(lang, "vs", prev=prev_name))}{lines}</div></div>'
            )
        items = [
            _t(
                lang,
                "s_open",
                value=_e(self._money(k["open_value_mxn"])),
                lines=fmt.count(k["open_lines"]),
                change=_e(
                    format_change(k["open_value_mxn"], d.previous_kpis.get("open_value_mxn"), "MXN")
                ),
                prev=_e(prev_name),
            ),
            _t(
                lang,
                "s_expired",
                lines=fmt.count(k["expired_lines"]),
                value=_e(self._money(k["expired_value_mxn"])),
            )
            if k["expired_lines"]
            else _t(lang, "s_expired_none"),
            _t(
                lang,
                "s_due",
                lines=fmt.count(k["due_lines"]),
                value=_e(self._money(k["due_value_mxn"])),
            )
            if k["due_lines"]
            else _t(lang, "s_due_none"),
            _t(
                lang,
                "s_exposure",
                value=_e(self._money(k["exposure_total_mxn"])),
                expired=_e(self._money(k["exposure_expired_mxn"])),
            ),
            _t(
                lang,
                "s_activity",
                imp_lines=fmt.count(k["imports_lines_month"]),
                imp_value=_e(self._money(k["imports_value_mxn_month"])),
                exp_lines=fmt.count(k["exports_lines_month"]),
                exp_value=_e(format_value(k["exports_value_usd_month"], "USD")),
            ),
            _t(
                lang,
                "s_savings",
                igi=_e(self._money(k["igi_deferred_month_mxn"])),
                vat=_e(self._money(k["vat_deferred_month_mxn"])),
                igi_ytd=_e(self._money(k["igi_deferred_ytd_mxn"])),
                vat_ytd=_e(self._money(k["vat_deferred_ytd_mxn"])),
            ),
        ]
        tm = d.tables.get("T-MEC 2.5")
        month_start, _ = _period_bounds(d.period)
        first = ""
        if tm is not None and len(tm):
            mine = tm.loc[(pd.to_datetime(tm["export_date"]) >= month_start) & (tm["payable"] > 0)]
            if len(mine):
                first = _t(
                    lang, "s_tmec_first", date=f"{pd.Timestamp(mine['due_date'].min()):%Y-%m-%d}"
                )
        items.append(
            _t(lang, "s_tmec", value=_e(self._money(k["tmec_payable_month_mxn"])), first=first)
        )
        items.append(
            _t(
                lang,
                "s_shortfalls",
                n=fmt.count(k["shortfall_count"]),
                m=fmt.count(k["shortfalls_month"]),
            )
            if k["shortfall_count"]
            else _t(lang, "s_shortfalls_none")
        )
        if k.get("return_ratio_12m") is not None:
            ratio, threshold = k["return_ratio_12m"], k["return_ratio_threshold"]
            items.append(
                _t(
                    lang,
                    "s_return",
                    ratio=fmt.percent(ratio, 0),
                    threshold=fmt.percent(threshold, 0),
                    verdict=_t(lang, "s_return_ok" if ratio >= threshold else "s_return_low"),
                )
            )
        items.append(
            _t(lang, "s_rejects", n=fmt.count(k["rejects_count"]))
            if k["rejects_count"]
            else _t(lang, "s_rejects_none")
        )
        items += [_e(n) for n in d.notes]
        self._display(
            self._h2("summary")
            + f'<div class="ix-kpis">{"".join(cards)}</div>'
            + '<div class="ix-summary"><ul>'
            + "".join(f"<li>{i}</li>" for i in items)
            + "</ul></div>"
        )

    def activity(self) -> None:
        d, lang = self.data, self.lang
        imp = d.tables["Imports of the month"]
        exp = d.tables["Exports of the month"]
        parts = [self._h2("activity")]
        if len(imp):
            g = (
                imp.groupby("material_type", sort=True)
                .agg(
                    lines=("line", "size"),
                    quantity=("quantity", "sum"),
                    value_mxn=("value_mxn", "sum"),
                    value_usd=("value_usd", "sum"),
                )
                .reset_index()
            )
            g["material_type"] = [self._mlabel(c) for c in g["material_type"]]
            total = {
                "material_type": "Total",
                "lines": int(g["lines"].sum()),
                "value_mxn": float(g["value_mxn"].sum()),
                "value_usd": float(g["value_usd"].sum()),
            }
        else:
            g, total = imp, None
        parts.append(f"<h3>{_e(_t(lang, 'act_imports'))}</h3>")
        parts.append(
            html_table(
                g,
                [
                    ("material_type", "Material type", "text"),
                    ("lines", "Lines", "int"),
                    ("value_mxn", "Value MXN", "MXN"),
                    ("value_usd", "Value USD", "USD"),
                ],
                sheet="Imports of the month",
                lang=lang,
                total_row=total,
            )
        )
        if len(exp):
            from immex_nb.figures import country_label

            e = exp.assign(
                destination=exp["destination"]
                .astype(object)
                .where(exp["destination"].notna(), "")
                .astype(str)
            )
            g2 = (
                e.groupby("destination", sort=True)
                .agg(
                    lines=("line", "size"),
                    quantity=("quantity", "sum"),
                    value_usd=("value_usd", "sum"),
                )
                .reset_index()
            )
            g2 = g2.sort_values("value_usd", ascending=False)
            g2["destination"] = [country_label(c, lang) for c in g2["destination"]]
            total2 = {
                "destination": "Total",
                "lines": int(g2["lines"].sum()),
                "value_usd": float(g2["value_usd"].sum()),
            }
        else:
            g2, total2 = exp, None
        parts.append(f"<h3>{_e(_t(lang, 'act_exports'))}</h3>")
        parts.append(
            html_table(
                g2,
                [
                    ("destination", "Destination", "text"),
                    ("lines", "Lines", "int"),
                    ("value_usd", "Value USD", "USD"),
                ],
                sheet="Exports of the month",
                lang=lang,
                total_row=total2,
            )
        )
        self._display("".join(parts), self.history_figure())

    def history_figure(self):
        import plotly.graph_objects as go

        from immex_nb.figures import TEMPLATE, month_label

        h = self.data.history
        if h is None or h.empty:
            return None
        xs = [month_label(pd.Period(m, "M").to_timestamp(), self.lang) for m in h["month"]]
        fig = go.Figure()
        fig.add_bar(
            x=xs,
            y=h["imports_mxn"],
            name=_t(self.lang, "imports_mxn"),
            marker_color="#2E5EAA",
            hovertext=[fmt.money(v) for v in h["imports_mxn"]],
            hoverinfo="text+x",
        )
        fig.add_bar(
            x=xs,
            y=h["discharged_mxn"],
            name=_t(self.lang, "exports_mxn"),
            marker_color="#3F8F6B",
            hovertext=[fmt.money(v) for v in h["discharged_mxn"]],
            hoverinfo="text+x",
        )
        fig.update_layout(
            template=TEMPLATE, title_text=_t(self.lang, "act_chart"), barmode="group", height=380
        )
        fig.update_xaxes(type="category")
        fig.update_yaxes(title_text="MXN", tickformat="~s", rangemode="tozero")
        return fig

    def discharges(self) -> None:
        d, lang, k = self.data, self.lang, self.data.kpis
        a = d.tables["Discharges of the month"]
        parts = [self._h2("discharges"), f"<h3>{_e(_t(lang, 'disc_month'))}</h3>"]
        if len(a):
            g = (
                a.groupby("import_pedimento", sort=False)
                .agg(
                    import_date=("import_date", "min"),
                    lines=("import_line", "nunique"),
                    quantity=("quantity", "sum"),
                    value_mxn=("value_mxn", "sum"),
                    late=("late", "sum"),
                )
                .reset_index()
            )
            g = g.sort_values("value_mxn", ascending=False)
            total = {
                "import_pedimento": f"Total ({fmt.count(len(g))} pedimentos)",
                "lines": int(g["lines"].sum()),
                "value_mxn": float(g["value_mxn"].sum()),
                "late": int(g["late"].sum()),
            }
        else:
            g, total = a, None
        spec = [
            ("import_pedimento", "Import pedimento", "code"),
            ("import_date", "Import date", "date"),
            ("lines", "Import lines discharged", "int"),
            ("value_mxn", "Value discharged MXN", "MXN"),
        ]
        if len(a) and int(a["late"].sum()):
            spec.append(("late", "Late discharges", "int"))
        parts.append(
            html_table(
                g, spec, sheet="Discharges of the month", lang=lang, total_row=total, max_rows=10
            )
        )
        if k.get("late_allocations_month"):
            parts.append(
                f'<p class="ix-note">{_e(_t(lang, "late_note", n=k["late_allocations_month"]))}</p>'
            )
        parts.append(f"<h3>{_e(_t(lang, 'short_month'))}</h3>")
        s = d.tables["Shortfalls"]
        month_start, _ = _period_bounds(d.period)
        s = s.loc[pd.to_datetime(s["export_date"]) >= month_start] if len(s) else s
        parts.append(
            html_table(
                s,
                [
                    ("export_pedimento", "Export pedimento", "code"),
                    ("export_line", "Line", "int"),
                    ("export_date", "Export date", "date"),
                    ("export_part", "Exported part", "text"),
                    ("part_number", "Component", "text"),
                    ("quantity", "Quantity short", "qty"),
                    ("reason", "Reason", "text"),
                ],
                sheet="Shortfalls",
                lang=lang,
            )
        )
        self._display("".join(parts))

    def balances(self) -> None:
        from immex_nb.figures import ageing_bars, deadline_calendar

        d, lang = self.data, self.lang
        summ = d.tables["Ageing"]
        piv = (
            summ.pivot_table(
                index="material_type",
                columns="bucket",
                values="open_value_mxn",
                aggfunc="sum",
                observed=False,
                fill_value=0.0,
            )
            if len(summ)
            else None
        )
        parts = [self._h2("balances")]
        if piv is not None and len(piv):
            from immex_nb.ageing import BUCKETS

            cols = [b for b in BUCKETS if b in piv.columns and piv[b].sum() > 0]
            t = piv[cols].reset_index()
            t["material_type"] = [self._mlabel(c) for c in t["material_type"]]
            t["Total"] = piv[cols].sum(axis=1).to_numpy()
            t = t.loc[t["Total"] > 0]
            spec = (
                [("material_type", "Material type", "text")]
                + [(b, b, "MXN-") for b in cols]
                + [("Total", "Total MXN", "MXN")]
            )
            total = {
                "material_type": "Total",
                **{b: float(t[b].sum()) for b in cols},
                "Total": float(t["Total"].sum()),
            }
            parts.append(f"<h3>{_e(_t(lang, 'ageing_table'))}</h3>")
            parts.append(html_table(t, spec, sheet="Ageing", lang=lang, total_row=total))
        figs = []
        if len(d.current.exposure):
            figs.append(ageing_bars(d.current.exposure, lang=lang))
        figs.append(deadline_calendar(d.current.result.balances, d.as_of, months=18, lang=lang))
        self._display("".join(parts), *figs)

    def expiring(self) -> None:
        d, lang = self.data, self.lang
        al = d.tables["Expiring 90 days"]
        parts = [
            self._h2("expiring"),
            self._p(_t(lang, "action_intro", as_of=f"{d.as_of:%Y-%m-%d}"), "ix-note"),
        ]
        parts.append(
            html_table(
                al,
                [
                    ("import_pedimento", "Import pedimento", "code"),
                    ("import_date", "Import date", "date"),
                    ("deadline", "Deadline", "date"),
                    ("days_to_deadline", "Days left (− overdue)", "int"),
                    ("bucket", "Time left", "text"),
                    ("lines", "Lines", "int"),
                    ("parts", "Parts", "text"),
                    ("open_value_mxn", "Open value MXN", "MXN"),
                ],
                sheet="Expiring 90 days",
                lang=lang,
                max_rows=40,
                badge={"bucket": BUCKET_BADGES},
            )
        )
        self._display("".join(parts))

    def exposure(self) -> None:
        from immex_nb.figures import exposure_waterfall, top_open_pedimentos

        d, lang = self.data, self.lang
        ex = d.current.exposure
        fr = float(getattr(d.settings, "fine_rate", 0.0) or 0.0)
        fines = (
            _t(lang, "fines_zero") if fr == 0 else _t(lang, "fines_rate", rate=fmt.percent(fr, 0))
        )
        parts = [
            self._h2("exposure"),
            self._p(
                _t(lang, "exposure_intro", as_of=f"{d.as_of:%Y-%m-%d}", fines=fines), "ix-note"
            ),
        ]
        if len(ex):
            g = (
                ex.groupby(["status", "material_type"], sort=True)
                .agg(
                    lines=("status", "size"),
                    open_value_mxn=("open_value_mxn", "sum"),
                    igi=("igi", "sum"),
                    dta=("dta", "sum"),
                    iva=("iva", "sum"),
                    actualizacion=("actualizacion", "sum"),
                    recargos=("recargos", "sum"),
                    total=("total", "sum"),
                )
                .reset_index()
            )
            g["status"] = [STATUS_LABELS[lang].get(s, s) for s in g["status"]]
            g["material_type"] = [self._mlabel(c) for c in g["material_type"]]
            money = ["open_value_mxn", "igi", "dta", "iva", "actualizacion", "recargos", "total"]
            total = {
                "status": "Total",
                "lines": int(g["lines"].sum()),
                **{c: float(g[c].sum()) for c in money},
            }
            spec = [
                ("status", "Status", "text"),
                ("material_type", "Material type", "text"),
                ("lines", "Lines", "int"),
                ("open_value_mxn", "Open value", "MXN"),
                ("igi", "IGI", "MXN"),
                ("dta", "DTA", "MXN"),
                ("iva", "VAT", "MXN"),
                ("actualizacion", "Update", "MXN"),
                ("recargos", "Surcharges", "MXN"),
                ("total", "Total MXN", "MXN"),
            ]
            parts.append(f"<h3>{_e(_t(lang, 'exposure_table'))}</h3>")
            parts.append(
                html_table(
                    g,
                    spec,
                    sheet="Exposure",
                    lang=lang,
                    total_row=total,
                    badge={
                        "status": {
                            "Expired": "ix-bad",
                            "Vencido": "ix-bad",
                            "In time": "ix-ok",
                            "En plazo": "ix-ok",
                        }
                    },
                )
            )
            self._display(
                "".join(parts),
                exposure_waterfall(ex, lang=lang),
                top_open_pedimentos(d.current.result.balances, n=10, lang=lang),
            )
        else:
            parts.append(f'<p class="ix-empty">{_e(_t(lang, "no_rows"))}</p>')
            self._display("".join(parts))

    def savings(self) -> None:
        d, lang = self.data, self.lang
        s = d.tables["Savings"]
        parts = [self._h2("savings"), self._p(_t(lang, "savings_intro"), "ix-note")]
        parts.append(
            html_table(
                s,
                [
                    ("label", _t(lang, "metric"), "text"),
                    ("month_mxn", _t(lang, "month") + " (MXN)", "MXN"),
                    ("ytd_mxn", _t(lang, "ytd") + " (MXN)", "MXN"),
                ],
                sheet="Savings",
                lang=lang,
                max_rows=50,
            )
        )
        self._display("".join(parts))

    def tmec(self) -> None:
        d, lang = self.data, self.lang
        t = d.tables["T-MEC 2.5"]
        parts = [
            self._h2("tmec"),
            self._p(_t(lang, "tmec_intro"), "ix-note"),
            f"<h3>{_e(_t(lang, 'tmec_table'))}</h3>",
        ]
        t = t.loc[t["payable"] > 0] if len(t) else t
        total = (
            {
                "export_pedimento": "Total",
                "igi_mx": float(t["igi_mx"].sum()),
                "credit": float(t["credit"].sum()),
                "payable": float(t["payable"].sum()),
            }
            if len(t)
            else None
        )
        parts.append(
            html_table(
                t,
                [
                    ("export_pedimento", "Export pedimento", "code"),
                    ("export_date", "Export date", "date"),
                    ("destination", "Destination", "text"),
                    ("igi_mx", "IGI on inputs MXN", "MXN"),
                    ("credit", "Duty paid abroad (credit) MXN", "MXN"),
                    ("payable", "Payable MXN", "MXN"),
                    ("due_date", "Due date", "date"),
                    ("days_to_due", "Days to due", "int"),
                ],
                sheet="T-MEC 2.5",
                lang=lang,
                total_row=total,
            )
        )
        self._display("".join(parts))

    def data_quality(self) -> None:
        d, lang = self.data, self.lang
        parts = [self._h2("quality"), self._p(_t(lang, "quality_intro"), "ix-note")]
        summ = d.ledger.summary()
        parts.append(f"<h3>{_e(_t(lang, 'quality_files'))}</h3>")
        parts.append(
            html_table(
                summ,
                [
                    ("table", "Table", "text"),
                    ("file", "File", "text"),
                    ("read", "Rows read", "int"),
                    ("loaded", "Loaded", "int"),
                    ("rejected", "Rejected rows", "int"),
                ],
                lang=lang,
            )
        )
        rej = d.tables["Rejects"]
        if len(rej):
            g = rejects_by_column(rej)
            parts.append(f"<h3>{_e(_t(lang, 'quality_table'))}</h3>")
            parts.append(
                html_table(
                    g,
                    [
                        ("file", "File", "text"),
                        ("column", "Column", "text"),
                        ("rows", "Rows", "int"),
                        ("first_row", "First row", "int"),
                        ("example", "Example reason", "text"),
                    ],
                    sheet="Rejects",
                    lang=lang,
                )
            )
        self._display("".join(parts))

    def datastage(self) -> None:
        d, lang = self.data, self.lang
        if d.datastage is None:
            return
        parts = [self._h2("datastage")]
        if "error" in d.datastage:
            msg = (
                _t(lang, "ds_unavailable")
                if d.datastage["error"] == "unavailable"
                else _t(lang, "ds_none", reason=d.datastage["error"])
            )
            parts.append(f'<p class="ix-empty">{_e(msg)}</p>')
        else:
            parts.append(self._p(_t(lang, "ds_intro"), "ix-note"))
            parts.append(
                html_table(
                    d.datastage["summary"],
                    [
                        ("issue", "Issue", "text"),
                        ("meaning", "Meaning", "text"),
                        ("findings", "Findings", "int"),
                        ("pedimentos", "Pedimentos", "int"),
                        ("anexo24_value_mxn", "Anexo 24 MXN", "MXN"),
                        ("datastage_value_mxn", "Data Stage MXN", "MXN"),
                    ],
                    sheet="Data Stage compulsa",
                    lang=lang,
                )
            )
            findings = d.datastage["findings"]
            if len(findings):
                parts.append(f"<h3>{_e(_t(lang, 'ds_findings'))}</h3>")
                spec = [
                    ("pedimento", "Pedimento", "code"),
                    ("fraccion", "Fracción", "code"),
                    ("meaning", "Issue", "text"),
                    ("anexo24_value_mxn", "Anexo 24 MXN", "MXN"),
                    ("datastage_value_mxn", "Data Stage MXN", "MXN"),
                    ("detail", "Detail", "text"),
                ]
                parts.append(
                    html_table(findings, spec, sheet="Data Stage compulsa", lang=lang, max_rows=15)
                )
        self._display("".join(parts))

    def footer(self) -> None:
        d = self.data
        self._display(
            f'<div class="ix-footer">{_e(d.client_name)} · {_e(d.period)} · '
            f"figures as of {d.as_of:%Y-%m-%d}; tables in annex.xlsx. "
            "Discharge FIFO (PEPS) per Anexo 24; exposure per LA 101/108, CFF 17-A and 21. "
            "Amounts are estimates for compliance planning, not a tax determination.</div>"
        )
