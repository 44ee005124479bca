"""The synthetic demo clients and the benchmark ledger (immex_nb.samples.demo).

The demo folders are what a consultant sees first, so they are held to the
contract (docs/rules/tables.md, docs/rules/validation.md) and to the story the README tells: two years of
history, a BOM that changed once, lots expired and about to expire, returns
as-is and exports no import covers.  The scenario checks use a small FIFO
written here (not the package's engine), so they hold even while the engine
changes.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from immex_nb.samples import demo
from immex_nb.schema import BOM, EXPORTS, IMPORTS

AS_OF = pd.Timestamp(demo.DEMO_TODAY)  # 2026-11-30
CLIENTS = ["electronica-norte", "autopartes-bajio", "textiles-sonora"]
PEDIMENTO = re.compile(r"^(\d{2}) (\d{2}) (\d{4}) (\d)(\d{6})$")
REPO_DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, pd.DataFrame]]:
    return {spec.name: demo.generate_client(spec, seed) for spec, seed in demo.demo_specs()}


# --------------------------------------------------------------------------- helpers
def explode(exports: pd.DataFrame, bom: pd.DataFrame) -> pd.DataFrame:
    """Leaf consumption per export line through the BOM valid on its date,
    paths to the same part summed (docs/rules/discharge.md, explosion) — plain merges."""
    cur = exports[["pedimento", "line", "date", "part_number", "quantity"]].copy()
    leaves = []
    for _ in range(20):
        if cur.empty:
            break
        cur["_row"] = np.arange(len(cur))
        m = cur.merge(bom, left_on="part_number", right_on="parent")
        m = m[
            (m.valid_from.isna() | (m.valid_from <= m.date))
            & (m.valid_to.isna() | (m.date <= m.valid_to))
        ]
        leaves.append(cur[~cur["_row"].isin(m["_row"])].drop(columns="_row"))
        cur = m.assign(
            part_number=m["component"],
            quantity=m["quantity"] * m["qty_per"] * (1 + m["scrap_rate"]),
        )[["pedimento", "line", "date", "part_number", "quantity"]]
    else:
        raise AssertionError("BOM explosion did not end")
    out = pd.concat(leaves, ignore_index=True)
    return out.groupby(["pedimento", "line", "date", "part_number"], as_index=False)[
        "quantity"
    ].sum()


def fifo_open(imports: pd.DataFrame, exports: pd.DataFrame, bom: pd.DataFrame):
    """Open quantity per import row and total shortfall per part: FIFO per
    part, a lot available from its own date, no back-filling."""
    cons = explode(exports, bom).sort_values(["date", "pedimento", "line"], kind="stable")
    lots = imports.sort_values(["date", "pedimento", "line"], kind="stable")
    queues: dict[str, deque] = defaultdict(deque)
    left = lots["quantity"].to_dict()
    for idx, part, day in zip(lots.index, lots["part_number"], lots["date"], strict=True):
        queues[part].append((idx, day))
    short: dict[str, float] = defaultdict(float)
    for part, day, need in zip(cons["part_number"], cons["date"], cons["quantity"], strict=True):
        q = queues.get(part, deque())
        for idx, lot_day in q:
            if need <= 1e-9 or lot_day > day:
                break
            take = min(need, left[idx])
            left[idx] -= take
            need -= take
        while q and left[q[0][0]] <= 1e-9:
            q.popleft()
        if need > 1e-9:
            short[part] += need
    return pd.Series(left).reindex(imports.index), dict(short)


def deadline(imports: pd.DataFrame) -> pd.Series:
    """18 months for MP/EE, 24 for CT, none for AF; pandas' month offset
    clamps to the month's end like the contract's default rule."""
    months = imports["material_type"].map({"MP": 18, "EE": 18, "CT": 24})
    return pd.Series(
        [
            d + pd.DateOffset(months=int(m)) if m == m else pd.NaT
            for d, m in zip(imports["date"], months, strict=True)
        ],
        index=imports.index,
        dtype="datetime64[ns]",
    )


def has_cycle(bom: pd.DataFrame) -> bool:
    children = bom.groupby("parent")["component"].apply(list).to_dict()
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for nxt in children.get(node, ()):
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in list(children))


# --------------------------------------------------------------------------- determinism and files
def test_write_demo_is_byte_identical_and_matches_the_committed_folder(tmp_path):
    first = demo.write_demo(tmp_path / "a")
    assert demo.main(["--root", str(tmp_path / "b")]) == 0
    names = sorted(p.relative_to(tmp_path / "a").as_posix() for p in first)
    assert names == [
        "autopartes-bajio/bom.csv", "autopartes-bajio/client.toml", "autopartes-bajio/exports.csv",
        "autopartes-bajio/imports.csv", "electronica-norte/bom.csv", "electronica-norte/client.toml",
        "electronica-norte/exports.csv", "electronica-norte/imports.csv", "textiles-sonora/client.toml",
        "textiles-sonora/exports.csv", "textiles-sonora/imports.csv",
    ]  # fmt: skip
    for name in names:
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes(), name
        assert len(a) < 1_000_000, name
        committed = REPO_DEMO / name
        if committed.exists():  # the folder in the repository is what the generator writes
            assert committed.read_bytes() == a, f"{name}: rerun `python -m immex_nb.samples.demo`"


def test_csv_headers_are_the_canonical_columns(tmp_path):
    demo.write_demo(tmp_path)
    for client in CLIENTS:
        folder = tmp_path / client
        for table in (IMPORTS, EXPORTS, BOM):
            path = folder / f"{table.name}.csv"
            if client == "textiles-sonora" and table is BOM:
                assert not path.exists()  # no BOM: every export is a return as-is
                continue
            header = path.read_text(encoding="utf-8").splitlines()[0]
            assert header == ",".join(table.names)


def test_client_toml_is_read_by_settings(tmp_path):
    from immex_nb.settings import read_settings

    demo.write_demo(tmp_path)
    norte = read_settings(tmp_path / "electronica-norte")
    assert norte.name.startswith("Electrónica del Norte") and norte.vat_certified and norte.prosec
    sonora = read_settings(tmp_path / "textiles-sonora")
    assert not sonora.vat_certified and not sonora.prosec and sonora.deadline_rule == "clamp"


def test_another_today_moves_the_history(tmp_path):
    spec, seed = demo.demo_specs(date(2025, 6, 30))[0]
    t = demo.generate_client(spec, seed)
    assert t["imports"]["date"].max() <= pd.Timestamp("2025-06-30")
    assert t["imports"]["date"].min() >= pd.Timestamp("2023-01-01")


# --------------------------------------------------------------------------- contract checks per client
@pytest.mark.parametrize("client", CLIENTS)
def test_tables_follow_the_contract(tables, client):
    t = tables[client]
    imports, exports = t["imports"], t["exports"]
    assert list(imports.columns) == IMPORTS.names
    assert list(exports.columns) == EXPORTS.names
    assert list(t["bom"].columns) == BOM.names
    for df in (imports, exports):
        parts = df["pedimento"].str.extract(PEDIMENTO)
        assert parts.notna().all().all(), "every pedimento is 'YY AA PPPP YNNNNNN'"
        assert (parts[0].astype(int) == df["date"].dt.year % 100).all()  # YY = year of the date
        assert (parts[3].astype(int) == df["date"].dt.year % 10).all()  # Y = last digit of the year
        assert set(parts[1]) <= set(demo.ADUANAS)
        assert not df.duplicated(["pedimento", "line"]).any()
        assert (df["quantity"] > 0).all() and (df["value_usd"] >= 0).all()
        # lines run 1…n in every pedimento, and some pedimentos hold several lines
        n = df.groupby("pedimento")["line"].agg(["min", "max", "size"])
        assert (n["min"] == 1).all() and (n["max"] == n["size"]).all()
        assert (n["size"] > 1).sum() >= 20
        assert df["date"].dt.normalize().eq(df["date"]).all()
    assert set(imports["material_type"]) <= {"MP", "EE", "CT", "AF"}
    assert {"MP", "EE", "CT", "AF"} - set(imports["material_type"]) <= {"CT"}
    assert imports["fraccion"].str.fullmatch(r"\d{8}").all()
    assert imports["origin"].str.fullmatch(r"[A-Z]{3}").all()
    assert exports["destination"].str.fullmatch(r"[A-Z]{3}").all()
    # temporary entries IN and V1 (electronica-norte also lists one A1 definitive
    # import, which the loader rejects); exits of several kinds (docs/rules/claves.md)
    assert set(imports["clave"]) == (
        {"IN", "V1", "A1"} if client == "electronica-norte" else {"IN", "V1"}
    )
    assert {"V1", "A3"} <= set(exports["clave"]) or client == "textiles-sonora"
    assert {"RT", "A3", "F4"} <= set(exports["clave"])
    directed = exports[exports["import_pedimento"] != ""]
    assert len(directed) >= 1 and directed["import_pedimento"].isin(imports["pedimento"]).all()
    assert (imports["value_mxn"] >= 0).all()
    fx = imports["value_mxn"] / imports["value_usd"]
    assert fx.between(16.99, 20.51).all()
    assert set(imports["igi_rate"]) <= {0.0, 0.05, 0.10, 0.15, 0.20, 0.35}
    prosec = imports["prosec_rate"].dropna()
    assert set(prosec) <= {0.0, 0.05}
    assert (imports["usmca_originating"] == imports["origin"].isin(["USA", "CAN", "MEX"])).all()
    # 24+ months of history ending in November 2026
    assert imports["date"].min() <= pd.Timestamp("2024-06-30")
    assert imports["date"].max() >= pd.Timestamp("2026-11-01")
    assert exports["date"].max() >= pd.Timestamp("2026-11-01")
    assert (imports["date"].max() - imports["date"].min()).days >= 730
    assert max(imports["date"].max(), exports["date"].max()) <= AS_OF
    assert exports["destination"].value_counts().index[0] == "USA"
    assert 200 <= len(imports) <= 5000 and 200 <= len(exports) <= 5000


@pytest.mark.parametrize("client", ["electronica-norte", "autopartes-bajio"])
def test_bom_is_multilevel_acyclic_with_one_version_change(tables, client):
    bom = tables[client]["bom"]
    assert not has_cycle(bom)
    assert (bom["qty_per"] > 0).all() and bom["scrap_rate"].between(0, 0.05).all()
    assert set(bom["component"]) & set(bom["parent"]), "some component is itself a sub-assembly"
    assert not bom.duplicated(["parent", "component", "valid_from", "valid_to"]).any()
    ended = bom[bom["valid_to"].notna()]
    started = bom[bom["valid_from"].notna()]
    assert len(ended) >= 1
    # the row that ends is replaced the next day under the same parent by another component
    pairs = ended.merge(started, on="parent", suffixes=("_old", "_new"))
    pairs = pairs[pairs["valid_from_new"] == pairs["valid_to_old"] + pd.Timedelta(days=1)]
    assert len(pairs) >= 1 and (pairs["component_old"] != pairs["component_new"]).all()


def test_textile_client_has_no_bom_and_returns_as_is(tables):
    t = tables["textiles-sonora"]
    assert t["bom"].empty
    exported = set(t["exports"]["part_number"])
    imported = set(t["imports"]["part_number"])
    assert len(exported & imported) >= 8


# --------------------------------------------------------------------------- the story the data tells
@pytest.fixture(scope="module")
def balances(tables):
    out = {}
    for client, t in tables.items():
        open_qty, short = fifo_open(t["imports"], t["exports"], t["bom"])
        b = t["imports"].assign(open=open_qty, deadline=deadline(t["imports"]))
        out[client] = (b, short)
    return out


def test_most_material_is_discharged_but_some_stays_open(balances):
    for client in ("electronica-norte", "autopartes-bajio"):
        b, _ = balances[client]
        mp = b[b["material_type"] == "MP"]
        share = 1 - mp["open"].sum() / mp["quantity"].sum()
        assert 0.8 < share < 0.99, (client, share)
        assert (b["open"] > 0).sum() >= 20


def test_expired_lots_and_lots_due_within_30_60_90_days(balances):
    for client in CLIENTS:
        b, _ = balances[client]
        still_open = b[b["open"] > 1e-6]
        expired = still_open[still_open["deadline"] < AS_OF]
        days = (still_open["deadline"] - AS_OF).dt.days
        assert len(expired) >= 1, client
        for within in (30, 60, 90):
            due = still_open[(days >= 0) & (days <= within)]
            assert len(due) >= within // 30, (client, within)
    # the stranded terminal blocks of the engineering change: imported before
    # the change, never consumed by the new BOM, and expired
    b, _ = balances["electronica-norte"]
    old = b[(b["part_number"] == "EN-CON-TERM-4P") & (b["open"] > 0)]
    assert (old["deadline"] < AS_OF).all() and len(old) >= 2
    # entry 16–17.5 months before 2026-11-30 and still open
    b, _ = balances["autopartes-bajio"]
    window = b[
        (b["date"] >= pd.Timestamp("2025-06-01"))
        & (b["date"] <= pd.Timestamp("2025-08-15"))
        & (b["open"] > 0)
    ]
    assert len(window) >= 3


def test_returns_as_is_and_exports_no_import_covers(tables, balances):
    for client in ("electronica-norte", "autopartes-bajio"):
        t = tables[client]
        parents = set(t["bom"]["parent"])
        imported = set(t["imports"]["part_number"])
        exported = t["exports"]["part_number"]
        as_is = exported[exported.isin(imported) & ~exported.isin(parents)]
        assert len(as_is) >= 2, client  # components or machines sent back unchanged
    for client in CLIENTS:
        t = tables[client]
        _, short = balances[client]
        never = (
            set(t["exports"]["part_number"])
            - set(t["imports"]["part_number"])
            - set(t["bom"]["parent"])
        )
        assert never, client  # a part exported but never imported …
        assert never <= set(short), client  # … is a shortfall
        assert len(short) >= 2, (client, short)  # and one export left before its import arrived
    _, short = balances["electronica-norte"]
    assert short["EN-CON-TERM-4PB"] > 0  # new terminal block: first lot 12 days late


def test_us_duty_paid_only_on_usa_exports(tables):
    any_duty = False
    for t in tables.values():
        e = t["exports"]
        paid = e[e["us_duty_paid_usd"].notna()]
        assert (paid["destination"] == "USA").all() and (paid["us_duty_paid_usd"] >= 0).all()
        any_duty |= len(paid) > 0
    assert any_duty


@pytest.mark.parametrize("client", CLIENTS)
def test_loader_reads_the_demo_without_rejects(client, tables):
    pytest.importorskip("immex_nb.load")
    import immex_nb

    if not (REPO_DEMO / client).exists():
        pytest.skip("data/demo not generated")
    ledger = immex_nb.load(REPO_DEMO / client)
    imports = tables[client]["imports"]
    definitive = imports["clave"] == "A1"  # the one definitive import is a reject, saying why
    assert ledger.rejects["reason"].tolist() == [
        "A1 is a definitive import: not part of the IMMEX ledger"
    ] * int(definitive.sum())
    assert len(ledger.imports) == len(imports) - definitive.sum()
    assert len(ledger.exports) == len(tables[client]["exports"])
    pd.testing.assert_frame_equal(
        ledger.imports[IMPORTS.names].reset_index(drop=True),
        imports[~definitive].reset_index(drop=True),
        check_dtype=False,
    )


# --------------------------------------------------------------------------- benchmark ledger
def leaf_counts(exports: pd.DataFrame, bom: pd.DataFrame) -> int:
    """Consumption events without exploding every line: the BOM is constant
    between validity breakpoints, so count leaves per (part, period) once."""
    breaks = sorted(
        set(bom["valid_from"].dropna())
        | {d + pd.Timedelta(days=1) for d in bom["valid_to"].dropna()}
    )
    starts = [pd.Timestamp("1900-01-01"), *breaks]
    per_period = []
    parts = exports[["part_number"]].drop_duplicates()
    for p, start in enumerate(starts):
        probe = parts.assign(pedimento="x", line=parts.index, date=start, quantity=1.0)
        leaves = explode(probe, bom).groupby("line").size()
        per_period.append(
            pd.Series(leaves.to_numpy(), index=parts.loc[leaves.index, "part_number"], name=p)
        )
    table = pd.concat(per_period, axis=1)
    period = (
        np.searchsorted(
            np.array(starts, dtype="datetime64[ns]"), exports["date"].to_numpy(), side="right"
        )
        - 1
    )
    return int(table.to_numpy()[table.index.get_indexer(exports["part_number"]), period].sum())


def test_big_client_small_is_consistent_and_scales():
    small = demo.big_client(3_000, 1_000, seed=1)
    again = demo.big_client(3_000, 1_000, seed=1)
    for name in ("imports", "exports", "bom"):
        pd.testing.assert_frame_equal(small[name], again[name])
    assert not small["imports"].equals(demo.big_client(3_000, 1_000, seed=2)["imports"])
    imports, exports, bom = small["imports"], small["exports"], small["bom"]
    assert list(imports.columns) == IMPORTS.names and list(exports.columns) == EXPORTS.names
    assert list(bom.columns) == BOM.names
    assert len(imports) == 3_000 and len(exports) == 1_000
    for df in (imports, exports):
        assert df["pedimento"].str.fullmatch(PEDIMENTO.pattern).all()
        assert not df.duplicated(["pedimento", "line"]).any()
        assert (df["quantity"] > 0).all()
    assert imports["usmca_originating"].dtype == "boolean"
    assert not has_cycle(bom) and not bom.duplicated(["parent", "component"]).any()
    assert set(exports["part_number"]) <= set(bom["parent"])  # every export is a finished good
    # explosion: exact merge count equals the per-period shortcut, ~24 leaves a line
    events = len(explode(exports, bom))
    assert events == leaf_counts(exports, bom)
    assert 18 * len(exports) <= events <= 25 * len(exports)
    # twice the export lines, about twice the consumptions
    double = demo.big_client(3_000, 2_000, seed=1)
    ratio = leaf_counts(double["exports"], double["bom"]) / events
    assert 1.8 < ratio < 2.2
    # imports cover the need of most components (+3 %, spread over the lots)
    need = explode(exports, bom).groupby("part_number")["quantity"].sum()
    supply = imports.groupby("part_number")["quantity"].sum().reindex(need.index, fill_value=0)
    assert (supply >= need * 0.99).mean() > 0.9


def test_big_client_default_size_reaches_benchmark_scale():
    big = demo.big_client()
    assert len(big["imports"]) >= 300_000
    assert 100_000 <= len(big["exports"]) <= 150_000
    assert leaf_counts(big["exports"], big["bom"]) >= 2_000_000
    assert not big["imports"].duplicated(["pedimento", "line"]).any()
