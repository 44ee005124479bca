"""Deterministic synthetic demo data: three IMMEX clients and a benchmark ledger.

A consultant trying immex-nb needs a client folder that behaves like a real
one: two years of pedimentos, a multi-level bill of materials that changed
once, material that is still open, lots about to expire, lots already
expired, returns as-is and exports that no import covers.  This module builds
such folders from a fixed seed, so every run writes byte-identical files::

    python -m immex_nb.samples.demo --root data/demo

writes ``electronica-norte/``, ``autopartes-bajio/`` and ``textiles-sonora/``,
each with ``imports.csv``, ``exports.csv``, ``bom.csv`` (not for the textile
client, whose exports are all returns as-is) and ``client.toml``.

How the quantities are made to agree with the BOM — a worked example.  The
smart meter ``EN-SMM-100`` ships 9,000 units in a month; its BOM says one
meter holds one sub-assembly ``EN-PCBA-M100``, which holds 48 capacitors
``EN-CAP-0402-100N`` at 2 % scrap.  The month therefore consumes
``9,000 × 1 × 48 × 1.02 = 440,640`` capacitors.  The planner imports that
month's need in one lot that crosses the border 5–25 days before the month
starts, 0.5–3.5 % over the need and rounded up to whole 10,000-piece reels
(2 % over: ``440,640 × 1.02 = 449,453`` → ``450,000``).  FIFO then discharges almost every lot, and the surplus stays
open in the newest lots — in time.  The interesting lots come from scripted
events, all dated relative to ``today`` (default 2026-11-30):

* an engineering change 19 months before ``today`` replaces a component; the
  planner keeps ordering the old one for two months, and those lots expire
  unconsumed (18-month limit);
* a product reaches end of life 16 months before ``today``; three months of
  its unique components still arrive and fall due within 30, 60 and 90 days;
* the replacing component's first lot arrives 12 days after the first export
  that needs it (a shortfall), and a new model ships before its BOM is loaded
  (a part exported but never imported);
* defective components go back to the supplier (returns as-is, ``RT``),
  returnable racks come and go (``CT``), machinery stays (``AF``), and a few
  lines are virtual transfers (``V1``).

:func:`big_client` builds a much larger ledger with numpy only (no loop per
row) for benchmarks: 300,000 import lines and 120,000 export lines whose
two-level BOM explodes into about 2.9 million consumptions.
"""

from __future__ import annotations

import argparse
import math
import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from immex_nb.errors import ImmexError
from immex_nb.outputs import atomic_path, write_text
from immex_nb.schema import BOM, EXPORTS, IMPORTS

DEMO_TODAY = date(2026, 11, 30)
DEMO_ROOT = Path("data/demo")

IMPORT_COLUMNS = IMPORTS.names
EXPORT_COLUMNS = EXPORTS.names
BOM_COLUMNS = BOM.names

#: Illustrative monthly mean MXN per USD (FIX), kept within 17–20.5; a date
#: before or after the table uses its first or last month.  Demo data only.
FX_MONTHLY = {
    "2024-01": 17.10, "2024-02": 17.10, "2024-03": 17.00, "2024-04": 17.05,
    "2024-05": 17.00, "2024-06": 18.30, "2024-07": 18.10, "2024-08": 19.20,
    "2024-09": 19.50, "2024-10": 19.70, "2024-11": 20.35, "2024-12": 20.25,
    "2025-01": 20.45, "2025-02": 20.45, "2025-03": 20.20, "2025-04": 20.00,
    "2025-05": 19.40, "2025-06": 19.00, "2025-07": 18.70, "2025-08": 18.70,
    "2025-09": 18.45, "2025-10": 18.40, "2025-11": 18.45, "2025-12": 18.30,
    "2026-01": 18.10, "2026-02": 17.95, "2026-03": 18.05, "2026-04": 18.20,
    "2026-05": 18.35, "2026-06": 18.50, "2026-07": 18.60, "2026-08": 18.70,
    "2026-09": 18.80, "2026-10": 18.90, "2026-11": 19.00, "2026-12": 19.05,
}  # fmt: skip

#: Aduanas (Anexo 22, Apéndice 1) used by the demo: code → name.
ADUANAS = {
    "07": "Ciudad Juárez",
    "11": "Ensenada",
    "16": "Manzanillo",
    "23": "Nogales",
    "24": "Nuevo Laredo",
    "40": "Tijuana",
    "43": "Veracruz",
    "47": "AICM (Ciudad de México)",
    "51": "Lázaro Cárdenas",
    "64": "Querétaro",
}

USMCA_COUNTRIES = ("USA", "CAN", "MEX")
IMPORT_CROSSING_DAYS = "0100000"  # import lots are consolidated and cleared on Tuesdays
EXPORT_SHIPPING_DAYS = "1010100"  # exports leave on Mondays, Wednesdays and Fridays
MAX_IMPORT_LINES = 10  # lines per import pedimento
MAX_EXPORT_LINES = 12  # lines per export pedimento


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class Part:
    """An imported part: catalog data and how the planner buys it."""

    part_number: str
    description: str
    fraccion: str
    uom: str
    origin: str
    unit_usd: float
    igi_rate: float
    material_type: str = "MP"
    prosec_rate: float | None = None
    pack: float = 1.0  # lots are whole multiples of this
    cadence: int = 1  # months of need bought in one lot
    aduana: str | None = None  # None: the client's main import aduana
    clave: str = "IN"


@dataclass(frozen=True)
class Product:
    """A finished good shipped every month while active."""

    part_number: str
    unit_usd: float
    monthly_units: int
    destinations: tuple[tuple[str, float], ...] = (("USA", 1.0),)
    start: date | None = None  # first month shipped (None: from the first export month)
    end: date | None = None  # no shipments on or after (end of life)
    shipments: int = 6  # export lines per month (mean)
    multiple: int = 1  # units per pallet: shipments are multiples of it
    us_duty_rate: float = 0.0  # US duty paid on about a third of the USA shipments
    uom: str = "PZA"


@dataclass(frozen=True)
class BomRow:
    parent: str
    component: str
    qty_per: float
    scrap_rate: float = 0.0
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(frozen=True)
class RoundTrip:
    """A part imported in lots and returned as-is (racks, goods for finishing).

    ``return_share`` (0, 0) makes an import-only flow (nothing is ever returned)."""

    part_number: str
    lots_per_month: float
    lot_quantity: tuple[float, float]
    return_share: tuple[float, float] = (0.95, 1.0)
    return_days: tuple[int, int] = (10, 45)
    destination: str = "USA"
    start: date | None = None
    end: date | None = None  # no imports on or after
    step: float = 1.0  # quantities are rounded to this
    export_clave: str = "RT"


@dataclass(frozen=True)
class ExtraImport:
    part_number: str
    day: date
    quantity: float


@dataclass(frozen=True)
class ExtraExport:
    """One export line outside the monthly plan (return to supplier, V1 sale, sample…)."""

    part_number: str
    day: date
    quantity: float
    destination: str = "USA"
    clave: str = "RT"
    unit_usd: float | None = None  # None: the part's catalog price
    uom: str = "PZA"
    planned: bool = True  # False: the planner did not buy for it (a late clean-up return)


@dataclass(frozen=True)
class Movement:
    """An exit of another kind (docs/rules/claves.md) of one import lot of
    ``part_number``: F4/F5 change of regime, A3 regularisation, V1 transfer.

    ``lot`` picks the part's import line among those dated on or before ``day``
    in FIFO order (0 = oldest, -1 = newest); ``share`` of its quantity leaves.
    ``directed`` = ``"line"`` names the lot's pedimento and line, ``"pedimento"``
    its pedimento only, ``""`` leaves it to FIFO (docs/rules/discharge.md)."""

    clave: str
    part_number: str
    day: date
    lot: int
    share: float
    directed: str = "line"
    destination: str = "MEX"


@dataclass(frozen=True)
class DefinitiveImport:
    """A definitive (A1) import the client's system lists beside the temporary
    ones: the loader rejects it (not part of the IMMEX ledger)."""

    part_number: str
    description: str
    fraccion: str
    day: date
    quantity: float
    unit_usd: float
    origin: str = "JPN"
    igi_rate: float = 0.10
    uom: str = "PZA"


@dataclass(frozen=True)
class ClientSpec:
    name: str  # folder name
    title: str  # client.toml name
    start: date  # first import month; exports start a month later
    end: date  # last day of history ("today")
    parts: tuple[Part, ...]
    products: tuple[Product, ...] = ()
    bom: tuple[BomRow, ...] = ()
    round_trips: tuple[RoundTrip, ...] = ()
    extra_imports: tuple[ExtraImport, ...] = ()
    extra_exports: tuple[ExtraExport, ...] = ()
    movements: tuple[Movement, ...] = ()
    definitive_imports: tuple[DefinitiveImport, ...] = ()
    stranded: Mapping[str, int] = field(
        default_factory=dict
    )  # part → months still bought after its last use
    late_first_lot: Mapping[str, int] = field(
        default_factory=dict
    )  # part → days after its first use
    import_aduana: str = "40"
    export_aduana: Mapping[str, str] = field(default_factory=dict)  # destination → aduana
    patentes: Mapping[str, str] = field(default_factory=dict)  # aduana → broker licence
    vat_certified: bool = True
    prosec: bool = True
    oea: bool = False
    deadline_rule: str = "clamp"
    fine_rate: float = 0.0
    has_bom: bool = True

    def part(self, part_number: str) -> Part:
        for p in self.parts:
            if p.part_number == part_number:
                return p
        raise KeyError(part_number)


# --------------------------------------------------------------------------- helpers
def _rng(seed: int, label: str) -> np.random.Generator:
    """A generator per stage, so changing one stage never shifts the others."""
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def _month(day: date, k: int = 0) -> date:
    """First day of the month ``k`` months after ``day``'s month."""
    m = day.year * 12 + day.month - 1 + k
    return date(m // 12, m % 12 + 1, 1)


def _d64(day: date | np.datetime64) -> np.datetime64:
    return np.datetime64(day, "D")


def exchange_rate(dates) -> np.ndarray:
    """MXN per USD on each date: the month's :data:`FX_MONTHLY` value plus a
    small day-to-day wave, rounded to 4 decimals and kept within 17–20.5.
    A pure function of the date (no random state)."""
    days = np.asarray(dates, dtype="datetime64[D]")
    months = days.astype("datetime64[M]")
    keys = np.array(sorted(FX_MONTHLY), dtype="datetime64[M]")
    values = np.array([FX_MONTHLY[k] for k in sorted(FX_MONTHLY)])
    idx = np.clip(np.searchsorted(keys, months), 0, len(keys) - 1)
    idx = np.where(keys[idx] > months, np.maximum(idx - 1, 0), idx)
    t = days.astype(np.int64).astype("float64")
    rate = values[idx] + 0.06 * np.sin(t * 0.9) + 0.04 * np.sin(t * 0.23)
    return np.round(np.clip(rate, 17.0, 20.5), 4)


def _business_days(first: date, last: date, weekmask: str = "1111100") -> np.ndarray:
    """Days of ``weekmask`` (Mon…Sun) from ``first`` to ``last`` inclusive (``datetime64[D]``)."""
    days = np.arange(_d64(first), _d64(last) + 1, dtype="datetime64[D]")
    return days[np.is_busday(days, weekmask=weekmask)]


def _crossing(days: np.ndarray, roll: str) -> np.ndarray:
    return np.busday_offset(
        days.astype("datetime64[D]"), 0, roll=roll, weekmask=IMPORT_CROSSING_DAYS
    )


def explode(demand: pd.DataFrame, bom: pd.DataFrame, max_depth: int = 50) -> pd.DataFrame:
    """Leaf consumption of ``demand`` (``key, date, part_number, quantity``)
    through the BOM rows valid on each date (docs/rules/discharge.md, explosion), summed per
    ``(key, date, part_number)``.  Used to plan the demo's import lots."""
    cols = ["key", "date", "part_number", "quantity"]
    current = demand[cols].reset_index(drop=True)
    leaves = []
    if bom is None or bom.empty:
        leaves.append(current)
    else:
        b = bom[["parent", "component", "qty_per", "scrap_rate", "valid_from", "valid_to"]]
        for _ in range(max_depth):
            if current.empty:
                break
            current = current.assign(_row=np.arange(len(current)))
            m = current.merge(b, left_on="part_number", right_on="parent", how="inner")
            ok = (m["valid_from"].isna() | (m["valid_from"] <= m["date"])) & (
                m["valid_to"].isna() | (m["date"] <= m["valid_to"])
            )
            m = m[ok]
            leaves.append(current.loc[~current["_row"].isin(m["_row"]), cols])
            current = pd.DataFrame(
                {
                    "key": m["key"].to_numpy(),
                    "date": m["date"].to_numpy(),
                    "part_number": m["component"].to_numpy(),
                    "quantity": (m["quantity"] * m["qty_per"] * (1.0 + m["scrap_rate"])).to_numpy(),
                }
            )
        else:
            raise ImmexError("demo BOM explosion did not end: the BOM has a cycle")
    out = pd.concat(leaves, ignore_index=True)
    return out.groupby(["key", "date", "part_number"], as_index=False, sort=True)["quantity"].sum()


# --------------------------------------------------------------------------- generator
def generate_client(spec: ClientSpec, seed: int) -> dict[str, pd.DataFrame]:
    """Canonical ``imports``, ``exports`` and ``bom`` tables for one client.

    Deterministic: the same ``spec`` and ``seed`` give the same frames."""
    catalog = {p.part_number: p for p in spec.parts}
    bom = _bom_frame(spec)
    exports = _export_lines(spec, catalog, seed)
    imports = _import_lines(spec, catalog, bom, exports, seed)
    imports, exports = _number_pedimentos(spec, imports, exports, seed)
    imports, exports = _kinds_of_movement(spec, imports, exports)
    return {"imports": imports, "exports": exports, "bom": bom}


_OWN_SEQUENCE = 900_000  # pedimento sequences of the scripted movements (the plan stays below)


def _own_pedimento(spec: ClientSpec, day: date, k: int) -> str:
    aduana = spec.import_aduana
    patente = spec.patentes.get(aduana, "3420")
    return f"{day.year % 100:02d} {aduana} {patente} {day.year % 10}{_OWN_SEQUENCE + k:06d}"


def _kinds_of_movement(
    spec: ClientSpec, imports: pd.DataFrame, exports: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the scripted exits of other kinds (:class:`Movement`, some directed
    to the lot they discharge) and the definitive imports (:class:`DefinitiveImport`)."""
    rows = []
    lots = imports.sort_values(["date", "pedimento", "line"], kind="stable")
    for k, m in enumerate(spec.movements):
        if m.day > spec.end:
            continue
        mine = lots[(lots["part_number"] == m.part_number) & (lots["date"] <= pd.Timestamp(m.day))]
        if not -len(mine) <= m.lot < len(mine):
            continue
        lot = mine.iloc[m.lot]
        qty = max(1.0, math.floor(float(lot["quantity"]) * m.share))
        rows.append(
            dict(pedimento=_own_pedimento(spec, m.day, k), line=1, clave=m.clave,
                 date=pd.Timestamp(m.day), part_number=m.part_number, quantity=qty, uom=lot["uom"],
                 value_usd=round(float(lot["value_usd"]) * qty / float(lot["quantity"]), 2),
                 destination=m.destination, us_duty_paid_usd=np.nan,
                 import_pedimento=lot["pedimento"] if m.directed else "",
                 import_line=int(lot["line"]) if m.directed == "line" else 0)
        )  # fmt: skip
    if rows:
        exports = pd.concat([exports, pd.DataFrame(rows)], ignore_index=True)
        exports = exports.sort_values(["date", "pedimento", "line"], kind="stable")
        exports = _canonical(exports[EXPORT_COLUMNS].reset_index(drop=True), "exports")
    extra = []
    for k, d in enumerate(spec.definitive_imports):
        if d.day > spec.end:
            continue
        usd = round(d.quantity * d.unit_usd, 2)
        extra.append(
            dict(pedimento=_own_pedimento(spec, d.day, 500 + k), line=1, clave="A1",
                 date=pd.Timestamp(d.day), part_number=d.part_number, description=d.description,
                 fraccion=d.fraccion, uom=d.uom, quantity=float(d.quantity), value_usd=usd,
                 value_mxn=round(usd * float(exchange_rate([_d64(d.day)])[0]), 2),
                 origin=d.origin, material_type="MP", igi_rate=d.igi_rate, prosec_rate=np.nan,
                 usmca_originating=d.origin in USMCA_COUNTRIES)
        )  # fmt: skip
    if extra:
        imports = pd.concat([imports, pd.DataFrame(extra)], ignore_index=True)
        imports = imports.sort_values(["date", "pedimento", "line"], kind="stable")
        imports = _canonical(imports[IMPORT_COLUMNS].reset_index(drop=True), "imports")
    return imports, exports


def _bom_frame(spec: ClientSpec) -> pd.DataFrame:
    rows = [
        (r.parent, r.component, float(r.qty_per), float(r.scrap_rate), r.valid_from, r.valid_to)
        for r in spec.bom
    ]
    df = pd.DataFrame(rows, columns=BOM_COLUMNS)
    for col in ("parent", "component"):
        df[col] = df[col].astype("str")
    for col in ("qty_per", "scrap_rate"):
        df[col] = df[col].astype("float64")
    for col in ("valid_from", "valid_to"):
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    return df


def _export_lines(spec: ClientSpec, catalog: dict[str, Part], seed: int) -> pd.DataFrame:
    """Finished-good shipments, round-trip returns and one-off export lines
    (no pedimento numbers yet)."""
    rows: list[dict] = []
    first_export = _month(spec.start, 1)
    for product in spec.products:
        rng = _rng(seed, f"product:{product.part_number}")
        month = max(_month(product.start or first_export), first_export)
        dest_codes = [d for d, _ in product.destinations]
        dest_p = np.array([w for _, w in product.destinations], dtype="float64")
        dest_p /= dest_p.sum()
        while month <= spec.end and (product.end is None or month < product.end):
            last = min(_month(month, 1) - timedelta(days=1), spec.end)
            days = _business_days(month, last, EXPORT_SHIPPING_DAYS)
            if not len(days):
                break
            season = 1.0 + 0.10 * math.sin(2 * math.pi * (month.month - 4) / 12)
            if month.month == 12:
                season *= 0.8  # year-end shutdown
            units = product.monthly_units * season * rng.lognormal(0.0, 0.10)
            k = int(np.clip(rng.poisson(product.shipments), 1, len(days)))
            when = np.sort(rng.choice(days, size=k, replace=False))
            split = rng.dirichlet(np.full(k, 4.0)) * units
            qty = np.maximum(np.round(split / product.multiple), 1) * product.multiple
            dest = rng.choice(len(dest_codes), size=k, p=dest_p)
            duty_draw = rng.random(k)
            years = (month - first_export).days / 365.25
            price = round(product.unit_usd * (1 + 0.02 * years), 2)
            for i in range(k):
                value = round(float(qty[i]) * price, 2)
                country = dest_codes[dest[i]]
                duty = (
                    round(value * product.us_duty_rate, 2)
                    if country == "USA" and product.us_duty_rate > 0 and duty_draw[i] < 0.35
                    else np.nan
                )
                rows.append(
                    dict(clave="RT", date=when[i], part_number=product.part_number,
                         quantity=float(qty[i]), uom=product.uom, value_usd=value,
                         destination=country, us_duty_paid_usd=duty)
                )  # fmt: skip
            month = _month(month, 1)
    for x in spec.extra_exports:
        if x.day > spec.end:
            continue
        part = catalog.get(x.part_number)
        unit = x.unit_usd if x.unit_usd is not None else (part.unit_usd if part else 0.0)
        uom = part.uom if part else x.uom
        rows.append(
            dict(clave=x.clave, date=_d64(x.day), part_number=x.part_number, quantity=float(x.quantity),
                 uom=uom, value_usd=round(x.quantity * unit, 2), destination=x.destination,
                 us_duty_paid_usd=np.nan, _planned=x.planned)
        )  # fmt: skip
    rows.extend(_round_trip_returns(spec, catalog, seed))
    df = pd.DataFrame(rows)
    df["_planned"] = df["_planned"].fillna(True).astype(bool) if "_planned" in df else True
    df["import_pedimento"], df["import_line"] = "", 0  # planned exits are discharged by FIFO
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    return df.sort_values(["date", "clave", "part_number", "quantity"], kind="stable").reset_index(
        drop=True
    )


def _round_trip_lots(
    spec: ClientSpec, trip: RoundTrip, seed: int
) -> list[tuple[np.datetime64, float]]:
    rng = _rng(seed, f"trip-lots:{trip.part_number}")
    lots = []
    month = _month(trip.start or spec.start)
    while month <= spec.end and (trip.end is None or month < trip.end):
        last = min(_month(month, 1) - timedelta(days=1), spec.end)
        days = _business_days(month, last)
        n = int(rng.poisson(trip.lots_per_month))
        if n and len(days):
            when = _crossing(rng.choice(days, size=n), "forward")
            qty = rng.uniform(*trip.lot_quantity, size=n)
            for d, q in zip(when, qty, strict=True):
                if d <= _d64(spec.end) and (trip.end is None or d < _d64(trip.end)):
                    lots.append((d, max(round(q / trip.step), 1) * trip.step))
        month = _month(month, 1)
    return sorted(lots)


def _round_trip_returns(spec: ClientSpec, catalog: dict[str, Part], seed: int) -> list[dict]:
    rows = []
    for trip in spec.round_trips:
        if trip.return_share[1] <= 0:
            continue
        part = catalog[trip.part_number]
        rng = _rng(seed, f"trip-returns:{trip.part_number}")
        for day, qty in _round_trip_lots(spec, trip, seed):
            share = rng.uniform(*trip.return_share)
            pieces = 1 if rng.random() < 0.6 else 2
            lags = np.sort(rng.integers(trip.return_days[0], trip.return_days[1] + 1, size=pieces))
            parts = (
                np.array([1.0])
                if pieces == 1
                else np.array([0.5, 0.5]) + rng.uniform(-0.2, 0.2) * np.array([1, -1])
            )
            for lag, w in zip(lags, parts, strict=True):
                when = np.busday_offset(
                    day + int(lag), 0, roll="forward", weekmask=EXPORT_SHIPPING_DAYS
                )
                q = math.floor(qty * share * w / trip.step) * trip.step
                if when > _d64(spec.end) or q <= 0:
                    continue
                rows.append(
                    dict(clave=trip.export_clave, date=when, part_number=part.part_number,
                         quantity=float(q), uom=part.uom, value_usd=round(q * part.unit_usd, 2),
                         destination=trip.destination, us_duty_paid_usd=np.nan)
                )  # fmt: skip
    return rows


def _import_lines(
    spec: ClientSpec, catalog: dict[str, Part], bom: pd.DataFrame, exports: pd.DataFrame, seed: int
) -> pd.DataFrame:
    """Import lots: planned from the exploded need, round trips and one-offs."""
    demand = exports.assign(key=np.arange(len(exports)))[exports["_planned"]]
    need = explode(demand, bom)
    trip_parts = {t.part_number for t in spec.round_trips}
    explicit = {x.part_number for x in spec.extra_imports}
    lots: list[tuple[np.datetime64, str, float]] = []
    first_month = np.datetime64(_month(spec.start), "M")
    end_month = np.datetime64(_month(spec.end), "M")
    for part in spec.parts:
        pn = part.part_number
        if pn in trip_parts or pn in explicit or part.material_type == "AF":
            continue
        mine = need[need["part_number"] == pn]
        if mine.empty:
            continue
        rng = _rng(seed, f"lots:{pn}")
        months = mine["date"].to_numpy().astype("datetime64[M]")
        first, last = months.min(), months.max()
        grid = np.arange(first, end_month + 2, dtype="datetime64[M]")
        qty = np.bincount(
            (months - first).astype(np.int64),
            weights=mine["quantity"].to_numpy(dtype="float64"),
            minlength=len(grid),
        )
        recent = qty[
            max(0, np.searchsorted(grid, last) - 2) : np.searchsorted(grid, last) + 1
        ].mean()
        li = int(np.searchsorted(grid, last))
        n_stranded = spec.stranded.get(pn, 0)
        if n_stranded:
            qty[li + 1 : li + 1 + n_stranded] = recent
        elif last == end_month:  # still in use: buy next month's need too
            qty[li + 1] = recent
        for start in range(0, len(grid), part.cadence):
            block = qty[start : start + part.cadence].sum()
            if block <= 0:
                continue
            month_start = grid[start].astype("datetime64[D]")
            arrive = _crossing(np.array([month_start - int(rng.integers(5, 26))]), "backward")[0]
            if grid[start] < first_month:
                arrive = max(arrive, _d64(spec.start))
            amount = math.ceil(block * (1 + rng.uniform(0.005, 0.035)) / part.pack) * part.pack
            lots.append((arrive, pn, float(amount)))
        if pn in spec.late_first_lot:  # nothing of this part arrives before the late date
            first_use = mine["date"].min().to_datetime64().astype("datetime64[D]")
            late = _crossing(np.array([first_use + spec.late_first_lot[pn]]), "forward")[0]
            lots = [(max(d, late), p, q) if p == pn else (d, p, q) for d, p, q in lots]
    for trip in spec.round_trips:
        lots.extend((d, trip.part_number, q) for d, q in _round_trip_lots(spec, trip, seed))
    for x in spec.extra_imports:
        lots.append((_d64(x.day), x.part_number, float(x.quantity)))
    lots = [lot for lot in lots if _d64(spec.start) <= lot[0] <= _d64(spec.end)]

    rng = _rng(seed, "import-values")
    rows = []
    for day, pn, qty in sorted(lots, key=lambda t: (t[0], t[1], t[2])):
        p = catalog[pn]
        price = p.unit_usd * (1.0 + rng.normal(0.0, 0.03))
        rows.append(
            dict(clave=p.clave, date=day, part_number=pn, description=p.description, fraccion=p.fraccion,
                 uom=p.uom, quantity=qty, value_usd=round(qty * price, 2), origin=p.origin,
                 material_type=p.material_type, igi_rate=p.igi_rate,
                 prosec_rate=np.nan if p.prosec_rate is None or not spec.prosec else p.prosec_rate,
                 usmca_originating=p.origin in USMCA_COUNTRIES, aduana=p.aduana or spec.import_aduana)
        )  # fmt: skip
    df = pd.DataFrame(rows)
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    fx = exchange_rate(df["date"].to_numpy())
    df["value_mxn"] = np.round(df["value_usd"].to_numpy() * fx, 2)
    return df


def _number_pedimentos(
    spec: ClientSpec, imports: pd.DataFrame, exports: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group lines into pedimentos (same day, aduana and clave; at most
    :data:`MAX_IMPORT_LINES` / :data:`MAX_EXPORT_LINES` lines) and number them
    ``YY AA PPPP YNNNNNN`` with a rising sequence per year, aduana and patente."""
    exports = exports.assign(
        aduana=exports["destination"].map(lambda d: spec.export_aduana.get(d, spec.import_aduana))
    )
    groups = []
    for table, df, cap in (
        ("imports", imports, MAX_IMPORT_LINES),
        ("exports", exports, MAX_EXPORT_LINES),
    ):
        df = df.sort_values(["date", "aduana", "clave", "part_number", "quantity"], kind="stable")
        df = df.reset_index(drop=True)
        rank = df.groupby(["date", "aduana", "clave"], sort=False).cumcount().to_numpy()
        df["_chunk"] = rank // cap
        df["line"] = (rank % cap + 1).astype("int64")
        df["_table"] = table
        groups.append(df)
    both = pd.concat(groups, ignore_index=True)
    heads = both[["date", "_table", "aduana", "clave", "_chunk"]].drop_duplicates()
    heads = heads.sort_values(
        ["date", "_table", "aduana", "clave", "_chunk"], kind="stable"
    ).reset_index(drop=True)
    rng = _rng(seed, "pedimentos")
    numbers = []
    counters: dict[tuple[int, str, str], int] = {}
    for when, aduana in zip(heads["date"], heads["aduana"], strict=True):
        patente = spec.patentes.get(aduana, "3420")
        key = (when.year, aduana, patente)
        if key not in counters:
            counters[key] = int(rng.integers(1_000, 200_000))
        counters[key] += int(rng.integers(1, 120))
        numbers.append(
            f"{when.year % 100:02d} {aduana} {patente} {when.year % 10}{counters[key]:06d}"
        )
    heads["pedimento"] = numbers
    both = both.merge(heads, on=["date", "_table", "aduana", "clave", "_chunk"], how="left")
    out = []
    for table, columns in (("imports", IMPORT_COLUMNS), ("exports", EXPORT_COLUMNS)):
        df = both[both["_table"] == table].sort_values(["date", "pedimento", "line"], kind="stable")
        out.append(_canonical(df[columns].reset_index(drop=True), table))
    return out[0], out[1]


def _canonical(df: pd.DataFrame, table: str) -> pd.DataFrame:
    spec = {"imports": IMPORTS, "exports": EXPORTS, "bom": BOM}[table]
    df = df.copy()
    for col in spec.columns:
        if col.kind in ("pedimento", "str", "material"):
            df[col.name] = df[col.name].astype("str")
        elif col.kind == "int":
            df[col.name] = df[col.name].astype("int64")
        elif col.kind == "float":
            df[col.name] = df[col.name].astype("float64")
        elif col.kind == "date":
            df[col.name] = df[col.name].astype("datetime64[ns]")
        elif col.kind == "bool":
            df[col.name] = df[col.name].astype("boolean")
    return df


# --------------------------------------------------------------------------- the three demo clients
def demo_specs(today: date = DEMO_TODAY) -> list[tuple[ClientSpec, int]]:
    """The demo clients and their seeds; every scripted date is relative to ``today``."""
    return [
        (_electronica_norte(today), 101),
        (_autopartes_bajio(today), 202),
        (_textiles_sonora(today), 303),
    ]


def _history_start(today: date) -> date:
    return _month(today, -29)  # 2024-06-01 for 2026-11-30


def _electronica_norte(today: date) -> ClientSpec:
    cutover = _month(today, -19)  # terminal block changes supplier (2025-04-01)
    eol = _month(today, -16)  # infotainment module's last month is the one before (2025-07-01)
    P = Part
    parts = (
        P("EN-PCB-M100-4L", "Circuito impreso desnudo 4 capas, medidor M100", "85340001", "PZA", "TWN", 1.85, 0.0, pack=500),
        P("EN-PCB-S220-6L", "Circuito impreso desnudo 6 capas, decodificador S220", "85340001", "PZA", "TWN", 3.10, 0.0, pack=500),
        P("EN-PCB-P065-2L", "Circuito impreso desnudo 2 capas, fuente 65 W", "85340001", "PZA", "CHN", 0.62, 0.0, pack=1000),
        P("EN-PCB-I500-8L", "Circuito impreso desnudo 8 capas, módulo I500", "85340001", "PZA", "TWN", 7.40, 0.0, pack=250),
        P("EN-IC-MCU32", "Microcontrolador 32 bits ARM Cortex-M4", "85423101", "PZA", "TWN", 2.35, 0.0, pack=2500, aduana="47"),
        P("EN-IC-SOC-S220", "Sistema en chip para decodificador 4K", "85423101", "PZA", "TWN", 6.80, 0.0, pack=1000, aduana="47"),
        P("EN-IC-SOC-I500", "Sistema en chip para infoentretenimiento", "85423101", "PZA", "JPN", 18.50, 0.0, pack=500, aduana="47"),
        P("EN-IC-DDR4-8G", "Memoria DRAM DDR4 8 Gb", "85423201", "PZA", "KOR", 3.90, 0.0, pack=2000, aduana="47"),
        P("EN-IC-PMIC", "Circuito integrado de gestión de energía", "85423901", "PZA", "JPN", 0.95, 0.0, pack=3000),
        P("EN-LCD-I500-7", "Módulo de visualización LCD 7 pulgadas", "85241101", "PZA", "CHN", 21.00, 0.05, prosec_rate=0.0, pack=100),
        P("EN-CAP-0402-100N", "Capacitor cerámico multicapa 0402 100 nF", "85322401", "PZA", "JPN", 0.0021, 0.0, pack=10000),
        P("EN-CAP-0603-10U", "Capacitor cerámico multicapa 0603 10 uF", "85322401", "PZA", "KOR", 0.0085, 0.0, pack=4000),
        P("EN-CAP-ELEC-470U", "Capacitor electrolítico de aluminio 470 uF 35 V", "85322201", "PZA", "CHN", 0.045, 0.05, prosec_rate=0.0, pack=2000),
        P("EN-RES-0402-SET", "Resistencia fija de película gruesa 0402", "85332101", "PZA", "TWN", 0.0012, 0.0, pack=10000),
        P("EN-IND-PWR", "Inductor de potencia blindado", "85045099", "PZA", "CHN", 0.18, 0.10, prosec_rate=0.0, pack=2000),
        P("EN-TRF-65W", "Transformador de ferrita 65 W", "85043199", "PZA", "CHN", 1.25, 0.15, prosec_rate=0.05, pack=500),
        P("EN-DIO-BRIDGE", "Puente rectificador de diodos 4 A", "85411001", "PZA", "CHN", 0.11, 0.0, pack=3000),
        P("EN-MOS-600V", "Transistor MOSFET de potencia 600 V", "85412901", "PZA", "VNM", 0.34, 0.0, pack=3000),
        P("EN-CON-USB-C", "Conector USB tipo C para circuito impreso", "85366999", "PZA", "CHN", 0.21, 0.05, prosec_rate=0.0, pack=2000),
        P("EN-CON-HDMI", "Conector HDMI para circuito impreso", "85366999", "PZA", "CHN", 0.19, 0.05, prosec_rate=0.0, pack=2000),
        P("EN-CON-TERM-4P", "Bloque de terminales 4 polos", "85369099", "PZA", "DEU", 0.85, 0.10, prosec_rate=0.05, pack=1000),
        P("EN-CON-TERM-4PB", "Bloque de terminales 4 polos (proveedor EUA)", "85369099", "PZA", "USA", 0.92, 0.10, prosec_rate=0.05, pack=1000),
        P("EN-SLD-SAC305", "Soldadura en pasta SAC305", "38101001", "KG", "JPN", 62.0, 0.05, prosec_rate=0.0, pack=5),
        P("EN-RES-PC", "Policarbonato en gránulos", "39074001", "KG", "KOR", 3.40, 0.10, prosec_rate=0.0, pack=1000, cadence=2, aduana="11"),
        P("EN-RES-ABS", "Copolímero ABS en gránulos", "39033001", "KG", "USA", 2.10, 0.10, pack=1000, cadence=2),
        P("EN-SCR-M3", "Tornillo autorroscante M3 x 8", "73181599", "PZA", "TWN", 0.012, 0.10, prosec_rate=0.05, pack=20000, cadence=2),
        P("EN-HAR-DC", "Arnés de cable de corriente directa", "85444299", "PZA", "MEX", 0.95, 0.15, pack=500, clave="V1"),
        P("EN-LBL-UL", "Etiqueta autoadherible de identificación", "48211001", "PZA", "USA", 0.015, 0.10, pack=5000, cadence=2),
        P("EN-BOX-M100", "Caja de cartón corrugado, medidor", "48191001", "PZA", "USA", 0.38, 0.10, material_type="EE", pack=1000),
        P("EN-BOX-S220", "Caja de cartón corrugado, decodificador", "48191001", "PZA", "USA", 0.52, 0.10, material_type="EE", pack=1000),
        P("EN-TRAY-ESD", "Charola antiestática termoformada", "39231099", "PZA", "CHN", 0.27, 0.10, material_type="EE", prosec_rate=0.05, pack=1000),
        P("EN-BAG-ESD", "Bolsa antiestática", "39232101", "PZA", "CHN", 0.04, 0.10, material_type="EE", pack=5000, cadence=2),
        P("EN-AF-SMT-PNP", "Máquina colocadora de componentes SMT", "84798999", "PZA", "JPN", 385000.0, 0.0, material_type="AF"),
        P("EN-AF-REFLOW", "Horno de reflujo de 10 zonas", "85141999", "PZA", "CHN", 96000.0, 0.0, material_type="AF"),
        P("EN-AF-AOI", "Equipo de inspección óptica automática", "90314999", "PZA", "KOR", 148000.0, 0.0, material_type="AF"),
        P("EN-AF-MOLD-M100", "Molde de inyección para carcasa M100", "84807101", "PZA", "CHN", 42000.0, 0.0, material_type="AF"),
    )  # fmt: skip
    products = (
        Product("EN-SMM-100", 38.50, 9000, (("USA", 0.8), ("CAN", 0.2)), shipments=8, multiple=48),
        Product("EN-STB-220", 64.00, 6000, (("USA", 0.7), ("CAN", 0.15), ("BRA", 0.15)), shipments=6, multiple=40),
        Product("EN-PSU-065", 9.80, 14000, (("USA", 0.85), ("DEU", 0.15)), shipments=7, multiple=100, us_duty_rate=0.015),
        Product("EN-IHM-500", 145.00, 1500, (("USA", 1.0),), end=eol, shipments=4, multiple=12, us_duty_rate=0.025),
    )  # fmt: skip
    B = BomRow
    old_to = cutover - timedelta(days=1)
    bom = (
        B("EN-SMM-100", "EN-PCBA-M100", 1), B("EN-SMM-100", "EN-HSG-M100", 1),
        B("EN-SMM-100", "EN-SCR-M3", 4, 0.01), B("EN-SMM-100", "EN-LBL-UL", 1, 0.005),
        B("EN-SMM-100", "EN-BOX-M100", 1), B("EN-SMM-100", "EN-BAG-ESD", 1, 0.01),
        B("EN-PCBA-M100", "EN-PCB-M100-4L", 1, 0.01), B("EN-PCBA-M100", "EN-IC-MCU32", 1),
        B("EN-PCBA-M100", "EN-IC-PMIC", 1), B("EN-PCBA-M100", "EN-CAP-0402-100N", 48, 0.02),
        B("EN-PCBA-M100", "EN-CAP-0603-10U", 12, 0.02), B("EN-PCBA-M100", "EN-RES-0402-SET", 36, 0.02),
        B("EN-PCBA-M100", "EN-CON-TERM-4P", 2, 0.0, None, old_to),
        B("EN-PCBA-M100", "EN-CON-TERM-4PB", 2, 0.0, cutover, None),
        B("EN-PCBA-M100", "EN-SLD-SAC305", 0.0025, 0.05),
        B("EN-HSG-M100", "EN-RES-PC", 0.21, 0.04),
        B("EN-STB-220", "EN-PCBA-S220", 1), B("EN-STB-220", "EN-HSG-S220", 1),
        B("EN-STB-220", "EN-SCR-M3", 6, 0.01), B("EN-STB-220", "EN-HAR-DC", 1),
        B("EN-STB-220", "EN-LBL-UL", 1, 0.005), B("EN-STB-220", "EN-BOX-S220", 1),
        B("EN-STB-220", "EN-TRAY-ESD", 1, 0.01),
        B("EN-PCBA-S220", "EN-PCB-S220-6L", 1, 0.01), B("EN-PCBA-S220", "EN-IC-SOC-S220", 1),
        B("EN-PCBA-S220", "EN-IC-DDR4-8G", 2), B("EN-PCBA-S220", "EN-IC-PMIC", 1),
        B("EN-PCBA-S220", "EN-CAP-0402-100N", 120, 0.02), B("EN-PCBA-S220", "EN-CAP-0603-10U", 24, 0.02),
        B("EN-PCBA-S220", "EN-RES-0402-SET", 80, 0.02), B("EN-PCBA-S220", "EN-CON-HDMI", 1),
        B("EN-PCBA-S220", "EN-CON-USB-C", 1), B("EN-PCBA-S220", "EN-SLD-SAC305", 0.004, 0.05),
        B("EN-HSG-S220", "EN-RES-ABS", 0.32, 0.03),
        B("EN-PSU-065", "EN-PCBA-P065", 1), B("EN-PSU-065", "EN-RES-ABS", 0.09, 0.03),
        B("EN-PSU-065", "EN-LBL-UL", 1, 0.005), B("EN-PSU-065", "EN-BAG-ESD", 1, 0.01),
        B("EN-PSU-065", "EN-TRAY-ESD", 0.1),
        B("EN-PCBA-P065", "EN-PCB-P065-2L", 1, 0.01), B("EN-PCBA-P065", "EN-TRF-65W", 1),
        B("EN-PCBA-P065", "EN-IND-PWR", 2), B("EN-PCBA-P065", "EN-CAP-ELEC-470U", 2, 0.01),
        B("EN-PCBA-P065", "EN-DIO-BRIDGE", 1), B("EN-PCBA-P065", "EN-MOS-600V", 2, 0.01),
        B("EN-PCBA-P065", "EN-CAP-0603-10U", 8, 0.02), B("EN-PCBA-P065", "EN-RES-0402-SET", 20, 0.02),
        B("EN-PCBA-P065", "EN-CON-USB-C", 1), B("EN-PCBA-P065", "EN-SLD-SAC305", 0.0015, 0.05),
        B("EN-IHM-500", "EN-PCBA-I500", 1), B("EN-IHM-500", "EN-LCD-I500-7", 1, 0.01),
        B("EN-IHM-500", "EN-RES-PC", 0.45, 0.04), B("EN-IHM-500", "EN-SCR-M3", 8, 0.01),
        B("EN-IHM-500", "EN-HAR-DC", 1), B("EN-IHM-500", "EN-LBL-UL", 1, 0.005),
        B("EN-IHM-500", "EN-BOX-S220", 1), B("EN-IHM-500", "EN-TRAY-ESD", 1, 0.01),
        B("EN-PCBA-I500", "EN-PCB-I500-8L", 1, 0.01), B("EN-PCBA-I500", "EN-IC-SOC-I500", 1),
        B("EN-PCBA-I500", "EN-IC-DDR4-8G", 4), B("EN-PCBA-I500", "EN-IC-PMIC", 2),
        B("EN-PCBA-I500", "EN-CAP-0402-100N", 260, 0.02), B("EN-PCBA-I500", "EN-CAP-0603-10U", 40, 0.02),
        B("EN-PCBA-I500", "EN-RES-0402-SET", 150, 0.02), B("EN-PCBA-I500", "EN-CON-USB-C", 2),
        B("EN-PCBA-I500", "EN-SLD-SAC305", 0.006, 0.05),
    )  # fmt: skip
    start = _history_start(today)
    X = ExtraExport
    extra_exports = (
        X("EN-LCD-I500-7", _month(today, -21) + timedelta(days=11), 150, "CHN"),  # defective LCDs back to supplier
        X("EN-CAP-ELEC-470U", _month(today, -9) + timedelta(days=9), 6000, "CHN"),
        X("EN-TRF-65W", _month(today, -4) + timedelta(days=15), 400, "CHN"),
        # stranded terminal blocks finally sent back to the German supplier, after their deadline
        X("EN-CON-TERM-4P", today - timedelta(days=20), 6000, "DEU", planned=False),
        X("EN-AF-AOI", _month(today, -7) + timedelta(days=6), 1, "KOR"),  # inspection machine out for repair
        X("EN-PCBA-P065", _month(today, -11) + timedelta(days=13), 2000, "MEX", "V1", 6.10),
        X("EN-PCBA-P065", _month(today, -6) + timedelta(days=13), 2500, "MEX", "V1", 6.10),
        X("EN-PCBA-P065", _month(today, -2) + timedelta(days=12), 2500, "MEX", "V1", 6.10),
        X("EN-SMM-200", today - timedelta(days=15), 480, "USA", unit_usd=41.0),  # new model, BOM not loaded
        X("EN-SMM-200", today - timedelta(days=4), 960, "USA", unit_usd=41.0),
    )  # fmt: skip
    Imp = ExtraImport
    extra_imports = (
        Imp("EN-AF-SMT-PNP", start + timedelta(days=16), 2), Imp("EN-AF-REFLOW", start + timedelta(days=23), 1),
        Imp("EN-AF-AOI", start + timedelta(days=37), 1), Imp("EN-AF-MOLD-M100", start + timedelta(days=45), 1),
        Imp("EN-AF-SMT-PNP", _month(today, -12) + timedelta(days=8), 1),
        Imp("EN-AF-AOI", _month(today, -5) + timedelta(days=12), 1),  # the repaired machine comes back
    )  # fmt: skip
    return ClientSpec(
        name="electronica-norte",
        title="Electrónica del Norte, S.A. de C.V.",
        start=start,
        end=today,
        parts=parts,
        products=products,
        bom=bom,
        extra_imports=extra_imports,
        extra_exports=extra_exports,
        stranded={
            "EN-CON-TERM-4P": 2,
            "EN-PCB-I500-8L": 3,
            "EN-IC-SOC-I500": 3,
            "EN-LCD-I500-7": 3,
        },
        late_first_lot={"EN-CON-TERM-4PB": 12},
        movements=(
            # regularisation (A3) of half the newest stranded terminal-block lot, naming its line
            Movement("A3", "EN-CON-TERM-4P", today - timedelta(days=12), -1, 0.5, "line"),
            # change of regime (F4) of memory from the newest lot's pedimento, and one left to FIFO
            Movement("F4", "EN-IC-DDR4-8G", today - timedelta(days=70), -1, 0.1, "pedimento"),
            Movement("F4", "EN-PCB-I500-8L", today - timedelta(days=100), 0, 0.3, ""),
            # one of the two pick-and-place machines changes to definitive (F5)
            Movement("F5", "EN-AF-SMT-PNP", today - timedelta(days=40), 0, 0.5, "line"),
            # transformers sold to another IMMEX company (V1), naming the pedimento
            Movement(
                "V1", "EN-TRF-65W", _month(today, -3) + timedelta(days=10), -1, 0.25, "pedimento"
            ),
        ),
        definitive_imports=(
            DefinitiveImport(
                "EN-OFI-PUNTA-CAUTIN",
                "Puntas de cautín (consumible, importación definitiva)",
                "85159099",
                _month(today, -4) + timedelta(days=6),
                200,
                3.5,
            ),
        ),  # fmt: skip
        import_aduana="40",
        export_aduana={
            "USA": "40",
            "CAN": "40",
            "DEU": "40",
            "BRA": "40",
            "MEX": "40",
            "CHN": "40",
            "KOR": "40",
        },
        patentes={"40": "3420", "11": "1664", "47": "3945"},
        vat_certified=True,
        prosec=True,
    )


def _autopartes_bajio(today: date) -> ClientSpec:
    cutover = _month(today, -19)  # high-strength steel moves from a Japanese to a US mill
    eol = _month(today, -16)  # engine-bracket program ends
    P = Part
    parts = (
        P("AB-STL-CR-12", "Lámina de acero rolada en frío en rollo, 1.2 mm", "72091799", "KG", "USA", 0.98, 0.15, prosec_rate=0.05, pack=1000, aduana="24"),
        P("AB-STL-HSLA-20", "Lámina de acero de alta resistencia en rollo, 2.0 mm", "72085299", "KG", "JPN", 1.25, 0.15, prosec_rate=0.05, pack=1000, aduana="51"),
        P("AB-STL-HSLA-20U", "Lámina de acero de alta resistencia en rollo, 2.0 mm (acería EUA)", "72085299", "KG", "USA", 1.31, 0.15, prosec_rate=0.05, pack=1000, aduana="24"),
        P("AB-STL-GALV-08", "Lámina de acero galvanizada, 0.8 mm", "72104999", "KG", "DEU", 1.40, 0.15, prosec_rate=0.05, pack=1000, aduana="43"),
        P("AB-ALU-6061", "Barra de aluminio aleación 6061", "76042999", "KG", "USA", 4.10, 0.10, prosec_rate=0.0, pack=500, aduana="24"),
        P("AB-ALU-ADC12", "Aleación de aluminio ADC12 en lingotes", "76012099", "KG", "CHN", 2.60, 0.05, prosec_rate=0.0, pack=1000, aduana="51"),
        P("AB-RES-PA66GF", "Poliamida 66 con 30 % de fibra de vidrio", "39081001", "KG", "DEU", 3.85, 0.10, prosec_rate=0.0, pack=500, aduana="43"),
        P("AB-RES-PPTD20", "Polipropileno con 20 % de talco", "39021001", "KG", "USA", 1.65, 0.10, prosec_rate=0.0, pack=1000, cadence=2, aduana="24"),
        P("AB-FST-M8", "Tornillo hexagonal con brida M8 x 1.25", "73181599", "PZA", "JPN", 0.065, 0.10, prosec_rate=0.05, pack=5000, cadence=2, aduana="51"),
        P("AB-FST-M6N", "Tuerca soldable M6", "73181699", "PZA", "CHN", 0.021, 0.10, prosec_rate=0.05, pack=10000, cadence=2, aduana="51"),
        P("AB-FST-CLIP", "Grapa de sujeción de plástico", "39269099", "PZA", "CHN", 0.034, 0.15, prosec_rate=0.05, pack=10000, aduana="51"),
        P("AB-BSH-RUB", "Buje de hule-metal", "40169999", "PZA", "JPN", 0.72, 0.10, prosec_rate=0.05, pack=1000, aduana="51"),
        P("AB-BRG-6204", "Rodamiento de bolas 6204", "84821099", "PZA", "JPN", 1.10, 0.05, prosec_rate=0.0, pack=500, aduana="51"),
        P("AB-WLD-ER70", "Alambre para soldar ER70S-6", "72292001", "KG", "USA", 1.90, 0.05, pack=250, aduana="24"),
        P("AB-PNT-ECOAT", "Pintura por electrodeposición (e-coat)", "32089099", "KG", "USA", 6.20, 0.10, pack=200, aduana="24"),
        P("AB-BRK-PNT", "Soporte pintado (proveedor IMMEX nacional)", "87089999", "PZA", "MEX", 1.35, 0.0, pack=500, aduana="64", clave="V1"),
        P("AB-PLT-WOOD", "Tarima de madera tratada", "44152001", "PZA", "USA", 9.50, 0.0, material_type="EE", pack=50, cadence=2, aduana="24"),
        P("AB-BAG-VCI", "Bolsa VCI anticorrosiva", "39232101", "PZA", "USA", 0.08, 0.10, material_type="EE", pack=5000, cadence=2, aduana="24"),
        P("AB-BOX-CORR", "Caja de cartón corrugado reforzada", "48191001", "PZA", "USA", 1.20, 0.10, material_type="EE", pack=500, aduana="24"),
        P("AB-RK-1001", "Rack metálico retornable para estructuras de asiento", "73269099", "PZA", "USA", 850.0, 0.15, material_type="CT", aduana="24"),
        P("AB-RK-0702", "Rack metálico retornable, programa concluido", "73269099", "PZA", "USA", 640.0, 0.15, material_type="CT", aduana="24"),
        P("AB-KLT-6428", "Contenedor plástico retornable KLT 600x400", "39239099", "PZA", "DEU", 28.0, 0.10, material_type="CT", aduana="43"),
        P("AB-AF-PRS-800", "Prensa mecánica de estampado 800 t", "84629999", "PZA", "JPN", 1450000.0, 0.0, material_type="AF", aduana="51"),
        P("AB-AF-PRS-400", "Prensa mecánica de estampado 400 t", "84629999", "PZA", "DEU", 620000.0, 0.0, material_type="AF", aduana="43"),
        P("AB-AF-DIE-BRK", "Troquel progresivo para soporte", "82073001", "PZA", "JPN", 85000.0, 0.0, material_type="AF", aduana="51"),
        P("AB-AF-ROBOT", "Robot industrial de soldadura de 6 ejes", "84795001", "PZA", "JPN", 78000.0, 0.0, material_type="AF", aduana="51"),
        P("AB-AF-INJ-350", "Máquina de moldeo por inyección 350 t", "84771001", "PZA", "CHN", 210000.0, 0.0, material_type="AF", aduana="51"),
    )  # fmt: skip
    products = (
        Product("AB-SFR-220", 62.00, 7000, (("USA", 0.9), ("CAN", 0.1)), shipments=8, multiple=20, us_duty_rate=0.025),
        Product("AB-CTL-310", 28.50, 11000, (("USA", 0.75), ("CAN", 0.1), ("BRA", 0.15)), shipments=8, multiple=40, us_duty_rate=0.025),
        Product("AB-DTR-410", 18.20, 5000, (("DEU", 0.55), ("USA", 0.45)), start=_month(today, -24), shipments=5, multiple=50),
        Product("AB-BKT-150", 11.40, 6000, (("USA", 1.0),), end=eol, shipments=5, multiple=100, us_duty_rate=0.025),
    )  # fmt: skip
    B = BomRow
    old_to = cutover - timedelta(days=1)
    bom = (
        B("AB-SFR-220", "AB-STP-RAIL-220", 2), B("AB-SFR-220", "AB-STP-BRK-220", 4),
        B("AB-SFR-220", "AB-FST-M8", 8, 0.01), B("AB-SFR-220", "AB-FST-M6N", 6, 0.01),
        B("AB-SFR-220", "AB-BSH-RUB", 2), B("AB-SFR-220", "AB-WLD-ER70", 0.12, 0.03),
        B("AB-SFR-220", "AB-PNT-ECOAT", 0.35, 0.04), B("AB-SFR-220", "AB-PLT-WOOD", 0.05),
        B("AB-SFR-220", "AB-BAG-VCI", 1, 0.01),
        B("AB-STP-RAIL-220", "AB-STL-CR-12", 2.4, 0.045),
        B("AB-STP-BRK-220", "AB-STL-HSLA-20", 0.85, 0.05, None, old_to),
        B("AB-STP-BRK-220", "AB-STL-HSLA-20U", 0.85, 0.05, cutover, None),
        B("AB-CTL-310", "AB-STP-ARM-310", 1), B("AB-CTL-310", "AB-CST-KNU-310", 1),
        B("AB-CTL-310", "AB-BSH-RUB", 2), B("AB-CTL-310", "AB-BRG-6204", 1),
        B("AB-CTL-310", "AB-FST-M8", 4, 0.01), B("AB-CTL-310", "AB-PNT-ECOAT", 0.2, 0.04),
        B("AB-CTL-310", "AB-PLT-WOOD", 0.025), B("AB-CTL-310", "AB-BAG-VCI", 1, 0.01),
        B("AB-STP-ARM-310", "AB-STL-HSLA-20", 3.1, 0.045, None, old_to),
        B("AB-STP-ARM-310", "AB-STL-HSLA-20U", 3.1, 0.045, cutover, None),
        B("AB-CST-KNU-310", "AB-ALU-ADC12", 1.6, 0.05),
        B("AB-DTR-410", "AB-STP-DTR-410", 1), B("AB-DTR-410", "AB-RES-PPTD20", 0.6, 0.03),
        B("AB-DTR-410", "AB-FST-M6N", 4, 0.01), B("AB-DTR-410", "AB-BRK-PNT", 2),
        B("AB-DTR-410", "AB-BOX-CORR", 0.1), B("AB-DTR-410", "AB-BAG-VCI", 1, 0.01),
        B("AB-STP-DTR-410", "AB-STL-GALV-08", 1.8, 0.04),
        B("AB-BKT-150", "AB-STP-BKT-150", 1), B("AB-BKT-150", "AB-RES-PA66GF", 0.25, 0.03),
        B("AB-BKT-150", "AB-ALU-6061", 0.4, 0.02), B("AB-BKT-150", "AB-FST-CLIP", 4, 0.01),
        B("AB-BKT-150", "AB-BOX-CORR", 0.05),
        B("AB-STP-BKT-150", "AB-STL-GALV-08", 0.9, 0.04),
    )  # fmt: skip
    start = _history_start(today)
    X = ExtraExport
    extra_exports = (
        X("AB-BSH-RUB", _month(today, -14) + timedelta(days=8), 1200, "JPN"),  # defective bushings
        X("AB-FST-CLIP", _month(today, -18) + timedelta(days=20), 20000, "CHN"),
        X("AB-AF-DIE-BRK", _month(today, -8) + timedelta(days=3), 1, "JPN"),  # die out for rework
        X("AB-STP-BRK-220", _month(today, -10) + timedelta(days=14), 8000, "MEX", "V1", 1.90),
        X("AB-STP-BRK-220", _month(today, -3) + timedelta(days=14), 6000, "MEX", "V1", 1.90),
        X("AB-CTL-320", today - timedelta(days=20), 24, "USA", unit_usd=31.0),  # prototype: no BOM yet
    )  # fmt: skip
    Imp = ExtraImport
    extra_imports = (
        Imp("AB-AF-PRS-800", start + timedelta(days=9), 1), Imp("AB-AF-PRS-400", start + timedelta(days=30), 1),
        Imp("AB-AF-DIE-BRK", start + timedelta(days=30), 2), Imp("AB-AF-ROBOT", start + timedelta(days=51), 4),
        Imp("AB-AF-INJ-350", _month(today, -22) + timedelta(days=6), 1),
        Imp("AB-AF-ROBOT", _month(today, -9) + timedelta(days=20), 2),
        Imp("AB-AF-DIE-BRK", _month(today, -6) + timedelta(days=17), 1),
    )  # fmt: skip
    round_trips = (
        RoundTrip("AB-RK-1001", 3.0, (10, 40), (0.85, 1.0), (10, 45), "USA"),
        RoundTrip("AB-RK-0702", 2.0, (10, 30), (0.55, 0.75), (15, 40), "USA", end=_month(start, 5)),
        RoundTrip("AB-KLT-6428", 1.5, (200, 800), (0.85, 1.0), (30, 90), "DEU"),
    )
    return ClientSpec(
        name="autopartes-bajio",
        title="Autopartes del Bajío, S.A. de C.V.",
        start=start,
        end=today,
        parts=parts,
        products=products,
        bom=bom,
        round_trips=round_trips,
        extra_imports=extra_imports,
        extra_exports=extra_exports,
        stranded={"AB-STL-HSLA-20": 2, "AB-RES-PA66GF": 3, "AB-ALU-6061": 3, "AB-FST-CLIP": 3},
        late_first_lot={"AB-STL-HSLA-20U": 12},
        movements=(
            # regularisation (A3) of the newest stranded steel coil lot, naming its line
            Movement("A3", "AB-STL-HSLA-20", today - timedelta(days=30), -1, 0.5, "line"),
            # change of regime (F4) of clips, naming the pedimento
            Movement("F4", "AB-FST-CLIP", today - timedelta(days=90), -1, 0.2, "pedimento"),
            # resin transferred to another IMMEX company (V1), naming the line
            Movement("V1", "AB-RES-PA66GF", today - timedelta(days=25), -1, 0.3, "line"),
        ),
        import_aduana="24",
        export_aduana={
            "USA": "24",
            "CAN": "24",
            "MEX": "64",
            "DEU": "43",
            "BRA": "43",
            "JPN": "43",
            "CHN": "43",
        },
        patentes={"24": "1697", "43": "3155", "51": "3612", "64": "1697"},
        vat_certified=True,
        prosec=True,
    )


def _textiles_sonora(today: date) -> ClientSpec:
    start = _history_start(today)
    P = Part
    parts = (
        P("TS-DEN-1210", "Tejido de mezclilla de algodón, crudo, 12 oz", "52094201", "M", "USA", 3.20, 0.20),
        P("TS-DEN-1430", "Tejido de mezclilla elástica, 14 oz", "52094201", "M", "PAK", 3.60, 0.20),
        P("TS-TWL-0890", "Tejido de sarga de algodón, 8.9 oz", "52093201", "M", "CHN", 2.40, 0.20),
        P("TS-KNT-160", "Tejido de punto jersey de poliéster", "60063201", "M", "CHN", 2.10, 0.20),
        P("TS-RIP-070", "Tejido de nailon ripstop", "54075201", "M", "KOR", 3.95, 0.10),
        P("TS-CAN-240", "Lona de algodón y poliéster", "52115201", "M", "IND", 2.80, 0.15),
        P("TS-FLC-280", "Tejido de felpa polar (maquila nacional IMMEX)", "60019299", "M", "MEX", 2.90, 0.20, clave="V1"),
        P("TS-CORE-60", "Tubo de cartón para rollo, 60 in", "48221001", "PZA", "USA", 1.10, 0.10, material_type="EE"),
        P("TS-RACK-RL", "Rack metálico retornable para rollos", "73269099", "PZA", "USA", 420.0, 0.15, material_type="CT"),
        P("TS-RACK-OLD", "Rack metálico retornable, modelo anterior", "73269099", "PZA", "USA", 380.0, 0.15, material_type="CT"),
        P("TS-DYE-IND", "Colorante índigo sintético", "32041501", "KG", "DEU", 9.80, 0.05),
        P("TS-ENZ-CEL", "Enzima celulasa para acabado de mezclilla", "35079099", "KG", "DNK", 14.50, 0.05),
        P("TS-SOF-SIL", "Suavizante de silicón para textiles", "34029099", "KG", "USA", 4.30, 0.10),
        P("TS-AF-STENTER", "Rama tensora de 8 campos", "84514099", "PZA", "DEU", 540000.0, 0.0, material_type="AF"),
        P("TS-AF-JET", "Máquina de teñido tipo jet", "84514099", "PZA", "ITA", 310000.0, 0.0, material_type="AF"),
        P("TS-AF-LASER", "Equipo láser para acabado de mezclilla", "84561199", "PZA", "ESP", 180000.0, 0.0, material_type="AF"),
    )  # fmt: skip
    late_style = _month(today, -6)
    R = RoundTrip
    round_trips = (
        R("TS-DEN-1210", 2.0, (3000, 12000), (0.96, 1.0), (15, 75), "USA"),
        R("TS-DEN-1430", 1.5, (2000, 9000), (0.96, 1.0), (15, 75), "USA"),
        R("TS-TWL-0890", 1.2, (2000, 8000), (0.96, 1.0), (20, 70), "USA"),
        R("TS-KNT-160", 1.0, (2000, 6000), (0.95, 1.0), (15, 60), "CAN"),
        R("TS-RIP-070", 1.0, (1500, 5000), (0.97, 1.0), (15, 60), "USA", start=late_style),
        R("TS-CAN-240", 0.8, (1500, 6000), (0.96, 1.0), (20, 75), "USA"),
        R("TS-FLC-280", 0.7, (2000, 7000), (0.96, 1.0), (15, 50), "MEX", export_clave="V1"),
        R("TS-CORE-60", 2.5, (100, 400), (0.9, 1.0), (15, 75), "USA"),
        R("TS-RACK-RL", 1.5, (6, 20), (0.85, 1.0), (10, 45), "USA"),
        R("TS-RACK-OLD", 1.5, (6, 20), (0.5, 0.7), (10, 45), "USA", end=_month(start, 4)),
        R("TS-DYE-IND", 1.0, (400, 1200), (0.0, 0.0), step=25),
        R("TS-ENZ-CEL", 0.5, (100, 400), (0.0, 0.0), step=25),
        R("TS-SOF-SIL", 0.5, (200, 800), (0.0, 0.0), step=20),
    )  # fmt: skip
    X = ExtraExport
    extra_exports = (
        X("TS-RIP-070", late_style - timedelta(days=3), 1200, "USA"),  # returned before the style's first lot
        X("TS-DEN-1210-B", _month(today, -3) + timedelta(days=9), 850, "USA", uom="M", unit_usd=3.20),  # typo
        X("TS-AF-JET", _month(today, -2) + timedelta(days=5), 1, "ITA"),  # machine back to the maker
    )  # fmt: skip
    Imp = ExtraImport
    extra_imports = (
        Imp("TS-AF-STENTER", start + timedelta(days=14), 1), Imp("TS-AF-JET", start + timedelta(days=44), 2),
        Imp("TS-AF-LASER", _month(today, -15) + timedelta(days=7), 1),
    )  # fmt: skip
    return ClientSpec(
        name="textiles-sonora",
        title="Textiles de Sonora, S.A. de C.V.",
        start=start,
        end=today,
        parts=parts,
        round_trips=round_trips,
        extra_imports=extra_imports,
        extra_exports=extra_exports,
        import_aduana="23",
        export_aduana={"USA": "23", "CAN": "23", "MEX": "23", "ITA": "23"},
        patentes={"23": "3006"},
        movements=(
            # regularisation (A3) of half the oldest indigo dye lot, naming its line
            Movement("A3", "TS-DYE-IND", today - timedelta(days=35), 0, 0.5, "line"),
            # enzymes changed to definitive (F4), left to FIFO
            Movement("F4", "TS-ENZ-CEL", today - timedelta(days=60), 0, 0.3, ""),
        ),
        vat_certified=False,
        prosec=False,
        has_bom=False,
    )


# --------------------------------------------------------------------------- writing
def _csv_text(df: pd.DataFrame) -> str:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif isinstance(out[col].dtype, pd.BooleanDtype):
            out[col] = out[col].map({True: "true", False: "false"}).astype("object")
    if "import_line" in out.columns:  # 0 = no line named: a blank cell
        out["import_line"] = out["import_line"].astype("object").where(out["import_line"] > 0, "")
    return out.to_csv(index=False, lineterminator="\n", float_format="%.12g")


def _write_csv(df: pd.DataFrame, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(_csv_text(df).encode("utf-8"))
        tmp.chmod(0o644)  # a data file to share and commit, not a private temp file
    return target


def _toml_text(spec: ClientSpec) -> str:
    def b(x: bool) -> str:
        return "true" if x else "false"

    return (
        "# Client settings for immex-nb (synthetic demo client; see data/README.md)\n"
        f'name = "{spec.title}"\n'
        f"vat_certified = {b(spec.vat_certified)}\n"
        f"prosec = {b(spec.prosec)}\n"
        f"oea = {b(spec.oea)}\n"
        f'deadline_rule = "{spec.deadline_rule}"\n'
        f"fine_rate = {spec.fine_rate!r}\n"
    )


def write_demo(root: str | Path = DEMO_ROOT, today: date = DEMO_TODAY) -> list[Path]:
    """(Re)write the demo client folders under ``root``; returns the files written."""
    root = Path(root)
    written: list[Path] = []
    for spec, seed in demo_specs(today):
        folder = root / spec.name
        tables = generate_client(spec, seed)
        written.append(_write_csv(tables["imports"], folder / "imports.csv"))
        written.append(_write_csv(tables["exports"], folder / "exports.csv"))
        if spec.has_bom:
            written.append(_write_csv(tables["bom"], folder / "bom.csv"))
        else:
            (folder / "bom.csv").unlink(missing_ok=True)
        toml = write_text(folder / "client.toml", _toml_text(spec))
        toml.chmod(0o644)
        written.append(toml)
    return written


# --------------------------------------------------------------------------- benchmark ledger
def big_client(
    n_imports: int = 300_000,
    n_exports: int | None = None,
    seed: int = 0,
    *,
    today: date = DEMO_TODAY,
    directed_share: float = 0.0,
) -> dict[str, pd.DataFrame]:
    """A large synthetic ledger for benchmarks and scaling curves, numpy only.

    ``n_exports`` defaults to ``0.4 × n_imports`` (120,000 for 300,000).
    Finished goods ``FG*`` hold 3 sub-assemblies ``SA*`` and 6 direct
    components; each sub-assembly holds 6 components ``C*``; a tenth of the
    finished goods change one direct component 12 months before ``today``.
    Every export line explodes into about 24 consumptions (distinct leaves
    after paths are summed), so 120,000 export lines give about 2.9 million.
    Import quantities cover the exploded need (+3 %) spread over each
    component's lots; imports run from 29 months before ``today``, exports
    from a month later.  ``directed_share`` of the export lines (default none)
    are directed discharges (docs/rules/discharge.md): each names the pedimento
    of one of the 4 latest import lines, dated on or before the exit, of one of
    its direct components, and half of them that line too."""
    if n_imports < 1:
        raise ValueError(f"n_imports must be ≥ 1, got {n_imports}")
    n_exports = max(1, int(n_imports * 0.4)) if n_exports is None else int(n_exports)
    if n_exports < 1:
        raise ValueError(f"n_exports must be ≥ 1, got {n_exports}")
    rng = np.random.default_rng(seed)
    n_fg = max(5, n_exports // 600)
    n_sa = max(6, 2 * n_fg)
    n_comp = max(60, n_imports // 100)
    cutover = _d64(_month(today, -12))

    fg_names = _codes("FG", n_fg)
    sa_names = _codes("SA", n_sa)
    comp_names = _codes("C", n_comp)

    # BOM ------------------------------------------------------------------
    k_sa, k_dir, k_comp = 3, 6, 6
    sa_start = rng.integers(0, n_sa, n_fg)
    sa_stride = rng.integers(1, max(2, n_sa // k_sa), n_fg)
    fg_sa = (sa_start[:, None] + np.arange(k_sa) * sa_stride[:, None]) % n_sa
    d_start = rng.integers(0, n_comp, n_fg)
    d_stride = rng.integers(1, max(2, n_comp // (k_dir + 1)), n_fg)
    fg_dir = (
        d_start[:, None] + np.arange(k_dir + 1) * d_stride[:, None]
    ) % n_comp  # last: replacement
    c_start = rng.integers(0, n_comp, n_sa)
    c_stride = rng.integers(1, max(2, n_comp // k_comp), n_sa)
    sa_comp = (c_start[:, None] + np.arange(k_comp) * c_stride[:, None]) % n_comp
    scrap_choices = np.array([0.0, 0.01, 0.02, 0.03, 0.05])
    qty_choices = np.array([0.25, 0.5, 1.0, 1.0, 2.0, 4.0])
    changed = rng.random(n_fg) < 0.10

    parent = np.concatenate([np.repeat(fg_names, k_sa), np.repeat(fg_names, k_dir), np.repeat(sa_names, k_comp),
                             fg_names[changed]])  # fmt: skip
    component = np.concatenate([sa_names[fg_sa.ravel()], comp_names[fg_dir[:, :k_dir].ravel()],
                                comp_names[sa_comp.ravel()], comp_names[fg_dir[changed, k_dir]]])  # fmt: skip
    n_rows = len(parent)
    n_sa_rows = n_fg * k_sa
    qty_per = rng.choice(qty_choices, n_rows)
    qty_per[:n_sa_rows] = 1.0
    scrap = rng.choice(scrap_choices, n_rows)
    valid_from = np.full(n_rows, np.datetime64("NaT"), dtype="datetime64[D]")
    valid_to = np.full(n_rows, np.datetime64("NaT"), dtype="datetime64[D]")
    # the changed FG's first direct component ends the day before the cut-over …
    first_direct = n_sa_rows + np.flatnonzero(changed) * k_dir
    valid_to[first_direct] = cutover - 1
    # … and its replacement (the last rows) starts on it
    valid_from[n_rows - changed.sum() :] = cutover
    bom = pd.DataFrame({"parent": parent, "component": component, "qty_per": qty_per, "scrap_rate": scrap,
                        "valid_from": valid_from.astype("datetime64[ns]"),
                        "valid_to": valid_to.astype("datetime64[ns]")})  # fmt: skip

    # exports ---------------------------------------------------------------
    weights = 1.0 / np.arange(1, n_fg + 1) ** 0.6
    fg_of_line = rng.choice(n_fg, n_exports, p=weights / weights.sum())
    export_days = _business_days(_month(today, -28), today)
    e_dates, e_ped, e_line = _pedimento_layout(rng, n_exports, export_days, max_lines=12)
    e_qty = rng.integers(10, 501, n_exports).astype("float64")
    fg_price = np.round(rng.uniform(8, 400, n_fg), 2)
    dest = rng.choice(np.array(["USA", "CAN", "DEU", "BRA"]), n_exports, p=[0.8, 0.1, 0.06, 0.04])
    e_value = np.round(e_qty * fg_price[fg_of_line], 2)
    duty = np.where(
        (dest == "USA") & (rng.random(n_exports) < 0.3), np.round(e_value * 0.025, 2), np.nan
    )
    exports = pd.DataFrame({
        "pedimento": _pedimento_numbers(rng, e_dates, e_ped, "24", "1697", offset=500_000),
        "line": e_line, "clave": "RT", "date": e_dates.astype("datetime64[ns]"),
        "part_number": fg_names[fg_of_line], "quantity": e_qty, "uom": "PZA",
        "value_usd": e_value, "destination": dest, "us_duty_paid_usd": duty,
    })  # fmt: skip

    # need per component (all BOM rows, ignoring validity: a slight over-plan) -------
    units_per_fg = np.bincount(fg_of_line, weights=e_qty, minlength=n_fg)
    gross = qty_per * (1.0 + scrap)
    sa_units = np.bincount(
        fg_sa.ravel(), weights=np.repeat(units_per_fg, k_sa) * gross[:n_sa_rows], minlength=n_sa
    )
    need = np.zeros(n_comp)
    np.add.at(
        need,
        fg_dir[:, :k_dir].ravel(),
        np.repeat(units_per_fg, k_dir) * gross[n_sa_rows : n_sa_rows + n_fg * k_dir],
    )
    sa_lo = n_sa_rows + n_fg * k_dir
    np.add.at(
        need, sa_comp.ravel(), np.repeat(sa_units, k_comp) * gross[sa_lo : sa_lo + n_sa * k_comp]
    )
    np.add.at(need, fg_dir[changed, k_dir], units_per_fg[changed] * gross[n_rows - changed.sum() :])

    # imports ---------------------------------------------------------------
    comp_of_line = np.concatenate(
        [np.arange(n_comp), rng.integers(0, n_comp, max(0, n_imports - n_comp))]
    )[:n_imports]
    rng.shuffle(comp_of_line)
    import_days = _business_days(_history_start(today), today - timedelta(days=15))
    i_dates, i_ped, i_line = _pedimento_layout(rng, n_imports, import_days, max_lines=15)
    w = rng.gamma(4.0, 1.0, n_imports)
    w_sum = np.bincount(comp_of_line, weights=w, minlength=n_comp)
    i_qty = np.maximum(np.round(need[comp_of_line] * 1.03 * w / w_sum[comp_of_line], 3), 1.0)
    unit_usd = np.round(rng.lognormal(0.0, 1.2, n_comp), 4)
    i_usd = np.round(i_qty * unit_usd[comp_of_line], 2)
    origins = np.array(["CHN", "TWN", "KOR", "JPN", "VNM", "USA", "DEU", "MEX"])
    comp_origin = rng.choice(origins, n_comp, p=[0.3, 0.15, 0.1, 0.1, 0.05, 0.2, 0.05, 0.05])
    comp_type = rng.choice(np.array(["MP", "EE"]), n_comp, p=[0.93, 0.07])
    comp_igi = rng.choice(
        np.array([0.0, 0.05, 0.10, 0.15, 0.20, 0.35]), n_comp, p=[0.4, 0.15, 0.2, 0.15, 0.07, 0.03]
    )
    comp_prosec = np.where(
        rng.random(n_comp) < 0.4, rng.choice(np.array([0.0, 0.05]), n_comp), np.nan
    )
    comp_prosec = np.where(np.isnan(comp_prosec), np.nan, np.minimum(comp_prosec, comp_igi))
    fracciones = np.array(
        [
            "85423101",
            "85322401",
            "85366999",
            "39269099",
            "73181599",
            "48191001",
            "85340001",
            "39074001",
        ]
    )
    comp_fraccion = rng.choice(fracciones, n_comp)
    comp_desc = np.char.add("Componente ", comp_names)
    origin = comp_origin[comp_of_line]
    imports = pd.DataFrame({
        "pedimento": _pedimento_numbers(rng, i_dates, i_ped, "40", "3420", offset=0),
        "line": i_line, "clave": "IN", "date": i_dates.astype("datetime64[ns]"),
        "part_number": comp_names[comp_of_line], "description": comp_desc[comp_of_line],
        "fraccion": comp_fraccion[comp_of_line], "uom": "PZA", "quantity": i_qty, "value_usd": i_usd,
        "value_mxn": np.round(i_usd * exchange_rate(i_dates), 2), "origin": origin,
        "material_type": comp_type[comp_of_line], "igi_rate": comp_igi[comp_of_line],
        "prosec_rate": comp_prosec[comp_of_line],
        "usmca_originating": pd.array(np.isin(origin, USMCA_COUNTRIES), dtype="boolean"),
    })  # fmt: skip
    exports["import_pedimento"], exports["import_line"] = "", 0
    if directed_share > 0:
        _direct_some(
            exports, imports, fg_dir[fg_of_line, :k_dir], comp_of_line, directed_share, seed
        )
    return {
        "imports": _canonical(imports, "imports"),
        "exports": _canonical(exports, "exports"),
        "bom": _canonical(bom, "bom"),
    }


def _direct_some(exports, imports, direct_comps, comp_of_line, share: float, seed: int) -> None:
    """Make ``share`` of the export lines name an earlier import line of one of
    their direct components (in place; numpy only)."""
    rng = _rng(seed, "directed")
    rows = np.flatnonzero(rng.random(len(exports)) < share)
    comp = direct_comps[rows, rng.integers(0, direct_comps.shape[1], len(rows))]
    i_day = imports["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    order = np.lexsort((i_day, comp_of_line))
    key = comp_of_line[order].astype(np.int64) << 32 | i_day[order]
    e_day = exports["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)[rows]
    lo = np.searchsorted(key, comp.astype(np.int64) << 32, side="left")
    hi = np.searchsorted(key, comp.astype(np.int64) << 32 | e_day, side="right")
    ok = hi > lo
    rows, lo, hi = rows[ok], lo[ok], hi[ok]
    lo = np.maximum(lo, hi - 4)  # one of the 4 latest lots: most likely still holding something
    pick = order[lo + (rng.random(len(rows)) * (hi - lo)).astype(np.int64)]
    named = exports["import_pedimento"].to_numpy(dtype=object).copy()
    named[rows] = imports["pedimento"].to_numpy(dtype=object)[pick]
    line = exports["import_line"].to_numpy(dtype=np.int64).copy()
    with_line = rng.random(len(rows)) < 0.5
    line[rows[with_line]] = imports["line"].to_numpy(dtype=np.int64)[pick[with_line]]
    exports["import_pedimento"], exports["import_line"] = named, line


def _codes(prefix: str, n: int) -> np.ndarray:
    width = max(4, len(str(n)))
    return (
        np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))
        .astype(object)
        .astype(str)
    )


def _pedimento_layout(rng: np.random.Generator, n: int, days: np.ndarray, max_lines: int):
    """Dates, pedimento index and line number for ``n`` lines: pedimentos of
    1…``max_lines`` lines on sorted random days."""
    sizes = rng.integers(1, max_lines + 1, n // 2 + 2)
    ends = np.cumsum(sizes)
    n_ped = int(np.searchsorted(ends, n)) + 1
    ends = ends[:n_ped]
    ped = np.searchsorted(ends, np.arange(n), side="right")
    line = np.arange(n) - np.concatenate([[0], ends[:-1]])[ped] + 1
    ped_days = np.sort(rng.choice(days, n_ped))
    return ped_days[ped], ped, line.astype("int64")


def _pedimento_numbers(
    rng, dates: np.ndarray, ped: np.ndarray, aduana: str, patente: str, offset: int
) -> np.ndarray:
    """``YY AA PPPP YNNNNNN`` per pedimento index, sequence rising within each year."""
    n_ped = int(ped.max()) + 1
    first = np.searchsorted(ped, np.arange(n_ped))  # ped is sorted: first line of each
    years = dates[first].astype("datetime64[Y]").astype(np.int64) + 1970
    order = np.argsort(years, kind="stable")
    ys = years[order]
    rank = np.arange(n_ped) - np.searchsorted(ys, ys)
    seq = np.empty(n_ped, dtype=np.int64)
    seq[order] = rank * 2 + rng.integers(0, 2, n_ped)[order] + 1000 + offset
    if seq.max() >= 1_000_000:
        raise ValueError("too many pedimentos in one year for a 6-digit sequence")
    numbers = (
        pd.Series(years % 100).astype(str).str.zfill(2)
        + f" {aduana} {patente} "
        + pd.Series(years % 10).astype(str)
        + pd.Series(seq).astype(str).str.zfill(6)
    ).to_numpy()
    return numbers[ped]


# --------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m immex_nb.samples.demo", description="(Re)write the synthetic demo clients."
    )
    parser.add_argument(
        "--root", default=str(DEMO_ROOT), help="folder for the client folders (default: data/demo)"
    )
    parser.add_argument("--today", type=date.fromisoformat, default=DEMO_TODAY,
                        help="last day of the history, YYYY-MM-DD (default: 2026-11-30)")  # fmt: skip
    args = parser.parse_args(argv)
    files = write_demo(args.root, args.today)
    for path in files:
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
