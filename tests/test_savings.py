"""Duty savings vs VAT model on a one-line ledger worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immex_nb.errors import ImmexError
from immex_nb.savings import (
    CASH,
    CERTIFIED,
    GUARANTEE,
    NO_IMMEX,
    REGIMES,
    Scenario,
    apply_tariff_shock,
    conclusion,
    ligie_2026_shock,
    period_years,
    savings,
    sensitivity,
)

PERIOD = {"start": "2025-01-01", "end": "2025-12-31"}


def ledger(
    destination="DEU", origin="CHN", usmca_originating=pd.NA, prosec_rate=np.nan, material_type="MP"
):
    """One import 2025-02-10 of MXN 100,000 (10 units, general rate 10 %);
    5 units (MXN 50,000) exported 2025-06-01 to ``destination``."""
    balances = pd.DataFrame(
        {
            "import_pedimento": ["25 47 3420 5000001"],
            "import_line": [1],
            "import_date": pd.to_datetime(["2025-02-10"]),
            "part_number": ["P-1"],
            "material_type": [material_type],
            "quantity": [10.0],
            "open": [5.0],
            "value_mxn": [100_000.0],
            "value_usd": [5_000.0],
            "origin": [origin],
            "igi_rate": [0.10],
            "prosec_rate": [prosec_rate],
            "usmca_originating": pd.array([usmca_originating], dtype="boolean"),
        }
    )
    allocations = pd.DataFrame(
        {
            "export_pedimento": ["25 47 3420 5000101"],
            "export_line": [1],
            "export_date": pd.to_datetime(["2025-06-01"]),
            "export_part": ["P-1"],
            "part_number": ["P-1"],
            "import_pedimento": ["25 47 3420 5000001"],
            "import_line": [1],
            "quantity": [5.0],
            "value_mxn": [50_000.0],
            "value_usd": [2_500.0],
            "origin": [origin],
            "destination": [destination],
        }
    )
    return {"balances": balances, "allocations": allocations}


def test_four_regimes_on_one_line():
    """IGI deferred 100,000 × 10 % = 10,000; exported half to Germany: IGI
    saved 5,000, T-MEC 2.5 payable 0.  DTA 8 ‰ = 800; VAT = 0.16 × (100,000 +
    10,000 + 800) = 17,728.
    Certified: fixed DTA 425 (2025, carried from 2024) → 425.
    Cash: 425 + 17,728 × 12 % × 2/12 = 425 + 354.56 = 779.56.
    Guarantee (1 %): 425 + 177.28 = 602.28.
    No IMMEX: 10,000 + 800 + 354.56 = 11,154.56.
    Certification worth 354.56 a year; IMMEX (certified) 10,729.56."""
    res = savings(ledger(), Scenario(), **PERIOD)
    assert res.years == 1.0
    assert res.metric("igi_deferred") == pytest.approx(10_000)
    assert res.metric("igi_on_exported") == pytest.approx(5_000)
    assert res.metric("tmec_payable") == 0
    assert res.metric("igi_saved") == pytest.approx(5_000)
    assert res.metric("vat_on_imports") == pytest.approx(17_728)
    assert res.total(CERTIFIED) == pytest.approx(425)
    assert res.total(CASH) == pytest.approx(779.56)
    assert res.total(GUARANTEE) == pytest.approx(602.28)
    assert res.total(NO_IMMEX) == pytest.approx(11_154.56)
    assert res.certification_value == pytest.approx(354.56)
    assert res.immex_value == pytest.approx(10_729.56)
    # tidy, plot-ready
    assert list(res.regimes.columns) == ["regime", "component", "amount_mxn"]
    assert list(res.totals["regime"]) == list(REGIMES)
    text = conclusion(res, "Acme")
    assert "worth MXN 355 a year for Acme" in text and "MXN 10,730 a year" in text


def test_per_year_figures_and_the_conclusion_in_both_languages():
    """Half-year 2025-01-01..06-30 (import and export inside), certification
    costing 1,000 a year → 500 in the period.  Certification value in the
    period = VAT cash cost 354.56 − 500 = −145.44 → −290.88 a year
    ("MXN -291").  IMMEX (certified) = 11,154.56 − (425 + 500) = 10,229.56
    → 20,459.12 a year."""
    res = savings(
        ledger(),
        Scenario(certification_cost_per_year=1_000),
        start="2025-01-01",
        end="2025-06-30",
    )
    assert res.years == 0.5
    assert res.certification_value_per_year == pytest.approx(-290.88)
    assert res.immex_value_per_year == pytest.approx(20_459.12)
    assert res.per_year(100.0) == pytest.approx(200.0)
    assert res.totals["per_year_mxn"].tolist() == pytest.approx(
        res.per_year(res.totals["total_mxn"]).tolist()
    )
    en = conclusion(res, "Acme")
    assert "worth MXN -291 a year for Acme" in en and "MXN 20,459 a year" in en
    assert "12% cost of capital and a 2-month lag" in en
    es = conclusion(res, "Acme", lang="es")
    assert es.startswith("Del 2025-01-01 al 2025-06-30: la certificación de IVA/IEPS vale MXN -291")
    assert "IMMEX (con certificación) vale MXN 20,459 al año" in es
    assert "IGI diferido en el periodo: MXN 10,000" in es
    assert "para este cliente" in conclusion(res, lang="es")
    with pytest.raises(ImmexError, match="lang 'fr'"):
        conclusion(res, lang="fr")


def test_export_to_usa_pays_tmec_25():
    """The same half exported to the USA: non-originating Chinese input, no
    duty abroad recorded → T-MEC 2.5 payable = 50,000 × 10 % = 5,000, IGI
    saved 0; certified total 425 + 5,000 = 5,425."""
    res = savings(ledger(destination="USA"), Scenario(), **PERIOD)
    assert res.metric("tmec_payable") == pytest.approx(5_000)
    assert res.metric("igi_saved") == 0
    assert res.total(CERTIFIED) == pytest.approx(5_425)
    # export share re-weights the destinations: 40 % USA → payable 2,000
    res2 = savings(ledger(), Scenario(export_share={"USA": 0.4, "DEU": 0.6}), **PERIOD)
    assert res2.metric("tmec_payable") == pytest.approx(2_000)


def test_originating_input_and_prosec_rates():
    """T-MEC-originating US input: definitive rate 0 → IGI deferred 0, no
    T-MEC payable.  A PROSEC rate of 2 % lowers the IGI deferred to 2,000."""
    res = savings(
        ledger(destination="USA", origin="USA", usmca_originating=True), Scenario(), **PERIOD
    )
    assert res.metric("igi_deferred") == 0 and res.metric("tmec_payable") == 0
    res = savings(ledger(prosec_rate=0.02), Scenario(), **PERIOD)
    assert res.metric("igi_deferred") == pytest.approx(2_000)
    assert savings(ledger(prosec_rate=0.02), Scenario(prosec=False), **PERIOD).metric(
        "igi_deferred"
    ) == pytest.approx(10_000)


def test_tariff_shock():
    """2026 LIGIE what-if on China: rate set to 35 % → IGI deferred 35,000 and
    VAT 0.16 × (100,000 + 35,000 + 800) = 21,728; '+15%' → 25 % → 25,000."""
    res = savings(ledger(), Scenario(tariff_shock={"CHN": 0.35}), **PERIOD)
    assert res.metric("igi_deferred") == pytest.approx(35_000)
    assert res.metric("vat_on_imports") == pytest.approx(21_728)
    res = savings(ledger(), Scenario(tariff_shock=ligie_2026_shock("+15%")), **PERIOD)
    assert res.metric("igi_deferred") == pytest.approx(25_000)
    assert res.metric("tmec_payable") == 0
    with pytest.raises(ImmexError, match="tariff shock"):
        apply_tariff_shock(ledger()["balances"], {"CHN": "a lot"})


def test_compliance_cost_is_prorated_and_af_pays_176_per_thousand():
    """Half-year period: compliance 120,000/yr → 60,000 on every IMMEX regime.
    An AF import pays 1.76 ‰ = 176 instead of the fixed fee."""
    res = savings(
        ledger(), Scenario(compliance_cost_per_year=120_000), start="2025-01-01", end="2025-06-30"
    )
    assert res.years == 0.5
    comp = res.regimes[res.regimes["component"] == "Compliance"].set_index("regime")["amount_mxn"]
    assert comp[CASH] == pytest.approx(60_000) and comp[NO_IMMEX] == 0
    res = savings(ledger(material_type="AF"), Scenario(), **PERIOD)
    dta = res.regimes[res.regimes["component"] == "DTA"].set_index("regime")["amount_mxn"]
    assert dta[CERTIFIED] == pytest.approx(176)
    # imports outside the period count for nothing
    assert savings(ledger(), Scenario(), start="2024-01-01", end="2024-12-31").total(NO_IMMEX) == 0


def test_sensitivity_one_and_two_parameters():
    """Certification value = VAT × cost of capital × lag / 12 = 17,728 × c × 2/12:
    c = 0 → 0; 12 % → 354.56; 24 % → 709.12."""
    s = sensitivity(ledger(), Scenario(), "cost_of_capital", [0.0, 0.12, 0.24], **PERIOD)
    assert s["certification_value_mxn"].tolist() == pytest.approx([0, 354.56, 709.12])
    s2 = sensitivity(
        ledger(), Scenario(), "cost_of_capital", [0.12, 0.24], "refund_lag_months", [1, 2], **PERIOD
    )
    assert len(s2) == 4
    assert s2.loc[(s2["cost_of_capital"] == 0.24) & (s2["refund_lag_months"] == 1), CASH].iloc[
        0
    ] == pytest.approx(425 + 354.56)
    with pytest.raises(ImmexError, match="unknown scenario parameter"):
        sensitivity(ledger(), Scenario(), "colour", [1], **PERIOD)


def test_period_years():
    assert period_years(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-31")) == 0.25
    assert period_years(pd.Timestamp("2025-01-15"), pd.Timestamp("2025-01-15")) == pytest.approx(
        1 / 365.25
    )
    with pytest.raises(ImmexError, match="before its start"):
        savings(ledger(), Scenario(), start="2025-02-01", end="2025-01-01")
