"""``immex-nb validate`` warns about directed exits that cannot be served
(docs/rules/discharge.md §directed): a finding, not a reject — exit 0, the row
is loaded, and ``directed_findings.csv`` lists it."""

from __future__ import annotations

import pandas as pd
from conftest import EXPORT_ROW, IMPORT_ROW

from immex_nb.cli import main


def test_a_directed_exit_naming_an_unknown_pedimento_is_a_warning(tmp_path, write_client, capsys):
    export = {**EXPORT_ROW, "clave": "A3", "import_pedimento": "24 47 3420 4000404"}
    folder = write_client(tmp_path / "acme", imports=[IMPORT_ROW], exports=[export])
    assert main(["validate", str(folder), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "1 directed exit(s) name import lines that cannot serve them" in out
    assert "24 47 3420 4000404" in out
    findings = pd.read_csv(tmp_path / "out" / "directed_findings.csv", dtype=str)
    assert findings["issue"].tolist() == ["named_pedimento_not_imported"]
    assert pd.read_csv(tmp_path / "out" / "rejects.csv").empty


def test_a_directed_exit_that_can_be_served_is_silent(tmp_path, write_client, capsys):
    export = {**EXPORT_ROW, "clave": "A3", "import_pedimento": IMPORT_ROW["pedimento"]}
    folder = write_client(tmp_path / "acme", imports=[IMPORT_ROW], exports=[export])
    assert main(["validate", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "directed exit" not in capsys.readouterr().out
    assert not (tmp_path / "out" / "directed_findings.csv").exists()
