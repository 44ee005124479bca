"""The Anexo 22 catalogs the Data Stage views decode: complete enough that
the codes genuine requests carry are found, and each row names its source."""

from __future__ import annotations

import pandas as pd

from immex_nb.datastage.views import _catalogs, catalog, meaning

# the identificadores most often seen in genuine 507 (pedimento) and 554 (partida) files
SEEN_507 = ["ED", "IM", "SO", "PC", "ST", "CI", "CR", "RC", "V1", "PP", "IC"]
SEEN_554 = ["XP", "PT", "EN", "TL", "PS", "MA", "PO", "EB"]


def test_identificadores_cover_what_requests_carry():
    ids = catalog("identificador")
    assert len(ids) >= 150 and ids["code"].is_unique
    shown = meaning(pd.Series(SEEN_507 + SEEN_554), "identificador")
    assert not shown.str.contains("not in catalog").any()
    assert meaning(pd.Series(["IM"]), "identificador").iat[0].startswith("Programa IMMEX")


def test_claves_de_pedimento_cover_appendix_2():
    claves = set(catalog("clave_pedimento")["code"])
    assert {"IN", "AF", "RT", "V1", "A1", "F4", "F5", "K1", "T3", "M3", "G1"} <= claves


def test_every_catalog_row_names_its_source():
    cats = _catalogs()
    assert cats["source"].str.strip().ne("").all()
    assert not cats.duplicated(["catalog", "code"]).any()
