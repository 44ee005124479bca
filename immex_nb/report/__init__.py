"""The monthly report batch (docs/report.md, docs/batch.md): papermill over clients × periods.

``run_batch(data_root, periods, out, clients=None, workers=None)`` runs
``notebooks/monthly_report.ipynb`` for every client folder × period and writes
``OUT/<client>/<YYYY-MM>/{report.ipynb, report.html, annex.xlsx, kpis.json}``
plus ``OUT/index.html``; ``immex-nb demo`` does the same for the bundled
demo clients.  See :mod:`immex_nb.report.batch` for the rules.
"""

from __future__ import annotations

from immex_nb.report.batch import BatchResult, TaskResult, run_batch, validate_client_name

__all__ = ["BatchResult", "TaskResult", "run_batch", "validate_client_name"]
