"""ipywidgets wiring for the notebooks, as package functions testable without a browser.

Each builder returns ``(box, state)``: ``box`` is the widget to display, and
``state`` holds the controls, the :class:`plotly.graph_objects.FigureWidget`
figures and a ``refresh()`` the controls call when they change.  A test (or a
papermill run, which has no widget front-end) drives it by setting a
control's ``.value`` and reading the figures' data back::

    box, ex = build_exposure_explorer(ledger, "2025-06-30")
    ex.category.value = ("MP",)          # → refresh(): only inputs remain
    ex.figures["ageing"].data            # the bars now show MP only

Figures are updated in place inside ``fig.batch_update()`` — one message to
the front-end per change — restyling the traces when their number and types
are unchanged, replacing them otherwise.  Recomputing for a new as-of date
(discharge with that cut-off, then exposure) is cached per date, so moving the
date back and forth costs one computation per date.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import ipywidgets as w
import pandas as pd
import plotly.graph_objects as go

from immex_nb import figures as F
from immex_nb import fmt
from immex_nb.kpis import headline_kpis
from immex_nb.schema import MATERIAL_TYPES
from immex_nb.text import t

#: (exposure frame, discharge result) for an as-of date
Computation = tuple[pd.DataFrame, object]


def to_widget(fig: go.Figure) -> go.FigureWidget:
    """A FigureWidget copy of ``fig`` (needs the ``anywidget`` package)."""
    return go.FigureWidget(fig)


def update_figure(target: go.FigureWidget | go.Figure, source: go.Figure) -> None:
    """Make ``target`` show ``source``, in place and in one batch.

    Same number and types of traces: each trace is restyled; otherwise the
    traces are replaced.  The layout is overwritten with ``source``'s.
    """
    with target.batch_update():
        same = len(target.data) == len(source.data) and all(
            t.type == s.type for t, s in zip(target.data, source.data, strict=True)
        )
        if same:
            for t, s in zip(target.data, source.data, strict=True):
                props = s.to_plotly_json()
                props.pop("type", None)
                props.pop("uid", None)
                t.update(props, overwrite=True)
        else:
            target.data = []
            if source.data:
                target.add_traces(list(source.data))
        target.update_layout(source.layout.to_plotly_json(), overwrite=True)


def display_widget(box: w.Widget, lang: str = "en") -> None:
    """Display ``box``; where no widget can be drawn (an executed copy
    converted to HTML, a papermill run) the output reads as a short note
    instead of the widget's Python repr."""
    from IPython.display import display

    bundle = box._repr_mimebundle_()
    bundle["text/plain"] = t("widget.static_note", F._lang(lang))
    display(bundle, raw=True)


# --------------------------------------------------------------------------- exposure explorer


def _filter(
    frame: pd.DataFrame, categories: tuple[str, ...], origins: tuple[str, ...]
) -> pd.DataFrame:
    if frame is None or frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    if "material_type" in frame.columns:
        keep &= frame["material_type"].astype("string").isin(list(categories)).fillna(False)
    if "origin" in frame.columns:
        origin = frame["origin"].astype("string").fillna("").str.strip().str.upper()
        keep &= origin.isin(list(origins)).fillna(False)
    return frame[keep.astype(bool)]


@dataclass
class ExposureExplorer:
    """State of the exposure explorer: controls, figures, cache."""

    compute: Callable[[pd.Timestamp], Computation]
    as_of: w.DatePicker
    category: w.SelectMultiple
    origin: w.SelectMultiple
    figures: dict[str, go.FigureWidget]
    summary: w.HTML
    rejects: pd.DataFrame | None = None
    lang: str = "en"
    cache: dict[pd.Timestamp, Computation] = field(default_factory=dict)
    computations: int = 0

    def computation(self, as_of) -> Computation:
        """Exposure and discharge result for ``as_of`` (computed once per date)."""
        ts = pd.Timestamp(as_of).normalize()
        if ts not in self.cache:
            self.cache[ts] = self.compute(ts)
            self.computations += 1
        return self.cache[ts]

    def current(self) -> tuple[pd.DataFrame, object, dict]:
        """The filtered exposure frame, a filtered result and its KPIs."""
        as_of = pd.Timestamp(self.as_of.value)
        exposure, result = self.computation(as_of)
        cats, origins = tuple(self.category.value), tuple(self.origin.value)
        exp = _filter(exposure, cats, origins)
        filtered = SimpleNamespace(
            balances=_filter(result.balances, cats, origins),
            shortfalls=result.shortfalls,
            allocations=result.allocations,
            as_of=as_of,
        )
        return exp, filtered, headline_kpis(filtered, exp, self.rejects)

    def build(self) -> dict[str, go.Figure]:
        """The explorer's figures for the controls' current values."""
        return self._figures(*self.current())

    def _figures(self, exp: pd.DataFrame, _result: object, kpis: dict) -> dict[str, go.Figure]:
        as_of = pd.Timestamp(self.as_of.value)
        lang = self.lang
        return {
            "kpis": F.kpi_indicators(kpis, lang),
            "ageing": F.ageing_bars(exp, lang=lang),
            "calendar": F.deadline_calendar(exp, as_of, lang=lang),
            "waterfall": F.exposure_waterfall(exp, lang=lang),
            "treemap": F.origin_treemap(exp, lang=lang),
            "top": F.top_open_pedimentos(exp, lang=lang),
        }

    def refresh(self, *_: object) -> None:
        """Recompute for the controls' values and update every figure in place."""
        if self.as_of.value is None:  # the user cleared the date: keep what is shown
            return
        exp, result, kpis = self.current()
        for name, fig in self._figures(exp, result, kpis).items():
            update_figure(self.figures[name], fig)
        self.summary.value = _summary_html(
            kpis, len(self.category.value), len(self.origin.value), self.lang
        )


def _summary_html(kpis: dict, n_categories: int, n_origins: int, lang: str) -> str:
    text = t(
        "widget.summary",
        lang,
        as_of=kpis["as_of"],
        open_lines=fmt.count(kpis["open_lines"]),
        open_value=fmt.money(kpis["open_value_mxn"]),
        expired=fmt.money(kpis["expired_value_mxn"]),
        exposure=fmt.money(kpis["exposure_total_mxn"]),
        categories=n_categories,
        origins=n_origins,
    )
    return f"<div style='font-size:14px;padding:4px 0'>{text}</div>"


def _origin_options(imports: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    codes = (
        imports["origin"].astype("string").fillna("").str.strip().str.upper().unique().tolist()
        if "origin" in imports.columns
        else [""]
    )
    return sorted(((F.country_label(c, lang), c) for c in codes), key=lambda o: (o[1] == "", o[0]))


def _category_options(imports: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    present = (
        set(imports["material_type"].astype(str)) if "material_type" in imports.columns else set()
    )
    codes = [c for c in MATERIAL_TYPES if c in present] or list(MATERIAL_TYPES)
    return [(F.material_label(c, lang), c) for c in codes]


def build_exposure_explorer(
    ledger,
    as_of,
    *,
    lang: str = "en",
    compute: Callable[[pd.Timestamp], Computation] | None = None,
    initial: Computation | None = None,
) -> tuple[w.VBox, ExposureExplorer]:
    """Exposure explorer: as-of date picker, material type and origin filters,
    KPI tiles, ageing bars, deadline calendar, waterfall, treemap and top
    pedimentos — all updating in place.

    ``ledger`` is what :func:`immex_nb.load` returns (``imports`` gives the
    filter options; ``rejects`` the rejects count).  ``compute(as_of)`` returns
    ``(exposure_frame, discharge_result)``; the default discharges the ledger
    with that cut-off and values it (:class:`immex_nb.run.ClientRun`);
    ``initial`` is that pair for ``as_of`` when the caller already has it.
    """
    F._lang(lang)
    if compute is None:
        from immex_nb.run import ClientRun

        def compute(ts: pd.Timestamp) -> Computation:
            run = ClientRun(ledger, ts)
            return run.exposure, run.discharge

    cat_opts = _category_options(ledger.imports, lang)
    org_opts = _origin_options(ledger.imports, lang)
    picker = w.DatePicker(
        description=t("widget.as_of", lang),
        value=pd.Timestamp(as_of).date(),
        layout=w.Layout(width="260px"),
    )
    category = w.SelectMultiple(
        options=cat_opts,
        value=tuple(c for _, c in cat_opts),
        rows=len(cat_opts),
        description=t("widget.material", lang),
        layout=w.Layout(width="380px"),
    )
    origin = w.SelectMultiple(
        options=org_opts,
        value=tuple(c for _, c in org_opts),
        rows=min(6, max(len(org_opts), 1)),
        description=t("widget.origin", lang),
        layout=w.Layout(width="320px"),
    )
    state = ExposureExplorer(
        compute=compute,
        as_of=picker,
        category=category,
        origin=origin,
        figures={},
        summary=w.HTML(),
        rejects=getattr(ledger, "rejects", None),
        lang=lang,
    )
    if initial is not None:
        state.cache[pd.Timestamp(as_of).normalize()] = initial
    state.figures = {name: to_widget(fig) for name, fig in state.build().items()}
    state.refresh()
    for control in (picker, category, origin):
        control.observe(state.refresh, names="value")
    hint = w.HTML(
        "<span style='color:#6B7280;font-size:12px'>"
        + html.escape(t("widget.pick_hint", lang))
        + "</span>"
    )
    controls = w.HBox(
        [picker, category, origin],
        layout=w.Layout(flex_flow="row wrap", justify_content="flex-start"),
    )
    f = state.figures
    box = w.VBox(
        [
            controls,
            hint,
            state.summary,
            f["kpis"],
            f["ageing"],
            f["calendar"],
            f["waterfall"],
            f["treemap"],
            f["top"],
        ]
    )
    return box, state


# --------------------------------------------------------------------------- duty vs VAT


def make_scenario(
    settings=None,
    *,
    cost_of_capital: float = 0.12,
    refund_lag_months: float = 2.0,
    guarantee_fee_rate: float = 0.01,
    tariff_shock: float = 0.0,
    compliance_cost_per_year: float = 0.0,
    certification_cost_per_year: float = 0.0,
    us_duty_rate: float | None = None,
):
    """A :class:`immex_nb.savings.Scenario` from the notebook's parameters.

    ``tariff_shock`` is the points added to the general IGI rate of the
    non-FTA origins named for the 2026 LIGIE increase (``0.15`` = +15 points
    for CHN, IND, KOR, VNM, TWN); 0 = no shock.  ``settings`` (the client's
    :class:`~immex_nb.settings.ClientSettings`) gives PROSEC and VAT status.
    """
    from immex_nb.savings import Scenario, ligie_2026_shock

    return Scenario(
        cost_of_capital=float(cost_of_capital),
        refund_lag_months=float(refund_lag_months),
        guarantee_fee_rate=float(guarantee_fee_rate),
        compliance_cost_per_year=float(compliance_cost_per_year),
        certification_cost_per_year=float(certification_cost_per_year),
        tariff_shock=ligie_2026_shock(f"+{float(tariff_shock)!r}") if tariff_shock else {},
        us_duty_rate=us_duty_rate,
        prosec=bool(getattr(settings, "prosec", True)),
        vat_certified=bool(getattr(settings, "vat_certified", True)),
    )


def duty_vat_conclusion_html(result, client: str | None = None, lang: str = "en") -> str:
    """:func:`immex_nb.savings.conclusion` as a highlighted HTML block."""
    from immex_nb.savings import conclusion

    return (
        "<div style='font-size:15px;line-height:1.55;padding:10px 14px;border-left:4px solid #2E5EAA;"
        f"background:#F5F8FF;color:#1F2A37'>{html.escape(conclusion(result, client, lang))}</div>"
    )


#: slider → (Scenario field, minimum, maximum, step, readout format, English, Spanish)
DUTY_VAT_SLIDERS = {
    "cost_of_capital": (
        "cost_of_capital",
        0.0,
        0.30,
        0.005,
        ".1%",
    ),
    "refund_lag_months": (
        "refund_lag_months",
        0.0,
        12.0,
        0.5,
        ".1f",
    ),
    "guarantee_fee_rate": (
        "guarantee_fee_rate",
        0.0,
        0.05,
        0.001,
        ".1%",
    ),
    "tariff_shock": (
        "tariff_shock",
        0.0,
        0.50,
        0.05,
        ".0%",
    ),
    "compliance_cost_per_year": (
        "compliance_cost_per_year",
        0.0,
        5_000_000.0,
        50_000.0,
        ",.0f",
    ),
}
HEATMAP_COST_OF_CAPITAL = (0.06, 0.09, 0.12, 0.15, 0.18, 0.21)
HEATMAP_REFUND_LAG = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)


@dataclass
class DutyVatExplorer:
    """State of the duty-vs-VAT what-if: sliders, figures, conclusion."""

    frames: object  # discharge result (balances, allocations)
    start: pd.Timestamp
    end: pd.Timestamp
    exports: pd.DataFrame | None
    settings: object
    sliders: dict[str, w.FloatSlider]
    figures: dict[str, go.FigureWidget]
    conclusion: w.HTML
    client: str | None = None
    lang: str = "en"
    fixed: dict = field(default_factory=dict)  # Scenario fields not on a slider
    heatmap_key: tuple | None = None
    heatmap_runs: int = 0

    def scenario(self):
        values = {name: s.value for name, s in self.sliders.items()}
        return make_scenario(self.settings, **{**self.fixed, **values})

    def result(self):
        from immex_nb.savings import savings

        return savings(
            self.frames, self.scenario(), start=self.start, end=self.end, exports=self.exports
        )

    def grid(self) -> pd.DataFrame:
        from immex_nb.savings import sensitivity

        self.heatmap_runs += 1
        return sensitivity(
            self.frames,
            self.scenario(),
            "cost_of_capital",
            HEATMAP_COST_OF_CAPITAL,
            "refund_lag_months",
            HEATMAP_REFUND_LAG,
            start=self.start,
            end=self.end,
            exports=self.exports,
        )

    def build(self, *, heatmap: bool = True, result=None) -> dict[str, go.Figure]:
        figs = {
            "regimes": F.regime_costs(
                result if result is not None else self.result(), lang=self.lang
            )
        }
        if heatmap:
            figs["heatmap"] = F.certification_heatmap(self.grid(), lang=self.lang)
        return figs

    def refresh(self, *_: object) -> None:
        """Recompute for the sliders' values; the heatmap (whose axes are cost
        of capital and refund lag) only when another lever moved."""
        key = tuple(
            s.value
            for n, s in self.sliders.items()
            if n not in ("cost_of_capital", "refund_lag_months")
        )
        redo_heatmap = key != self.heatmap_key
        result = self.result()
        for name, fig in self.build(heatmap=redo_heatmap, result=result).items():
            update_figure(self.figures[name], fig)
        self.heatmap_key = key
        self.conclusion.value = duty_vat_conclusion_html(result, self.client, self.lang)


def build_duty_vat_explorer(
    frames,
    *,
    start,
    end,
    exports: pd.DataFrame | None = None,
    settings=None,
    client: str | None = None,
    lang: str = "en",
    **defaults: float,
) -> tuple[w.VBox, DutyVatExplorer]:
    """Duty-vs-VAT what-if: sliders for cost of capital, refund lag, guarantee
    fee, tariff shock on non-FTA origins and compliance cost; the regime bars,
    the sensitivity heatmap and the conclusion update in place.

    ``frames`` is the discharge result of the client; ``defaults`` the
    :func:`make_scenario` keywords (slider start values and fixed levers such
    as ``certification_cost_per_year``).
    """
    F._lang(lang)
    unknown = set(defaults) - set(make_scenario.__kwdefaults__)
    if unknown:
        raise ValueError(
            f"unknown scenario default(s) {sorted(unknown)}; accepted: {sorted(make_scenario.__kwdefaults__)}"
        )
    sliders = {}
    for name, (key, lo, hi, step, readout) in DUTY_VAT_SLIDERS.items():
        value = float(defaults.get(key, make_scenario.__kwdefaults__[key]))
        sliders[name] = w.FloatSlider(
            value=max(value, lo),
            min=lo,
            max=max(hi, value),
            step=step,
            readout_format=readout,
            description=t(f"widget.slider.{name}", lang),
            continuous_update=False,
            style={"description_width": "300px"},
            layout=w.Layout(width="640px"),
        )
    fixed = {k: v for k, v in defaults.items() if k not in DUTY_VAT_SLIDERS}
    state = DutyVatExplorer(
        frames=frames,
        start=pd.Timestamp(start),
        end=pd.Timestamp(end),
        exports=exports,
        settings=settings,
        sliders=sliders,
        figures={},
        conclusion=w.HTML(),
        client=client,
        lang=lang,
        fixed=fixed,
    )
    result = state.result()
    state.figures = {name: to_widget(fig) for name, fig in state.build(result=result).items()}
    state.heatmap_key = tuple(
        s.value for n, s in sliders.items() if n not in ("cost_of_capital", "refund_lag_months")
    )
    state.conclusion.value = duty_vat_conclusion_html(result, client, lang)
    for s in sliders.values():
        s.observe(state.refresh, names="value")
    box = w.VBox(
        [
            w.VBox(list(sliders.values())),
            state.conclusion,
            state.figures["regimes"],
            state.figures["heatmap"],
        ]
    )
    return box, state
