"""Anexo 30 (SCCCyG) worksheet — docs/rules/anexo30.md.

A month worked by hand, the identity ``opening + credits − descargos =
closing`` (on the hand month, the demo clients and random ledgers), the
prefix-stability of FIFO over a cut-off ledger it rests on, a blank fracción,
the activo-fijo split, and the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from immex_nb import ImmexError
from immex_nb.anexo30 import (
    DESCARGOS_COLUMNS,
    SALDOS_COLUMNS,
    IdentityError,
    anexo30,
    anexo30_tables,
    check_identity,
    identity_residual,
)
from immex_nb.cli import main
from immex_nb.discharge import MICRO, discharge
from immex_nb.load import load
from immex_nb.run import ClientRun

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_CLIENTS = sorted(p.name for p in DEMO.iterdir() if (p / "imports.csv").exists())


def ped(n: int, year: int = 25) -> str:
    return f"{year:02d} 47 3420 {5_000_000 + n:07d}"


def imp_row(n, line, date, part, q, value, fraccion, mt="MP"):
    return {
        "pedimento": ped(n, int(date[2:4])),
        "line": line,
        "clave": "AF" if mt == "AF" else "IN",
        "date": date,
        "part_number": part,
        "fraccion": fraccion,
        "quantity": q,
        "value_usd": value / 20,
        "value_mxn": value,
        "material_type": mt,
    }


def exp_row(n, line, date, part, q, clave="RT"):
    return {
        "pedimento": ped(n),
        "line": line,
        "clave": clave,
        "date": date,
        "part_number": part,
        "quantity": q,
    }


#: The hand-worked month (see test_hand_worked_month).
HAND_IMPORTS = [
    imp_row(1, 1, "2023-06-10", "P1", 100, 10_000, "11111111"),  # A: 18 months → 2024-12-10
    imp_row(1, 2, "2023-06-10", "M0", 1, 50_000, "84798999", "AF"),  # F: fixed asset
    imp_row(2, 1, "2025-01-15", "P3", 50, 7_500, "11111111"),  # B
    imp_row(2, 2, "2025-01-15", "P2", 10, 1_000, ""),  # E: blank fracción
    imp_row(3, 1, "2025-03-05", "P3", 40, 4_000, "11111111"),  # C: credit of the month
    imp_row(3, 2, "2025-03-05", "M1", 2, 200_000, "84798999", "AF"),  # D: credit, AF
    imp_row(3, 3, "2025-03-05", "P4", 10, 3_000, "84798999"),  # H: same fracción, not AF
    imp_row(4, 1, "2025-04-01", "P3", 10, 1_000, "11111111"),  # G: after the month
]
HAND_EXPORTS = [
    exp_row(901, 1, "2025-02-10", "P1", 30),  # X1: before the month
    exp_row(902, 1, "2025-03-10", "P1", 50),  # X2
    exp_row(902, 2, "2025-03-10", "P3", 60),
    exp_row(902, 3, "2025-03-10", "P2", 4),
    exp_row(903, 1, "2025-03-20", "P3", 20, "F4"),  # X3: change of regime
    exp_row(905, 1, "2025-03-25", "M1", 1, "F5"),  # X5: fixed asset made definitive
    exp_row(906, 1, "2025-03-28", "P9", 3),  # X6: never imported → shortfall, no descargo
    exp_row(904, 1, "2025-04-02", "P3", 5),  # X4: after the month
]


@pytest.fixture
def hand_client(write_client, tmp_path):
    return write_client(tmp_path / "hand", imports=HAND_IMPORTS, exports=HAND_EXPORTS)


def as_records(df: pd.DataFrame) -> list[tuple]:
    out = []
    for r in df.itertuples(index=False):
        out.append(
            tuple(
                round(v, 6)
                if isinstance(v, float)
                else (f"{v:%Y-%m-%d}" if hasattr(v, "day") else v)
                for v in r
            )
        )
    return out


def test_hand_worked_month(hand_client):
    """Period 2025-03: opening as of 2025-02-28, closing as of 2025-03-31.

    Lots (value per unit): A P1 100 u 2023-06-10 10,000 (100) MP, deadline
    2024-12-10 · F M0 1 u AF 50,000 · B P3 50 u 2025-01-15 7,500 (150) · E P2
    10 u blank fracción 1,000 (100) · C P3 40 u 2025-03-05 4,000 (100) · D M1
    2 u AF 2025-03-05 200,000 (100,000) · H P4 10 u 2025-03-05 3,000, fracción
    84798999 but MP · G P3 2025-04-01 (after the month: ignored).

    Opening (2025-02-28; X1 took 30 of A): A 70 × 100 = 7,000 + B 7,500 →
    11111111/N 14,500; E 1,000 → blank/N; F 50,000 → 84798999/S.

    Credits (imports dated in March): C 4,000 → 11111111/N; D 200,000 →
    84798999/S; H 3,000 → 84798999/N.

    Descargos: X2 (902 RT 2025-03-10): P1 50 from A = 5,000; P3 60 = B 50 ×
    150 = 7,500 + C 10 × 100 = 1,000; → 11111111/N 13,500; P2 4 from E = 400
    → blank/N.  X3 (903 F4 2025-03-20): P3 20 from C = 2,000.  X5 (905 F5
    2025-03-25): M1 1 from D = 100,000 → 84798999/S.  X6: shortfall, no row.
    X4 (April) ignored.

    Closing (2025-03-31): blank/N E 6 × 100 = 600 = 1,000 − 400.
    11111111/N A 20 × 100 = 2,000 (expired: 2024-12-10 < 2025-03-31) + C 10 ×
    100 = 1,000 → 3,000 = 14,500 + 4,000 − 15,500; expired 2,000.
    84798999/N H 3,000 = 0 + 3,000 − 0.  84798999/S F 50,000 + D 100,000 =
    150,000 = 50,000 + 200,000 − 100,000; expired 0 (AF never expires).
    """
    descargos, saldos = anexo30_tables(load(hand_client), "2025-03")
    assert list(descargos.columns) == DESCARGOS_COLUMNS
    assert as_records(descargos) == [
        (ped(902), "RT", "2025-03-10", "", "N", 400.0),
        (ped(902), "RT", "2025-03-10", "11111111", "N", 13_500.0),
        (ped(903), "F4", "2025-03-20", "11111111", "N", 2_000.0),
        (ped(905), "F5", "2025-03-25", "84798999", "S", 100_000.0),
    ]
    assert list(saldos.columns) == SALDOS_COLUMNS
    assert as_records(saldos) == [
        ("", "N", 1_000.0, 0.0, 400.0, 600.0, 0.0),
        ("11111111", "N", 14_500.0, 4_000.0, 15_500.0, 3_000.0, 2_000.0),
        ("84798999", "N", 0.0, 3_000.0, 0.0, 3_000.0, 0.0),
        ("84798999", "S", 50_000.0, 200_000.0, 100_000.0, 150_000.0, 0.0),
    ]
    assert identity_residual(saldos).abs().max() < 1e-9


def test_previous_month_closing_is_this_month_opening(hand_client):
    ledger = load(hand_client)
    _, feb = anexo30_tables(ledger, "2025-02")
    _, mar = anexo30_tables(ledger, "2025-03")
    feb = feb.set_index(["fraccion", "activo_fijo"])["closing_value_mxn"]
    mar = mar.set_index(["fraccion", "activo_fijo"])["opening_value_mxn"]
    assert mar.reindex(feb.index).to_dict() == feb.to_dict()
    assert mar.drop(feb.index).eq(0).all()  # fracciones first imported in March open at 0


def test_blank_fraccion_from_a_dataframe_is_one_blank_group():
    """NaN, None and "" fracción are one blank group, kept (never dropped by a groupby)."""
    imports = pd.DataFrame(
        [imp_row(1, i + 1, "2025-01-10", f"P{i}", 10, 100.0, f) for i, f in enumerate(["", None])]
        + [imp_row(1, 3, "2025-01-10", "P2", 10, 100.0, np.nan)]
    )
    imports["date"] = pd.to_datetime(imports["date"])
    exports = pd.DataFrame([exp_row(900, i + 1, "2025-02-03", f"P{i}", 5) for i in range(3)])
    exports["date"] = pd.to_datetime(exports["date"])
    prev = discharge(imports, exports, as_of="2025-01-31")
    end = discharge(imports, exports, as_of="2025-02-28")
    descargos, saldos = anexo30(prev, end, "2025-02")
    assert as_records(descargos) == [(ped(900), "RT", "2025-02-03", "", "N", 150.0)]
    assert as_records(saldos) == [("", "N", 300.0, 0.0, 150.0, 150.0, 0.0)]


def test_blank_export_clave_is_rt_and_directed_column_not_needed():
    imports = pd.DataFrame([imp_row(1, 1, "2025-01-10", "P", 10, 100.0, "39269099")])
    imports["date"] = pd.to_datetime(imports["date"])
    exports = pd.DataFrame([exp_row(900, 1, "2025-01-20", "P", 4, clave="")])
    exports["date"] = pd.to_datetime(exports["date"])
    descargos, _ = anexo30(
        discharge(imports, exports, as_of="2024-12-31"),
        discharge(imports, exports, as_of="2025-01-31"),
        "2025-01",
    )
    assert descargos["export_clave"].tolist() == ["RT"]


def test_fixed_assets_apart_from_other_lines_of_the_same_fraccion(hand_client):
    _, saldos = anexo30_tables(load(hand_client), "2025-03")
    same = saldos[saldos["fraccion"] == "84798999"].set_index("activo_fijo")
    assert same.loc["S", "credits_value_mxn"] == 200_000.0
    assert same.loc["N", "credits_value_mxn"] == 3_000.0
    assert same.loc["S", "expired_value_mxn"] == 0.0  # AF never expires


def test_identity_violation_names_the_fraccion():
    saldos = pd.DataFrame(
        [["84798999", "S", 100.0, 50.0, 20.0, 130.0, 0.0], ["39269099", "N", 10.0, 0, 0, 9.99, 0]],
        columns=SALDOS_COLUMNS,
    )
    with pytest.raises(IdentityError, match="fracción 39269099 activo_fijo N"):
        check_identity(saldos)
    saldos.loc[1, "closing_value_mxn"] = 10.004  # within half a cent
    check_identity(saldos)


def test_mismatched_runs_are_caught(hand_client):
    """Opening taken from a ledger that differs → the identity check fires."""
    ledger = load(hand_client)
    end = discharge(ledger.imports, ledger.exports, ledger.bom, as_of="2025-03-31")
    fewer_exits = ledger.exports[ledger.exports["pedimento"] != ped(901)]
    prev = discharge(ledger.imports, fewer_exits, ledger.bom, as_of="2025-02-28")
    with pytest.raises(IdentityError, match="11111111"):
        anexo30(prev, end, "2025-03")
    with pytest.raises(ImmexError, match="as of 2025-02-28"):
        anexo30(end, end, "2025-03")


def test_client_run_is_accepted_and_its_discharge_reused(hand_client):
    ledger = load(hand_client)
    run = ClientRun(ledger, "2025-03-31")
    d1, s1 = anexo30_tables(run, "2025-03")
    assert "discharge" in run.__dict__  # the cached discharge was used
    d2, s2 = anexo30_tables(ClientRun(ledger, "2025-06-30"), "2025-03")
    pd.testing.assert_frame_equal(d1, d2)
    pd.testing.assert_frame_equal(s1, s2)


# --------------------------------------------------------------------------- prefix stability


def _prefix_stable(imports, exports, bom, period: str):
    """The claim the identity rests on: allocations of exits dated up to the
    previous month's end are the same in both runs, and each lot's discharged
    quantity grows by exactly what the period's exits took from it (micro-units)."""
    from immex_nb.dates import Period

    p = Period.parse(period)
    prev = discharge(imports, exports, bom, as_of=p.previous.end)
    end = discharge(imports, exports, bom, as_of=p.end)
    key = ["export_pedimento", "export_line", "part_number", "import_pedimento", "import_line"]

    def micro(df):
        g = df.assign(q=np.rint(df["quantity"] * MICRO).astype(np.int64))
        return g.groupby([g[k].astype(str) for k in key])["q"].sum()

    early = end.allocations[end.allocations["export_date"] <= pd.Timestamp(p.previous.end)]
    pd.testing.assert_series_equal(micro(prev.allocations), micro(early), check_names=False)
    lot = ["import_pedimento", "import_line"]
    d_prev = prev.balances.set_index(lot)["discharged"].mul(MICRO).round().astype(np.int64)
    d_end = end.balances.set_index(lot)["discharged"].mul(MICRO).round().astype(np.int64)
    late = end.allocations[end.allocations["export_date"] > pd.Timestamp(p.previous.end)]
    taken = (
        late.assign(q=np.rint(late["quantity"] * MICRO).astype(np.int64))
        .groupby([late["import_pedimento"].astype(str), late["import_line"]])["q"]
        .sum()
    )
    growth = d_end.sub(d_prev.reindex(d_end.index, fill_value=0))
    assert growth.to_dict() == taken.reindex(d_end.index, fill_value=0).to_dict()
    return prev, end


@pytest.mark.parametrize("client", DEMO_CLIENTS)
def test_identity_and_prefix_stability_on_demo_clients(client):
    ledger = load(DEMO / client)
    for period in ("2024-06", "2025-01", "2025-12", "2026-10"):
        prev, end = _prefix_stable(ledger.imports, ledger.exports, ledger.bom, period)
        descargos, saldos = anexo30(prev, end, period)
        assert identity_residual(saldos).abs().max() < 1e-6
        by_key = descargos.groupby(["fraccion", "activo_fijo"])["value_mxn"].sum()
        desc = saldos.set_index(["fraccion", "activo_fijo"])["descargos_value_mxn"]
        assert np.allclose(by_key, desc.reindex(by_key.index), rtol=0, atol=1e-6)
        assert (saldos["expired_value_mxn"] <= saldos["closing_value_mxn"] + 1e-9).all()
        assert (saldos.loc[saldos["activo_fijo"] == "S", "expired_value_mxn"] == 0).all()
        assert not saldos.duplicated(["fraccion", "activo_fijo"]).any()
        assert not descargos.duplicated(
            ["export_pedimento", "export_clave", "fraccion", "activo_fijo"]
        ).any()


def reference_anexo30(imports, exports, bom, period: str) -> tuple[dict, dict]:
    """The worksheet the slow way: the loop engine of tests/reference_engine.py,
    exact fractions, one lot at a time.  Returns ``({descargo key: value},
    {saldo key: (opening, credits, descargos, closing, expired)})``."""
    from fractions import Fraction

    from reference_engine import reference_discharge

    from immex_nb.dates import Period, add_months

    p = Period.parse(period)
    lo, hi = p.bounds
    lots = {(r.pedimento, int(r.line)): r for r in imports.itertuples()}
    exits = {(r.pedimento, int(r.line)): r for r in exports.itertuples()}

    def key(lot):
        return (
            "" if pd.isna(lot.fraccion) else str(lot.fraccion),
            "S" if lot.material_type == "AF" else "N",
        )

    def open_values(as_of):
        _, balances, _ = reference_discharge(imports, exports, bom, as_of=as_of)
        out = {}
        for b in balances:
            lot = lots[(b["import_pedimento"], b["import_line"])]
            v = (
                Fraction(str(lot.value_mxn))
                * Fraction(str(b["open"]))
                / Fraction(str(lot.quantity))
            )
            months = {"MP": 18, "EE": 18, "CT": 24}.get(lot.material_type)
            deadline = add_months([lot.date], months)[0] if months else None
            expired = deadline is not None and b["open"] > 0 and deadline < np.datetime64(as_of)
            out[(b["import_pedimento"], b["import_line"])] = (v, expired)
        return out

    opening, closing = open_values(p.previous.end), open_values(p.end)
    saldos: dict = {}

    def add(k, i, v):
        saldos.setdefault(k, [Fraction(0)] * 5)[i] += v

    for lk, (v, _) in opening.items():
        add(key(lots[lk]), 0, v)
    for lk, (v, expired) in closing.items():
        lot = lots[lk]
        add(key(lot), 1, Fraction(str(lot.value_mxn)) if lo <= lot.date <= hi else 0)
        add(key(lot), 3, v)
        add(key(lot), 4, v if expired else 0)
    descargos: dict = {}
    allocations, _, _ = reference_discharge(imports, exports, bom, as_of=p.end)
    for a in allocations:
        e = exits[(a["export_pedimento"], a["export_line"])]
        if not lo <= e.date <= hi:
            continue
        lot = lots[(a["import_pedimento"], a["import_line"])]
        v = (
            Fraction(str(lot.value_mxn))
            * Fraction(str(a["quantity"]))
            / Fraction(str(lot.quantity))
        )
        clave = e.clave or "RT"
        dk = (e.pedimento, clave, *key(lot))
        descargos[dk] = descargos.get(dk, Fraction(0)) + v
        add(key(lot), 2, v)
    return (
        {k: float(v) for k, v in descargos.items()},
        {k: tuple(float(x) for x in v) for k, v in saldos.items()},
    )


def random_ledger(rng):
    days = pd.date_range("2023-06-01", "2025-04-30")
    recent = pd.date_range("2025-01-01", "2025-04-30")
    n_imp, n_exp = rng.integers(3, 15), rng.integers(2, 15)
    imports = pd.DataFrame(
        {
            "pedimento": [ped(int(i)) for i in rng.integers(1, 6, n_imp)],
            "line": np.arange(1, n_imp + 1),
            "clave": "IN",
            "date": np.r_[rng.choice(days, 2), rng.choice(recent, n_imp - 2)],
            "part_number": rng.choice(["A", "B", "C"], n_imp),
            "fraccion": rng.choice(["", "11111111", "22222222"], n_imp),
            "quantity": np.round(rng.uniform(0.1, 50, n_imp), 3),
            "value_usd": 0.0,
            "value_mxn": np.round(rng.uniform(0, 10_000, n_imp), 2),
            "material_type": rng.choice(["MP", "AF", "EE", "CT"], n_imp),
        }
    )
    exports = pd.DataFrame(
        {
            "pedimento": [ped(900 + int(i)) for i in rng.integers(0, 4, n_exp)],
            "line": np.arange(1, n_exp + 1),
            "clave": rng.choice(["RT", "F4", "", "V1"], n_exp),
            "date": rng.choice(recent, n_exp),
            "part_number": rng.choice(["A", "B", "C", "K"], n_exp),
            "quantity": np.round(rng.uniform(0.1, 30, n_exp), 4),
        }
    )
    bom = pd.DataFrame(
        {
            "parent": ["K", "K"],
            "component": ["A", "B"],
            "qty_per": [1.25, 0.7],  # × (1 + scrap): 1.3, quantities stay in micro-units
            "scrap_rate": [0.04, 0.0],
            "valid_from": pd.NaT,
            "valid_to": pd.NaT,
        }
    )
    return imports, exports, bom


def test_random_ledgers_match_the_slow_reference_and_keep_the_identity():
    """Small random ledgers: odd quantities and values, old lots that expire,
    imports dated in the month, exits that run short, a part exploded through
    a BOM, blank claves and fracciones, fixed assets."""
    rng = np.random.default_rng(30)
    seen = {"expired": 0, "shortfall": 0, "blank fraccion": 0, "credit": 0}
    for _ in range(8):
        imports, exports, bom = random_ledger(rng)
        for period in ("2025-02", "2025-03"):
            prev, end = _prefix_stable(imports, exports, bom, period)
            d, s = anexo30(prev, end, period)
            seen["expired"] += s["expired_value_mxn"].sum() > 0
            seen["shortfall"] += len(end.shortfalls) > 0
            seen["blank fraccion"] += (d["fraccion"] == "").any()
            seen["credit"] += s["credits_value_mxn"].sum() > 0
            assert identity_residual(s).abs().max() < 1e-6
            ref_d, ref_s = reference_anexo30(imports, exports, bom, period)
            ours_d = {
                (r.export_pedimento, r.export_clave, r.fraccion, r.activo_fijo): r.value_mxn
                for r in d.itertuples()
            }
            assert ours_d.keys() == ref_d.keys()
            for k, v in ref_d.items():
                assert ours_d[k] == pytest.approx(v, abs=1e-6)
            ours_s = {(r[0], r[1]): tuple(r[2:]) for r in s.itertuples(index=False)}
            assert ours_s.keys() == ref_s.keys()
            for k, v in ref_s.items():
                assert ours_s[k] == pytest.approx(v, abs=1e-6), k
    assert min(seen.values()) > 0, seen  # every case above was met


# --------------------------------------------------------------------------- command


def test_command_writes_files_manifest_and_reruns_byte_identical(hand_client, tmp_path, capsys):
    import json

    out = tmp_path / "out"
    args = ["anexo30", str(hand_client), "--period", "2025-03", "--out", str(out)]
    assert main(args) == 0
    assert "closing 156,600.00" in capsys.readouterr().out
    first = {n: (out / n).read_bytes() for n in ("descargos.csv", "saldos.csv")}
    assert first["saldos.csv"].decode().splitlines()[0] == ",".join(SALDOS_COLUMNS)
    assert first["descargos.csv"].decode().splitlines()[1] == (f"{ped(902)},RT,2025-03-10,,N,400")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "anexo30"
    assert manifest["parameters"]["period"] == "2025-03"
    assert manifest["parameters"]["as_of"] == "2025-03-31"
    assert manifest["row_counts"] == {"descargos": 4, "saldos": 4, "rejects": 0}
    assert main(args) == 0
    assert {n: (out / n).read_bytes() for n in first} == first
    # the CSV read back keeps the fracción's text and the identity
    s = pd.read_csv(out / "saldos.csv", dtype={"fraccion": str}, keep_default_na=False)
    assert s["fraccion"].tolist() == ["", "11111111", "84798999", "84798999"]
    assert identity_residual(s).abs().max() < 1e-9


@pytest.mark.parametrize("bad", ["2025-13", "2025-3", "marzo", "1900-01"])
def test_command_bad_period_is_one_line_exit_2(hand_client, tmp_path, capsys, bad):
    code = main(["anexo30", str(hand_client), "--period", bad, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "YYYY-MM" in err or "outside" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_command_missing_folder_is_exit_2(tmp_path, capsys):
    code = main(["anexo30", str(tmp_path / "nope"), "--period", "2025-03", "--out", str(tmp_path)])
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_command_help_lists_anexo30(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["anexo30", "--help"])
    assert exc.value.code == 0
    assert "--period" in capsys.readouterr().out


def test_a_month_before_any_import_gives_empty_tables_with_their_columns(hand_client):
    descargos, saldos = anexo30_tables(load(hand_client), "2020-01")
    assert descargos.empty and list(descargos.columns) == DESCARGOS_COLUMNS
    assert saldos.empty and list(saldos.columns) == SALDOS_COLUMNS
