"""Rate tables: INPC factor, surcharge rates by year, VAT, DTA, user overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immex_nb.errors import ImmexError
from immex_nb.rates import Rates, default_rates, truncate4


@pytest.fixture(scope="module")
def rates() -> Rates:
    return default_rates()


def test_inpc_check_from_domain(rates):
    """Goods entered 2022-05-16, updated to 2023-05-10: INPC Apr-2023 128.363
    ÷ INPC Apr-2022 120.809 = 1.062528… → truncated to 4 decimals 1.0625."""
    f = rates.inpc_factor_table(pd.Series(pd.to_datetime(["2022-05-16"])), "2023-05-10")
    assert f["inpc_month_from"].iloc[0] == "2022-04"
    assert f["inpc_month_to"].iloc[0] == "2023-04"
    assert f["inpc_from"].iloc[0] == 120.809 and f["inpc_to"].iloc[0] == 128.363
    assert f["inpc_factor"].iloc[0] == 1.0625
    assert not f["inpc_estimated"].iloc[0]


def test_factor_is_truncated_not_rounded_and_never_below_one(rates):
    """Jan-2026 143.588 ÷ Oct-2022 125.276 = 1.146173… → 1.1461 (rounding
    would give 1.1462).  Entry 2020-04 (month before: Mar-2020 106.838),
    as of 2020-05 (Apr-2020 105.755): ratio 0.9899 → factor 1."""
    f = rates.inpc_factor(pd.Series(pd.to_datetime(["2022-11-20", "2020-04-02"])), "2026-02-01")
    assert f.iloc[0] == 1.1461
    assert rates.inpc_factor(pd.Series(pd.to_datetime(["2020-04-02"])), "2020-05-20").iloc[0] == 1.0
    # binary noise does not cost a ten-thousandth
    assert truncate4(1.0624999999999998) == 1.0625
    assert truncate4(1.06259) == 1.0625


def test_month_beyond_table_uses_last_published_and_says_so(rates):
    """As of 2026-06-15 the month before is May-2026, not in the table: the
    last published INPC (Jan-2026, 143.588) is used and the row is flagged."""
    assert rates.last_inpc_month == "2026-01"
    assert rates.inpc("2026-05") == 143.588
    f = rates.inpc_factor_table(
        pd.Series(pd.to_datetime(["2025-06-10", "2025-07-01"])), "2026-06-15"
    )
    assert list(f["inpc_month_to"]) == ["2026-01", "2026-01"]
    assert f["inpc_estimated"].all()
    # 143.588 / May-2025 140.012 = 1.02554… → 1.0255
    assert f["inpc_factor"].iloc[0] == 1.0255


def test_missing_import_date_gives_no_factor(rates):
    f = rates.inpc_factor_table(pd.Series(pd.to_datetime(["2024-01-10", None])), "2024-06-01")
    assert np.isnan(f["inpc_factor"].iloc[1])
    assert not f["inpc_estimated"].iloc[1]


def test_surcharge_rates_by_year(rates):
    """1.47 %/month for 2020–2025 (0.98 % × 1.5), 2.07 % in 2026 (1.38 % × 1.5);
    a later year repeats the last rate, flagged as estimated."""
    assert rates.surcharge_rate(2020) == 0.0147
    assert rates.surcharge_rate(2025) == 0.0147
    assert rates.surcharge_rate(2026) == 0.0207
    r, est = rates.surcharge_rates([2025, 2026, 2027])
    assert list(r) == [0.0147, 0.0207, 0.0207]
    assert list(est) == [False, False, True]


def test_vat_and_dta(rates):
    assert rates.vat_rate("2025-06-30") == 0.16
    assert rates.dta_rate() == 0.008
    assert rates.dta_rate("af_temporary") == 0.00176
    assert rates.dta_fixed_fee(2023) == (408.0, True)
    assert rates.dta_fixed_fee(2024) == (425.0, True)
    amount, confirmed = rates.dta_fixed_fee(2026)
    assert amount == 425.0 and not confirmed  # 2025-2026 UNCONFIRMED in dta.csv
    with pytest.raises(ImmexError, match="accepted"):
        rates.dta_rate("storage")


def test_every_rate_row_has_a_source(rates):
    s = rates.sources()
    assert set(s["table"]) == {"inpc", "surcharge_rates", "vat", "dta"}
    assert (s["source"].str.len() > 5).all()
    assert len(s[s["table"] == "inpc"]) == 85  # 2019-01 … 2026-01


def test_override_folder_extends_and_replaces(tmp_path):
    """A user folder adds Feb-2026 INPC and a 2027 surcharge rate, and
    replaces Dec-2025; built-in rows not named stay."""
    (tmp_path / "inpc.csv").write_text(
        "month,inpc,source\n2026-02,144.000,INEGI (user)\n2025-12,143.100,INEGI revised\n",
        encoding="utf-8",
    )
    (tmp_path / "surcharge_rates.csv").write_text(
        "valid_from,valid_to,monthly_rate,source\n2027-01-01,2027-12-31,0.0190,LIF 2027 (user)\n",
        encoding="utf-8",
    )
    r = Rates.load(tmp_path)
    assert r.inpc("2026-02") == 144.0
    assert r.inpc("2025-12") == 143.1
    assert r.inpc("2025-11") == 142.645
    assert r.last_inpc_month == "2026-02"
    f = r.inpc_factor_table(pd.Series(pd.to_datetime(["2022-11-20"])), "2026-03-10")
    assert not f["inpc_estimated"].iloc[0]
    assert f["inpc_factor"].iloc[0] == 1.1494  # 144 / 125.276 = 1.14946…
    assert r.surcharge_rate(2027) == 0.019
    assert r.surcharge_rate(2026) == 0.0207
    assert len(r.files) == 2
    # the built-in set is not touched
    assert default_rates().last_inpc_month == "2026-01"


def test_override_with_bad_table_names_file_and_columns(tmp_path):
    (tmp_path / "inpc.csv").write_text("mes,valor\n2026-02,144\n", encoding="utf-8")
    with pytest.raises(ImmexError, match=r"inpc\.csv.*missing.*columns found: \['mes', 'valor'\]"):
        Rates.load(tmp_path)
    (tmp_path / "inpc.csv").write_text("month,inpc\n2026-13,144\n", encoding="utf-8")
    with pytest.raises(ImmexError, match="row 2, column month"):
        Rates.load(tmp_path)
    (tmp_path / "inpc.csv").unlink()
    with pytest.raises(ImmexError, match="holds none of"):
        Rates.load(tmp_path)


def test_month_index_and_labels_agree_for_every_input_kind(rates):
    """Month indices are the same from numpy dates, pandas dates and text; a
    label is formatted once per month and a missing month stays missing."""
    from immex_nb.rates import month_index, month_label_array

    text = ["2024-02-29", None, "1999-12-31", "2026-01-01"]
    want = [2024 * 12 + 1, -1, 1999 * 12 + 11, 2026 * 12]
    dates = pd.to_datetime(pd.Series(text))
    assert month_index(text).tolist() == want
    assert month_index(dates).tolist() == want
    assert month_index(dates.to_numpy()).tolist() == want
    assert month_index(dates.to_numpy().astype("datetime64[D]")).tolist() == want
    labels = month_label_array(np.array(want), missing=np.array(want) < 0)
    assert labels.tolist()[0] == "2024-02" and pd.isna(labels[1])
    assert labels.tolist()[2:] == ["1999-12", "2026-01"]


def test_inpc_factors_match_the_table(rates):
    """``inpc_factors`` (arrays) and ``inpc_factor_table`` (a frame) say the same."""
    from immex_nb.rates import month_index

    dates = pd.Series(pd.to_datetime(["2022-05-16", None, "2016-01-01", "2026-06-30"]))
    table = rates.inpc_factor_table(dates, "2026-11-30")
    arrays = rates.inpc_factors(month_index(dates), "2026-11-30")
    pd.testing.assert_frame_equal(pd.DataFrame(arrays), table, check_exact=True)
    assert table["inpc_month_from"].tolist()[0] == "2022-04"
    assert pd.isna(table["inpc_month_from"].iloc[1]) and np.isnan(table["inpc_factor"].iloc[1])
