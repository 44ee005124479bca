"""One stray Windows-1252 byte in a UTF-8 file used to re-decode the whole
file as Windows-1252: ``cartón`` became ``cartÃ³n``, the part number
``TS-DEÑ-1210`` stopped matching the exports (shortfalls instead of
allocations), and validate called the file clean.  Lines are decoded one by
one now, and validate says how many needed Windows-1252."""

from __future__ import annotations

import json

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


def test_one_stray_byte_changes_only_its_own_line(tmp_path):
    lines = [
        IMPORTS_HEADER.encode(),
        import_line(1, "TS-DEÑ-1210", description="Caja de cartón").encode("utf-8"),
        import_line(2, "P-002", description="Caf\xe9 soluble").encode("cp1252"),  # the stray byte
        import_line(3, "P-003", description="Tubería").encode("utf-8"),
    ]
    exports = "\n".join([EXPORTS_HEADER, export_line(1, "TS-DEÑ-1210")]) + "\n"
    folder = write_client(tmp_path / "acme", b"\n".join(lines) + b"\n", exports)

    out = tmp_path / "v"
    p = run_cli("validate", folder, "--out", out)
    no_traceback(p)
    assert p.returncode == 0, p.stdout + p.stderr
    assert accounted(out) == {"read": 3, "loaded": 3, "rejected": 0}
    assert "imports.csv: 1 line(s) not valid UTF-8, read as Windows-1252" in p.stdout
    counts = json.loads((out / "validate_manifest.json").read_text())["row_counts"]
    assert counts["imports_cp1252_lines"] == 1

    d = tmp_path / "d"
    p = run_cli("discharge", folder, "--out", d, "--as-of", "2024-06-30")
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    assert pd.read_csv(d / "shortfalls.csv").empty
    balances = pd.read_csv(d / "balances.csv", dtype=str).set_index("part_number")
    assert balances.loc["TS-DEÑ-1210", "description"] == "Caja de cartón"
    assert balances.loc["P-002", "description"] == "Café soluble"
    assert balances.loc["P-003", "description"] == "Tubería"
    assert {"allocations.csv", "balances.csv", "shortfalls.csv", "manifest.json"} <= {
        f.name for f in d.iterdir()
    }


def test_a_whole_windows_1252_file_still_reads(tmp_path):
    """Excel's "CSV (delimited)": every accented line is Windows-1252."""
    imports = "\n".join([IMPORTS_HEADER, import_line(1, "TS-DEÑ-1210", description="Cartón")])
    exports = "\n".join([EXPORTS_HEADER, export_line(1, "TS-DEÑ-1210")])
    folder = write_client(
        tmp_path / "acme", (imports + "\n").encode("cp1252"), (exports + "\n").encode("cp1252")
    )
    out = tmp_path / "v"
    p = run_cli("validate", folder, "--out", out)
    no_traceback(p)
    assert p.returncode == 0, p.stderr
    assert accounted(out) == {"read": 1, "loaded": 1, "rejected": 0}
    assert accounted(out, "exports") == {"read": 1, "loaded": 1, "rejected": 0}
    assert "exports.csv: 1 line(s) not valid UTF-8" in p.stdout
