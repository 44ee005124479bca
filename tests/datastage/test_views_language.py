"""Data Stage tables and figures in the reader's language (docs/rules/datastage.md,
in the reader's language): the synthetic example request, read once."""

from __future__ import annotations

import pandas as pd
import pytest

from immex_nb.datastage import compulsa, compulsa_summary, read_datastage, views
from immex_nb.samples.datastage import example_ledger, synth_datastage
from immex_nb.text import t


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    imports, exports = example_ledger()
    res = synth_datastage(imports, exports, tmp_path_factory.mktemp("ds") / "x.zip")
    ds = read_datastage(res.path)
    return ds, compulsa(imports, exports, ds)


def test_findings_read_in_spanish_with_their_figures_carried_over(case):
    ds, findings = case
    es = views.for_reader(findings, "es")
    assert list(es.columns[:3]) == ["Pedimento", "Fracción", "Diferencia"]
    assert set(es["Diferencia"]) <= {t(f"compulsa.{i}", "es") for i in findings["issue"]}
    english = dict(zip(findings["issue"], findings["detail"], strict=True))
    spanish = dict(zip(findings["issue"], es["Detalle"], strict=True))
    assert english["quantity_mismatch"].startswith("difference ")
    assert spanish["quantity_mismatch"] == english["quantity_mismatch"].replace(
        "difference", "diferencia"
    )
    for issue, text in spanish.items():
        assert text != english[issue], issue  # every detail is said in Spanish
    assert views.for_reader(findings, "en")["Detail"].tolist() == findings["detail"].tolist()
    summary = views.for_reader(compulsa_summary(findings, "es"), "es")
    assert "issue" not in summary and summary.columns[0] == "Diferencia"


def test_treatments_yes_no_and_pivot_in_words(case):
    ds, _ = case
    pivot = views.taxes_pivot(ds, "es")
    assert pivot.index.name == "Mes de pago"
    assert pivot.columns.names == ["Contribución", "Tratamiento"]
    treatments = set(pivot.columns.get_level_values(1))
    assert t("ds.treatment.deferred", "es") in treatments
    assert not treatments & {"paid", "deferred", "credited"}
    rect = views.for_reader(views.rectifications(ds), "es")
    if len(rect):
        assert set(rect["Anterior en el Data Stage"]) <= {"Sí", "No"}
    ov = views.overview(ds, "es")
    assert ov["item"].iloc[0] == "periodo"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_figures_follow_the_language(case, lang):
    ds, _ = case
    taxes = views.figure_taxes_by_month(ds, lang)
    assert taxes.layout.title.text == t("ds.fig.taxes_title", lang)
    assert all(
        t(f"ds.treatment.{k}", lang) in "".join(tr.name for tr in taxes.data) for k in ("deferred",)
    )
    rates = views.figure_rates(ds, lang)
    assert [tr.name for tr in rates.data] == [
        t("ds.fig.rectification_rate", lang),
        t("ds.fig.red_rate", lang),
    ]


def test_a_text_from_no_sentence_is_shown_as_it_is():
    frame = pd.DataFrame({"detail": ["something the catalogue does not know"]})
    assert views.for_reader(frame, "es")["Detalle"].tolist() == frame["detail"].tolist()
