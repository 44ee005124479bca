"""Compulsa: the client's Anexo 24 held against the SAT Data Stage.

An audit starts by comparing what the company says it imported and exported
(Anexo 24, the canonical ``imports``/``exports``) with what the authority
recorded (Data Stage 501/506/551).  Anexo 24 lines are summed by pedimento and
fracción (first 8 digits) and compared with the 551 partidas of the latest
version of each pedimento (a rectification replaces what it corrects; an
Anexo 24 that still quotes the original number is matched through the 701
chain).  Example::

    Anexo 24: 25 47 3420 5000001, fracción 85366999, lines 1+2 = 600 pieces, 10,000 MXN
    Data Stage 551: same pedimento, partidas 1+2 = 600 pieces, 10,500 MXN
    → one row: issue value_mismatch, anexo24_value_mxn 10000, datastage_value_mxn 10500

Issues (one row each, ``fraccion`` blank for pedimento-level issues):

* ``missing_in_datastage`` — an Anexo 24 pedimento (or fracción of it) SAT does
  not have; only pedimentos dated inside the request period are checked;
* ``missing_in_anexo24`` — a Data Stage pedimento (or fracción) Anexo 24 lacks;
* ``clave_mismatch`` — Anexo 24 clave ≠ 501 ``ClaveDocumento``;
* ``date_mismatch`` — the Anexo 24 date is neither the entry date (506 type 1;
  presentación, type 5, for exports) nor the payment date, ± ``date_tolerance_days``;
* ``quantity_mismatch`` — Σ quantity ≠ Σ ``CantidadUMComercial``;
* ``value_mismatch`` — imports: Σ ``value_mxn`` ≠ Σ ``ValorAduana``
  (Σ ``value_usd`` ≠ Σ ``ValorDolares`` when Anexo 24 has no MXN value);
  exports: Σ ``value_usd`` ≠ Σ ``ValorDolares``.

Tolerances are absolute and per partida, because SAT rounds each partida
(``ValorAduana`` to the peso, ``CantidadUMComercial`` to 3 decimals): a group of
``n`` partidas may differ by ``n × qty_tolerance`` units and ``n × value_tolerance``
in the currency compared.  When Anexo 24 carries no fracción for a pedimento
(exports often do not), that pedimento is compared as a whole, ``fraccion`` blank.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from immex_nb.datastage.reader import DataStage, lookup
from immex_nb.text import t

ISSUES = (
    "missing_in_datastage",
    "missing_in_anexo24",
    "clave_mismatch",
    "date_mismatch",
    "quantity_mismatch",
    "value_mismatch",
)
COLUMNS = [
    "pedimento",
    "fraccion",
    "issue",
    "anexo24_quantity",
    "datastage_quantity",
    "anexo24_value_mxn",
    "datastage_value_mxn",
    "anexo24_value_usd",
    "datastage_value_usd",
    "anexo24_clave",
    "datastage_clave",
    "anexo24_date",
    "datastage_date",
    "flow",
    "datastage_pedimento",
    "anexo24_lines",
    "datastage_partidas",
    "detail",
]
NUMERIC_COLUMNS = [c for c in COLUMNS if c.endswith(("_quantity", "_value_mxn", "_value_usd"))]


def _fraccion8(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    return digits[:8] if len(digits) >= 8 else ""


def _anexo24(imports: pd.DataFrame, exports: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for df, flow in ((imports, "import"), (exports, "export")):
        if df is None or df.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "pedimento": df["pedimento"].astype("str"),
                    "flow": flow,
                    "clave": df["clave"].astype("str").str.strip().str.upper(),
                    "date": pd.to_datetime(df["date"]).dt.normalize(),
                    "fraccion": df["fraccion"].map(_fraccion8) if "fraccion" in df else "",
                    "quantity": df["quantity"].astype("float64"),
                    "value_mxn": df["value_mxn"].astype("float64") if "value_mxn" in df else np.nan,
                    "value_usd": df["value_usd"].astype("float64") if "value_usd" in df else np.nan,
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=[
                "pedimento",
                "flow",
                "clave",
                "date",
                "fraccion",
                "quantity",
                "value_mxn",
                "value_usd",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def _resolver(ds: DataStage) -> dict[str, str]:
    """Any pedimento number known to the Data Stage → its latest version."""
    m = dict(zip(ds.index["pedimento"], ds.index["latest"], strict=True))
    for prev, latest in zip(ds.chain["pedimento_anterior"], ds.chain["latest"], strict=True):
        m.setdefault(prev, latest)
    for new, latest in zip(ds.chain["pedimento"], ds.chain["latest"], strict=True):
        m.setdefault(new, latest)
    return m


def _datastage_side(ds: DataStage) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pedimento-level facts, partida sums by pedimento + fracción) for latest versions."""
    idx = ds.index[ds.index["is_latest"]].drop_duplicates("pedimento", keep="last")
    f = ds.with_pedimento("506")
    peds = pd.DataFrame(
        {
            "pedimento": idx["pedimento"],
            "clave": idx["clave"],
            "flow": np.where(idx["tipo_operacion"] == "2", "export", "import"),
            "fecha_pago": idx["fecha_pago"].dt.normalize(),
        }
    ).set_index("pedimento")
    for tipo, name in (("1", "fecha_entrada"), ("5", "fecha_presentacion")):
        sub = (
            f[f["TipoFecha"] == tipo]
            .drop_duplicates("pedimento", keep="last")
            .set_index("pedimento")["FechaOperacion"]
        )
        peds[name] = lookup(peds.index.to_series(), sub).astype("datetime64[ns]").to_numpy()
    p = ds.with_pedimento("551", latest_only=True)
    p = p[p["pedimento"].isin(peds.index)]
    sums = (
        p.groupby(["pedimento", "Fraccion"], as_index=False)
        .agg(
            quantity=("CantidadUMComercial", "sum"),
            valor_aduana=("ValorAduana", "sum"),
            valor_comercial=("ValorComercial", "sum"),
            value_usd=("ValorDolares", "sum"),
            partidas=("SecuenciaFraccion", "size"),
        )
        .rename(columns={"Fraccion": "fraccion"})
    )
    return peds, sums


def _detail(key: str, **fields) -> str:
    """A finding's detail: the English of ``compulsa_detail.<key>``
    (immex_nb/data/text/datastage.csv, its Spanish beside it)."""
    return t(f"compulsa_detail.{key}", "en", **fields)


def _claves(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per group of ``keys`` (index: the keys), its distinct claves sorted and
    joined by commas: ``"IN,ITE"``."""
    d = frame[[*keys, "clave"]].drop_duplicates().sort_values([*keys, "clave"])
    first = ~d.duplicated(keys).to_numpy()  # sorted: a group's first row starts it
    starts = np.flatnonzero(first)
    texts = d["clave"].to_numpy(dtype=object)
    joined = [",".join(texts[a:b]) for a, b in zip(starts, [*starts[1:], len(d)], strict=True)]
    return pd.Series(joined, index=pd.MultiIndex.from_frame(d.loc[first, keys]), dtype=object)


def compulsa(
    imports: pd.DataFrame,
    exports: pd.DataFrame,
    datastage: DataStage,
    *,
    qty_tolerance: float = 0.001,
    value_tolerance: float = 1.0,
    date_tolerance_days: int = 0,
    claves: Iterable[str] | None = None,
    in_period_only: bool = True,
) -> pd.DataFrame:
    """Differences between Anexo 24 and the Data Stage, one row per finding
    (columns :data:`COLUMNS`), sorted by pedimento, fracción and issue.

    ``claves`` limits ``missing_in_anexo24`` to Data Stage pedimentos with those
    claves (for example the IMMEX ones when the request also holds definitive
    imports that Anexo 24 does not control); ``in_period_only`` ignores Anexo 24
    pedimentos dated outside the request period that SAT does not hold.
    """
    a24 = _anexo24(imports, exports)
    clave_set = None if claves is None else {str(c).upper() for c in claves}
    ds_peds, ds_sums = _datastage_side(datastage)
    resolve = _resolver(datastage)
    a24["datastage_pedimento"] = (
        a24["pedimento"].map(resolve).fillna(a24["pedimento"]).astype("str")
    )
    lo, hi = datastage.period()
    if in_period_only and lo is not None and hi is not None:
        inside = a24["date"].between(lo, hi) | a24["datastage_pedimento"].isin(ds_peds.index)
        a24 = a24[inside]
    rows: list[pd.DataFrame] = []
    sum_cols = ["quantity", "valor_aduana", "valor_comercial", "value_usd", "partidas"]

    # a pedimento whose Anexo 24 lines all lack a fracción is compared as a whole
    whole = (a24["fraccion"] == "").groupby(a24["pedimento"]).transform("all").astype(bool)
    a24.loc[whole, "fraccion"] = ""
    keys = ["pedimento", "datastage_pedimento", "flow", "fraccion"]
    by = a24.groupby(keys, sort=True)
    groups = by.agg(
        anexo24_quantity=("quantity", "sum"),
        anexo24_lines=("quantity", "size"),
        anexo24_date=("date", "min"),
    )
    values = by[["value_mxn", "value_usd"]].sum(min_count=1)  # no value at all stays empty
    groups["anexo24_value_mxn"] = values["value_mxn"]
    groups["anexo24_value_usd"] = values["value_usd"]
    groups["anexo24_clave"] = _claves(a24, keys)
    groups = groups.reset_index()[
        [*keys, "anexo24_quantity", "anexo24_value_mxn", "anexo24_value_usd", "anexo24_lines",
         "anexo24_clave", "anexo24_date"]
    ]  # fmt: skip
    present = groups["datastage_pedimento"].isin(ds_peds.index)

    # 1. whole pedimentos SAT does not have
    gone = groups[~present].assign(
        issue="missing_in_datastage", detail=_detail("ped_not_in_datastage")
    )
    rows.append(gone)

    # 2. pedimento level: clave and date
    inner = a24[a24["datastage_pedimento"].isin(ds_peds.index)]
    peds = inner.groupby(keys[:3], sort=True).agg(anexo24_date=("date", "min"))
    peds.insert(0, "anexo24_clave", _claves(inner, keys[:3]))
    peds = peds.reset_index()
    facts = ds_peds.reindex(peds["datastage_pedimento"]).reset_index(drop=True)
    peds["datastage_clave"] = facts["clave"].to_numpy()
    bad_clave = peds[peds["anexo24_clave"] != peds["datastage_clave"]]
    rows.append(
        bad_clave.assign(
            fraccion="",
            issue="clave_mismatch",
            detail=[
                _detail("clave", anexo24=a, datastage=d)
                for a, d in zip(
                    bad_clave["anexo24_clave"], bad_clave["datastage_clave"], strict=True
                )
            ],
        ).drop(columns="anexo24_date")
    )
    primary = facts["fecha_presentacion"].where(peds["flow"] == "export", facts["fecha_entrada"])
    pay = facts["fecha_pago"]
    tol = pd.Timedelta(days=date_tolerance_days)
    d1 = (peds["anexo24_date"] - primary.to_numpy()).abs()
    d2 = (peds["anexo24_date"] - pay.to_numpy()).abs()
    far = ~((d1 <= tol).fillna(False) | (d2 <= tol).fillna(False)) & (
        primary.notna().to_numpy() | pay.notna().to_numpy()
    )
    shown = primary.where(primary.notna(), pay).to_numpy()
    bad_date = peds.assign(datastage_date=shown)[far.to_numpy()]
    rows.append(
        bad_date.assign(
            fraccion="",
            issue="date_mismatch",
            detail=[
                _detail(
                    "date", anexo24=f"{a:%Y-%m-%d}", entry=f"{e:%Y-%m-%d}", payment=f"{p:%Y-%m-%d}"
                )
                if not pd.isna(e)
                else _detail("date_no_entry", anexo24=f"{a:%Y-%m-%d}", payment=f"{p:%Y-%m-%d}")
                for a, e, p in zip(
                    bad_date["anexo24_date"],
                    primary[far.to_numpy()],
                    pay[far.to_numpy()],
                    strict=True,
                )
            ],
        ).drop(columns=["anexo24_clave"])
    )

    # 3. fracción level, for pedimentos both sides hold
    seen = groups.loc[present, ["pedimento", "datastage_pedimento", "flow"]].drop_duplicates(
        "datastage_pedimento"
    )
    whole_ds = set(groups.loc[present & (groups["fraccion"] == ""), "datastage_pedimento"])
    d = ds_sums[ds_sums["pedimento"].isin(seen["datastage_pedimento"])].rename(
        columns={"pedimento": "datastage_pedimento"}
    )
    d.loc[d["datastage_pedimento"].isin(whole_ds), "fraccion"] = ""
    d = d.groupby(["datastage_pedimento", "fraccion"], as_index=False)[sum_cols].sum()
    d = d.merge(seen, on="datastage_pedimento", how="left")
    m = groups[present].merge(
        d, on=["pedimento", "datastage_pedimento", "flow", "fraccion"], how="outer", indicator=True
    )
    m = m.assign(
        datastage_quantity=m["quantity"],
        datastage_value_mxn=m["valor_comercial"].where(m["flow"] == "export", m["valor_aduana"]),
        datastage_value_usd=m["value_usd"],
        datastage_partidas=m["partidas"],
    )
    rows.append(
        m[m["_merge"] == "left_only"].assign(
            issue="missing_in_datastage", detail=_detail("fraccion_not_in_datastage")
        )
    )
    rows.append(
        m[m["_merge"] == "right_only"].assign(
            issue="missing_in_anexo24", detail=_detail("fraccion_not_in_anexo24")
        )
    )
    both = m[m["_merge"] == "both"]
    n = both["partidas"].clip(lower=1)
    dq = both["datastage_quantity"] - both["anexo24_quantity"]
    qbad = both[dq.abs() > n * qty_tolerance + 1e-9]
    rows.append(
        qbad.assign(
            issue="quantity_mismatch",
            detail=[_detail("quantity", difference=f"{x:+.3f}") for x in dq[qbad.index]],
        )
    )
    use_mxn = (both["flow"] == "import") & both["anexo24_value_mxn"].notna()
    a_val = both["anexo24_value_mxn"].where(use_mxn, both["anexo24_value_usd"])
    d_val = both["valor_aduana"].where(use_mxn, both["value_usd"])
    vbad_mask = a_val.notna() & ((a_val - d_val).abs() > n * value_tolerance + 1e-9)
    vbad = both[vbad_mask]
    cur = use_mxn[vbad_mask].map({True: "MXN", False: "USD"})
    rows.append(
        vbad.assign(
            issue="value_mismatch",
            detail=[
                _detail("value", difference=f"{x:+,.2f}", currency=c)
                for x, c in zip((d_val - a_val)[vbad_mask], cur, strict=True)
            ],
        )
    )

    # 4. Data Stage pedimentos Anexo 24 does not have
    missing = ds_peds.index.difference(pd.Index(seen["datastage_pedimento"]))
    if clave_set is not None:
        missing = missing[ds_peds.loc[missing, "clave"].isin(clave_set).to_numpy()]
    extra = ds_sums[ds_sums["pedimento"].isin(missing)]
    facts = ds_peds.reindex(extra["pedimento"]).reset_index(drop=True)
    rows.append(
        pd.DataFrame(
            {
                "pedimento": extra["pedimento"].to_numpy(),
                "fraccion": extra["fraccion"].to_numpy(),
                "issue": "missing_in_anexo24",
                "flow": facts["flow"].to_numpy(),
                "datastage_pedimento": extra["pedimento"].to_numpy(),
                "datastage_quantity": extra["quantity"].to_numpy(),
                "datastage_value_mxn": np.where(
                    facts["flow"] == "export", extra["valor_comercial"], extra["valor_aduana"]
                ),
                "datastage_value_usd": extra["value_usd"].to_numpy(),
                "datastage_clave": facts["clave"].to_numpy(),
                "datastage_date": facts["fecha_pago"].to_numpy(),
                "datastage_partidas": extra["partidas"].to_numpy(),
                "detail": _detail("ped_not_in_anexo24"),
            }
        )
    )
    bare = missing.difference(pd.Index(extra["pedimento"]))
    facts = ds_peds.reindex(bare).rename_axis("pedimento").reset_index()
    rows.append(
        pd.DataFrame(
            {
                "pedimento": facts["pedimento"],
                "fraccion": "",
                "issue": "missing_in_anexo24",
                "flow": facts["flow"],
                "datastage_pedimento": facts["pedimento"],
                "datastage_clave": facts["clave"],
                "datastage_date": facts["fecha_pago"],
                "detail": _detail("ped_bare_not_in_anexo24"),
            }
        )
    )
    return _frame([r for r in rows if len(r)])


def _frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    out = (
        pd.concat([p.reindex(columns=COLUMNS) for p in parts], ignore_index=True)
        if parts
        else pd.DataFrame(columns=COLUMNS)
    )
    for col in NUMERIC_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in ("anexo24_lines", "datastage_partidas"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    for col in ("anexo24_date", "datastage_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    for col in (
        "pedimento",
        "fraccion",
        "issue",
        "anexo24_clave",
        "datastage_clave",
        "flow",
        "datastage_pedimento",
        "detail",
    ):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype("str")
    order = {k: i for i, k in enumerate(ISSUES)}
    out = out.assign(_o=out["issue"].map(order)).sort_values(
        ["pedimento", "fraccion", "_o"], kind="stable"
    )
    return out.drop(columns="_o").reset_index(drop=True)


def compulsa_summary(findings: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """One row per issue type (all six, zero included): what it means (in
    ``lang``, the ``compulsa.*`` texts the report shows), findings, distinct
    pedimentos, and the Anexo 24 / Data Stage MXN values involved."""

    rows = []
    for issue in ISSUES:
        f = findings[findings["issue"] == issue]
        rows.append(
            {
                "issue": issue,
                "meaning": t(f"compulsa.{issue}", lang),
                "findings": len(f),
                "pedimentos": f["pedimento"].nunique(),
                "anexo24_value_mxn": float(f["anexo24_value_mxn"].sum()),
                "datastage_value_mxn": float(f["datastage_value_mxn"].sum()),
            }
        )
    return pd.DataFrame(rows)
