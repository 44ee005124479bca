"""Plotly figure builders for the notebooks and the monthly report.

Every builder takes DataFrames in the package's own shapes (``balances`` from
:func:`immex_nb.discharge`, the exposure frame, the savings module's tidy
frames) and returns a :class:`plotly.graph_objects.Figure`; nothing here
reads or writes files.  One look for all of them: the ``immex_nb`` plotly
template (registered by :func:`register_template`, which every builder
calls — never as a side effect of importing), one colour per material type and per
deadline bucket, and labels that say what a code means — a consultant's client
reads "Inputs / raw materials (MP)", never a bare ``MP``.

Money is formatted in Python by :mod:`immex_nb.fmt`, not left to d3, so a
hover says exactly what a table of the report says: ``MXN 1,234,568`` in a
hover, ``MXN 1.23 M`` on a bar, ``MXN -1,234`` for a negative amount and
``–`` for a missing one.

Worked example — the exposure waterfall of one expired line with
``open_value_mxn`` 100,000, IGI 10 %: IGI 10,000, DTA 800, IVA
0.16 × 110,800 = 17,728, update 1,000, surcharges 2,000, fines 0 → the bars
climb 10,000 → 10,800 → 28,528 → 29,528 → 31,528 and the last bar, the total,
stands at 31,528 = the sum of ``total``.

Labels come in English or Spanish (``lang="en" | "es"``); dates on category
axes are written by Python (``"Mar 2026"`` / ``"mar 2026"``) so Spanish needs
no plotly locale bundle.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from immex_nb import fmt
from immex_nb.ageing import BUCKET_KINDS
from immex_nb.schema import MATERIAL_TYPES
from immex_nb.text import LANGS, has, t

TEMPLATE = "immex_nb"

FONT = "Inter, 'Segoe UI', 'Helvetica Neue', Helvetica, Arial, sans-serif"
INK = "#1F2A37"
MUTED = "#6B7280"
GRID = "#E5E7EB"

#: one colour per material type, the same in every figure
CATEGORY_COLORS = {"MP": "#2E5EAA", "EE": "#E3A72F", "CT": "#3F8F6B", "AF": "#8E6CBF"}
#: deadline buckets: red for expired, warm to cool as time left grows, grey for no limit
BUCKET_COLORS = {
    "expired": "#B42318",
    "30": "#E8590C",
    "60": "#F59F00",
    "90": "#C7B500",
    "later": "#2F9E44",
    "none": "#98A2B3",
}
STATUS_COLORS = {"expired": "#B42318", "in_time": "#2E5EAA"}
#: cost components of the duty-vs-VAT comparison (extra names get the colorway)
COMPONENT_COLORS = {
    "IGI": "#2E5EAA",
    "IGI (T-MEC 2.5)": "#B42318",
    "DTA": "#5C7CBA",
    "VAT": "#E3A72F",
    "Compliance": "#8E6CBF",
    "igi": "#2E5EAA",
    "dta": "#5C7CBA",
    "iva": "#E3A72F",
    "financing": "#E3A72F",
    "guarantee": "#F08C00",
    "compliance": "#8E6CBF",
    "tmec": "#B42318",
    "tariff_shock": "#D9480F",
}
COLORWAY = [
    "#2E5EAA",
    "#E3A72F",
    "#3F8F6B",
    "#8E6CBF",
    "#B42318",
    "#0B7285",
    "#D9480F",
    "#5C940D",
    "#862E9C",
    "#495057",
]

WATERFALL_STEPS = ("igi", "dta", "iva", "actualizacion", "recargos", "multa")


# --------------------------------------------------------------------------- template


def register_template() -> str:
    """Register the ``immex_nb`` plotly template (idempotent); return its name."""
    if TEMPLATE in pio.templates:
        return TEMPLATE
    base = pio.templates["plotly_white"]
    tmpl = go.layout.Template(base)
    tmpl.layout.update(
        font=dict(family=FONT, size=13, color=INK),
        title=dict(font=dict(size=17, color=INK), x=0.0, xanchor="left", y=0.97, yanchor="top"),
        colorway=COLORWAY,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=70, r=30, t=70, b=60),
        hoverlabel=dict(font=dict(family=FONT, size=12), bgcolor="white", bordercolor=GRID),
        legend=dict(
            orientation="h",
            yanchor="bottom",
            y=1.0,
            xanchor="left",
            x=0.0,
            title_text="",
            font=dict(size=12),
        ),
        xaxis=dict(
            gridcolor=GRID,
            linecolor=GRID,
            zerolinecolor=GRID,
            ticks="",
            title=dict(font=dict(color=MUTED)),
        ),
        yaxis=dict(
            gridcolor=GRID,
            linecolor=GRID,
            zerolinecolor="#D0D5DD",
            ticks="",
            title=dict(font=dict(color=MUTED)),
        ),
        separators=".,",
    )
    pio.templates[TEMPLATE] = tmpl
    return TEMPLATE


# --------------------------------------------------------------------------- offline renderer

RENDERER = "immex_nb_offline"
#: plotly config of every figure: no plotly logo; the camera button saves a 2× PNG
PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
_MATHJAX_CDN = re.compile(r'<script src="https?://[^"]*mathjax[^"]*"></script>', re.IGNORECASE)


def register_renderer() -> str:
    """Register the ``immex_nb_offline`` plotly renderer (idempotent); return its name.

    It is plotly's ``notebook`` renderer — plotly.js embedded once in the
    notebook's outputs, then one ``<div>`` + ``Plotly.newPlot`` per figure —
    without the MathJax ``<script src=…cdn…>`` tag plotly adds to every
    figure, so an nbconvert HTML page asks no other host for anything.
    Notebooks select it with the plotly JSON for JupyterLab::

        pio.renderers.default = "plotly_mimetype+immex_nb_offline"
    """
    if RENDERER in pio.renderers:
        return RENDERER
    from plotly.io._base_renderers import NotebookRenderer

    class OfflineNotebookRenderer(NotebookRenderer):
        def to_mimebundle(self, fig_dict):
            bundle = super().to_mimebundle(fig_dict)
            bundle["text/html"] = _MATHJAX_CDN.sub("", bundle["text/html"])
            return bundle

    pio.renderers[RENDERER] = OfflineNotebookRenderer(connected=False, config=PLOTLY_CONFIG)
    return RENDERER


# --------------------------------------------------------------------------- labels and formats


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r} is not supported; use one of {list(LANGS)}")
    return lang


def text(key: str, lang: str = "en", **values: object) -> str:
    """A figure's words in ``lang`` (``"en"``/``"es"``): key ``fig.<key>`` of
    ``immex_nb/data/text/figures.csv``, formatted with ``values``."""
    return t(f"fig.{key}", _lang(lang), **values)


def material_label(code: object, lang: str = "en") -> str:
    """``"MP"`` → ``"Inputs / raw materials (MP)"`` (``lang="es"``: ``"Insumos / materias primas (MP)"``)."""
    _lang(lang)
    code = "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code)
    return t(f"material.{code}", lang) if has(f"material.{code}") else (code or "?")


def country_label(code: object, lang: str = "en") -> str:
    """``"CHN"`` → ``"China (CHN)"``; an unknown code stays itself; blank → "Origin not stated"."""
    if (
        code is None
        or (isinstance(code, float) and math.isnan(code))
        or pd.isna(code)
        or not str(code).strip()
    ):
        return text("unknown", lang)
    code = str(code).strip().upper()
    if not has(f"country.{code}"):
        return code
    return f"{t(f'country.{code}', _lang(lang))} ({code})"


def month_label(ts: pd.Timestamp, lang: str = "en") -> str:
    """``Timestamp('2026-03-01')`` → ``"Mar 2026"`` / ``"mar 2026"``."""
    return f"{t(f'month_abbr.{ts.month}', _lang(lang))} {ts.year}"


def currency_of(value_column: str) -> str:
    """``"open_value_usd"`` → ``"USD"``; anything else → ``"MXN"``."""
    return "USD" if value_column.endswith("_usd") else "MXN"


# --------------------------------------------------------------------------- deadline buckets

#: the usual spellings of deadline buckets beside the ageing module's own
#: (compared without spaces, lower case, "–" read as "-") → (kind, key of the
#: text shown, ``bucket.<key>`` in the text catalog)
BUCKET_SPELLINGS = {
    "expired": ("expired", "expired"),
    "vencido": ("expired", "expired"),
    "overdue": ("expired", "expired"),
    "0-30": ("30", "d0_30"),
    "≤30": ("30", "d0_30"),
    "<=30": ("30", "d0_30"),
    "31-60": ("60", "d31_60"),
    "61-90": ("90", "d61_90"),
    ">90": ("later", "over_90"),
    "90+": ("later", "over_90"),
    "+90": ("later", "over_90"),
    "later": ("later", "over_90"),
    "none": ("none", "none"),
    "nodeadline": ("none", "none"),
    "no_deadline": ("none", "none"),
    "sinplazo": ("none", "none"),
    "af": ("none", "none"),
    "n/a": ("none", "none"),
}
#: sort position of each kind: expired, dated (by upper bound), later, no limit
_KIND_ORDER = {
    "expired": (0, 0.0),
    "30": (1, 30.0),
    "60": (1, 60.0),
    "90": (1, 90.0),
    "later": (2, math.inf),
    "none": (3, math.inf),
}


def _spelling(label: object) -> tuple[str, str] | None:
    if str(label) in BUCKET_KINDS:
        kind = BUCKET_KINDS[str(label)]
        return kind, kind
    key = str(label).strip().lower().replace(" ", "").replace("–", "-")
    return BUCKET_SPELLINGS.get(key)


def bucket_kind(label: object) -> tuple[int, float, str]:
    """Sort key and colour kind of a deadline bucket label: ``(group, bound, kind)``.

    Understands the ageing module's labels (:data:`immex_nb.ageing.BUCKETS`)
    and the spellings of :data:`BUCKET_SPELLINGS` (``"expired"``, ``"0-30"``,
    ``">90"``, ``"none"`` …), by lookup; anything else sorts with "later"."""
    found = _spelling(label)
    kind = found[0] if found else "later"
    group, bound = _KIND_ORDER[kind]
    return group, bound, kind


def bucket_color(label: object) -> str:
    return BUCKET_COLORS[bucket_kind(label)[2]]


def bucket_display(label: object, lang: str = "en") -> str:
    """Bucket label as shown in ``lang`` (``bucket.<key>`` of the text catalog);
    a label it does not know is shown as it is."""
    found = _spelling(label)
    return t(f"bucket.{found[1]}", _lang(lang)) if found else str(label)


def order_buckets(labels: Iterable[object]) -> list[object]:
    return sorted(dict.fromkeys(labels), key=lambda b: bucket_kind(b)[:2])


# --------------------------------------------------------------------------- helpers


def _layout(fig: go.Figure, title: str, *, height: int = 460, **kw: object) -> go.Figure:
    fig.update_layout(template=register_template(), title_text=title, height=height, **kw)
    return fig


def _empty(title: str, lang: str, height: int = 300) -> go.Figure:
    fig = go.Figure()
    _layout(fig, title, height=height)
    fig.add_annotation(
        text=text("no_data", lang),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font=dict(size=16, color=MUTED),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: column(s) {missing} missing; columns: {list(frame.columns)}")


def _open_rows(balances: pd.DataFrame) -> pd.DataFrame:
    """Rows of a balances/exposure frame with an open quantity."""
    if "open" in balances.columns:
        return balances[balances["open"] > 0]
    return balances


def _categories(frame: pd.DataFrame) -> list[str]:
    present = [str(c) for c in frame["material_type"].dropna().unique()]
    return [c for c in MATERIAL_TYPES if c in present] + sorted(
        c for c in present if c not in MATERIAL_TYPES
    )


def _category_bars(
    fig: go.Figure,
    rows: pd.DataFrame,
    slot: pd.Series,
    slots: list,
    xs: list,
    value: str,
    currency: str,
    lang: str,
) -> None:
    """One stacked bar trace per material type over ``slots`` (x labels ``xs``):
    the sum of ``value`` of the ``rows`` whose ``slot`` is that slot, with a
    hover of the slot, the category, the amount and the number of lines."""
    grouped = rows[value].groupby([slot, rows["material_type"]], observed=True, dropna=False)
    sums = grouped.agg(["sum", "size"])
    for cat in _categories(rows):
        ys, hover = [], []
        for key, label in zip(slots, xs, strict=True):
            s, n = sums.loc[(key, cat)] if (key, cat) in sums.index else (0.0, 0)
            ys.append(float(s))
            hover.append(
                f"<b>{label}</b> · {material_label(cat, lang)}<br>"
                f"{fmt.money(s, currency)}<br>{int(n):,} {text('lines', lang)}"
            )
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=material_label(cat, lang),
                marker_color=CATEGORY_COLORS.get(cat),
                hovertext=hover,
                hoverinfo="text",
            )
        )


def _stack_totals(fig: go.Figure, xs: list, totals: list[float], currency: str) -> None:
    """Total of each stacked bar written above it."""
    for x, total in zip(xs, totals, strict=True):
        if total:
            fig.add_annotation(
                x=x,
                y=total,
                text=fmt.money(total, currency, short=True),
                showarrow=False,
                yshift=10,
                font=dict(size=11, color=MUTED),
            )


# --------------------------------------------------------------------------- KPI tiles


def kpi_indicators(
    kpis: Mapping[str, object], lang: str = "en", *, currency: str = "MXN"
) -> go.Figure:
    """Headline numbers as tiles: open, expired, exposure, due ≤ N days, shortfalls, rejects.

    ``kpis`` is :func:`immex_nb.kpis.headline_kpis`'s dict.
    """
    days = kpis.get("horizon_days", 90)
    tiles = [
        (
            text("kpi_open", lang),
            kpis.get("open_value_mxn"),
            True,
            f"{kpis.get('open_lines', 0):,} {text('lines', lang)}",
        ),
        (
            text("kpi_expired", lang),
            kpis.get("expired_value_mxn"),
            True,
            f"{kpis.get('expired_lines', 0):,} {text('lines', lang)}",
        ),
        (text("kpi_exposure", lang), kpis.get("exposure_total_mxn"), True, ""),
        (
            text("kpi_due", lang, days=days),
            kpis.get("due_value_mxn"),
            True,
            f"{kpis.get('due_lines', 0):,} {text('lines', lang)}",
        ),
        (text("kpi_shortfalls", lang), kpis.get("shortfall_count"), False, ""),
        (text("kpi_rejects", lang), kpis.get("rejects_count"), False, ""),
    ]
    fig = go.Figure()
    for i, (title, value, money, sub) in enumerate(tiles):
        row, col = divmod(i, 3)
        color = INK
        if i == 1 and value:
            color = BUCKET_COLORS["expired"]
        if i in (4, 5) and value:
            color = BUCKET_COLORS["30"]
        fig.add_trace(
            go.Indicator(
                mode="number",
                value=float(value or 0),
                number=dict(
                    prefix=f"{currency} " if money else "",
                    valueformat=",.0f",
                    font=dict(size=30, color=color),
                ),
                title=dict(
                    text=f"{title}<br><span style='font-size:12px;color:{MUTED}'>{sub}</span>"
                    if sub
                    else title,
                    font=dict(size=14),
                ),
                domain=dict(row=row, column=col),
            )
        )
    fig.update_layout(grid=dict(rows=2, columns=3, pattern="independent"))
    return _layout(fig, "", height=300, margin=dict(l=20, r=20, t=40, b=10))


# --------------------------------------------------------------------------- exposure figures


def ageing_bars(
    frame: pd.DataFrame,
    *,
    value: str = "open_value_mxn",
    bucket: str = "bucket",
    lang: str = "en",
    bucket_order: Iterable[object] | None = None,
) -> go.Figure:
    """Stacked bars: open value per deadline bucket (x), one colour per material type.

    ``frame`` is the exposure frame (or balances with a ``bucket`` column):
    one row per open import line with ``bucket``, ``material_type`` and
    ``value``.  Each bar's height is the sum of ``value`` in that bucket.
    """
    _require(frame, [bucket, "material_type", value], "ageing_bars")
    currency = currency_of(value)
    title = text("ageing_title", lang)
    rows = _open_rows(frame)
    if rows.empty:
        return _empty(title, lang)
    if bucket_order is not None:
        order = list(bucket_order)
    elif isinstance(rows[bucket].dtype, pd.CategoricalDtype):  # every bucket, also empty ones
        order = list(rows[bucket].cat.categories)
    else:
        order = order_buckets(rows[bucket].dropna())
    xs = [bucket_display(b, lang) for b in order]
    fig = go.Figure()
    _category_bars(fig, rows, rows[bucket], order, xs, value, currency, lang)
    totals = [float(rows.loc[rows[bucket] == b, value].sum()) for b in order]
    _stack_totals(fig, xs, totals, currency)
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_xaxes(title_text=text("bucket", lang), type="category")
    fig.update_yaxes(title_text=f"{text('open_value', lang)} ({currency})", tickformat="~s")
    return _layout(fig, title)


def _month_start(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


def deadline_calendar(
    balances: pd.DataFrame,
    as_of: object,
    *,
    months: int = 18,
    value: str = "open_value_mxn",
    lang: str = "en",
) -> go.Figure:
    """Open value whose deadline falls in each of the next ``months`` months.

    Month 1 is ``as_of``'s month (deadlines on or after ``as_of`` only: what
    already expired is in the ageing bars, not here).  Lines without a
    deadline (AF) are left out.  Bars stack by material type; every month of
    the window has a slot, empty or not.
    """
    _require(balances, ["deadline", "material_type", value], "deadline_calendar")
    currency = currency_of(value)
    as_of = pd.Timestamp(as_of).normalize()
    start = _month_start(as_of)
    end = start + pd.DateOffset(months=months)  # exclusive
    rows = _open_rows(balances)
    rows = rows[rows["deadline"].notna() & (rows["deadline"] >= as_of) & (rows["deadline"] < end)]
    title = text("calendar_title", lang, months=months)
    slots = [start + pd.DateOffset(months=k) for k in range(months)]
    xs = [month_label(m, lang) for m in slots]
    month = rows["deadline"].dt.to_period("M").dt.to_timestamp()
    fig = go.Figure()
    if rows.empty:  # keep the empty calendar readable
        fig.add_trace(go.Bar(x=xs, y=[0.0] * len(xs), showlegend=False, hoverinfo="skip"))
    else:
        _category_bars(fig, rows, month, slots, xs, value, currency, lang)
    totals = [float(rows.loc[month == m, value].sum()) for m in slots]
    _stack_totals(fig, xs, totals, currency)
    fig.update_layout(barmode="stack", bargap=0.25, legend_traceorder="normal")
    fig.update_xaxes(title_text=text("month", lang), type="category", tickangle=-45)
    fig.update_yaxes(
        title_text=f"{text('open_value', lang)} ({currency})", tickformat="~s", rangemode="tozero"
    )
    return _layout(fig, title)


def exposure_waterfall(
    exposure: pd.DataFrame, *, lang: str = "en", currency: str = "MXN"
) -> go.Figure:
    """IGI → DTA → IVA → update → surcharges → fines → total, summed over the exposure frame."""
    _require(exposure, [*WATERFALL_STEPS, "total"], "exposure_waterfall")
    steps = [float(exposure[c].sum()) for c in WATERFALL_STEPS]
    total = float(exposure["total"].sum())
    labels = [text(c, lang) for c in WATERFALL_STEPS] + [text("total", lang)]
    values = [*steps, total]
    title = text("waterfall_title", lang, n=f"{len(exposure):,}")
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=["relative"] * len(steps) + ["total"],
            text=[fmt.money(v, currency, short=True) for v in values],
            textposition="outside",
            hovertext=[
                f"<b>{lbl}</b><br>{fmt.money(v, currency)}"
                for lbl, v in zip(labels, values, strict=True)
            ],
            hoverinfo="text",
            connector=dict(line=dict(color="#D0D5DD", width=1)),
            increasing=dict(marker=dict(color="#E8590C")),
            decreasing=dict(marker=dict(color="#2F9E44")),
            totals=dict(marker=dict(color="#B42318")),
            cliponaxis=False,
        )
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text=currency, tickformat="~s", rangemode="tozero")
    return _layout(fig, title, showlegend=False)


def origin_treemap(
    frame: pd.DataFrame, *, value: str = "open_value_mxn", lang: str = "en", max_parts: int = 25
) -> go.Figure:
    """Open value by origin country → part number (the ``max_parts`` largest parts
    of each origin; the rest of that origin shown as one "other parts" tile)."""
    _require(frame, ["origin", "part_number", value], "origin_treemap")
    currency = currency_of(value)
    title = text("treemap_title", lang)
    rows = _open_rows(frame)
    rows = rows[rows[value] > 0]
    if rows.empty:
        return _empty(title, lang)
    origin = rows["origin"].astype("string").fillna("").str.strip().str.upper()
    by_part = rows.groupby([origin.rename("origin"), rows["part_number"].astype("string")])[
        value
    ].sum()
    root = text("all", lang)
    ids, labels, parents, values, hover, colors = (
        ["all"],
        [root],
        [""],
        [float(rows[value].sum())],
        [],
        [],
    )
    hover.append(f"<b>{root}</b><br>{fmt.money(values[0], currency)}")
    colors.append("#F2F4F7")
    other = text("other_parts", lang)
    for i, (org, parts) in enumerate(by_part.groupby(level=0, sort=False)):
        parts = parts.droplevel(0).sort_values(ascending=False)
        org_total = float(parts.sum())
        oid = f"all/{org}"
        ids.append(oid)
        labels.append(country_label(org, lang))
        parents.append("all")
        values.append(org_total)
        hover.append(f"<b>{country_label(org, lang)}</b><br>{fmt.money(org_total, currency)}")
        color = COLORWAY[i % len(COLORWAY)]
        colors.append(color)
        shown = parts.iloc[:max_parts]
        for part, v in shown.items():
            ids.append(f"{oid}/{part}")
            labels.append(str(part))
            parents.append(oid)
            values.append(float(v))
            hover.append(f"<b>{part}</b> · {country_label(org, lang)}<br>{fmt.money(v, currency)}")
            colors.append(color)
        rest = parts.iloc[max_parts:]
        if len(rest):
            ids.append(f"{oid}/…")
            labels.append(f"{len(rest)} {other}")
            parents.append(oid)
            values.append(float(rest.sum()))
            hover.append(f"{len(rest)} {other}<br>{fmt.money(rest.sum(), currency)}")
            colors.append(color)
    fig = go.Figure(
        go.Treemap(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            hovertext=hover,
            hoverinfo="text",
            marker=dict(colors=colors, line=dict(color="white", width=1)),
            texttemplate="<b>%{label}</b><br>%{percentRoot:.1%}",
            root_color="#F2F4F7",
        )
    )
    return _layout(fig, title, height=520, margin=dict(l=10, r=10, t=60, b=10))


def top_open_pedimentos(
    balances: pd.DataFrame, *, n: int = 15, value: str = "open_value_mxn", lang: str = "en"
) -> go.Figure:
    """Horizontal bars: the ``n`` import pedimentos with the most open value.

    Red when any of its open lines has expired, blue otherwise; the hover
    gives the import date, open lines and the earliest deadline.
    """
    _require(balances, ["import_pedimento", value], "top_open_pedimentos")
    currency = currency_of(value)
    rows = _open_rows(balances)
    rows = rows[rows[value] > 0]
    title = text("top_title", lang, n=n)
    if rows.empty:
        return _empty(title, lang)
    if "expired" in rows.columns:
        expired = rows["expired"].astype("boolean").fillna(False).astype(bool)
    elif "status" in rows.columns:
        expired = rows["status"].astype("string").eq("expired").fillna(False).astype(bool)
    else:
        expired = pd.Series(False, index=rows.index)
    agg = pd.DataFrame(
        {
            "value": rows.groupby("import_pedimento")[value].sum(),
            "lines": rows.groupby("import_pedimento").size(),
            "expired": expired.groupby(rows["import_pedimento"]).any(),
        }
    )
    if "deadline" in rows.columns:
        agg["deadline"] = rows.groupby("import_pedimento")["deadline"].min()
    if "import_date" in rows.columns:
        agg["import_date"] = rows.groupby("import_pedimento")["import_date"].min()
    agg = agg.sort_values("value", ascending=False).head(n).iloc[::-1]
    hover = []
    for ped, r in agg.iterrows():
        h = f"<b>{ped}</b><br>{fmt.money(r['value'], currency)}<br>{int(r['lines'])} {text('lines', lang)}"
        if "import_date" in agg.columns:
            h += f"<br>{text('import_date', lang)}: {fmt.date(r['import_date'])}"
        if "deadline" in agg.columns:
            h += f"<br>{text('earliest_deadline', lang)}: {fmt.date(r['deadline'])}"
        hover.append(h)
    status = ["expired" if e else "in_time" for e in agg["expired"]]
    fig = go.Figure()
    for st in ("in_time", "expired"):
        mask = [s == st for s in status]
        if not any(mask):
            continue
        fig.add_trace(
            go.Bar(
                y=[p for p, m in zip(agg.index, mask, strict=True) if m],
                x=[float(v) for v, m in zip(agg["value"], mask, strict=True) if m],
                orientation="h",
                name=text(st, lang),
                marker_color=STATUS_COLORS[st],
                hovertext=[h for h, m in zip(hover, mask, strict=True) if m],
                hoverinfo="text",
                text=[
                    fmt.money(v, currency, short=True)
                    for v, m in zip(agg["value"], mask, strict=True)
                    if m
                ],
                textposition="outside",
                cliponaxis=False,
            )
        )
    fig.update_yaxes(
        type="category", categoryorder="array", categoryarray=list(agg.index), title_text=""
    )
    fig.update_xaxes(title_text=f"{text('open_value', lang)} ({currency})", tickformat="~s")
    return _layout(
        fig,
        title,
        height=max(320, 60 + 28 * len(agg)),
        barmode="overlay",
        margin=dict(l=170, r=70, t=70, b=50),
    )


# --------------------------------------------------------------------------- tables


def _cell_text(col: str, series: pd.Series, lang: str = "en") -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(series):
        return [fmt.date(v) for v in series]
    if col.endswith("_mxn") or col in ("total", "igi_mx", "credit", "payable"):
        return [fmt.money(v, "MXN") for v in series]
    if col.endswith("_usd"):
        return [fmt.money(v, "USD") for v in series]
    if pd.api.types.is_bool_dtype(series):
        yes, no = t("fmt.yes", lang), t("fmt.no", lang)
        return ["" if fmt.is_missing(v) else yes if v else no for v in series]
    if col == "material_type":
        return [str(v) for v in series]
    if pd.api.types.is_float_dtype(series):
        return [fmt.quantity(v) for v in series]
    return ["" if fmt.is_missing(v) else str(v) for v in series]


#: characters a table row holds across the figure's width (≈ 1,100 px at 12 px)
_TABLE_CHARS = 150


def table_figure(
    frame: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    title: str = "",
    lang: str = "en",
    max_rows: int = 100,
    empty_text: str | None = None,
) -> go.Figure:
    """A plotly table (shortfalls, rejects, open lines) with translated headers,
    money and dates formatted; at most ``max_rows`` rows (the title says so).
    Columns get widths by their longest text and the figure the height its
    wrapped rows need (up to 720 px; a longer table scrolls).  An empty frame
    gives a small figure saying ``empty_text``."""
    if frame.empty:
        fig = _empty(title, lang, height=130)
        if empty_text:
            fig.layout.annotations[0].text = empty_text
        return fig
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    total = len(frame)
    shown = frame.head(max_rows)
    if total > max_rows:
        title = f"{title} — {text('rows_shown', lang, shown=max_rows, total=f'{total:,}')}"
    names = [t(f"figcol.{c}", _lang(lang)) if has(f"figcol.{c}") else c for c in cols]
    cells = [_cell_text(c, shown[c], lang) for c in cols]
    aligns = [
        "right"
        if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
        else "left"
        for c in cols
    ]
    # widths: longest text of the column (header words may wrap), between 6 and 45 characters
    widths = [
        min(max(max((len(v) for v in vals), default=0), max(len(wd) for wd in name.split()), 6), 45)
        for name, vals in zip(names, cells, strict=True)
    ]
    scale = _TABLE_CHARS / sum(widths)
    room = [max(w * scale, 4) for w in widths]  # characters that fit in each column

    def lines(texts: list[str]) -> int:
        return max(math.ceil(len(t) / r) if t else 1 for t, r in zip(texts, room, strict=True))

    row_lines = [lines([vals[i] for vals in cells]) for i in range(len(shown))]
    header_lines = lines(names)
    fig = go.Figure(
        go.Table(
            columnwidth=widths,
            header=dict(
                values=[f"<b>{n}</b>" for n in names],
                fill_color="#F2F4F7",
                align="left",
                font=dict(color=INK, size=12),
                line_color=GRID,
                height=10 + 16 * header_lines,
            ),
            cells=dict(
                values=cells,
                align=aligns,
                fill_color="white",
                line_color=GRID,
                font=dict(size=12),
                height=24,
            ),
        )
    )
    body = sum(8 + 16 * n for n in row_lines)
    height = min((60 if title else 10) + 20 + 10 + 16 * header_lines + body, 720)
    return _layout(fig, title, height=height, margin=dict(l=10, r=10, t=60 if title else 10, b=10))


# --------------------------------------------------------------------------- duty vs VAT


def _component_label(name: str, labels: Mapping[str, str] | None) -> str:
    if labels and name in labels:
        return labels[name]
    return name.replace("_", " ").capitalize() if name.islower() else name


def cost_bars(
    costs: pd.DataFrame,
    *,
    x: str = "regime",
    color: str = "component",
    y: str = "amount_mxn",
    lang: str = "en",
    title: str | None = None,
    x_labels: Mapping[str, str] | None = None,
    color_labels: Mapping[str, str] | None = None,
    order: Iterable[str] | None = None,
    color_order: Iterable[str] | None = None,
) -> go.Figure:
    """Stacked bars of a tidy cost frame: one bar per ``x`` (VAT regime, T-MEC
    2.5 …), one colour per ``color`` (IGI, VAT financing, guarantee fee …);
    the total of each bar is written above it.  Bar heights sum ``y``.
    A component that is zero in every bar is left out of the legend."""
    _require(costs, [x, color, y], "cost_bars")
    currency = currency_of(y)
    title = text("regimes_title", lang) if title is None else title
    if costs.empty:
        return _empty(title, lang)
    xs_raw = list(order) if order is not None else list(dict.fromkeys(costs[x]))
    xs = [(x_labels or {}).get(str(v), str(v)) for v in xs_raw]
    table = costs.groupby([x, color], sort=False)[y].sum()
    fig = go.Figure()
    present = list(dict.fromkeys(costs[color]))
    comps = [c for c in (color_order or []) if c in present] + [
        c for c in present if c not in (color_order or [])
    ]
    for comp in comps:
        ys = [float(table.get((xv, comp), 0.0)) for xv in xs_raw]
        if not any(ys):
            continue
        name = _component_label(str(comp), color_labels)
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=name,
                marker_color=COMPONENT_COLORS.get(str(comp)),
                hovertext=[
                    f"<b>{xl}</b><br>{name}: {fmt.money(v, currency)}"
                    for xl, v in zip(xs, ys, strict=True)
                ],
                hoverinfo="text",
            )
        )
    totals = [float(costs.loc[costs[x] == xv, y].sum()) for xv in xs_raw]
    _stack_totals(fig, xs, totals, currency)
    fig.update_layout(barmode="relative", legend_traceorder="normal")
    fig.update_xaxes(type="category", title_text="")
    fig.update_yaxes(title_text=f"{text('annual_cost', lang)} ({currency})", tickformat="~s")
    return _layout(fig, title)


def sensitivity_heatmap(
    grid: pd.DataFrame,
    *,
    x: str,
    y: str,
    z: str,
    lang: str = "en",
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    x_format: str = "{:g}",
    y_format: str = "{:g}",
    currency: str = "MXN",
) -> go.Figure:
    """Heatmap of a tidy grid (one row per (x, y) with value z), e.g. the annual
    value of VAT certification by cost of capital × refund lag.  Diverging
    colours centred on 0 when z changes sign; each cell carries its money."""
    _require(grid, [x, y, z], "sensitivity_heatmap")
    title = text("heatmap_title", lang) if title is None else title
    if grid.empty:
        return _empty(title, lang)
    pivot = (
        grid.pivot_table(index=y, columns=x, values=z, aggfunc="sum")
        .sort_index()
        .sort_index(axis=1)
    )
    xs = [x_format.format(v) for v in pivot.columns]
    ys = [y_format.format(v) for v in pivot.index]
    zs = pivot.to_numpy(dtype=float)
    labels = [[fmt.money(v, currency, short=True) for v in row] for row in zs]
    hover = [
        [
            f"{x_title or x}: {xs[j]}<br>{y_title or y}: {ys[i]}<br><b>{fmt.money(zs[i, j], currency)}</b>"
            for j in range(len(xs))
        ]
        for i in range(len(ys))
    ]
    signed = (zs.min() < 0) and (zs.max() > 0)
    fig = go.Figure(
        go.Heatmap(
            x=xs,
            y=ys,
            z=zs,
            text=labels,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            colorscale="RdBu" if signed else "Blues",
            zmid=0 if signed else None,
            reversescale=False,
            colorbar=dict(title=dict(text=currency), tickformat="~s"),
        )
    )
    fig.update_xaxes(type="category", title_text=x_title or x)
    fig.update_yaxes(type="category", title_text=y_title or y)
    return _layout(fig, title, height=460)


def regime_costs(result, *, lang: str = "en", per_year: bool = True) -> go.Figure:
    """The four VAT regimes (and the T-MEC 2.5 IGI inside the IMMEX ones) as
    stacked bars, from a :class:`immex_nb.savings.SavingsResult`.

    ``per_year`` divides the period's amounts by its length in years, so a
    bar reads "what this regime costs the client a year"; the bars' totals
    are then ``result.totals.per_year_mxn``.
    """
    costs = result.regimes.copy()
    costs["amount_mxn"] = costs["amount_mxn"].astype("float64")
    if per_year:
        costs["amount_mxn"] = result.per_year(costs["amount_mxn"])
    costs["regime"] = costs["regime"].astype(str)
    _lang(lang)
    period = f"{fmt.date(result.start)} – {fmt.date(result.end)}"
    title = text("regimes_title_year" if per_year else "regimes_title_period", lang, period=period)
    from immex_nb.savings import COMPONENTS

    def label(prefix: str, name: str) -> str:
        key = f"{prefix}.{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}"
        return t(key, lang) if has(key) else name

    fig = cost_bars(
        costs,
        lang=lang,
        title=title,
        color_order=COMPONENTS,
        x_labels={r: label("regime", r) for r in costs["regime"].unique()},
        color_labels={c: label("component", c) for c in costs["component"].astype(str).unique()},
    )
    if not per_year:
        fig.update_yaxes(title_text=f"{text('cost_in_period', lang)} (MXN)")
    return fig


def certification_heatmap(
    grid: pd.DataFrame,
    *,
    x: str = "cost_of_capital",
    y: str = "refund_lag_months",
    z: str = "certification_value_per_year",
    lang: str = "en",
) -> go.Figure:
    """What the VAT certification is worth a year over cost of capital ×
    refund lag — the grid of :func:`immex_nb.savings.sensitivity`."""
    _lang(lang)
    axis = {
        "cost_of_capital": (text("cost_of_capital", lang), "{:.0%}"),
        "refund_lag_months": (text("refund_lag", lang), "{:g}"),
        "guarantee_fee_rate": (text("guarantee_fee", lang), "{:.1%}"),
    }
    x_title, x_fmt = axis.get(x, (x, "{:g}"))
    y_title, y_fmt = axis.get(y, (y, "{:g}"))
    title = text("certification_title", lang)
    return sensitivity_heatmap(
        grid,
        x=x,
        y=y,
        z=z,
        lang=lang,
        title=title,
        x_title=x_title,
        y_title=y_title,
        x_format=x_fmt,
        y_format=y_fmt,
    )


def prose(key: str, lang: str = "es"):
    """A notebook's prose (Markdown, key ``nb.…`` of ``data/text/notebooks.csv``)
    in ``lang``, as the cell's output — so a notebook reads in one language."""
    from IPython.display import Markdown

    return Markdown(t(key, _lang(lang)))


def client_banner(client: str, *details: str) -> str:
    """``<b>client</b> — detail; detail`` as HTML, every part escaped (client
    names come from ``client.toml`` and may hold ``<`` or ``&``)."""
    rest = "; ".join(html.escape(str(d)) for d in details if d)
    return f"<p><b>{html.escape(client)}</b>{' — ' + rest if rest else ''}</p>"


def kpi_sentence(kpis: Mapping[str, object], lang: str = "en", client: str = "") -> str:
    """The headline KPIs as one HTML sentence for the top of a notebook."""
    body = text(
        "kpi_sentence",
        lang,
        as_of=kpis["as_of"],
        open_lines=fmt.count(kpis["open_lines"]),
        open_value=fmt.money(kpis["open_value_mxn"]),
        expired_lines=fmt.count(kpis["expired_lines"]),
        expired_value=fmt.money(kpis["expired_value_mxn"]),
        due_lines=fmt.count(kpis["due_lines"]),
        days=kpis["horizon_days"],
        due_value=fmt.money(kpis["due_value_mxn"]),
        exposure=fmt.money(kpis["exposure_total_mxn"]),
    )
    if not client:
        return body[0].upper() + body[1:]
    return f"{html.escape(client)}: {body}"
