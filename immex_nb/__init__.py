"""immex-nb: IMMEX discharge (descargo PEPS), deadlines, exposure and duty/VAT
analysis for trade-compliance consultants.

The flow, one module each::

    load      → immex_nb.load(folder)            canonical tables + rejects
    discharge → immex_nb.discharge(imports, exports, bom, as_of=None)
    value     → immex_nb.exposure(...), immex_nb.savings, immex_nb.tmec
    present   → immex_nb.figures, notebooks/, immex-nb report
"""

from __future__ import annotations

__version__ = "0.1.0"

from immex_nb.errors import ImmexError

__all__ = ["ImmexError", "__version__", "load", "discharge", "exposure"]


def __getattr__(name: str):  # lazy: `import immex_nb` stays light for the CLI
    if name == "load":
        from immex_nb.load import load

        return load
    if name == "discharge":
        from immex_nb.discharge import discharge

        return discharge
    if name == "exposure":
        from immex_nb.exposure import exposure

        return exposure
    raise AttributeError(f"module 'immex_nb' has no attribute {name!r}")
