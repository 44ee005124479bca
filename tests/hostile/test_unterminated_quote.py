"""A description ``"Tubo 60 in`` whose quote never closes used to glue the
next physical lines into one cell: those import lines were neither loaded nor
named, and every row number below shifted (docs/rules/validation.md)."""

from __future__ import annotations

import pandas as pd

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


def _imports() -> str:
    lines = [
        IMPORTS_HEADER,  # row 1
        import_line(1, "P-001"),  # row 2
        import_line(2, "P-002", description='"Tubo 60 in'),  # row 3: the quote never closes
        import_line(3, "P-003"),  # rows 4-7: what it used to swallow
        import_line(4, "P-004"),
        import_line(5, "P-005"),
        import_line(6, "P-006", description='"Tubo\n40 in"'),  # a real two-line cell (rows 7-8)
        import_line(7, "P-007", quantity="-5"),  # spreadsheet row 8, rejected for its quantity
        import_line(8, "P-008"),  # row 9
    ]
    return "\n".join(lines) + "\n"


def test_every_line_a_quote_swallowed_is_loaded_or_named(tmp_path):
    exports = "\n".join([EXPORTS_HEADER, export_line(1, "P-004")]) + "\n"
    folder = write_client(tmp_path / "acme", _imports(), exports)
    out = tmp_path / "v"
    p = run_cli("validate", folder, "--out", out)
    no_traceback(p)
    assert p.returncode == 1, p.stdout + p.stderr
    assert accounted(out) == {"read": 8, "loaded": 6, "rejected": 2}
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False)
    assert rejects[["row", "column"]].values.tolist() == [["3", "description"], ["8", "quantity"]]
    assert "never closes" in rejects["reason"].iloc[0]

    d = tmp_path / "d"
    p = run_cli("discharge", folder, "--out", d, "--as-of", "2024-06-30")
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    balances = pd.read_csv(d / "balances.csv", dtype=str)
    assert sorted(balances["part_number"]) == [f"P-00{i}" for i in (1, 3, 4, 5, 6, 8)]
    assert pd.read_csv(d / "shortfalls.csv").empty  # P-004 was imported after all
    assert {"allocations.csv", "balances.csv", "shortfalls.csv", "manifest.json"} <= {
        f.name for f in d.iterdir()
    }


def test_a_quote_open_to_the_end_of_a_big_file(tmp_path):
    """3 000 lines after the open quote: more than the csv module's largest cell."""
    lines = [IMPORTS_HEADER, import_line(1, "P-1", description='"Tubo 60 in')]
    lines += [import_line(n, f"P-{n}") for n in range(2, 3002)]
    exports = "\n".join([EXPORTS_HEADER, export_line(1, "P-2")]) + "\n"
    folder = write_client(tmp_path / "big", "\n".join(lines) + "\n", exports)
    out = tmp_path / "v"
    p = run_cli("validate", folder, "--out", out)
    no_traceback(p)
    assert p.returncode == 1, p.stderr
    assert accounted(out) == {"read": 3001, "loaded": 3000, "rejected": 1}
    rejects = pd.read_csv(out / "rejects.csv", dtype=str)
    assert rejects["row"].tolist() == ["2"]
