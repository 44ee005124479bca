"""Tidy views of a Data Stage request, with catalog meanings instead of codes.

The raw record types are SAT's normalised layout: 501 holds the pedimento,
551 its partidas, 556 the rate and 557 the amount of each contribution of
each partida, with the forma de pago saying whether it was paid.  A consultant
wants one table per question, for example the taxes of an IMMEX import::

    pedimento           level    contribucion  forma_pago                          importe  treatment
    25 47 3420 5000001  partida  IGI/IGE       5 Temporal no sujeta a impuestos      2140   deferred
    25 47 3420 5000001  partida  IVA           21 Crédito en IVA e IEPS              7192   credited
    25 47 3420 5000001  pedimento DTA          0 Efectivo                             425   paid

Views count each operation once: with ``latest_only`` (the default where it
matters) a pedimento corrected by a rectification is replaced by its latest
version (docs/rules/datastage.md).  Catalog meanings come from the Anexo 22
appendices shipped as ``immex_nb/data/datastage_catalogs.csv``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from immex_nb.datastage.reader import DataStage, findings_in, lookup
from immex_nb.text import DEFAULT_LANG, has, reword_column, t

#: forma de pago → what it means for the cash position (Apéndice 13)
TREATMENT = {
    "0": "paid",  # efectivo
    "5": "deferred",  # temporal no sujeta a impuestos (IGI of IMMEX temporaries)
    "21": "credited",  # crédito IVA/IEPS (certification, LIVA 28-A)
    "22": "guaranteed",  # garantía IVA/IEPS
    "2": "guaranteed",  # fianza
    "19": "guaranteed",
    "9": "exempt",
    "8": "exempt",  # franquicia
    "13": "already_paid",
    "6": "pending",
}


@cache
def _catalogs() -> pd.DataFrame:
    text = (
        resources.files("immex_nb")
        .joinpath("data/datastage_catalogs.csv")
        .read_text(encoding="utf-8")
    )
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def catalog(name: str) -> pd.DataFrame:
    """One Anexo 22 catalog (``clave_pedimento``, ``contribucion``, ``forma_pago``,
    ``tipo_fecha``, ``tipo_tasa``, ``unidad_medida``, ``identificador`` …) with
    columns ``code, abbreviation, meaning, source``."""
    cats = _catalogs()
    out = cats[cats["catalog"] == name]
    if out.empty:
        raise KeyError(f"no catalog {name!r}; catalogs: {sorted(cats['catalog'].unique())}")
    return out.drop(columns="catalog").reset_index(drop=True)


def _norm_code(code: object) -> str:
    text = (
        "" if code is None or (not isinstance(code, str) and pd.isna(code)) else str(code).strip()
    )
    if text.isdigit():
        return str(int(text))
    return text.upper()


def meaning(codes: pd.Series, name: str, *, abbreviation: bool = False) -> pd.Series:
    """Map codes to their catalog meaning (or abbreviation); unknown codes are
    shown as ``'<code> (not in catalog)'``."""
    cat = catalog(name)
    col = "abbreviation" if abbreviation else "meaning"
    table = dict(
        zip(
            cat["code"].map(_norm_code), cat[col].where(cat[col] != "", cat["meaning"]), strict=True
        )
    )
    keys = codes.map(_norm_code)
    out = keys.map(table)
    return (
        out.where(out.notna() | (keys == ""), keys + " (not in catalog)").fillna("").astype("str")
    )


def label(codes: pd.Series, name: str) -> pd.Series:
    """``'21'`` → ``'21 Crédito en IVA e IEPS (…)'``: the code and its meaning."""
    return (codes.astype("str") + " " + meaning(codes, name)).str.strip()


# ---------------------------------------------------------------- views


def pedimentos(ds: DataStage, *, latest_only: bool = False) -> pd.DataFrame:
    """One row per 501 pedimento with its dates (506), chain and meanings."""
    df = ds.with_pedimento("501", latest_only=latest_only)
    fechas = ds.with_pedimento("506")
    wide = {}
    for tipo, name in (
        ("1", "fecha_entrada"),
        ("5", "fecha_presentacion"),
        ("3", "fecha_extraccion"),
        ("7", "fecha_pago_original"),
    ):
        sub = fechas[fechas["TipoFecha"] == tipo].drop_duplicates("pedimento", keep="last")
        wide[name] = lookup(df["pedimento"], sub.set_index("pedimento")["FechaOperacion"])
    idx = ds.index.drop_duplicates("pedimento", keep="last").set_index("pedimento")
    sel = semaforo(ds)
    red = sel.groupby("pedimento")["red"].any() if len(sel) else pd.Series(dtype=bool)
    out = pd.DataFrame(
        {
            "pedimento": df["pedimento"],
            "patente": df["Patente"],
            "aduana": df["SeccionAduanera"].str[:2],
            "seccion_aduanera": df["SeccionAduanera"],
            "tipo_operacion": df["TipoOperacion"],
            "operacion": meaning(df["TipoOperacion"], "tipo_operacion"),
            "clave": df["ClaveDocumento"],
            "clave_meaning": meaning(df["ClaveDocumento"], "clave_pedimento"),
            "tipo_pedimento": df["TipoPedimento"],
            "rfc": df["Rfc"],
            "nombre": df["NombreContribuyente"],
            "tipo_cambio": df["TipoCambio"],
            "fecha_pago": df["FechaPagoReal"],
            "fecha_pago_dia": df["FechaPagoReal"].dt.normalize(),
            **wide,
            "rectifies": lookup(df["pedimento"], idx["rectifies"]),
            "rectified_by": lookup(df["pedimento"], idx["rectified_by"]),
            "original": df["original"],
            "latest": df["latest"],
            "is_latest": df["is_latest"],
            "red_light": lookup(df["pedimento"], red.astype("boolean")),
        }
    )
    for col in (
        "fecha_entrada",
        "fecha_presentacion",
        "fecha_extraccion",
        "fecha_pago_original",
        "fecha_pago_dia",
    ):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    return out.sort_values(["fecha_pago", "pedimento"], ignore_index=True)


def partidas(ds: DataStage, *, latest_only: bool = True) -> pd.DataFrame:
    """One row per 551 partida with its 556 rates (as fractions) and 557
    amounts of IGI and IVA (and their formas de pago)."""
    p = ds.with_pedimento("551", latest_only=latest_only)
    rates = ds.with_pedimento("556")
    amounts = ds.with_pedimento("557")
    out = pd.DataFrame(
        {
            "pedimento": p["pedimento"],
            "fraccion": p["Fraccion"],
            "nico": p["SubdivisionFraccion"].where(
                p["SubdivisionFraccion"] == "", p["SubdivisionFraccion"].str.zfill(2)
            ),
            "secuencia": pd.to_numeric(p["SecuenciaFraccion"], errors="coerce").astype("Int64"),
            "SecuenciaFraccion": p["SecuenciaFraccion"],
            "descripcion": p["DescripcionMercancia"],
            "clave": p["ClaveDocumento"],
            "tipo_operacion": p["TipoOperacion"],
            "fecha_pago": p["FechaPagoReal"],
            "quantity_umc": p["CantidadUMComercial"],
            "umc": meaning(p["UnidadMedidaComercial"], "unidad_medida", abbreviation=True),
            "quantity_umt": p["CantidadUMTarifa"],
            "umt": meaning(p["UnidadMedidaTarifa"], "unidad_medida", abbreviation=True),
            "valor_aduana_mxn": p["ValorAduana"],
            "valor_comercial_mxn": p["ValorComercial"],
            "valor_usd": p["ValorDolares"],
            "pais_origen_destino": p["PaisOrigenDestino"],
            "original": p["original"],
            "is_latest": p["is_latest"],
        }
    )
    for clave, name in (("6", "igi"), ("3", "iva"), ("2", "cc")):
        r = rates[rates["ClaveContribucion"] == clave].rename(columns={"Fraccion": "fraccion"})
        r = r.groupby(["pedimento", "fraccion", "SecuenciaFraccion"], as_index=False)[
            "TasaContribucion"
        ].first()
        r[f"{name}_rate"] = r.pop("TasaContribucion") / 100.0
        out = out.merge(r, on=["pedimento", "fraccion", "SecuenciaFraccion"], how="left")
        a = amounts[amounts["ClaveContribucion"] == clave].rename(columns={"Fraccion": "fraccion"})
        a = a.groupby(["pedimento", "fraccion", "SecuenciaFraccion"], as_index=False).agg(
            **{
                f"{name}_mxn": ("ImportePago", "sum"),
                f"{name}_forma_pago": (
                    "FormaPago",
                    lambda s: ",".join(sorted(set(s), key=_norm_code)),
                ),
            }
        )
        out = out.merge(a, on=["pedimento", "fraccion", "SecuenciaFraccion"], how="left")
        out[f"{name}_forma_pago"] = out[f"{name}_forma_pago"].fillna("").astype("str")
    return out.drop(columns="SecuenciaFraccion").sort_values(
        ["pedimento", "secuencia"], ignore_index=True
    )


def taxes(ds: DataStage, *, latest_only: bool = True) -> pd.DataFrame:
    """Every contribution amount, pedimento level (510) and partida level
    (557), with what its forma de pago means: ``paid`` (0 efectivo),
    ``deferred`` (5 temporal no sujeta — IGI of IMMEX temporaries),
    ``credited`` (21 crédito IVA/IEPS of certified companies), ``guaranteed``,
    ``exempt``, ``already_paid``, ``pending`` or ``other``."""
    frames = []
    for tipo, level in (("510", "pedimento"), ("557", "partida")):
        t = ds.with_pedimento(tipo, latest_only=latest_only)
        if t.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "pedimento": t["pedimento"],
                    "level": level,
                    "fraccion": t.get("Fraccion", ""),
                    "fecha_pago": t["FechaPagoReal"],
                    "clave_contribucion": t["ClaveContribucion"],
                    "forma_pago": t["FormaPago"],
                    "importe_mxn": t["ImportePago"],
                }
            )
        )
    cols = [
        "pedimento",
        "level",
        "fraccion",
        "fecha_pago",
        "month",
        "clave_contribucion",
        "contribucion",
        "forma_pago",
        "forma_pago_meaning",
        "treatment",
        "importe_mxn",
        "clave",
    ]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["month"] = out["fecha_pago"].dt.strftime("%Y-%m")
    out["contribucion"] = meaning(out["clave_contribucion"], "contribucion", abbreviation=True)
    out["forma_pago_meaning"] = meaning(out["forma_pago"], "forma_pago")
    out["treatment"] = (
        out["forma_pago"].map(_norm_code).map(TREATMENT).fillna("other").astype("str")
    )
    claves = ds.index.drop_duplicates("pedimento", keep="last").set_index("pedimento")["clave"]
    out["clave"] = lookup(out["pedimento"], claves).fillna("").astype("str")
    return out[cols].sort_values(
        ["fecha_pago", "pedimento", "level", "clave_contribucion"], ignore_index=True
    )


def taxes_by_month(ds: DataStage, *, latest_only: bool = True) -> pd.DataFrame:
    """MXN by month × contribution × treatment (paid / deferred / credited …)."""
    tx = taxes(ds, latest_only=latest_only)
    if tx.empty:
        return pd.DataFrame(
            columns=["month", "contribucion", "treatment", "forma_pago", "importe_mxn"]
        )
    return (
        tx.groupby(["month", "contribucion", "treatment", "forma_pago"], as_index=False)[
            "importe_mxn"
        ]
        .sum()
        .sort_values(["month", "contribucion", "treatment"], ignore_index=True)
    )


def rectifications(ds: DataStage) -> pd.DataFrame:
    """The 701 chain: each rectification, what it rectifies, the original and
    the latest version."""
    return ds.chain.copy()


def rectification_rates(ds: DataStage, by: tuple[str, ...] = ("aduana", "patente")) -> pd.DataFrame:
    """Share of pedimentos that are rectifications (TipoPedimento 2), by
    aduana and patente: ``rectifications / pedimentos``."""
    p = pedimentos(ds)
    cols = [*by, "pedimentos", "rectifications", "rectification_rate"]
    if p.empty:
        return pd.DataFrame(columns=cols)
    p["is_rect"] = p["tipo_pedimento"] == "2"
    g = p.groupby(list(by), as_index=False).agg(
        pedimentos=("pedimento", "nunique"), rectifications=("is_rect", "sum")
    )
    g["rectification_rate"] = g["rectifications"] / g["pedimentos"]
    return g[cols].sort_values(list(by), ignore_index=True)


def semaforo(ds: DataStage) -> pd.DataFrame:
    """One row per Sel selection with ``red`` (semáforo 0 = reconocimiento)."""
    s = ds.with_pedimento("Sel")
    cols = [
        "pedimento",
        "aduana",
        "patente",
        "consecutivo_remesa",
        "fecha_seleccion",
        "semaforo",
        "red",
        "clave",
        "tipo_operacion",
    ]
    if s.empty:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(
        {
            "pedimento": s["pedimento"],
            "aduana": s["SeccionAduanera"].str[:2],
            "patente": s["Patente"],
            "consecutivo_remesa": s["ConsecutivoRemesa"],
            "fecha_seleccion": s["FechaSeleccion"],
            "semaforo": meaning(s["SemaforoFiscal"], "semaforo", abbreviation=True),
            "red": s["SemaforoFiscal"] == "0",
            "clave": s["ClaveDocumento"],
            "tipo_operacion": s["TipoOperacion"],
        }
    )[cols]


def semaforo_rates(ds: DataStage, by: tuple[str, ...] = ("aduana", "patente")) -> pd.DataFrame:
    """Selections and the red-light (reconocimiento) rate ``red / selections``."""
    s = semaforo(ds)
    cols = [*by, "selections", "red", "red_rate"]
    if s.empty:
        return pd.DataFrame(columns=cols)
    g = s.groupby(list(by), as_index=False).agg(
        selections=("pedimento", "size"), red=("red", "sum")
    )
    g["red_rate"] = g["red"] / g["selections"]
    return g[cols].sort_values(list(by), ignore_index=True)


def identifiers(ds: DataStage, *, latest_only: bool = True) -> pd.DataFrame:
    """Identificadores (507 pedimento level, 554 partida level) with meanings;
    ``IM`` carries the IMMEX program, ``PS`` the PROSEC sector, ``TL`` the
    FTA origin country, ``CI`` the IVA/IEPS certification."""
    frames = []
    for tipo, level in (("507", "pedimento"), ("554", "partida")):
        t = ds.with_pedimento(tipo, latest_only=latest_only)
        frames.append(
            pd.DataFrame(
                {
                    "pedimento": t["pedimento"],
                    "level": level,
                    "fraccion": t.get("Fraccion", ""),
                    "secuencia": t.get("SecuenciaFraccion", ""),
                    "clave_caso": t["ClaveCaso"],
                    "meaning": meaning(t["ClaveCaso"], "identificador"),
                    "complemento1": t["IdentificadorCaso"],
                    "complemento2": t["ComplementoCaso"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(
        ["pedimento", "level", "clave_caso"], ignore_index=True
    )


def immex_programs(ds: DataStage) -> list[str]:
    """Distinct IMMEX program numbers declared with identificador IM."""
    ids = identifiers(ds, latest_only=False)
    return sorted(set(ids.loc[ids["clave_caso"] == "IM", "complemento1"]) - {""})


def data_quality(ds: DataStage) -> pd.DataFrame:
    """Findings plus a count of rejected lines per file and of the lines decoded
    as Windows-1252 (one table for the report)."""
    f = ds.findings.copy()
    if len(ds.rejects):
        r = ds.rejects.groupby("file", as_index=False).size()
        f = pd.concat(
            [
                f,
                pd.DataFrame(
                    {
                        "source": r["file"],
                        "check": "rejected_lines",
                        "expected": "0",
                        "found": r["size"].astype(str),
                        "detail": t("ds_finding.lines_in_rejects", "en"),
                    }
                ),
            ],
            ignore_index=True,
        )
        f = f.drop_duplicates(["source", "check"], keep="last")
    if ds.cp1252_lines:
        f = pd.concat(
            [
                f,
                pd.DataFrame(
                    {
                        "source": [t("ds_finding.all_files", "en")],
                        "check": ["cp1252_lines"],
                        "expected": ["0"],
                        "found": [str(ds.cp1252_lines)],
                        "detail": [t("ds_finding.cp1252_lines", "en")],
                    }
                ),
            ],
            ignore_index=True,
        )
    return f.reset_index(drop=True)


def overview(ds: DataStage, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """The request at a glance, in ``lang``: period, folios, pedimentos,
    rectifications, partidas, semáforo, rejected lines and data-quality findings."""
    lo, hi = ds.period()
    idx = ds.index
    sel = semaforo(ds)
    n_imports = int((idx["tipo_operacion"] == "1").sum())
    n_exports = int((idx["tipo_operacion"] == "2").sum())
    items = [
        (
            "period",
            f"{lo:%Y-%m-%d} – {hi:%Y-%m-%d}" if lo is not None else t("ds.ov.no_resumen", lang),
        ),
        ("folios", ", ".join(ds.resumen["Folio"].astype(str)) or "—"),
        ("rfc", ", ".join(sorted(set(ds.resumen["RFCoPatenteAduanal"].astype(str)))) or "—"),
        ("pedimentos", len(idx)),
        ("operations", int(idx["is_latest"].sum())),
        ("imports_exports", f"{n_imports} / {n_exports}"),
        ("rectifications", len(ds.chain)),
        ("partidas", len(ds["551"])),
        (
            "red",
            t("ds.ov.red_of", lang, red=int(sel["red"].sum()), n=len(sel)) if len(sel) else "0",
        ),
        ("rejected", len(ds.rejects)),
        ("findings", len(ds.findings)),
    ]
    rows = [(t(f"ds.ov.{key}", lang), value) for key, value in items]
    return pd.DataFrame(rows, columns=["item", "value"]).astype({"value": "str"})


# ---------------------------------------------------------------- figures


def figure_taxes_by_month(ds: DataStage, lang: str = DEFAULT_LANG):
    """Stacked bars: MXN per month by contribution and treatment."""
    import plotly.graph_objects as go

    by_month = taxes_by_month(ds)
    fig = go.Figure()
    if not by_month.empty:
        by_month["series"] = by_month["contribucion"] + " · " + _treatments(by_month, lang)
        for name, g in by_month.groupby("series", sort=True):
            g = g.groupby("month", as_index=False)["importe_mxn"].sum()
            fig.add_bar(x=g["month"], y=g["importe_mxn"], name=name)
    fig.update_layout(
        barmode="stack",
        title=t("ds.fig.taxes_title", lang),
        xaxis_title=t("ds.fig.taxes_x", lang),
        yaxis_title="MXN",
        legend_title=t("ds.fig.taxes_legend", lang),
    )
    return fig


def figure_rates(ds: DataStage, lang: str = DEFAULT_LANG):
    """Rectification rate and red-light rate by aduana."""
    import plotly.graph_objects as go

    rr = rectification_rates(ds, by=("aduana",))
    sr = semaforo_rates(ds, by=("aduana",))
    fig = go.Figure()
    fig.add_bar(
        x=rr["aduana"], y=rr["rectification_rate"], name=t("ds.fig.rectification_rate", lang)
    )
    fig.add_bar(x=sr["aduana"], y=sr["red_rate"], name=t("ds.fig.red_rate", lang))
    fig.update_layout(
        barmode="group",
        title=t("ds.fig.rates_title", lang),
        xaxis_title=t("ds.fig.rates_x", lang),
        yaxis_title=t("ds.fig.rates_y", lang),
        yaxis_tickformat=".0%",
    )
    return fig


# ---------------------------------------------------------------- for a reader


def _treatments(frame: pd.DataFrame, lang: str) -> pd.Series:
    return frame["treatment"].map(
        lambda v: t(f"ds.treatment.{v}", lang) if has(f"ds.treatment.{v}") else v
    )


def for_reader(frame: pd.DataFrame, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """``frame`` (any table of this module or of :func:`~immex_nb.datastage.compulsa`)
    as a reader sees it in ``lang``: headers in words (``ds.col.*``), an issue
    code as what it means, a treatment, check or yes/no in words, and the
    English details said in ``lang`` (the quoted values carried over).
    The numbers and the client's own codes are left as they are."""
    out = frame.copy()
    if "check" in out:  # data-quality findings: their texts, and the check in words
        worded = findings_in(out, lang)
        if "meaning" in worded:  # (an empty table has nothing to word)
            out = worded.drop(columns="check").rename(columns={"meaning": "check"})
    elif "detail" in out:  # compulsa findings
        out["detail"] = reword_column(out["detail"], lang, prefix="compulsa_detail.")
    if "issue" in out and "meaning" in out:
        out = out.drop(columns="issue")  # compulsa_summary: the meaning says it
    elif "issue" in out:
        out["issue"] = [t(f"compulsa.{i}", lang) for i in out["issue"]]
    if "treatment" in out:
        out["treatment"] = _treatments(out, lang)
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: t("common.yes", lang), False: t("common.no", lang)})

    def said(name):
        return t(f"ds.col.{name}", lang) if has(f"ds.col.{name}") else name

    if out.index.name is not None:
        out.index = out.index.rename(said(out.index.name))
    return out.rename(columns=said)


def taxes_pivot(ds: DataStage, lang: str = DEFAULT_LANG) -> pd.DataFrame:
    """MXN per payment month (rows) × contribution and treatment (columns), in words."""
    by_month = taxes_by_month(ds).assign(treatment=lambda f: _treatments(f, lang))
    table = by_month.pivot_table(
        index="month", columns=["contribucion", "treatment"], values="importe_mxn",
        aggfunc="sum", fill_value=0,
    )  # fmt: skip
    names = {n: t(f"ds.col.{n}", lang) for n in ("month", "contribucion", "treatment")}
    table.index.name = names["month"]
    table.columns.names = [names["contribucion"], names["treatment"]]
    return table
