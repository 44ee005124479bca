"""SAT Data Stage: reader, tidy views, catalogs, compulsa and a synthetic generator.

A Data Stage request is the authority's own copy of every pedimento a company
cleared in a period — 26 pipe-delimited files per request.  The package reads
it (:func:`read_datastage`), turns it into the tables a consultant reads
(:mod:`immex_nb.datastage.views`), holds it against Anexo 24
(:func:`compulsa`);
layout-exact synthetic requests for tests and demos live in
:mod:`immex_nb.samples.datastage`.

    >>> ds = read_datastage("data/demo/electronica-norte/datastage")  # doctest: +SKIP
    >>> compulsa(ledger.imports, ledger.exports, ds)      # doctest: +SKIP
"""

from __future__ import annotations

from immex_nb.datastage.compulsa import ISSUES, compulsa, compulsa_summary
from immex_nb.datastage.layouts import HEADERS, RECORD_TYPES
from immex_nb.datastage.reader import DataStage, full_pedimento, read_datastage

__all__ = [
    "HEADERS",
    "ISSUES",
    "RECORD_TYPES",
    "DataStage",
    "compulsa",
    "compulsa_summary",
    "full_pedimento",
    "read_datastage",
]
