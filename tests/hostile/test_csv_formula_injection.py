"""A part number ``=cmd|' /C calc'!A0`` used to land verbatim in the CSV
outputs, and Excel evaluates it on open.  Every CSV output now writes such
text with a leading ``'``; numbers (a negative one too) stay numbers."""

from __future__ import annotations

import csv

from hostile.conftest import (
    EXPORTS_HEADER,
    IMPORTS_HEADER,
    accounted,
    export_line,
    import_line,
    no_traceback,
    run_cli,
    write_client,
)

PAYLOAD = "=cmd|' /C calc'!A0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cells(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_no_csv_output_carries_a_formula(tmp_path):
    quoted = '"' + PAYLOAD.replace('"', '""') + '"'
    imports = [
        IMPORTS_HEADER,
        import_line(1, quoted, description="@SUM(1+1)"),
        import_line(2, "P-2", description="-2+3"),
        # rejected: its pedimento is a formula, and rejects.csv shows the value
        '=HYPERLINK("http://x"),3,IN,2024-01-10,P-3,Tubo,1,1,1',
    ]
    exports = [EXPORTS_HEADER, export_line(1, quoted), export_line(2, "P-404")]
    folder = write_client(tmp_path / "acme", "\n".join(imports) + "\n", "\n".join(exports) + "\n")

    v = tmp_path / "v"
    p = run_cli("validate", folder, "--out", v)
    no_traceback(p)
    assert p.returncode == 1, p.stderr
    assert accounted(v) == {"read": 3, "loaded": 2, "rejected": 1}
    d, e = tmp_path / "d", tmp_path / "e"
    for args in (
        ("discharge", folder, "--out", d, "--as-of", "2026-06-30"),
        ("exposure", folder, "--out", e, "--as-of", "2026-06-30"),
    ):
        p = run_cli(*args)
        no_traceback(p)
        assert p.returncode == 0, p.stderr

    files = [
        v / "rejects.csv",
        *(d / n for n in ("allocations.csv", "balances.csv", "shortfalls.csv")),
    ]
    files += [e / "exposure.csv", e / "exposure_summary.csv"]
    seen = set()
    negatives = 0
    for path in files:
        assert path.is_file(), path
        for cell in _cells(path):
            assert not cell.startswith(FORMULA_START) or _is_number(cell), (path.name, cell)
            seen.add(cell)
            negatives += cell.startswith("-") and _is_number(cell)
    assert "'" + PAYLOAD in seen  # allocations, balances, exposure
    assert {"'@SUM(1+1)", "'-2+3", '\'=HYPERLINK("http://x")'} <= seen
    assert negatives  # days_to_deadline of the expired lines: written as numbers
