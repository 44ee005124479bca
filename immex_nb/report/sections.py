"""The monthly report's view: one notebook cell per section, each displaying
HTML (and plotly figures) built from :class:`~immex_nb.report.data.ReportData`.

The numbers come from :mod:`immex_nb.report.data` (computed once; the same
object writes ``kpis.json`` and ``annex.xlsx``); every word a reader sees comes
from the text catalog (``immex_nb/data/text/report.csv`` …) in the report's
one language; money, counts and dates go through :mod:`immex_nb.fmt` in that
language.  Every string that comes from client data is HTML-escaped here
before it reaches the page; the consultant's notes (Markdown) are rendered
with markdown-it-py with raw HTML disabled.

For compatibility this module re-exports the data half
(``build_report_data``, ``save_outputs``, ``ReportData``, ``snapshot``,
``rejects_by_column``).
"""

from __future__ import annotations

import html
from functools import lru_cache

import pandas as pd
from markupsafe import Markup, escape

from immex_nb import fmt
from immex_nb.ageing import BUCKET_KINDS, BUCKETS, bucket_label
from immex_nb.dates import Period
from immex_nb.report.data import (  # noqa: F401  (re-exported)
    HORIZONS,
    NO_LIMIT_TYPE,
    ReportData,
    Snapshot,
    action_list,
    build_report_data,
    rejects_by_column,
    save_outputs,
    snapshot,
)
from immex_nb.text import t

#: rows shown per table in the HTML report (the annex has them all)
MAX_ROWS = 25

#: badge class of each ageing bucket kind
BUCKET_BADGES = {
    "expired": "ix-bad",
    "30": "ix-bad",
    "60": "ix-warn",
    "90": "ix-warn",
    "later": "ix-ok",
    "none": "ix-info",
}
STATUS_BADGES = {"expired": "ix-bad", "in_time": "ix-ok", "overdue": "ix-bad", "pending": "ix-warn"}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _css(kind: str) -> str:
    return "code" if kind == "code" else "" if kind in ("text", "data", "date") else "num"


#: kinds whose cells hold the client's own data (part numbers, file names,
#: pedimentos): marked ``translate="no"`` — they are the same in any language
_DATA_KINDS = ("code", "data")


@lru_cache(maxsize=1)
def _macros():
    """The macros of ``templates/report_parts.html.j2`` (autoescaping jinja)."""
    import jinja2

    from immex_nb.report.render import TEMPLATES_DIR

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report_parts.html.j2").module


def _cell(value: object, kind: str, lang: str | None = None) -> str:
    """A table cell's text (:mod:`immex_nb.fmt`), escaped (``Markup``, so
    the template does not escape it twice); money without its currency,
    which the column header names."""
    if fmt.is_missing(value):
        return fmt.MISSING
    if kind == "MXN-":  # zero shown as a dash (pivot tables)
        return fmt.MISSING if abs(float(value)) < 0.5 else fmt.money(value, "")
    if kind in ("MXN", "USD"):
        return fmt.money(value, "")
    if kind == "date":
        return escape(fmt.date(value, lang))
    if kind == "int":
        return fmt.count(value)
    if kind == "qty":
        return fmt.quantity(value)
    if kind == "rate":
        return fmt.percent(value)
    return escape("" if value is None else str(value))


def html_table(
    frame: pd.DataFrame,
    columns: list[tuple[str, str, str]],
    *,
    lang: str = "es",
    max_rows: int = MAX_ROWS,
    total_row: dict[str, object] | None = None,
    badge: dict[str, dict[str, str]] | None = None,
    sheet: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    """An escaped HTML table (macro ``table`` of ``report_parts.html.j2``).

    ``columns`` = [(column, header key, kind)]: the header is ``col.<header
    key>`` of the text catalog (or ``headers[column]`` when given); kind one
    of text, data (the client's own words: part numbers, file names), code
    (pedimentos, fracciones), MXN, MXN-, USD, date, int, qty, rate.  At most
    ``max_rows`` rows and a caption when more are in the annex.  ``badge``
    maps a column's values to a badge class (``ix-bad``/``ix-warn``/``ix-ok``/
    ``ix-info``).  ``sheet`` says the table is also in the annex."""
    empty = t("report.no_rows", lang)
    if frame is None or frame.empty:
        return str(_macros().table({"rows": [], "empty": empty}))
    headers = headers or {}
    cols = [
        (c, headers.get(c) or t(f"col.{h}", lang), k) for c, h, k in columns if c in frame.columns
    ]

    def cell(text: str, kind: str, cls: str = "") -> dict:
        return {"text": text, "css": _css(kind), "data": kind in _DATA_KINDS, "badge": cls}

    rows = []
    for record in frame.head(max_rows).to_dict("records"):
        row = []
        for c, _, k in cols:
            v = record[c]
            text = _cell(v, k, lang)
            cls = ""
            if badge and c in badge and text not in (fmt.MISSING, ""):
                cls = badge[c].get(str(v), "ix-info")
            row.append(cell(text, k, cls))
        rows.append(row)
    total = None
    if total_row:
        total = []
        for i, (c, _, k) in enumerate(cols):
            v = total_row.get(c, t("report.total", lang) if i == 0 else None)
            text = escape(v) if isinstance(v, str) else ("" if v is None else _cell(v, k, lang))
            total.append(cell(text, "text" if isinstance(v, str) else k))
    caption = ""
    if len(frame) > max_rows:
        caption = t("report.shown", lang, shown=fmt.count(max_rows), total=fmt.count(len(frame)))
    elif sheet:
        caption = t("report.all_in_annex", lang)
    return str(
        _macros().table(
            {
                "head": [{"text": h, "css": _css(k)} for _, h, k in cols],
                "rows": rows,
                "total": total,
                "caption": caption,
                "empty": empty,
            }
        )
    )


def render_markdown(text: str) -> str:
    """The consultant's Markdown as HTML: CommonMark with tables, raw HTML
    escaped (``<script>`` in a note is shown as text, never run), links kept
    only for http(s)/mailto (markdown-it's own URL check)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return md.render(text)


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

    def _t(self, key: str, **values: object) -> str:
        return t(f"report.{key}", self.lang, **values)

    def _s(self, key: str, **values: object) -> Markup:
        """A summary sentence: the catalog's text may hold ``<b>``; the values
        are escaped by markupsafe as they are filled in."""
        return Markup(t(f"report.{key}", self.lang)).format(**values)

    def _h2(self, key: str) -> str:
        return f"<h2>{_e(self._t(key))}</h2>"

    def _h3(self, key: str) -> str:
        return f"<h3>{_e(self._t(key))}</h3>"

    def _p(self, text: str, cls: str = "") -> str:
        return f'<p class="{cls}">{_e(text)}</p>'

    def _money(self, v: object) -> str:
        return fmt.money(v, lang=self.lang)

    def _mlabel(self, code: object) -> str:
        from immex_nb.figures import material_label

        return material_label(code, self.lang)

    def _month_name(self, period: str) -> str:
        return fmt.month_year(period, self.lang)

    def _table(self, frame, spec, **kw) -> str:
        return html_table(frame, spec, lang=self.lang, **kw)

    def _figures(self):
        from immex_nb import figures

        figures.register_template()
        return figures

    # ---- sections
    def header(self) -> None:
        from immex_nb import __version__

        d, s, firm = self.data, self.data.settings, self.data.firm
        brand = soft = ""
        if firm is not None and (firm.primary_color or firm.accent_color):
            brand = firm.primary_color or firm.accent_color
            soft = firm.accent_color or "#eef2f7"
        ids = []
        if s.rfc:
            ids.append((self._t("rfc"), s.rfc))
        if s.immex_program:
            ids.append((self._t("immex_program"), s.immex_program))
        self._display(
            str(
                _macros().header(
                    {
                        "brand": brand,
                        "soft": soft,
                        "logo": d.logo,
                        "firm": firm.name if firm is not None else "",
                        "title": self._t("title"),
                        "client": d.client_name,
                        "ids": ids,
                        "address": s.plant_address,
                        "period_label": self._t("period"),
                        "period": self._month_name(d.period),
                        "as_of_label": self._t("as_of"),
                        "as_of": fmt.long_date(d.as_of, self.lang),
                        "prepared": self._t("prepared", version=__version__),
                    }
                )
            )
        )

    def _cards(self) -> list[dict]:
        d, lang = self.data, self.lang
        prev_name = self._month_name(d.previous_period)
        cards = []
        for h in d.headline:
            trend = ""
            if (
                isinstance(h["value"], int | float)
                and isinstance(h["previous"], int | float)
                and h["lower_is_better"] is not None
            ):
                diff = h["value"] - h["previous"]
                if abs(diff) >= 0.5:
                    worse = (diff > 0) == bool(h["lower_is_better"])
                    trend = "ix-up-bad" if worse else "ix-up-good"
            lines = h.get("lines")
            cards.append(
                {
                    "label": h["label"],
                    "value": fmt.format_value(h["value"], h["unit"], lang),
                    "change": fmt.format_change(h["value"], h["previous"], h["unit"], lang),
                    "trend": trend,
                    "vs": self._t("vs", prev=prev_name),
                    "lines": self._t("lines", n=fmt.count(lines)) if lines is not None else "",
                    "alert": h["key"] in ("expired_value_mxn", "shortfall_count")
                    and bool(h["value"]),
                }
            )
        return cards

    def _sentences(self) -> list[str]:
        d, k, lang = self.data, self.data.kpis, self.lang
        prev_name = self._month_name(d.previous_period)
        m = self._money
        items = [
            self._s(
                "s_open",
                value=m(k["open_value_mxn"]),
                lines=fmt.count(k["open_lines"]),
                change=fmt.format_change(
                    k["open_value_mxn"], d.previous_kpis.get("open_value_mxn"), "MXN", lang
                ),
                prev=prev_name,
            ),
            self._s(
                "s_af",
                excl=m(k["open_value_excl_af_mxn"]),
                lines=fmt.count(k["open_lines_excl_af"]),
                af=m(k["af_open_value_mxn"]),
            )
            if k["af_open_value_mxn"]
            else self._s("s_af_none"),
            self._s(
                "s_expired", lines=fmt.count(k["expired_lines"]), value=m(k["expired_value_mxn"])
            )
            if k["expired_lines"]
            else self._s("s_expired_none"),
            self._s("s_due", lines=fmt.count(k["due_lines"]), value=m(k["due_value_mxn"]))
            if k["due_lines"]
            else self._s("s_due_none"),
            self._s(
                "s_exposure",
                value=m(k["exposure_total_mxn"]),
                expired=m(k["exposure_expired_mxn"]),
                excl=m(k["exposure_excl_af_mxn"]),
            ),
            self._s(
                "s_activity",
                imp_lines=fmt.count(k["imports_lines_month"]),
                imp_value=m(k["imports_value_mxn_month"]),
                exp_lines=fmt.count(k["exports_lines_month"]),
                exp_value=fmt.money(k["exports_value_usd_month"], "USD", lang=lang),
            ),
            self._s(
                "s_savings",
                igi=m(k["igi_deferred_month_mxn"]),
                vat=m(k["vat_deferred_month_mxn"]),
                igi_ytd=m(k["igi_deferred_ytd_mxn"]),
                vat_ytd=m(k["vat_deferred_ytd_mxn"]),
            ),
        ]
        tm = d.tables.get("T-MEC 2.5")
        first = ""
        if tm is not None and len(tm):
            start, _ = Period.parse(d.period).bounds
            mine = tm.loc[(pd.to_datetime(tm["export_date"]) >= start) & (tm["payable"] > 0)]
            if len(mine):
                first = self._s("s_tmec_first", date=fmt.long_date(mine["due_date"].min(), lang))
        items.append(self._s("s_tmec", value=m(k["tmec_payable_month_mxn"]), first=first))
        if k.get("tmec_overdue_pedimentos"):
            items.append(
                self._s(
                    "s_tmec_overdue",
                    n=fmt.count(k["tmec_overdue_pedimentos"]),
                    value=m(k["tmec_overdue_mxn"]),
                )
            )
        items.append(
            self._s(
                "s_shortfalls",
                n=fmt.count(k["shortfall_count"]),
                m=fmt.count(k["shortfalls_month"]),
            )
            if k["shortfall_count"]
            else self._s("s_shortfalls_none")
        )
        if k.get("late_allocations"):
            items.append(self._s("s_late", n=fmt.count(k["late_allocations"])))
        if k.get("return_ratio_12m") is not None:
            ratio, threshold = k["return_ratio_12m"], k["return_ratio_threshold"]
            if k.get("vat_certified"):
                verdict = self._s("s_return_ok" if ratio >= threshold else "s_return_low")
                key = "s_return_certified"
            else:
                verdict, key = "", "s_return_not_certified"
            items.append(
                self._s(
                    key,
                    ratio=fmt.percent(ratio, 0),
                    threshold=fmt.percent(threshold, 0),
                    verdict=verdict,
                )
            )
        items.append(
            self._s("s_rejects", n=fmt.count(k["rejects_count"]))
            if k["rejects_count"]
            else self._s("s_rejects_none")
        )
        items += list(d.notes)
        return items

    def summary(self) -> None:
        self._display(str(_macros().summary(self._t("summary"), self._sentences(), self._cards())))

    def consultant_notes(self) -> None:
        """ "Comentarios del consultor": ``<client>/notes/<YYYY-MM>.md``, if any."""
        text = self.data.consultant_notes
        if not text.strip():
            return
        self._display(
            self._h2("notes")
            + f'<div class="ix-notes" translate="no">{render_markdown(text)}</div>'
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
                    value_mxn=("value_mxn", "sum"),
                    value_usd=("value_usd", "sum"),
                )
                .reset_index()
            )
            g["material_type"] = [self._mlabel(c) for c in g["material_type"]]
            total = {
                "lines": int(g["lines"].sum()),
                "value_mxn": float(g["value_mxn"].sum()),
                "value_usd": float(g["value_usd"].sum()),
            }
        else:
            g, total = imp, None
        parts.append(self._h3("act_imports"))
        parts.append(
            self._table(
                g,
                [
                    ("material_type", "material_type", "text"),
                    ("lines", "lines", "int"),
                    ("value_mxn", "value_mxn", "MXN"),
                    ("value_usd", "value_usd", "USD"),
                ],
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
                .agg(lines=("line", "size"), value_usd=("value_usd", "sum"))
                .reset_index()
                .sort_values("value_usd", ascending=False)
            )
            g2["destination"] = [country_label(c, lang) for c in g2["destination"]]
            total2 = {"lines": int(g2["lines"].sum()), "value_usd": float(g2["value_usd"].sum())}
        else:
            g2, total2 = exp, None
        parts.append(self._h3("act_exports"))
        parts.append(
            self._table(
                g2,
                [
                    ("destination", "destination", "text"),
                    ("lines", "lines", "int"),
                    ("value_usd", "value_usd", "USD"),
                ],
                total_row=total2,
            )
        )
        self._display("".join(parts), self.history_figure())

    def history_figure(self):
        import plotly.graph_objects as go

        F = self._figures()
        h = self.data.history
        if h is None or h.empty:
            return None
        lang = self.lang
        xs = [F.month_label(pd.Timestamp(m + "-01"), lang) for m in h["month"]]
        fig = go.Figure()
        for column, key, colour in (
            ("imports_mxn", "imports_mxn", "#2E5EAA"),
            ("discharged_mxn", "exports_mxn", "#3F8F6B"),
        ):
            name = self._t(key)
            fig.add_bar(
                x=xs,
                y=h[column],
                name=name,
                marker_color=colour,
                hovertext=[
                    f"{x}<br>{name}: {fmt.money(v, lang=lang)}"
                    for x, v in zip(xs, h[column], strict=True)
                ],
                hoverinfo="text",
            )
        fig.update_layout(
            template=F.register_template(),
            title_text=self._t("act_chart"),
            barmode="group",
            height=380,
        )
        fig.update_xaxes(type="category")
        fig.update_yaxes(title_text="MXN", tickformat="~s", rangemode="tozero")
        return fig

    def discharges(self) -> None:
        d, k = self.data, self.data.kpis
        a = d.tables["Discharges of the month"]
        parts = [self._h2("discharges"), self._h3("disc_month")]
        if len(a):
            g = (
                a.groupby("import_pedimento", sort=False)
                .agg(
                    import_date=("import_date", "min"),
                    lines=("import_line", "nunique"),
                    value_mxn=("value_mxn", "sum"),
                    late=("late", "sum"),
                )
                .reset_index()
                .sort_values("value_mxn", ascending=False)
            )
            total = {
                "import_pedimento": self._t("total_pedimentos", n=fmt.count(len(g))),
                "lines": int(g["lines"].sum()),
                "value_mxn": float(g["value_mxn"].sum()),
                "late": int(g["late"].sum()),
            }
        else:
            g, total = a, None
        spec = [
            ("import_pedimento", "import_pedimento", "code"),
            ("import_date", "import_date", "date"),
            ("lines", "import_lines_discharged", "int"),
            ("value_mxn", "value_discharged_mxn", "MXN"),
        ]
        if len(a) and int(a["late"].sum()):
            spec.append(("late", "late_discharges", "int"))
        parts.append(self._table(g, spec, total_row=total, max_rows=10, sheet="Discharges"))
        # shortfalls: every one the card counts (up to the as-of date)
        parts.append(
            self._h3("short_list")
            + self._p(
                self._t(
                    "short_intro",
                    n=fmt.count(k["shortfall_count"]),
                    m=fmt.count(k["shortfalls_month"]),
                ),
                "ix-note",
            )
        )
        s = d.tables["Shortfalls"]
        if len(s):
            s = s.sort_values("export_date", ascending=False, kind="stable").assign(
                reason=lambda f: [self._shortfall_reason(r) for r in f["reason"]]
            )
        parts.append(
            self._table(
                s,
                [
                    ("export_pedimento", "export_pedimento", "code"),
                    ("export_line", "line", "int"),
                    ("export_date", "export_date", "date"),
                    ("export_part", "exported_part", "data"),
                    ("part_number", "component", "data"),
                    ("quantity", "quantity_short", "qty"),
                    ("reason", "reason", "text"),
                ],
                sheet="Shortfalls",
            )
        )
        # late discharges: every one counted (drawn from an expired import line)
        late = d.tables["Late discharges"]
        parts.append(self._h3("late_list"))
        if not len(late):
            parts.append(f'<p class="ix-empty">{_e(self._t("late_none"))}</p>')
            self._display("".join(parts))
            return
        parts.append(self._p(self._t("late_intro", n=fmt.count(len(late))), "ix-note"))
        late = late.sort_values("export_date", ascending=False, kind="stable")
        parts.append(
            self._table(
                late,
                [
                    ("export_pedimento", "export_pedimento", "code"),
                    ("export_date", "export_date", "date"),
                    ("import_pedimento", "import_pedimento", "code"),
                    ("import_line", "line", "int"),
                    ("part_number", "part", "data"),
                    ("deadline", "deadline", "date"),
                    ("quantity", "quantity", "qty"),
                    ("value_mxn", "value_mxn", "MXN"),
                ],
                sheet="Late discharges",
            )
        )
        self._display("".join(parts))

    def _shortfall_reason(self, reason: object) -> str:
        """The discharge engine's reason (:mod:`immex_nb.discharge`) in the report's language."""
        from immex_nb.discharge import (
            SHORTFALL_EXHAUSTED,
            SHORTFALL_NEVER_IMPORTED,
            SHORTFALL_NOT_YET,
        )

        keys = {
            SHORTFALL_NEVER_IMPORTED: "never_imported",
            SHORTFALL_NOT_YET: "not_yet",
            SHORTFALL_EXHAUSTED: "exhausted",
        }
        key = keys.get(str(reason))
        return t(f"shortfall.{key}", self.lang) if key else str(reason)

    def balances(self) -> None:
        d, lang = self.data, self.lang
        F = self._figures()
        summ = d.tables["Ageing"]
        parts = [self._h2("balances")]
        if len(summ):
            piv = summ.pivot_table(
                index="material_type",
                columns="bucket",
                values="open_value_mxn",
                aggfunc="sum",
                observed=False,
                fill_value=0.0,
            )
            cols = [b for b in BUCKETS if b in piv.columns and piv[b].sum() > 0]
            if cols:
                keys = {b: f"b{i}" for i, b in enumerate(cols)}
                tab = piv[cols].reset_index().rename(columns=keys)
                tab["material_type"] = [self._mlabel(c) for c in tab["material_type"]]
                tab["total"] = piv[cols].sum(axis=1).to_numpy()
                tab = tab.loc[tab["total"] > 0]
                total = {keys[b]: float(tab[keys[b]].sum()) for b in cols}
                total["total"] = float(tab["total"].sum())
                parts.append(self._h3("ageing_table"))
                parts.append(
                    self._table(
                        tab,
                        [("material_type", "material_type", "text")]
                        + [(keys[b], "", "MXN-") for b in cols]
                        + [("total", "total_mxn", "MXN")],
                        headers={keys[b]: bucket_label(b, lang) for b in cols},
                        total_row=total,
                    )
                )
        figs = []
        if len(d.current.exposure):
            figs.append(F.ageing_bars(d.current.exposure, lang=lang))
        figs.append(F.deadline_calendar(d.current.result.balances, d.as_of, months=18, lang=lang))
        self._display("".join(parts), *figs)

    def expiring(self) -> None:
        d, lang = self.data, self.lang
        al = d.tables["Expiring 90 days"].copy()
        parts = [
            self._h2("expiring"),
            self._p(self._t("action_intro", as_of=fmt.long_date(d.as_of, lang)), "ix-note"),
        ]
        if len(al):
            kinds = al["bucket"].map(BUCKET_KINDS)
            al["bucket_text"] = [bucket_label(b, lang) for b in al["bucket"]]
            badges = {
                bucket_label(b, lang): BUCKET_BADGES[k]
                for b, k in zip(al["bucket"], kinds, strict=True)
            }
        else:
            badges = {}
        parts.append(
            self._table(
                al,
                [
                    ("import_pedimento", "import_pedimento", "code"),
                    ("import_date", "import_date", "date"),
                    ("deadline", "deadline", "date"),
                    ("days_to_deadline", "days_left", "int"),
                    ("bucket_text", "time_left", "text"),
                    ("lines", "lines", "int"),
                    ("parts", "parts", "data"),
                    ("open_value_mxn", "open_value_mxn", "MXN"),
                ],
                max_rows=40,
                badge={"bucket_text": badges},
                sheet="Expiring",
            )
        )
        self._display("".join(parts))

    def exposure(self) -> None:
        d, lang = self.data, self.lang
        F = self._figures()
        ex = d.current.exposure
        fr = float(d.settings.fine_rate or 0.0)
        fines = self._t("fines_zero") if fr == 0 else self._t("fines_rate", rate=fmt.percent(fr, 0))
        parts = [
            self._h2("exposure"),
            self._p(
                self._t("exposure_intro", as_of=fmt.long_date(d.as_of, lang), fines=fines),
                "ix-note",
            ),
        ]
        if not len(ex):
            parts.append(f'<p class="ix-empty">{_e(self._t("no_rows"))}</p>')
            self._display("".join(parts))
            return
        money = ["open_value_mxn", "igi", "dta", "iva", "actualizacion", "recargos", "total"]
        g = (
            ex.groupby(["status", "material_type"], sort=True)
            .agg(lines=("status", "size"), **{c: (c, "sum") for c in money})
            .reset_index()
        )
        status_text = {s: t(f"status.{s}", lang) for s in ("expired", "in_time")}
        g["status_text"] = [status_text.get(s, s) for s in g["status"]]
        g["material_type"] = [self._mlabel(c) for c in g["material_type"]]
        total = {"lines": int(g["lines"].sum()), **{c: float(g[c].sum()) for c in money}}
        k = d.kpis
        parts.append(self._h3("exposure_table"))
        parts.append(
            self._table(
                g,
                [
                    ("status_text", "status", "text"),
                    ("material_type", "material_type", "text"),
                    ("lines", "lines", "int"),
                    ("open_value_mxn", "open_value_mxn", "MXN"),
                    ("igi", "igi_mxn", "MXN"),
                    ("dta", "dta_mxn", "MXN"),
                    ("iva", "iva_mxn", "MXN"),
                    ("actualizacion", "update_mxn", "MXN"),
                    ("recargos", "surcharges_mxn", "MXN"),
                    ("total", "exposure_mxn", "MXN"),
                ],
                total_row=total,
                badge={"status_text": {status_text[s]: STATUS_BADGES[s] for s in status_text}},
                sheet="Exposure",
            )
        )
        parts.append(
            self._p(
                self._t(
                    "exposure_af",
                    excl=fmt.money(k["exposure_excl_af_mxn"], lang=lang),
                    af=fmt.money(k["af_exposure_mxn"], lang=lang),
                ),
                "ix-note",
            )
        )
        self._display(
            "".join(parts),
            F.exposure_waterfall(ex, lang=lang),
            F.top_open_pedimentos(d.current.result.balances, n=10, lang=lang),
        )

    def savings(self) -> None:
        s = self.data.tables["Savings"]
        parts = [self._h2("savings"), self._p(self._t("savings_intro"), "ix-note")]
        parts.append(
            self._table(
                s,
                [
                    ("label", "concept", "text"),
                    ("month_mxn", "month_mxn", "MXN"),
                    ("ytd_mxn", "ytd_mxn", "MXN"),
                ],
                max_rows=50,
            )
        )
        self._display("".join(parts))

    def tmec(self) -> None:
        d = self.data
        tm = d.tables["T-MEC 2.5"]
        parts = [
            self._h2("tmec"),
            self._p(self._t("tmec_intro"), "ix-note"),
            self._h3("tmec_table"),
        ]
        owed = tm.loc[tm["payable"] > 0].copy() if len(tm) else tm
        total = None
        badges = {}
        if len(owed):
            owed = owed.sort_values(
                ["due_date", "export_pedimento"], ascending=False, kind="stable"
            )
            state = {True: self._t("tmec_overdue"), False: self._t("tmec_pending")}
            owed["state"] = [state[bool(o)] for o in owed["overdue"]]
            badges = {state[True]: "ix-bad", state[False]: "ix-warn"}
            total = {
                "igi_mx": float(owed["igi_mx"].sum()),
                "credit": float(owed["credit"].sum()),
                "payable": float(owed["payable"].sum()),
            }
        parts.append(
            self._table(
                owed,
                [
                    ("export_pedimento", "export_pedimento", "code"),
                    ("export_date", "export_date", "date"),
                    ("destination", "destination", "text"),
                    ("igi_mx", "igi_on_inputs_mxn", "MXN"),
                    ("credit", "credit_mxn", "MXN"),
                    ("payable", "payable_mxn", "MXN"),
                    ("due_date", "due_date", "date"),
                    ("state", "status", "text"),
                ],
                total_row=total,
                badge={"state": badges},
                sheet="T-MEC 2.5",
            )
        )
        self._display("".join(parts))

    def movements(self) -> None:
        """Regularisations (A3) and changes of regime (F4/F5) of the month: the
        balance they discharged is no longer exposure; the taxes were paid."""
        d = self.data
        mv = d.movements
        parts = [self._h2("movements"), self._p(self._t("movements_intro"), "ix-note")]
        if mv is None or mv.empty:
            parts.append(self._p(self._t("movements_none", month=self._month_name(d.period))))
            self._display("".join(parts))
            return
        mv = mv.copy()
        mv["kind_label"] = [self._t(f"kind_{k}") for k in mv["kind"]]
        parts.append(
            self._p(
                self._t(
                    "movements_sentence",
                    value=self._money(mv["value_mxn"].sum()),
                    taxes=self._money(mv["taxes"].sum()),
                )
            )
        )
        total = {c: float(mv[c].sum()) for c in ("value_mxn", "igi", "dta", "iva", "taxes")}
        total["exits"] = int(mv["exits"].sum())
        parts.append(
            self._table(
                mv,
                [
                    ("kind_label", "movement_kind", "text"),
                    ("export_clave", "clave", "code"),
                    ("exits", "lines", "int"),
                    ("value_mxn", "value_discharged_mxn", "MXN"),
                    ("igi", "igi_mxn", "MXN"),
                    ("dta", "dta_mxn", "MXN"),
                    ("iva", "iva_mxn", "MXN"),
                    ("taxes", "taxes_paid_mxn", "MXN"),
                ],
                total_row=total,
            )
        )
        self._display("".join(parts))

    def anexo30(self) -> None:
        """The month's Anexo 30 (SCCCyG) worksheet in short: saldos per fracción."""
        d = self.data
        month = self._month_name(d.period)
        parts = [f"<h2>{_e(t('anexo30.title', self.lang, period=month))}</h2>"]
        if d.anexo30 is None:
            parts.append(self._p(self._t("anexo30_not_built"), "ix-note"))
            self._display("".join(parts))
            return
        descargos, saldos = d.anexo30
        parts.append(self._p(t("anexo30.intro", self.lang, period=month), "ix-note"))
        sal = saldos.copy()
        sal["fraccion"] = (
            sal["fraccion"].astype(str).replace("", t("anexo30.fraccion.blank", self.lang))
        )
        sal["af"] = [t(f"anexo30.activo_fijo.{v}", self.lang) for v in sal["activo_fijo"]]
        sal = sal.sort_values("closing_value_mxn", ascending=False, kind="stable")
        money = [c for c in sal.columns if c.endswith("_value_mxn")]
        parts.append(
            self._table(
                sal,
                [
                    ("fraccion", "fraccion", "code"),
                    ("af", "activo_fijo", "text"),
                    ("opening_value_mxn", "opening_mxn", "MXN"),
                    ("credits_value_mxn", "credits_mxn", "MXN"),
                    ("descargos_value_mxn", "descargos_mxn", "MXN"),
                    ("closing_value_mxn", "closing_mxn", "MXN"),
                    ("expired_value_mxn", "expired_mxn", "MXN"),
                ],
                total_row={c: float(sal[c].sum()) for c in money},
                sheet="anexo30",
            )
        )
        parts.append(
            self._p(
                self._t("anexo30_descargos", n=fmt.count(descargos["export_pedimento"].nunique())),
                "ix-note",
            )
        )
        parts.append(self._p(t("anexo30.note.no_txt", self.lang), "ix-note"))
        self._display("".join(parts))

    def data_quality(self) -> None:
        d = self.data
        parts = [self._h2("quality"), self._p(self._t("quality_intro"), "ix-note")]
        parts.append(self._h3("quality_files"))
        files = d.ledger.summary()
        files = files.assign(table=[t(f"report.tbl_{name}", self.lang) for name in files["table"]])
        parts.append(
            self._table(
                files,
                [
                    ("table", "table", "text"),
                    ("file", "file", "data"),
                    ("read", "rows_read", "int"),
                    ("loaded", "loaded", "int"),
                    ("rejected", "rejected_rows", "int"),
                ],
            )
        )
        rej = d.tables["Rejects"]
        if len(rej):
            parts.append(self._h3("quality_table"))
            parts.append(
                self._table(
                    rejects_by_column(rej),
                    [
                        ("file", "file", "data"),
                        ("column", "column", "code"),
                        ("rows", "rows", "int"),
                        ("first_row", "first_row", "int"),
                        ("example", "example_reason", "data"),
                    ],
                )
            )
            parts.append(self._h3("quality_rows"))
            parts.append(
                self._table(
                    rej,
                    [
                        ("file", "file", "data"),
                        ("row", "row", "int"),
                        ("column", "column", "code"),
                        ("value", "value", "data"),
                        ("reason", "reason", "data"),
                    ],
                    sheet="Rejects",
                )
            )
        self._display("".join(parts))

    def datastage(self) -> None:
        d, lang = self.data, self.lang
        ds = d.datastage
        if ds is None:
            return
        parts = [self._h2("datastage")]
        if "error" in ds:
            msg = (
                self._t("ds_unavailable")
                if ds["error"] == "unavailable"
                else self._t("ds_none", reason=ds["error"])
            )
            parts.append(f'<p class="ix-empty">{_e(msg)}</p>')
        elif "none" in ds:
            first, last = ds["coverage"]
            msg = (
                self._t(
                    "ds_not_for_period",
                    period=self._month_name(d.period),
                    first=fmt.long_date(first, lang),
                    last=fmt.long_date(last, lang),
                )
                if first is not None and last is not None
                else self._t("ds_empty")
            )
            parts.append(f'<p class="ix-empty">{_e(msg)}</p>')
        else:
            first, last = ds["coverage"]
            parts.append(
                self._p(
                    self._t(
                        "ds_intro",
                        period=self._month_name(d.period),
                        first=fmt.long_date(first, lang),
                        last=fmt.long_date(last, lang),
                    ),
                    "ix-note",
                )
            )
            summary = ds["summary"].assign(
                meaning=[t(f"compulsa.{i}", lang) for i in ds["summary"]["issue"]]
            )
            summary = summary.loc[summary["findings"] > 0]
            parts.append(
                self._table(
                    summary,
                    [
                        ("meaning", "difference", "text"),
                        ("findings", "findings", "int"),
                        ("pedimentos", "pedimentos", "int"),
                        ("anexo24_value_mxn", "anexo_24_mxn", "MXN"),
                        ("datastage_value_mxn", "data_stage_mxn", "MXN"),
                    ],
                )
            )
            findings = ds["findings"]
            if not len(summary):
                parts[-1] = f'<p class="ix-empty">{_e(self._t("ds_clean"))}</p>'
            if len(findings):
                findings = findings.assign(
                    meaning=[t(f"compulsa.{i}", lang) for i in findings["issue"]]
                )
                parts.append(self._h3("ds_findings"))
                parts.append(
                    self._table(
                        findings,
                        [
                            ("pedimento", "pedimento", "code"),
                            ("fraccion", "fraccion", "code"),
                            ("meaning", "difference", "text"),
                            ("anexo24_value_mxn", "anexo_24_mxn", "MXN"),
                            ("datastage_value_mxn", "data_stage_mxn", "MXN"),
                        ],
                        max_rows=15,
                        sheet="Data Stage compulsa",
                    )
                )
        self._display("".join(parts))

    def signoff(self) -> None:
        """Prepared by / reviewed by / date, from client.toml, else firm.toml."""
        d = self.data
        s, firm = d.settings, d.firm
        prepared = s.prepared_by or (firm.prepared_by if firm is not None else "")
        reviewed = s.reviewed_by or (firm.reviewed_by if firm is not None else "")
        boxes = [
            {"label": self._t("prepared_by"), "name": prepared},
            {"label": self._t("reviewed_by"), "name": reviewed},
            {"label": self._t("date"), "name": ""},
        ]
        self._display(str(_macros().signoff(self._t("signoff"), boxes)))

    def footer(self) -> None:
        d, firm, lang = self.data, self.data.firm, self.lang
        firm_parts = [p for p in (firm.name, firm.contact) if p] if firm is not None else []
        self._display(
            str(
                _macros().footer(
                    {
                        "firm": firm_parts,
                        "client": d.client_name,
                        "rfc_label": self._t("rfc"),
                        "rfc": d.settings.rfc,
                        "program": d.settings.immex_program,
                        "period": self._month_name(d.period),
                        "text": self._t("footer", as_of=fmt.long_date(d.as_of, lang)),
                    }
                )
            )
        )
