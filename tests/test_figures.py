"""Figure builders on small hand-built frames: trace types, totals equal to the
input sums, codes decoded into labels, English and Spanish."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from immex_nb import figures as F
from immex_nb.ageing import BUCKET_DTYPE

AS_OF = pd.Timestamp("2025-06-30")


def exposure_frame() -> pd.DataFrame:
    """Four open lines, one closed.

    ========  ====  ======  =======  ========  ===========
    line      type  origin  bucket   open MXN  deadline
    ========  ====  ======  =======  ========  ===========
    A/1       MP    CHN     expired  100,000   2025-05-10
    A/2       EE    CHN     0-30      20,000   2025-07-15
    B/1       MP    USA     31-60     50,000   2025-08-20
    C/1       AF    DEU     none     300,000   —
    D/1 (closed, open 0)  MP  CHN  >90  0      2026-01-05
    ========  ====  ======  =======  ========  ===========
    """
    return pd.DataFrame(
        {
            "import_pedimento": [
                "24 47 3420 4000001",
                "24 47 3420 4000001",
                "24 47 3420 4000002",
                "24 47 3420 4000003",
                "24 47 3420 4000004",
            ],
            "import_line": [1, 2, 1, 1, 1],
            "import_date": pd.to_datetime(
                ["2023-11-10", "2024-01-15", "2024-02-20", "2024-03-01", "2024-07-05"]
            ),
            "part_number": ["P-1", "BOX-1", "P-2", "MACH-1", "P-1"],
            "material_type": ["MP", "EE", "MP", "AF", "MP"],
            "origin": ["CHN", "CHN", "USA", "DEU", "CHN"],
            "status": ["expired", "in_time", "in_time", "in_time", "in_time"],
            "bucket": pd.Categorical(
                [
                    "Expired",
                    "Due within 30 days",
                    "Due in 31–60 days",
                    "No time limit (AF)",
                    "Due in more than 90 days",
                ],
                dtype=BUCKET_DTYPE,
            ),
            "open": [10.0, 5.0, 25.0, 1.0, 0.0],
            "deadline": pd.to_datetime(
                ["2025-05-10", "2025-07-15", "2025-08-20", None, "2026-01-05"]
            ),
            "expired": [True, False, False, False, False],
            "days_to_deadline": pd.array([-51, 15, 51, None, 189], dtype="Int64"),
            "open_value_mxn": [100_000.0, 20_000.0, 50_000.0, 300_000.0, 0.0],
            "open_value_usd": [5_000.0, 1_000.0, 2_500.0, 15_000.0, 0.0],
            "igi": [10_000.0, 2_000.0, 0.0, 30_000.0, 0.0],
            "dta": [800.0, 160.0, 400.0, 2_400.0, 0.0],
            "iva": [17_728.0, 3_545.6, 8_064.0, 53_184.0, 0.0],
            "actualizacion": [1_000.0, 10.0, 0.0, 300.0, 0.0],
            "recargos": [2_000.0, 0.0, 0.0, 0.0, 0.0],
            "multa": [0.0, 0.0, 0.0, 0.0, 0.0],
        }
    ).assign(
        total=lambda d: d[["igi", "dta", "iva", "actualizacion", "recargos", "multa"]].sum(axis=1)
    )


def bar_sum(fig: go.Figure) -> float:
    return sum(
        sum(v for v in (t.y if t.orientation != "h" else t.x) if v is not None)
        for t in fig.data
        if t.type == "bar"
    )


# --------------------------------------------------------------------------- formats and labels


def test_figures_format_money_with_the_one_formatter():
    """Hovers and bar labels read like the report: sign after the currency,
    missing as an en dash (immex_nb.fmt; its own tests are in test_fmt.py)."""
    balances = pd.DataFrame(
        {
            "import_pedimento": ["25 07 0123 5000001", "25 07 0123 5000002"],
            "open_value_mxn": [1_234_567.891, float("nan")],
        }
    )
    fig = F.table_figure(balances, title="t")
    assert list(fig.data[0].cells.values[1]) == ["MXN 1,234,568", "–"]
    assert not hasattr(F, "fmt_money") and not hasattr(F, "_is_missing")


def test_labels_decode_codes_in_both_languages():
    assert F.material_label("MP") == "Inputs / raw materials (MP)"
    assert F.material_label("CT", "es") == "Contenedores y cajas de tráiler (CT)"
    assert F.country_label("CHN") == "China (CHN)"
    assert F.country_label("deu", "es") == "Alemania (DEU)"
    assert F.country_label("") == "Origin not stated"
    assert F.country_label("XYZ") == "XYZ"
    assert F.month_label(pd.Timestamp("2026-01-01"), "es") == "ene 2026"
    with pytest.raises(ValueError, match="lang 'fr'"):
        F.material_label("MP", "fr")


def test_bucket_order_and_display():
    labels = [">90", "none", "61-90", "expired", "0-30", "31-60"]
    assert F.order_buckets(labels) == ["expired", "0-30", "31-60", "61-90", ">90", "none"]
    ageing = ["No time limit (AF)", "Due in more than 90 days", "Due within 30 days", "Expired"]
    assert F.order_buckets(ageing) == [
        "Expired",
        "Due within 30 days",
        "Due in more than 90 days",
        "No time limit (AF)",
    ]
    assert F.bucket_color("Due in more than 90 days") == F.BUCKET_COLORS["later"]
    assert F.bucket_display("Due in 61–90 days", "es") == "Vence en 61–90 días"
    assert F.bucket_display("0-30") == "0–30 days"
    assert F.bucket_display("expired", "es") == "Vencido"
    assert F.bucket_display(">90", "es") == "> 90 días"
    assert F.bucket_color("expired") == F.BUCKET_COLORS["expired"]
    assert F.bucket_color("none") == F.BUCKET_COLORS["none"]


def test_template_registered_once_and_used():
    assert F.register_template() == "immex_nb"
    assert "immex_nb" in pio.templates
    fig = F.exposure_waterfall(exposure_frame())
    assert fig.layout.template.layout.font.family == F.FONT


# --------------------------------------------------------------------------- exposure figures


def test_ageing_bars_stack_by_category_and_sum_to_open_value():
    """Open value 470,000 in four buckets; the closed line (0) adds nothing."""
    fig = F.ageing_bars(exposure_frame())
    assert {t.type for t in fig.data} == {"bar"}
    assert [t.name for t in fig.data] == [
        "Inputs / raw materials (MP)",
        "Packaging (EE)",
        "Machinery & equipment (AF)",
    ]
    # every bucket of the ordered categorical, the empty 61–90 one included
    assert list(fig.data[0].x) == [
        "Expired",
        "Due within 30 days",
        "Due in 31–60 days",
        "Due in 61–90 days",
        "Due in more than 90 days",
        "No time limit (AF)",
    ]
    assert math.isclose(bar_sum(fig), 470_000.0)
    mp = fig.data[0]
    assert list(mp.y) == [100_000.0, 0.0, 50_000.0, 0.0, 0.0, 0.0]
    assert "MXN 100,000" in mp.hovertext[0]
    assert fig.layout.barmode == "stack"


def test_ageing_bars_in_spanish_and_usd():
    fig = F.ageing_bars(exposure_frame(), value="open_value_usd", lang="es")
    assert fig.data[0].name == "Insumos / materias primas (MP)"
    assert list(fig.data[0].x[:2]) == ["Vencido", "Vence en ≤ 30 días"]
    assert math.isclose(bar_sum(fig), 23_500.0)
    assert "USD" in fig.layout.yaxis.title.text
    assert fig.layout.title.text == "Valor abierto por tiempo restante al vencimiento"


def test_deadline_calendar_puts_value_in_the_deadline_month():
    """As of 2025-06-30: July 2025 gets 20,000 (EE), August 50,000 (MP); the
    expired line (May) and the AF line (no deadline) are not on the calendar."""
    fig = F.deadline_calendar(exposure_frame(), AS_OF, months=18)
    xs = list(fig.data[0].x)
    assert len(xs) == 18 and xs[0] == "Jun 2025" and xs[-1] == "Nov 2026"
    by_month = {}
    for t in fig.data:
        for x, y in zip(t.x, t.y, strict=True):
            by_month[x] = by_month.get(x, 0.0) + y
    assert by_month["Jul 2025"] == 20_000.0
    assert by_month["Aug 2025"] == 50_000.0
    assert math.isclose(sum(by_month.values()), 70_000.0)


def test_deadline_calendar_window_excludes_later_months():
    frame = exposure_frame()
    fig = F.deadline_calendar(frame, AS_OF, months=1)  # June 2025 only: nothing
    assert bar_sum(fig) == 0.0


def test_waterfall_steps_and_total_equal_the_frame():
    """IGI 42,000; DTA 3,760; IVA 82,521.6; update 1,310; surcharges 2,000;
    fines 0 → total 131,591.6 = the sum of ``total``."""
    frame = exposure_frame()
    fig = F.exposure_waterfall(frame)
    (wf,) = fig.data
    assert wf.type == "waterfall"
    assert list(wf.measure) == ["relative"] * 6 + ["total"]
    assert list(wf.x) == [
        "Import duty (IGI)",
        "Customs fee (DTA)",
        "VAT (IVA)",
        "Inflation update",
        "Surcharges",
        "Fines",
        "Total",
    ]
    assert math.isclose(sum(wf.y[:6]), frame["total"].sum())
    assert math.isclose(wf.y[-1], 131_591.6)
    assert "MXN 131,592" in wf.hovertext[-1]


def test_treemap_values_roll_up_origin_to_part():
    fig = F.origin_treemap(exposure_frame())
    (tm,) = fig.data
    assert tm.type == "treemap" and tm.branchvalues == "total"
    vals = dict(zip(tm.ids, tm.values, strict=True))
    assert vals["all"] == 470_000.0
    assert vals["all/CHN"] == 120_000.0
    assert vals["all/CHN/P-1"] == 100_000.0
    labels = dict(zip(tm.ids, tm.labels, strict=True))
    assert labels["all/DEU"] == "Germany (DEU)"
    # every parent equals the sum of its children
    for pid in ("all/CHN", "all/USA", "all/DEU"):
        kids = [v for i, p, v in zip(tm.ids, tm.parents, tm.values, strict=True) if p == pid]
        assert math.isclose(sum(kids), vals[pid])


def test_treemap_groups_small_parts():
    frame = pd.DataFrame(
        {
            "origin": ["CHN"] * 4,
            "part_number": ["a", "b", "c", "d"],
            "open_value_mxn": [40.0, 30.0, 20.0, 10.0],
        }
    )
    tm = F.origin_treemap(frame, max_parts=2).data[0]
    vals = dict(zip(tm.ids, tm.values, strict=True))
    assert vals["all/CHN/…"] == 30.0 and "all/CHN/c" not in vals


@pytest.mark.parametrize("status_from", ["expired", "status"])
def test_top_open_pedimentos_ranks_and_colours_by_status(status_from):
    frame = exposure_frame()
    frame = frame.drop(columns="status" if status_from == "expired" else "expired")
    fig = F.top_open_pedimentos(frame, n=2)
    ys = [y for t in fig.data for y in t.y]
    assert set(ys) == {"24 47 3420 4000003", "24 47 3420 4000001"}  # 300,000 and 120,000
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["Expired"].y) == ["24 47 3420 4000001"]
    assert list(by_name["Expired"].x) == [120_000.0]
    assert by_name["Expired"].marker.color == F.STATUS_COLORS["expired"]
    assert list(fig.layout.yaxis.categoryarray)[-1] == "24 47 3420 4000003"  # largest on top
    assert "2 lines" in by_name["Expired"].hovertext[0]


def test_empty_frames_give_a_figure_saying_so():
    empty = exposure_frame().iloc[0:0]
    for fig in (F.ageing_bars(empty), F.origin_treemap(empty), F.top_open_pedimentos(empty)):
        assert isinstance(fig, go.Figure)
        assert fig.layout.annotations[0].text == "Nothing to show"


def test_missing_column_names_what_exists():
    with pytest.raises(KeyError, match=r"'bucket'.*columns"):
        F.ageing_bars(exposure_frame().drop(columns="bucket"))


def test_table_figure_formats_and_translates():
    rejects = pd.DataFrame(
        {
            "file": ["imports.csv"],
            "row": [7],
            "column": ["quantity"],
            "value": ["-3"],
            "reason": ["quantity must be > 0"],
        }
    )
    fig = F.table_figure(rejects, lang="es", title="Rechazos")
    (tb,) = fig.data
    assert tb.type == "table"
    assert tb.header.values[0] == "<b>Archivo</b>" and tb.header.values[4] == "<b>Motivo</b>"
    assert list(tb.cells.values[4]) == ["quantity must be > 0"]
    money = F.table_figure(
        exposure_frame(), columns=["import_pedimento", "open_value_mxn", "deadline"], max_rows=2
    )
    assert list(money.data[0].cells.values[1]) == ["MXN 100,000", "MXN 20,000"]
    assert list(money.data[0].cells.values[2]) == ["2025-05-10", "2025-07-15"]
    assert money.layout.title.text.endswith("— first 2 of 5 rows")


def test_kpi_indicators_show_the_numbers():
    kpis = {
        "open_value_mxn": 470_000.0,
        "open_lines": 4,
        "expired_value_mxn": 100_000.0,
        "expired_lines": 1,
        "exposure_total_mxn": 131_591.6,
        "due_value_mxn": 70_000.0,
        "due_lines": 2,
        "horizon_days": 90,
        "shortfall_count": 3,
        "rejects_count": 0,
    }
    fig = F.kpi_indicators(kpis)
    assert [t.type for t in fig.data] == ["indicator"] * 6
    assert [t.value for t in fig.data] == [470_000.0, 100_000.0, 131_591.6, 70_000.0, 3.0, 0.0]
    assert fig.data[3].title.text.startswith("Due in ≤ 90 days")


# --------------------------------------------------------------------------- duty vs VAT


def test_cost_bars_stack_components_per_regime():
    costs = pd.DataFrame(
        {
            "regime": ["certified", "certified", "pay", "pay", "guarantee"],
            "component": ["compliance", "igi", "financing", "igi", "guarantee"],
            "amount_mxn": [50_000.0, 10_000.0, 80_000.0, 10_000.0, 30_000.0],
        }
    )
    fig = F.cost_bars(costs, x_labels={"pay": "Pay VAT"}, color_labels={"igi": "IGI"})
    assert {t.type for t in fig.data} == {"bar"}
    assert [t.name for t in fig.data] == ["Compliance", "IGI", "Financing", "Guarantee"]
    assert list(fig.data[0].x) == ["certified", "Pay VAT", "guarantee"]
    assert math.isclose(bar_sum(fig), costs["amount_mxn"].sum())
    igi = fig.data[1]
    assert list(igi.y) == [10_000.0, 10_000.0, 0.0]
    assert [a.text for a in fig.layout.annotations] == ["MXN 60.0 k", "MXN 90.0 k", "MXN 30.0 k"]


def test_sensitivity_heatmap_pivots_the_grid():
    grid = pd.DataFrame(
        {
            "cost_of_capital": [0.08, 0.08, 0.12, 0.12],
            "refund_lag_months": [1, 3, 1, 3],
            "value_mxn": [-10_000.0, 20_000.0, 5_000.0, 60_000.0],
        }
    )
    fig = F.sensitivity_heatmap(
        grid,
        x="cost_of_capital",
        y="refund_lag_months",
        z="value_mxn",
        x_format="{:.0%}",
        y_format="{:g} mo",
    )
    (hm,) = fig.data
    assert hm.type == "heatmap"
    assert list(hm.x) == ["8%", "12%"] and list(hm.y) == ["1 mo", "3 mo"]
    assert [list(r) for r in hm.z] == [[-10_000.0, 5_000.0], [20_000.0, 60_000.0]]
    assert hm.zmid == 0  # changes sign → diverging scale centred on 0
    assert hm.text[1][1] == "MXN 60.0 k"


def test_kpi_sentence_reads_as_a_sentence():
    kpis = {
        "as_of": "2025-06-30",
        "open_lines": 4,
        "open_value_mxn": 470_000.0,
        "expired_lines": 1,
        "expired_value_mxn": 100_000.0,
        "due_lines": 2,
        "due_value_mxn": 70_000.0,
        "horizon_days": 90,
        "exposure_total_mxn": 131_591.6,
    }
    en = F.kpi_sentence(kpis)
    assert en.startswith(
        "As of <b>2025-06-30</b>, 4 import lines are open, worth <b>MXN 470,000</b>"
    )
    assert "would cost <b>MXN 131,592</b>" in en
    assert F.kpi_sentence(kpis, "es", client="Acme").startswith(
        "Acme: al <b>2025-06-30</b> hay 4 partidas abiertas"
    )


def test_client_strings_are_escaped_in_html_helpers():
    """A client called ``<script>alert(1)</script> & Co`` must reach HTML as text."""
    from immex_nb.figures import client_banner, kpi_sentence

    name = "<script>alert(1)</script> & Co"
    banner = client_banner(name, "as of 2026-11-30")
    assert "<script>" not in banner and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in banner
    kpis = {
        "as_of": "2026-11-30",
        "open_lines": 1,
        "open_value_mxn": 1.0,
        "expired_lines": 0,
        "expired_value_mxn": 0.0,
        "due_lines": 0,
        "due_value_mxn": 0.0,
        "horizon_days": 90,
        "exposure_total_mxn": 0.0,
        "shortfall_count": 0,
        "rejects_count": 0,
    }
    for lang in ("en", "es"):
        assert "<script>" not in kpi_sentence(kpis, lang, client=name)
