"""immex-nb: IMMEX discharge (descargo PEPS), deadlines, exposure and duty/VAT
analysis for trade-compliance consultants.

The flow, one module each::

    load      → immex_nb.load(folder)            canonical tables + rejects
    discharge → immex_nb.discharge(imports, exports, bom, as_of=None)
    value     → immex_nb.exposure(balances, as_of), immex_nb.savings, immex_nb.tmec
    present   → immex_nb.figures, notebooks/, immex-nb report

The three entry points share their module's name; they are imported here so
that ``immex_nb.load`` and ``immex_nb.discharge`` are always the functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from immex_nb.discharge import DischargeResult, discharge  # noqa: E402
from immex_nb.errors import ImmexError  # noqa: E402
from immex_nb.exposure import exposure  # noqa: E402
from immex_nb.load import Ledger, load  # noqa: E402

__all__ = [
    "DischargeResult",
    "ImmexError",
    "Ledger",
    "__version__",
    "discharge",
    "exposure",
    "load",
]
