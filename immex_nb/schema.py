"""Canonical tables: column names, types, Spanish aliases (docs/rules/tables.md).

This module is the single written definition of the data contract inside the
package.  Loaders map whatever headers a client sends onto these names; every
later step (discharge, exposure, reports) relies on these names and dtypes:

* ``pedimento``: text ``"YY AA PPPP NNNNNNN"`` (15 digits, single spaces).
* ``line``: int64 ≥ 1.
* dates (``date``, ``valid_from``, ``valid_to``): ``datetime64[ns]`` at
  midnight, no time zone; a blank BOM validity is ``NaT`` (open-ended).
* quantities, values and rates: float64 (rates are fractions: 0.15 = 15 %).
* codes (``part_number``, ``fraccion``, ``origin`` …): text, leading zeros kept.
* ``usmca_originating``: pandas nullable ``boolean`` (``<NA>`` = not stated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MATERIAL_TYPES = ("MP", "EE", "CT", "AF")
MATERIAL_LABELS = {
    "MP": "Inputs / raw materials (MP)",
    "EE": "Packaging (EE)",
    "CT": "Containers & trailer boxes (CT)",
    "AF": "Machinery & equipment (AF)",
}
#: time limit in months by material type (LA art. 108; None = program validity)
DEADLINE_MONTHS = {"MP": 18, "EE": 18, "CT": 24, "AF": None}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "pedimento" | "int" | "date" | "float" | "str" | "bool" | "material"
    required: bool = True
    aliases: tuple[str, ...] = ()
    default: object = None  # used when the column is absent or the cell is blank
    positive: bool = False  # > 0
    non_negative: bool = False  # >= 0


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required_file: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_PED = Column(
    "pedimento",
    "pedimento",
    aliases=("num_pedimento", "numero_pedimento", "no_pedimento", "pedimento_number"),
)
_LINE = Column(
    "line",
    "int",
    aliases=("partida", "linea", "secuencia", "secuencia_fraccion", "sec"),
    positive=True,
)
_CLAVE_ALIASES = ("clave_pedimento", "cve_pedimento", "cve_ped", "clave_documento")
#: blank clave = IN in imports, RT in exports (docs/rules/claves.md)
_CLAVE = Column("clave", "str", required=False, aliases=_CLAVE_ALIASES, default="IN")
_EXIT_CLAVE = Column("clave", "str", required=False, aliases=_CLAVE_ALIASES, default="RT")
_DATE = Column("date", "date", aliases=("fecha", "fecha_entrada", "fecha_pago", "fecha_pedimento"))
_PART = Column(
    "part_number",
    "str",
    aliases=("numero_parte", "no_parte", "num_parte", "parte", "np", "part", "part_no"),
)
_QTY = Column("quantity", "float", aliases=("cantidad", "qty", "cantidad_umc"), positive=True)
_UOM = Column("uom", "str", required=False, aliases=("unidad", "umc", "unidad_medida", "um"))
_USD = Column(
    "value_usd",
    "float",
    aliases=("valor_usd", "valor_dolares", "valor_dls", "usd"),
    non_negative=True,
)

IMPORTS = Table(
    "imports",
    (
        _PED,
        _LINE,
        _CLAVE,
        _DATE,
        _PART,
        Column("description", "str", required=False, aliases=("descripcion", "desc")),
        Column(
            "fraccion",
            "str",
            required=False,
            aliases=("fraccion_arancelaria", "hs_code", "tariff_item"),
        ),
        _UOM,
        _QTY,
        _USD,
        Column(
            "value_mxn",
            "float",
            aliases=("valor_mxn", "valor_aduana", "valor_pesos", "mxn"),
            non_negative=True,
        ),
        Column(
            "origin",
            "str",
            required=False,
            aliases=("pais_origen", "origen", "country_of_origin"),
            default="",
        ),
        Column(
            "material_type",
            "material",
            required=False,
            aliases=("tipo_material", "tipo", "categoria"),
            default="MP",
        ),
        Column(
            "igi_rate",
            "float",
            required=False,
            aliases=("tasa_igi", "arancel", "igi"),
            default=0.0,
            non_negative=True,
        ),
        Column(
            "prosec_rate",
            "float",
            required=False,
            aliases=("tasa_prosec", "prosec"),
            non_negative=True,
        ),
        Column(
            "usmca_originating",
            "bool",
            required=False,
            aliases=("originario", "originario_tmec", "tmec_originating", "originating"),
        ),
    ),
    key=("pedimento", "line"),
)

EXPORTS = Table(
    "exports",
    (
        _PED,
        _LINE,
        _EXIT_CLAVE,
        _DATE,
        _PART,
        _QTY,
        _UOM,
        Column(
            "value_usd",
            "float",
            required=False,
            aliases=_USD.aliases,
            default=0.0,
            non_negative=True,
        ),
        Column(
            "destination",
            "str",
            required=False,
            aliases=("pais_destino", "destino", "country_of_destination"),
            default="",
        ),
        Column(
            "us_duty_paid_usd",
            "float",
            required=False,
            aliases=("arancel_pagado_usd", "duty_paid_usd"),
            non_negative=True,
        ),
        # directed discharge (docs/rules/discharge.md): blank = FIFO; line blank/0 = any line
        Column(
            "import_pedimento",
            "pedimento",
            required=False,
            aliases=("pedimento_original", "pedimento_importacion", "pedimento_descargo"),
            default="",
        ),
        Column(
            "import_line",
            "int",
            required=False,
            aliases=("partida_original", "partida_importacion", "partida_descargo"),
            default=0,
        ),
    ),
    key=("pedimento", "line"),
)

BOM = Table(
    "bom",
    (
        Column("parent", "str", aliases=("padre", "producto", "producto_terminado", "ensamble")),
        Column("component", "str", aliases=("componente", "insumo", "material")),
        Column(
            "qty_per",
            "float",
            aliases=("cantidad_por", "consumo", "consumo_unitario", "qty"),
            positive=True,
        ),
        Column(
            "scrap_rate",
            "float",
            required=False,
            aliases=("merma", "tasa_merma", "desperdicio", "scrap"),
            default=0.0,
            non_negative=True,
        ),
        Column(
            "valid_from",
            "date",
            required=False,
            aliases=("vigencia_desde", "desde", "fecha_inicio", "inicio"),
        ),
        Column(
            "valid_to",
            "date",
            required=False,
            aliases=("vigencia_hasta", "hasta", "fecha_fin", "fin"),
        ),
    ),
    required_file=False,
)

TABLES = {t.name: t for t in (IMPORTS, EXPORTS, BOM)}

REJECT_COLUMNS = ["file", "row", "column", "value", "reason"]

_NON_DIGIT = re.compile(r"\D")


def normalize_pedimento(value: object) -> str | None:
    """``'24 47 3420 4001234'``, ``'24473420 4001234'``, ``'24-47-3420-4001234'``
    → ``'24 47 3420 4001234'``; anything that is not 15 digits → ``None``."""
    if value is None:
        return None
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number Excel stored as float
        text = text[:-2]
    if not text or not re.fullmatch(r"[\d\s\-/.]+", text):
        return None
    digits = _NON_DIGIT.sub("", text)
    if len(digits) != 15:
        return None
    return f"{digits[0:2]} {digits[2:4]} {digits[4:8]} {digits[8:15]}"


#: words dropped when comparing headers: "Número de Parte" = numero_parte
_CONNECTORS = {"de", "del", "la", "el", "en", "of", "the"}


def canonical_header(text: str) -> str:
    """Header text as compared with names and aliases: trimmed, lower case,
    accents removed, spaces/dashes/dots as ``_``, connector words dropped
    (``"Número de Parte"`` → ``numero_parte``, ``"País de origen"`` →
    ``pais_origen``, ``"Valor en aduana"`` → ``valor_aduana``)."""
    import unicodedata

    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^0-9a-zA-Z]+", t.strip().lower()) if w]
    kept = [w for w in words if w not in _CONNECTORS]
    return "_".join(kept or words)
