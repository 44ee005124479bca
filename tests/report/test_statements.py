"""What the report says must be true of *this* client (issue 11): the return
ratio sentence, the compulsa of the report's period only, the T-MEC 2.5
table from :mod:`immex_nb.tmec` (no window of its own)."""

from __future__ import annotations

import pytest
from report_helpers import PERIOD, write_clients

from immex_nb.report.data import build_report_data
from immex_nb.report.sections import ReportView


def _html(data) -> str:
    view = ReportView(data)
    out: list[str] = []
    view._display = lambda *objs: out.extend(o for o in objs if isinstance(o, str))
    view.summary()
    view.tmec()
    view.datastage()
    return "\n".join(out)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_return_ratio_sentence_says_what_applies_to_this_client(tmp_path, lang):
    data_root = write_clients(tmp_path / "data")
    acme = data_root / "acme"
    certified = _html(build_report_data(acme, PERIOD, language=lang))
    with (acme / "client.toml").open("a", encoding="utf-8") as fh:
        fh.write("vat_certified = false\n")
    not_certified = _html(build_report_data(acme, PERIOD, language=lang))
    must = {"es": "debe mantener por su certificación", "en": "must keep for its VAT/IEPS"}
    no = {"es": "no cuenta con la certificación", "en": "does not hold the VAT/IEPS certification"}
    assert must[lang] in certified and no[lang] not in certified
    assert no[lang] in not_certified and must[lang] not in not_certified


def test_tmec_table_lists_every_payable_export_with_its_state(tmp_path):
    """The table is :func:`immex_nb.tmec.tmec_summary` of every export up to the
    as-of date: an export older than 60 days with IGI payable shows as overdue."""
    from immex_nb.load import load
    from immex_nb.tmec import tmec_25, tmec_summary

    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "imports.csv").write_text(
        "pedimento,line,clave,date,part_number,quantity,value_usd,value_mxn,origin,material_type,igi_rate\n"
        "25 47 3420 7000001,1,IN,2024-10-01,WIRE,1000,1000,20000,CHN,MP,0.10\n",
        encoding="utf-8",
    )
    (folder / "exports.csv").write_text(
        "pedimento,line,clave,date,part_number,quantity,value_usd,destination\n"
        "25 47 3420 7100001,1,RT,2024-11-05,WIRE,100,150,USA\n"
        "25 47 3420 7100002,1,RT,2025-03-20,WIRE,100,150,USA\n",
        encoding="utf-8",
    )
    data = build_report_data(folder, PERIOD, language="en")
    ledger = load(folder)
    r = data.current.result
    expected = tmec_summary(tmec_25(r.allocations, r.balances, ledger.exports), "2025-03-31")
    table = data.tables["T-MEC 2.5"]
    assert list(table["export_pedimento"]) == list(expected["export_pedimento"])
    assert table["overdue"].tolist() == [True, False]
    assert data.kpis["tmec_overdue_mxn"] == pytest.approx(200.0)  # 100 × 20 MXN × 10 %
    page = _html(data)
    assert "25 47 3420 7100001" in page and "Overdue" in page and "Not yet due" in page
