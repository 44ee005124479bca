"""Layout-exact synthetic Data Stage ZIPs built from a canonical client.

Tests and the demo clients need Data Stage requests that behave like SAT's:
the 26 files, the header line, the trailing ``|`` and CRLF, Windows-1252 text
with a stray UTF-8 line, NUL padding, header-only files (two of them without a
line end), a rectification chained through 701, and a few planted
differences for the compulsa to find.  Example: an Anexo 24 import line::

    pedimento 25 47 3420 5000001, line 1, IN, 2025-03-10, fraccion 8536699901,
    quantity 10000, value_usd 2500, value_mxn 42809, igi_rate 0.05

becomes the 551 partida ``3420|5000001|470|85366999|1|01|…|42809|42809|2500.00|
10000.000|6|…`` with 556 rates IGI 5 % and IVA 16 % and 557 amounts IGI 2140
(forma de pago 5, deferred) and IVA 7192 (forma de pago 21, certification
credit) = 16 % × (42809 + 2140).

:func:`synth_datastage` returns the ZIP path and a ``planted`` table listing
the differences it injected (pedimento, fraccion, issue), which is exactly what
:func:`immex_nb.datastage.compulsa.compulsa` should report.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from immex_nb.datastage.compulsa import ISSUES
from immex_nb.datastage.layouts import HEADER_LINES, HEADERS, RECORD_TYPES
from immex_nb.errors import ImmexError
from immex_nb.outputs import atomic_path

#: canonical unit → Apéndice 7 unit code
UOM_CODES = {
    "kg": "1",
    "kgs": "1",
    "kilo": "1",
    "g": "2",
    "m": "3",
    "m2": "4",
    "m3": "5",
    "pza": "6",
    "pz": "6",
    "pc": "6",
    "pcs": "6",
    "pieza": "6",
    "piezas": "6",
    "ea": "6",
    "pieces": "6",
    "l": "8",
    "lt": "8",
    "litro": "8",
    "par": "9",
    "pair": "9",
    "juego": "12",
    "set": "12",
}

#: record types written as header-only files, and those written with no line end at all
HEADER_ONLY = ("503", "504", "508", "512", "552", "553", "555")
NO_LINE_END = ("552", "555")

_TEMPORARY = {"IN", "AF", "V1", "V5", "E1", "BO", "BM"}


@dataclass
class SynthResult:
    path: Path
    planted: pd.DataFrame  # pedimento, fraccion, issue, detail
    rectified: pd.DataFrame  # original, rectification (one row per 701 link)


# ---------------------------------------------------------------- rendering


def render_asc(
    tipo: str,
    rows: Iterable[Mapping[str, object] | Sequence[object]],
    *,
    line_end: str = "\r\n",
    final_line_end: bool = True,
    trailing_pipe: bool = True,
    encoding: str = "cp1252",
    utf8_rows: Iterable[int] = (),
) -> bytes:
    """Bytes of one ``.asc`` file: the exact header, then one line per row.

    ``rows`` are mappings by SAT column name (missing names are blank) or
    sequences in layout order.  ``utf8_rows`` are row positions written in
    UTF-8 instead of ``encoding`` (SAT files mix both)."""
    cols = HEADERS[tipo]
    utf8 = set(utf8_rows)
    out = [HEADER_LINES[tipo].encode("ascii")]
    for i, row in enumerate(rows):
        values = [row.get(c, "") for c in cols] if isinstance(row, Mapping) else list(row)
        text = "|".join("" if v is None else str(v) for v in values) + (
            "|" if trailing_pipe else ""
        )
        out.append(text.encode("utf-8" if i in utf8 else encoding, errors="replace"))
    body = line_end.encode().join(out)
    if final_line_end and (len(out) > 1 or tipo not in NO_LINE_END):
        body += line_end.encode()
    return body


def zip_bytes(files: Mapping[str, bytes], *, macosx: bool = False) -> bytes:
    """A ZIP of ``{name: bytes}``; ``macosx`` adds the ``__MACOSX/._*`` debris a Mac leaves."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            if macosx:
                zf.writestr(
                    zipfile.ZipInfo(f"__MACOSX/._{name}", date_time=(2025, 1, 1, 0, 0, 0)),
                    b"\x00\x05\x16\x07junk",
                )
    return buf.getvalue()


def write_request(
    tables: Mapping[str, list],
    out: str | Path,
    *,
    folio: str,
    nested: bool = False,
    macosx: bool = False,
    utf8_rows: Mapping[str, Iterable[int]] | None = None,
) -> Path:
    """Write the 26 files of one request as ``out`` (a ZIP).  Types absent
    from ``tables`` are written header-only; ``nested`` puts the request ZIP
    inside another ZIP."""
    utf8_rows = utf8_rows or {}
    files = {
        f"{folio}_{tipo}.asc": render_asc(
            tipo, tables.get(tipo, []), utf8_rows=utf8_rows.get(tipo, ())
        )
        for tipo in RECORD_TYPES
    }
    data = zip_bytes(files, macosx=macosx)
    if nested:
        data = zip_bytes({f"{folio}_solicitudes.zip": data}, macosx=macosx)
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return out


# ---------------------------------------------------------------- from a canonical client


def _split_pedimento(text: str) -> tuple[str, str, str]:
    digits = "".join(ch for ch in str(text) if ch.isdigit())
    if len(digits) != 15:
        raise ImmexError(f"pedimento {text!r} is not 15 digits; expected 'YY AA PPPP NNNNNNN'")
    return digits[4:8], digits[8:15], digits[2:4] + "0"


def _fmt(x: float, dp: int) -> str:
    return f"{x:.{dp}f}"


def _dt(d: pd.Timestamp, hms: str = "09:41:07") -> str:
    return f"{d:%Y-%m-%d} {hms}"


def _pedimento_groups(df: pd.DataFrame, flow: str) -> list[dict]:
    groups = []
    for ped, g in df.sort_values(["pedimento", "line"]).groupby("pedimento", sort=True):
        g = g.reset_index(drop=True)
        groups.append(
            {
                "pedimento": ped,
                "flow": flow,
                "clave": str(g.at[0, "clave"]),
                "date": pd.Timestamp(g.at[0, "date"]).normalize(),
                "lines": g,
            }
        )
    return groups


def _partidas(group: dict, tc: float, default_fraccion: str) -> list[dict]:
    out = []
    for r in group["lines"].to_dict("records"):
        frac = "".join(ch for ch in str(r.get("fraccion") or "") if ch.isdigit())
        fraccion = frac[:8] if len(frac) >= 8 else default_fraccion
        nico = frac[8:10] if len(frac) >= 10 else "00"
        usd = float(r.get("value_usd") or 0.0)
        mxn = r.get("value_mxn")
        mxn = float(mxn) if mxn is not None and not pd.isna(mxn) else usd * tc
        igi = r.get("igi_rate")
        out.append(
            {
                "line": int(r["line"]),
                "fraccion": fraccion,
                "nico": nico,
                "part": str(r["part_number"]),
                "description": str(r.get("description") or r["part_number"])[:250].upper(),
                "quantity": float(r["quantity"]),
                "usd": usd,
                "mxn": mxn,
                "uom": UOM_CODES.get(str(r.get("uom") or "").strip().lower(), "6"),
                "country": str(
                    r.get("origin") if group["flow"] == "import" else r.get("destination") or ""
                )
                or "USA",
                "igi_rate": float(igi) if igi is not None and not pd.isna(igi) else 0.0,
                "prosec": r.get("prosec_rate"),
                "originating": r.get("usmca_originating"),
            }
        )
    return out


class _Builder:
    """Accumulates the rows of the 26 record types, pedimento by pedimento."""

    def __init__(
        self,
        *,
        rfc: str,
        name: str,
        program: str,
        vat_certified: bool,
        exchange_rate: float,
        default_fraccion: str,
        rng: random.Random,
    ):
        self.rows: dict[str, list[dict]] = {t: [] for t in RECORD_TYPES}
        self.rfc, self.name, self.program = rfc, name, program
        self.vat_certified, self.exchange_rate = vat_certified, exchange_rate
        self.default_fraccion, self.rng = default_fraccion, rng

    def add(
        self,
        group: dict,
        *,
        number: str | None = None,
        pay_date: pd.Timestamp | None = None,
        clave: str | None = None,
        tipo_pedimento: str = "1",
        tweak=None,
        red: bool = False,
    ) -> list[dict]:
        patente, ped, sec = _split_pedimento(number or group["pedimento"])
        date = group["date"]
        pay = pay_date if pay_date is not None else date
        clave = clave or group["clave"]
        imp = group["flow"] == "import"
        lines = group["lines"]
        usd_total = float(lines["value_usd"].fillna(0).sum()) if "value_usd" in lines else 0.0
        if imp and "value_mxn" in lines and usd_total > 0:
            tc = float(lines["value_mxn"].fillna(0).sum()) / usd_total
        else:
            tc = self.exchange_rate
        partidas = _partidas(group, tc, self.default_fraccion)
        if tweak is not None:
            tweak(partidas)
        key = {"Patente": patente, "Pedimento": ped, "SeccionAduanera": sec}
        fpr = _dt(pay)
        op = "1" if imp else "2"
        self.rows["501"].append(
            {
                **key,
                "TipoOperacion": op,
                "ClaveDocumento": clave,
                "SeccionAduaneraEntrada": sec,
                "CurpContribuyente": "",
                "Rfc": self.rfc,
                "CurpAgenteA": "AAAA800101HBCXXX01",
                "TipoCambio": _fmt(tc, 5),
                "TotalFletes": "0",
                "TotalSeguros": "0",
                "TotalEmbalajes": "0",
                "TotalIncrementables": "0",
                "TotalDeducibles": "0",
                "PesoBrutoMercancia": _fmt(sum(p["quantity"] for p in partidas) * 0.25, 3),
                "MedioTransporteSalida": "7",
                "MedioTransporteArribo": "7",
                "MedioTransporteEntrada_Salida": "7",
                "DestinoMercancia": "9",
                "NombreContribuyente": self.name,
                "CalleContribuyente": "AV INDUSTRIAL",
                "NumInteriorContribuyente": "",
                "NumExteriorContribuyente": "1234",
                "CPContribuyente": "22444",
                "MunicipioContribuyente": "TIJUANA",
                "EntidadFedContribuyente": "BC \x00\x00\x00\x00\x00\x00\x00",
                "PaisContribuyente": "MEX\x00",
                "TipoPedimento": tipo_pedimento,
                "FechaRecepcionPedimento": _dt(pay, "09:15:22"),
                "FechaPagoReal": fpr,
            }
        )
        self.rows["506"].append(
            {
                **key,
                "TipoFecha": "2",
                "FechaOperacion": f"{pay:%Y-%m-%d}",
                "FechaValidacionPagoR": fpr,
            }
        )
        self.rows["506"].append(
            {
                **key,
                "TipoFecha": "1" if imp else "5",
                "FechaOperacion": f"{date:%Y-%m-%d}",
                "FechaValidacionPagoR": fpr,
            }
        )
        self.rows["507"].append(
            {
                **key,
                "ClaveCaso": "IM",
                "IdentificadorCaso": self.program,
                "TipoPedimento": tipo_pedimento,
                "ComplementoCaso": "",
                "FechaValidacionPagoR": fpr,
            }
        )
        if imp and self.vat_certified and clave in _TEMPORARY:
            self.rows["507"].append(
                {
                    **key,
                    "ClaveCaso": "CI",
                    "IdentificadorCaso": "AAA",
                    "TipoPedimento": tipo_pedimento,
                    "ComplementoCaso": "",
                    "FechaValidacionPagoR": fpr,
                }
            )
        self.rows["502"].append(
            {
                **key,
                "RfcTransportista": "TNO990101AA1",
                "CurpTransportista": "",
                "NombreTransportista": "TRANSPORTES DEL NOROESTE",
                "PaisTransporte": "MEX",
                "IdentificadorTransporte": f"{self.rng.randint(100, 999)}AB{self.rng.randint(1, 9)}",
                "FechaPagoReal": fpr,
            }
        )
        self.rows["505"].append(
            {
                **key,
                "FechaFacturacion": f"{date:%Y-%m-%d}",
                "NumeroFactura": f"COVE{ped}",
                "TerminoFacturacion": "DAP",
                "MonedaFacturacion": "USD",
                "ValorDolares": _fmt(sum(p["usd"] for p in partidas), 2),
                "ValorMonedaExtranjera": _fmt(sum(p["usd"] for p in partidas), 2),
                "PaisFacturacion": "USA",
                "EntidadFedFacturacion": "",
                "IndentFiscalProveedor": "981234567",
                "ProveedorMercancia": "COMPONENTES ÁLAMO INC" if imp else "ENSAMBLES DEL RÍO LLC",
                "CalleProveedor": "1200 COMMERCE ST",
                "NumInteriorProveedor": "",
                "NumExteriorProveedor": "1200",
                "CpProveedor": "78041",
                "MunicipioProveedor": "LAREDO",
                "FechaPagoReal": fpr,
            }
        )
        if not imp:
            self.rows["520"].append(
                {
                    **key,
                    "IndentFiscalDestinatario": "981234567",
                    "NombreDestinatarioMercancia": "ENSAMBLES DEL RÍO LLC",
                    "CalleDestinatario": "500 RIVER RD",
                    "NumInteriorDestinatario": "",
                    "NumExteriorDestinatario": "500",
                    "CpDestinatario": "78041",
                    "MunicpioDestinatario": "LAREDO",
                    "PaisDestinatario": "USA",
                    "FechaPagoReal": fpr,
                }
            )
        dta = (
            425
            if clave in _TEMPORARY or not imp
            else round(sum(p["mxn"] for p in partidas) * 0.008)
        )
        for clave_c, tasa, tipo_tasa, fp, importe in (
            (
                "1",
                "425.00000" if dta == 425 else "8.00000",
                "4" if dta == 425 else "7",
                "0" if imp else "9",
                dta,
            ),
            ("15", "290.00000", "2", "0", 290),
            ("23", "16.00000", "1", "0", 46),
        ):
            self.rows["509"].append(
                {
                    **key,
                    "ClaveContribucion": clave_c,
                    "TasaContribucion": tasa,
                    "TipoTasa": tipo_tasa,
                    "TipoPedimento": tipo_pedimento,
                    "FechaPagoReal": fpr,
                }
            )
            self.rows["510"].append(
                {
                    **key,
                    "ClaveContribucion": clave_c,
                    "FormaPago": fp,
                    "ImportePago": str(importe),
                    "TipoPedimento": tipo_pedimento,
                    "FechaPagoReal": fpr,
                }
            )
        self.rows["511"].append(
            {
                **key,
                "SecuenciaObservacion": "1",
                "Observaciones": "OPERACIÓN AMPARADA POR EL PROGRAMA IMMEX",
                "TipoPedimento": tipo_pedimento,
                "FechaValidacionPagoR": fpr,
            }
        )
        temporal = clave in _TEMPORARY
        igi_fp = "5" if temporal else "0"
        iva_fp = "21" if temporal and self.vat_certified else "0"
        for p in partidas:
            pk = {**key, "Fraccion": p["fraccion"], "SecuenciaFraccion": str(p["line"])}
            valor_com = round(p["mxn"])
            self.rows["551"].append(
                {
                    **pk,
                    "SubdivisionFraccion": p["nico"],
                    "DescripcionMercancia": p["description"],
                    "PrecioUnitario": _fmt(valor_com / p["quantity"], 5) if p["quantity"] else "0",
                    "ValorAduana": str(valor_com) if imp else "0",
                    "ValorComercial": str(valor_com),
                    "ValorDolares": _fmt(p["usd"], 2),
                    "CantidadUMComercial": _fmt(p["quantity"], 3),
                    "UnidadMedidaComercial": p["uom"],
                    "CantidadUMTarifa": _fmt(p["quantity"], 5),
                    "UnidadMedidaTarifa": p["uom"],
                    "ValorAgregado": "0",
                    "ClaveVinculacion": "0",
                    "MetodoValorizacion": "1" if imp else "0",
                    "CodigoMercanciaProducto": "",
                    "MarcaMercanciaProducto": "",
                    "ModeloMercanciaProducto": "",
                    "PaisOrigenDestino": p["country"],
                    "PaisCompradorVendedor": "USA",
                    "EntidadFedOrigen": " ",
                    "EntidadFedDestino": "\x00",
                    "EntidadFedComprador": " ",
                    "EntidadFedVendedor": "\x00",
                    "TipoOperacion": op,
                    "ClaveDocumento": clave,
                    "FechaPagoReal": fpr,
                }
            )
            self.rows["558"].append(
                {
                    **pk,
                    "SecuenciaObservacion": "1",
                    "Observaciones": f"NP {p['part']}",
                    "FechaPagoReal": fpr,
                }
            )
            if imp:
                igi = round(valor_com * p["igi_rate"])
                iva = round(0.16 * (valor_com + igi))
                self.rows["556"].append(
                    {
                        **pk,
                        "ClaveContribucion": "6",
                        "TasaContribucion": _fmt(p["igi_rate"] * 100, 5),
                        "TipoTasa": "1",
                        "FechaPagoReal": fpr,
                    }
                )
                self.rows["556"].append(
                    {
                        **pk,
                        "ClaveContribucion": "3",
                        "TasaContribucion": "16.00000",
                        "TipoTasa": "1",
                        "FechaPagoReal": fpr,
                    }
                )
                self.rows["557"].append(
                    {
                        **pk,
                        "ClaveContribucion": "6",
                        "FormaPago": igi_fp,
                        "ImportePago": str(igi),
                        "FechaPagoReal": fpr,
                    }
                )
                self.rows["557"].append(
                    {
                        **pk,
                        "ClaveContribucion": "3",
                        "FormaPago": iva_fp,
                        "ImportePago": str(iva),
                        "FechaPagoReal": fpr,
                    }
                )
                if p["originating"] is True and p["country"] in ("USA", "CAN"):
                    self.rows["554"].append(
                        {
                            **pk,
                            "ClaveCaso": "TL",
                            "IdentificadorCaso": p["country"],
                            "ComplementoCaso": "",
                            "FechaPagoReal": fpr,
                        }
                    )
                prosec = p["prosec"]
                if prosec is not None and not pd.isna(prosec) and float(prosec) < p["igi_rate"]:
                    self.rows["554"].append(
                        {
                            **pk,
                            "ClaveCaso": "PS",
                            "IdentificadorCaso": "II",
                            "ComplementoCaso": "",
                            "FechaPagoReal": fpr,
                        }
                    )
        sel = {
            **key,
            "ConsecutivoRemesa": "0",
            "NumeroSeleccion": "1",
            "FechaSeleccion": f"{pay:%Y-%m-%d}",
            "HoraSeleccion": "10:05",
            "SemaforoFiscal": "0" if red else "1",
            "ClaveDocumento": clave,
            "TipoOperacion": op,
        }
        self.rows["Sel"].append(sel)
        if red and partidas:
            self.rows["Inci"].append(
                {
                    **key,
                    "ConsecutivoRemesa": "0",
                    "NumeroSeleccion": "1",
                    "FechaInicioReconocimiento": f"{pay:%Y-%m-%d}",
                    "HoraInicioReconocimiento": "10:20",
                    "FechaFinReconocimiento": f"{pay:%Y-%m-%d}",
                    "HoraFinReconocimiento": "11:02",
                    "Fraccion": partidas[0]["fraccion"],
                    "SecuenciaFraccion": str(partidas[0]["line"]),
                    "ClaveDocumento": clave,
                    "TipoOperacion": op,
                    "GradoIncidencia": "C",
                    "FechaSeleccion": f"{pay:%Y-%m-%d}",
                }
            )
        return partidas


def synth_datastage(
    imports: pd.DataFrame,
    exports: pd.DataFrame,
    out: str | Path,
    *,
    folio: str = "2500012345",
    rfc: str = "EMN010101AB1",
    name: str = "ELECTRÓNICA MAQUILADORA DEL NORTE, S.A. DE C.V.",
    program: str = "IMMEX 1234-2006",
    differences: Iterable[str] = ISSUES,
    rectifications: int = 1,
    chain_length: int = 1,
    vat_certified: bool = True,
    exchange_rate: float = 17.0,
    default_fraccion: str = "85371099",
    red_every: int = 9,
    nested: bool = False,
    macosx: bool = False,
    period: tuple[str, str] | None = None,
    seed: int = 7,
) -> SynthResult:
    """Write a Data Stage request for the canonical ``imports``/``exports``.

    One planted difference per name in ``differences`` (each on its own
    pedimento, chosen with ``seed``); ``rectifications`` pedimentos are first
    written with a wrong value and then corrected by ``chain_length``
    successive rectification pedimentos (701 chain, 702 differences) — the
    latest version agrees with Anexo 24, so the compulsa reports nothing for
    them.  Every ``red_every``-th pedimento gets a red semáforo and an Inci row.
    """
    rng = random.Random(seed)
    differences = list(differences)
    unknown = sorted(set(differences) - set(ISSUES))
    if unknown:
        raise ImmexError(f"unknown difference(s) {unknown}; accepted: {list(ISSUES)}")
    imports = imports.copy()
    exports = exports.copy()
    if period is not None:
        lo, hi = pd.Timestamp(period[0]), pd.Timestamp(period[1])
        imports = imports[(imports["date"] >= lo) & (imports["date"] <= hi)]
        exports = exports[(exports["date"] >= lo) & (exports["date"] <= hi)]
    groups = _pedimento_groups(imports, "import") + _pedimento_groups(exports, "export")
    if not groups:
        raise ImmexError("no pedimentos to write: imports and exports are empty in the period")

    def safe(g: dict) -> bool:  # a few days' shift stays in the same year
        return g["date"].month < 12 or g["date"].day < 20

    import_groups = [g for g in groups if g["flow"] == "import" and safe(g)]
    export_groups = [g for g in groups if g["flow"] == "export"]
    rng.shuffle(import_groups)
    needed_imports = (
        sum(d in differences for d in ISSUES[2:])
        + (1 if "missing_in_anexo24" in differences else 0)
        + rectifications
    )
    if len(import_groups) < needed_imports:
        raise ImmexError(
            f"{len(import_groups)} import pedimentos cannot carry {needed_imports} planted changes"
        )
    targets: dict[str, dict] = {}
    pool = list(import_groups)
    for issue in ("clave_mismatch", "date_mismatch", "quantity_mismatch", "value_mismatch"):
        if issue in differences:
            targets[issue] = pool.pop()
    template = pool.pop() if "missing_in_anexo24" in differences else None
    rect_groups = [pool.pop() for _ in range(rectifications)]
    if "missing_in_datastage" in differences:
        candidates = export_groups or pool
        if not candidates:
            raise ImmexError("no pedimento left to drop for missing_in_datastage")
        targets["missing_in_datastage"] = rng.choice(candidates)

    b = _Builder(
        rfc=rfc,
        name=name,
        program=program,
        vat_certified=vat_certified,
        exchange_rate=exchange_rate,
        default_fraccion=default_fraccion,
        rng=rng,
    )
    planted: list[dict] = []
    rect_links: list[dict] = []
    target_ids = {id(g): issue for issue, g in targets.items()}
    rect_ids = {id(g) for g in rect_groups}
    used_numbers = {g["pedimento"] for g in groups}
    dates: list[pd.Timestamp] = []

    def new_number(g: dict, tag: int) -> str:
        patente, ped, sec = _split_pedimento(g["pedimento"])
        for k in range(tag, tag + 1000):
            number = f"{g['pedimento'][:2]} {sec[:2]} {patente} {ped[0]}{9 - (k // 100000) % 10}{k % 100000:05d}"
            if number not in used_numbers:
                used_numbers.add(number)
                return number
        raise ImmexError("cannot find a free pedimento number")

    for n, g in enumerate(groups, start=1):
        red = red_every > 0 and n % red_every == 0
        issue = target_ids.get(id(g))
        dates.append(g["date"])
        if issue == "missing_in_datastage":
            _plant_groups(planted, g, issue, "dropped from the Data Stage", default_fraccion)
            continue
        if issue == "clave_mismatch":
            other = "V1" if g["clave"] != "V1" else "IN"
            b.add(g, clave=other, red=red)
            planted.append(
                {
                    "pedimento": g["pedimento"],
                    "fraccion": "",
                    "issue": issue,
                    "detail": f"Anexo 24 {g['clave']}, Data Stage {other}",
                }
            )
        elif issue == "date_mismatch":
            shifted = dict(g, date=g["date"] + pd.Timedelta(days=2))
            b.add(shifted, red=red)
            dates.append(shifted["date"])
            planted.append(
                {
                    "pedimento": g["pedimento"],
                    "fraccion": "",
                    "issue": issue,
                    "detail": "Data Stage dates two days later",
                }
            )
        elif issue in ("quantity_mismatch", "value_mismatch"):

            def tweak(partidas, issue=issue):
                p = partidas[0]
                if issue == "quantity_mismatch":
                    p["quantity"] = round(p["quantity"] * 1.1 + 1, 3)
                else:
                    p["mxn"] = round(p["mxn"] * 1.05 + 100)
                    p["usd"] = round(p["usd"] * 1.05 + 6, 2)

            parts = b.add(g, tweak=tweak, red=red)
            frac = parts[0]["fraccion"]
            planted.append(
                {
                    "pedimento": g["pedimento"],
                    "fraccion": _anexo24_fraccion(g, frac),
                    "issue": issue,
                    "detail": "first partida changed",
                }
            )
        elif id(g) in rect_ids:

            def wrong(partidas):
                partidas[0]["mxn"] = round(partidas[0]["mxn"] * 0.9)

            b.add(g, tweak=wrong, red=red)
            prev = g["pedimento"]
            for step in range(1, chain_length + 1):
                number = new_number(g, 1000 * len(rect_links) + step)
                pay = g["date"] + pd.Timedelta(days=3 * step)
                dates.append(pay)
                last = step == chain_length
                b.add(
                    g,
                    number=number,
                    pay_date=pay,
                    tipo_pedimento="2",
                    tweak=None if last else wrong,
                )
                pat, ped, sec = _split_pedimento(number)
                ppat, pped, psec = _split_pedimento(prev)
                b.rows["701"].append(
                    {
                        "Patente": pat,
                        "Pedimento": ped,
                        "SeccionAduanera": sec,
                        "ClaveDocumento": g["clave"],
                        "FechaPago": f"{pay:%Y-%m-%d}",
                        "PedimentoAnterior": pped,
                        "PatenteAnterior": ppat,
                        "SeccionAduaneraAnterior": psec,
                        "DocumentoAnterior": g["clave"],
                        "FechaOperacionAnterior": f"{(g['date'] + pd.Timedelta(days=3 * (step - 1))):%Y-%m-%d}",
                        "PedimentoOriginal": "0",
                        "PatenteAduanalOrig": "0",
                        "SeccionAduaneraDespOrig": "",
                        "FechaPagoReal": _dt(pay),
                    }
                )
                b.rows["702"].append(
                    {
                        "Patente": pat,
                        "Pedimento": ped,
                        "SeccionAduanera": sec,
                        "ClaveContribucion": "3",
                        "FormaPago": "21" if vat_certified else "0",
                        "ImportePago": "0" if not last else "1",
                        "TipoPedimento": "2",
                        "FechaPagoReal": _dt(pay),
                    }
                )
                rect_links.append({"original": prev, "rectification": number})
                prev = number
        else:
            b.add(g, red=red)
    if template is not None:
        number = new_number(template, 500)
        extra = dict(template, pedimento=number, clave="A1")
        for frac in sorted({p["fraccion"] for p in b.add(extra)}):
            planted.append(
                {
                    "pedimento": number,
                    "fraccion": frac,
                    "issue": "missing_in_anexo24",
                    "detail": "definitive import not in Anexo 24",
                }
            )

    lo = min(dates).replace(day=1)
    hi = (max(dates) + pd.offsets.MonthEnd(0)).normalize()
    if period is not None:
        lo, hi = min(lo, pd.Timestamp(period[0])), max(hi, pd.Timestamp(period[1]))
    b.rows["Resumen"].append(
        {
            "Folio": folio,
            "RFCoPatenteAduanal": rfc,
            "Fecha_Inicial": f"{lo:%Y-%m-%d}",
            "Fecha_Final": f"{hi:%Y-%m-%d}",
            "Fecha_Ejecucion": f"{hi + pd.Timedelta(days=5):%Y-%m-%d}",
            "Total_Fracciones": str(len(b.rows["551"])),
            "Total_Contribuciones": str(len(b.rows["557"])),
        }
    )
    for tipo in HEADER_ONLY:
        b.rows[tipo] = []
    # one 511 observation written in UTF-8, as SAT sometimes does
    path = write_request(
        b.rows,
        out,
        folio=folio,
        nested=nested,
        macosx=macosx,
        utf8_rows={"511": [0] if b.rows["511"] else []},
    )
    planted_df = pd.DataFrame(planted, columns=["pedimento", "fraccion", "issue", "detail"])
    planted_df = planted_df.sort_values(["pedimento", "fraccion", "issue"], ignore_index=True)
    return SynthResult(
        path, planted_df, pd.DataFrame(rect_links, columns=["original", "rectification"])
    )


def _anexo24_fraccion(g: dict, datastage_fraccion: str) -> str:
    """The fracción under which the compulsa reports a group ('' when the
    Anexo 24 lines carry no fracción: compared at pedimento level)."""
    lines = g["lines"]
    if "fraccion" not in lines or lines["fraccion"].fillna("").astype(str).str.strip().eq("").all():
        return ""
    return datastage_fraccion


def _plant_groups(
    planted: list[dict], g: dict, issue: str, detail: str, default_fraccion: str
) -> None:
    lines = g["lines"]
    if "fraccion" not in lines or lines["fraccion"].fillna("").astype(str).str.strip().eq("").all():
        fracs = {""}
    else:
        fracs = {
            "".join(ch for ch in str(f) if ch.isdigit())[:8] for f in lines["fraccion"].fillna("")
        }
    for f in sorted(fracs):
        planted.append(
            {"pedimento": g["pedimento"], "fraccion": f, "issue": issue, "detail": detail}
        )


def write_demo_datastage(client_dir: str | Path, *, seed: int = 7) -> SynthResult:
    """(Re)write ``<client_dir>/datastage/<folio>_solicitudes.zip`` from the
    client's canonical imports and exports: one planted difference of each
    kind and one rectification (the chain the compulsa must resolve).  The
    folio is derived from the client's folder name so reruns are identical."""
    import zlib

    from immex_nb import load

    client_dir = Path(client_dir)
    ledger = load(client_dir)
    settings = getattr(ledger, "settings", None)
    folio = f"25{zlib.crc32(client_dir.name.encode()) % 10**8:08d}"
    name = (getattr(settings, "name", "") or client_dir.name).upper()
    vat = bool(getattr(settings, "vat_certified", True))
    target = client_dir / "datastage" / f"{folio}_solicitudes.zip"
    return synth_datastage(
        ledger.imports, ledger.exports, target, folio=folio, name=name, vat_certified=vat, seed=seed
    )


def example_ledger(
    n_imports: int = 12, n_exports: int = 5, *, year: int = 2025
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small canonical client (imports, exports) for tests and examples:
    weekly IN imports of three lines through aduana 07 with patente 0123
    (leading zeros), and RT returns with no fracción.  Quantities and values
    are fixed numbers, so results can be worked by hand."""
    imports, exports = [], []
    y = year % 10
    for i in range(n_imports):
        date = pd.Timestamp(f"{year}-01-06") + pd.Timedelta(days=7 * i)
        for line in (1, 2, 3):
            qty = 100.0 * line + i
            usd = qty * 1.5
            imports.append(
                {
                    "pedimento": f"{year % 100:02d} 07 0123 {y}{i + 1:06d}",
                    "line": line,
                    "clave": "IN",
                    "date": date,
                    "part_number": f"P-{line:03d}",
                    "description": "Tornillo de acero",
                    "uom": "PZA",
                    "fraccion": "7318150101" if line < 3 else "7318150299",
                    "quantity": qty,
                    "value_usd": usd,
                    "value_mxn": round(usd * 18.5, 2),
                    "origin": "CHN",
                    "material_type": "MP",
                    "igi_rate": 0.05,
                    "prosec_rate": float("nan"),
                    "usmca_originating": pd.NA,
                }
            )
    for i in range(n_exports):
        date = pd.Timestamp(f"{year}-02-03") + pd.Timedelta(days=9 * i)
        exports.append(
            {
                "pedimento": f"{year % 100:02d} 07 0123 {y}{900 + i:06d}",
                "line": 1,
                "clave": "RT",
                "date": date,
                "part_number": "FG-1",
                "quantity": 100.0,
                "uom": "PZA",
                "value_usd": 1000.0,
                "destination": "USA",
            }
        )
    imp = pd.DataFrame(imports)
    imp["usmca_originating"] = imp["usmca_originating"].astype("boolean")
    imp["line"] = imp["line"].astype("int64")
    exp = pd.DataFrame(exports)
    exp["line"] = exp["line"].astype("int64")
    for df in (imp, exp):
        df["date"] = df["date"].astype("datetime64[ns]")
    return imp, exp


# ---------------------------------------------------------------- real-world quirks


def read_members(path: str | Path) -> dict[str, bytes]:
    """``{name: bytes}`` of a ZIP written by :func:`write_request` (not nested)."""
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def break_members(data: bytes, broken: Mapping[str, str]) -> bytes:
    """Damage members of a ZIP the way real downloads are damaged.

    ``broken`` maps a member name to ``"corrupt"`` (compressed bytes
    flipped: zlib error or bad CRC), ``"encrypted"`` (the encryption flag a
    password-protected member carries), ``"deflate64"`` (compression method
    9, what Windows writes for big files) or ``"bad_crc"``."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        cd_start = zf.start_dir  # type: ignore[attr-defined]
    central = {}
    pos = cd_start
    while out[pos : pos + 4] == b"PK\x01\x02":
        nlen, xlen, clen = (
            int.from_bytes(out[pos + k : pos + k + 2], "little") for k in (28, 30, 32)
        )
        central[bytes(out[pos + 46 : pos + 46 + nlen]).decode("utf-8")] = pos
        pos += 46 + nlen + xlen + clen
    for name, kind in broken.items():
        info, cd = infos[name], central[name]
        local = info.header_offset
        if kind == "encrypted":
            for at in (local + 6, cd + 8):
                out[at] |= 0x01
        elif kind == "deflate64":
            for at in (local + 8, cd + 10):
                out[at : at + 2] = (9).to_bytes(2, "little")
        elif kind == "bad_crc":
            for at in (local + 14, cd + 16):
                out[at] ^= 0xFF
        elif kind == "corrupt":
            nlen = int.from_bytes(out[local + 26 : local + 28], "little")
            xlen = int.from_bytes(out[local + 28 : local + 30], "little")
            start = local + 30 + nlen + xlen
            for k in range(min(info.compress_size, 16)):
                out[start + info.compress_size // 2 + k - 8] ^= 0x5A
        else:
            raise ImmexError(
                f"unknown damage {kind!r}; accepted: corrupt, encrypted, deflate64, bad_crc"
            )
    return bytes(out)


def bomb_member(size: int = 9 << 20) -> bytes:
    """A member that deflates about a thousand times: ``size`` bytes of one
    repeated line (a ZIP bomb in miniature)."""
    return (b"0|" * (size // 2))[:size]


@dataclass
class QuirkCorpus:
    folder: Path
    imports: pd.DataFrame  # the Anexo 24 the requests were built from (both decades)
    exports: pd.DataFrame
    expected: dict  # what the reader must report, by quirk


def _renumber(df: pd.DataFrame, patente: str) -> pd.DataFrame:
    out = df.copy()
    out["pedimento"] = out["pedimento"].str[:6] + patente + out["pedimento"].str[10:]
    return out


def synth_quirks(out: str | Path, *, seed: int = 7) -> QuirkCorpus:
    """A folder of requests carrying every quirk met in genuine Data Stage
    downloads (docs/rules/datastage.md):

    * ``A2015`` and ``A2025``: the same company ten years apart — patente 0123,
      aduana 07, and the same 7-digit numbers (``5000001`` …) in both;
    * ``A2025`` has one invoice date (505 ``FechaFacturacion``) in the year 5202
      and, like every request, cp1252 lines mixed with a UTF-8 one;
    * ``A2025 (1).zip`` is a byte-identical re-download and ``A2025 otra
      descarga.zip`` the same files zipped again (other bytes);
    * ``B2025`` overlaps ``A2025``: its first four pedimentos are also in A;
    * ``C2025`` (patente 0456) has a corrupt 502, an encrypted 505, a Deflate64
      558 and a bomb-like extra member;
    * ``D2025`` (patente 0789) is cut short: its ZIP directory is gone.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    imp15, exp15 = example_ledger(year=2015)
    imp25, exp25 = example_ledger(year=2025)
    kw = {"differences": [], "rectifications": 0, "seed": seed}
    synth_datastage(imp15, exp15, out / "A2015_solicitudes.zip", folio="1500000001", **kw)
    a25 = out / "A2025_solicitudes.zip"
    synth_datastage(imp25, exp25, a25, folio="2500000001", **kw)
    files = read_members(a25)
    name505 = "2500000001_505.asc"
    head, first, rest = files[name505].split(b"\r\n", 2)
    fields = first.split(b"|")
    fields[3] = b"5202" + fields[3][4:]  # FechaFacturacion: a genuine typo seen in SAT files
    files[name505] = b"\r\n".join([head, b"|".join(fields), rest])
    a25.write_bytes(zip_bytes(files))
    (out / "A2025_solicitudes (1).zip").write_bytes(a25.read_bytes())
    (out / "A2025 otra descarga.zip").write_bytes(zip_bytes(dict(reversed(list(files.items())))))
    first_four = sorted(imp25["pedimento"].unique())[:4]
    synth_datastage(
        imp25[imp25["pedimento"].isin(first_four)],
        exp25.iloc[0:0],
        out / "B2025_solicitudes.zip",
        folio="2500000002",
        **kw,
    )
    imp_c, exp_c = _renumber(imp25, "0456"), _renumber(exp25, "0456")
    c = out / "C2025_solicitudes.zip"
    synth_datastage(imp_c, exp_c, c, folio="2500000003", **kw)
    files = read_members(c)
    files["2500000003_extra.zip"] = zip_bytes({"2500000003_Sel.asc": bomb_member()})
    damaged = {
        "2500000003_502.asc": "corrupt",
        "2500000003_505.asc": "encrypted",
        "2500000003_558.asc": "deflate64",
    }
    c.write_bytes(break_members(zip_bytes(files), damaged))
    imp_d, exp_d = _renumber(imp25, "0789"), _renumber(exp25, "0789")
    d = out / "D2025_solicitudes.zip"
    synth_datastage(imp_d, exp_d, d, folio="2500000004", **kw)
    whole = d.read_bytes()
    with zipfile.ZipFile(d) as zf:
        info = zf.getinfo("2500000004_558.asc")
        cut = info.header_offset + 30 + len(info.filename) + info.compress_size // 2  # inside 558
    d.write_bytes(whole[:cut])
    imports = pd.concat([imp15, imp25, imp_c, imp_d], ignore_index=True)
    exports = pd.concat([exp15, exp25, exp_c, exp_d], ignore_index=True)
    expected = {
        "year_5202": ("2500000001_505.asc", 2, "FechaFacturacion"),
        "reused_number": ("15 07 0123 5000001", "25 07 0123 5000001"),
        "identical_request": ("2500000001", 2),
        "overlap_pedimentos": [p for p in first_four],
        "unreadable": {
            "C2025_solicitudes.zip:2500000003_502.asc": "corrupt",
            "C2025_solicitudes.zip:2500000003_505.asc": "encrypted",
            "C2025_solicitudes.zip:2500000003_558.asc": "Deflate64",
        },
        "refused": "C2025_solicitudes.zip:2500000003_extra.zip:2500000003_Sel.asc",
        "truncated": "D2025_solicitudes.zip",
        "truncated_member": "D2025_solicitudes.zip:2500000004_558.asc",
    }
    return QuirkCorpus(out, imports, exports, expected)


# ---------------------------------------------------------------- a corpus of realistic size


def bulk_ledger(
    year: int, n_imports: int, n_exports: int = 0, *, lines: int = 3, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A canonical client with ``n_imports`` IN pedimentos of ``lines`` lines
    and ``n_exports`` RT pedimentos spread over ``year`` (patente 0123, aduana
    07): the 7-digit numbers restart every year whose last digit repeats, as
    SAT's do."""
    rng = random.Random(seed + year)
    y, yy = year % 10, year % 100
    start = pd.Timestamp(f"{year}-01-02")
    days = 360
    imports = []
    for i in range(n_imports):
        date = start + pd.Timedelta(days=i * days // max(n_imports, 1))
        for line in range(1, lines + 1):
            qty = float(rng.randint(10, 5000))
            usd = round(qty * rng.uniform(0.2, 9.0), 2)
            imports.append(
                {
                    "pedimento": f"{yy:02d} 07 0123 {y}{i + 1:06d}",
                    "line": line,
                    "clave": "IN",
                    "date": date,
                    "part_number": f"P-{rng.randint(1, 400):04d}",
                    "description": "Componente electrónico",
                    "uom": "PZA",
                    "fraccion": rng.choice(("8536699901", "7318150101", "3926909999")),
                    "quantity": qty,
                    "value_usd": usd,
                    "value_mxn": round(usd * 18.5, 2),
                    "origin": rng.choice(("CHN", "USA", "JPN")),
                    "igi_rate": 0.05,
                    "prosec_rate": float("nan"),
                    "usmca_originating": pd.NA,
                }
            )
    exports = [
        {
            "pedimento": f"{yy:02d} 07 0123 {y}{900000 + i:06d}",
            "line": 1,
            "clave": "RT",
            "date": start + pd.Timedelta(days=i * days // max(n_exports, 1)),
            "part_number": "FG-1",
            "quantity": 100.0,
            "uom": "PZA",
            "value_usd": 1000.0,
            "destination": "USA",
        }
        for i in range(n_exports)
    ]
    imp = pd.DataFrame(imports)
    exp = pd.DataFrame(
        exports,
        columns=[
            "pedimento",
            "line",
            "clave",
            "date",
            "part_number",
            "quantity",
            "uom",
            "value_usd",
            "destination",
        ],
    )
    for df in (imp, exp):
        if len(df):
            df["line"] = df["line"].astype("int64")
            df["date"] = df["date"].astype("datetime64[ns]")
    return imp, exp


def synth_corpus(
    out: str | Path, *, years: Sequence[int], pedimentos_per_year: int, seed: int = 7
) -> list[Path]:
    """Quarterly requests for each of ``years`` (about 30 data lines per
    pedimento), plus one identical re-download and one request overlapping
    the last quarter of the first year — a multi-year folder as a consultant
    receives it.  Returns the ZIPs written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for year in years:
        n_exp = pedimentos_per_year // 5
        imp, exp = bulk_ledger(year, pedimentos_per_year - n_exp, n_exp, seed=seed)
        for q in range(4):
            lo = pd.Timestamp(year=year, month=3 * q + 1, day=1)
            hi = lo + pd.offsets.QuarterEnd(0)
            folio = f"{year % 100:02d}{q + 1}{seed:07d}"
            path = out / f"{folio}_solicitudes.zip"
            synth_datastage(
                imp,
                exp,
                path,
                folio=folio,
                differences=[],
                rectifications=1,
                period=(f"{lo:%Y-%m-%d}", f"{hi:%Y-%m-%d}"),
                seed=seed,
            )
            written.append(path)
    first = written[0]
    copy = out / f"{first.stem} (1).zip"
    copy.write_bytes(first.read_bytes())
    written.append(copy)
    year = years[0]
    imp, exp = bulk_ledger(year, pedimentos_per_year - pedimentos_per_year // 5, 0, seed=seed)
    overlap = out / f"{year % 100:02d}9{seed:07d}_solicitudes.zip"
    synth_datastage(
        imp,
        exp,
        overlap,
        folio=f"{year % 100:02d}9{seed:07d}",
        differences=[],
        rectifications=0,
        period=(f"{year}-11-01", f"{year}-12-31"),
        seed=seed,
    )
    written.append(overlap)
    return written
