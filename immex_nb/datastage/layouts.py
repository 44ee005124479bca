"""The 26 Data Stage record layouts, exactly as SAT writes their header lines.

A Data Stage request ("glosa", ``<folio>_solicitudes.zip``) holds one
pipe-delimited ``<folio>_<tipo>.asc`` file per record type.  Line 1 is the
header below (no trailing pipe); every data line ends with ``|``::

    Patente|Pedimento|SeccionAduanera|TipoOperacion|...|FechaPagoReal      ← header
    3420|5001234|400|1|IN|400||EMA010101AB1|...|2025-03-10 09:41:07|       ← data

Headers were checked byte for byte against genuine files (see
``docs/rules/datastage.md``); the odd spellings (``IndentFiscalProveedor``,
``MunicpioDestinatario``, ``CantidadMUMTarifa``…) are SAT's and must stay.

``FIELD_KINDS`` says how the reader types each field: ``datetime``
(``yyyy-mm-dd hh:mm:ss``), ``date`` (``yyyy-mm-dd``), ``number`` (dot
decimal, no thousands separator) or, for everything else, text with leading
zeros kept (keys, codes, hours, names).
"""

from __future__ import annotations

HEADER_LINES: dict[str, str] = {
    "501": "Patente|Pedimento|SeccionAduanera|TipoOperacion|ClaveDocumento|SeccionAduaneraEntrada|CurpContribuyente|Rfc|CurpAgenteA|TipoCambio|TotalFletes|TotalSeguros|TotalEmbalajes|TotalIncrementables|TotalDeducibles|PesoBrutoMercancia|MedioTransporteSalida|MedioTransporteArribo|MedioTransporteEntrada_Salida|DestinoMercancia|NombreContribuyente|CalleContribuyente|NumInteriorContribuyente|NumExteriorContribuyente|CPContribuyente|MunicipioContribuyente|EntidadFedContribuyente|PaisContribuyente|TipoPedimento|FechaRecepcionPedimento|FechaPagoReal",
    "502": "Patente|Pedimento|SeccionAduanera|RfcTransportista|CurpTransportista|NombreTransportista|PaisTransporte|IdentificadorTransporte|FechaPagoReal",
    "503": "Patente|Pedimento|SeccionAduanera|NumeroGuia|TipoGuia|FechaPagoReal",
    "504": "Patente|Pedimento|SeccionAduanera|NumContenedor|TipoContenedor|FechaPagoReal",
    "505": "Patente|Pedimento|SeccionAduanera|FechaFacturacion|NumeroFactura|TerminoFacturacion|MonedaFacturacion|ValorDolares|ValorMonedaExtranjera|PaisFacturacion|EntidadFedFacturacion|IndentFiscalProveedor|ProveedorMercancia|CalleProveedor|NumInteriorProveedor|NumExteriorProveedor|CpProveedor|MunicipioProveedor|FechaPagoReal",
    "506": "Patente|Pedimento|SeccionAduanera|TipoFecha|FechaOperacion|FechaValidacionPagoR",
    "507": "Patente|Pedimento|SeccionAduanera|ClaveCaso|IdentificadorCaso|TipoPedimento|ComplementoCaso|FechaValidacionPagoR",
    "508": "Patente|Pedimento|SeccionAduanera|InstitucionEmisora|NumeroCuenta|FolioConstancia|FechaConstancia|TipoCuenta|ClaveGarantia|ValorUnitarioTitulo|TotalGarantia|CantidadUnidades|TitulosAsignados|FechaPagoReal",
    "509": "Patente|Pedimento|SeccionAduanera|ClaveContribucion|TasaContribucion|TipoTasa|TipoPedimento|FechaPagoReal",
    "510": "Patente|Pedimento|SeccionAduanera|ClaveContribucion|FormaPago|ImportePago|TipoPedimento|FechaPagoReal",
    "511": "Patente|Pedimento|SeccionAduanera|SecuenciaObservacion|Observaciones|TipoPedimento|FechaValidacionPagoR",
    "512": "Patente|Pedimento|SeccionAduanera|PatenteAduanalOrig|PedimentoOriginal|SeccionAduaneraDespOrig|DocumentoOriginal|FechaOperacionOrig|FraccionOriginal|UnidadMedida|MercanciaDescargada|TipoPedimento|FechaPagoReal",
    "520": "Patente|Pedimento|SeccionAduanera|IndentFiscalDestinatario|NombreDestinatarioMercancia|CalleDestinatario|NumInteriorDestinatario|NumExteriorDestinatario|CpDestinatario|MunicpioDestinatario|PaisDestinatario|FechaPagoReal",
    "551": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|SubdivisionFraccion|DescripcionMercancia|PrecioUnitario|ValorAduana|ValorComercial|ValorDolares|CantidadUMComercial|UnidadMedidaComercial|CantidadUMTarifa|UnidadMedidaTarifa|ValorAgregado|ClaveVinculacion|MetodoValorizacion|CodigoMercanciaProducto|MarcaMercanciaProducto|ModeloMercanciaProducto|PaisOrigenDestino|PaisCompradorVendedor|EntidadFedOrigen|EntidadFedDestino|EntidadFedComprador|EntidadFedVendedor|TipoOperacion|ClaveDocumento|FechaPagoReal",
    "552": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|VinNumeroSerie|KilometrajeVehiculo|FechaPagoReal",
    "553": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|ClavePermiso|FirmaDescargo|NumeroPermiso|ValorComercialDolares|CantidadMUMTarifa|FechaPagoReal",
    "554": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|ClaveCaso|IdentificadorCaso|ComplementoCaso|FechaPagoReal",
    "555": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|InstitucionEmisora|NumeroCuenta|FolioConstancia|FechaConstancia|ClaveGarantia|ValorUnitarioTitulo|TotalGarantia|CantidadUnidadesMedida|TitulosAsignados|FechaPagoReal",
    "556": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|ClaveContribucion|TasaContribucion|TipoTasa|FechaPagoReal",
    "557": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|ClaveContribucion|FormaPago|ImportePago|FechaPagoReal",
    "558": "Patente|Pedimento|SeccionAduanera|Fraccion|SecuenciaFraccion|SecuenciaObservacion|Observaciones|FechaPagoReal",
    "701": "Patente|Pedimento|SeccionAduanera|ClaveDocumento|FechaPago|PedimentoAnterior|PatenteAnterior|SeccionAduaneraAnterior|DocumentoAnterior|FechaOperacionAnterior|PedimentoOriginal|PatenteAduanalOrig|SeccionAduaneraDespOrig|FechaPagoReal",
    "702": "Patente|Pedimento|SeccionAduanera|ClaveContribucion|FormaPago|ImportePago|TipoPedimento|FechaPagoReal",
    "Sel": "Patente|Pedimento|SeccionAduanera|ConsecutivoRemesa|NumeroSeleccion|FechaSeleccion|HoraSeleccion|SemaforoFiscal|ClaveDocumento|TipoOperacion",
    "Inci": "Patente|Pedimento|SeccionAduanera|ConsecutivoRemesa|NumeroSeleccion|FechaInicioReconocimiento|HoraInicioReconocimiento|FechaFinReconocimiento|HoraFinReconocimiento|Fraccion|SecuenciaFraccion|ClaveDocumento|TipoOperacion|GradoIncidencia|FechaSeleccion",
    "Resumen": "Folio|RFCoPatenteAduanal|Fecha_Inicial|Fecha_Final|Fecha_Ejecucion|Total_Fracciones|Total_Contribuciones",
}

#: record types in the order SAT lists them
RECORD_TYPES: tuple[str, ...] = tuple(HEADER_LINES)

#: column names per record type
HEADERS: dict[str, list[str]] = {t: line.split("|") for t, line in HEADER_LINES.items()}

#: what each record type holds (Anexo 22 / SAAI M3 registro names)
RECORD_NAMES: dict[str, str] = {
    "501": "Datos generales",
    "502": "Transporte",
    "503": "Guías",
    "504": "Contenedores",
    "505": "Facturas",
    "506": "Fechas",
    "507": "Identificadores (pedimento)",
    "508": "Cuentas aduaneras de garantía (pedimento)",
    "509": "Tasas (pedimento)",
    "510": "Contribuciones (pedimento)",
    "511": "Observaciones (pedimento)",
    "512": "Descargos",
    "520": "Destinatarios",
    "551": "Partidas",
    "552": "Mercancías (VIN)",
    "553": "Permisos (partida)",
    "554": "Identificadores (partida)",
    "555": "Cuentas aduaneras de garantía (partida)",
    "556": "Tasas (partida)",
    "557": "Contribuciones (partida)",
    "558": "Observaciones (partida)",
    "701": "Rectificaciones",
    "702": "Diferencias de contribuciones",
    "Sel": "Selección automatizada (semáforo)",
    "Inci": "Incidencias del reconocimiento",
    "Resumen": "Resumen de la solicitud",
}

DATETIME_FIELDS = frozenset({"FechaPagoReal", "FechaRecepcionPedimento", "FechaValidacionPagoR"})
DATE_FIELDS = frozenset(
    {
        "FechaFacturacion",
        "FechaOperacion",
        "FechaOperacionOrig",
        "FechaPago",
        "FechaOperacionAnterior",
        "FechaSeleccion",
        "FechaInicioReconocimiento",
        "FechaFinReconocimiento",
        "Fecha_Inicial",
        "Fecha_Final",
        "Fecha_Ejecucion",
    }
)
NUMBER_FIELDS = frozenset(
    {
        "TipoCambio",
        "TotalFletes",
        "TotalSeguros",
        "TotalEmbalajes",
        "TotalIncrementables",
        "TotalDeducibles",
        "PesoBrutoMercancia",
        "ValorDolares",
        "ValorMonedaExtranjera",
        "ValorUnitarioTitulo",
        "TotalGarantia",
        "CantidadUnidades",
        "TasaContribucion",
        "ImportePago",
        "MercanciaDescargada",
        "PrecioUnitario",
        "ValorAduana",
        "ValorComercial",
        "CantidadUMComercial",
        "CantidadUMTarifa",
        "ValorAgregado",
        "ValorComercialDolares",
        "CantidadMUMTarifa",
        "CantidadUnidadesMedida",
        "Total_Fracciones",
        "Total_Contribuciones",
    }
)

#: pedimento-level key (all record types but Resumen) and the partida-level key
PEDIMENTO_KEY = ("Patente", "Pedimento", "SeccionAduanera")
PARTIDA_KEY = (*PEDIMENTO_KEY, "Fraccion", "SecuenciaFraccion")


def field_kind(name: str) -> str:
    """``"datetime"``, ``"date"``, ``"number"`` or ``"text"``."""
    if name in DATETIME_FIELDS:
        return "datetime"
    if name in DATE_FIELDS:
        return "date"
    if name in NUMBER_FIELDS:
        return "number"
    return "text"


def date_field(tipo: str) -> str | None:
    """The field holding the payment timestamp in a record type (None for Resumen)."""
    cols = HEADERS[tipo]
    for name in ("FechaPagoReal", "FechaValidacionPagoR", "FechaSeleccion"):
        if name in cols:
            return name
    return None
