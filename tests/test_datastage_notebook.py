"""notebooks/datastage.ipynb runs under papermill on a demo client and shows the planted differences."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from immex_nb.samples.datastage import example_ledger, write_demo_datastage

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "datastage.ipynb"
DEMO = ROOT / "data" / "demo" / "electronica-norte"


def test_notebook_is_commit_ready():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "notebook_connected" not in NOTEBOOK.read_text(encoding="utf-8")


def _client(tmp_path: Path) -> Path:
    client = tmp_path / "client"
    if (DEMO / "imports.csv").exists():
        client.mkdir()
        for name in ("imports.csv", "exports.csv", "bom.csv", "client.toml"):
            if (DEMO / name).exists():
                shutil.copy(DEMO / name, client / name)
    else:  # demo data not generated: the small example client
        client.mkdir()
        imports, exports = example_ledger()
        imports.to_csv(client / "imports.csv", index=False, date_format="%Y-%m-%d")
        exports.to_csv(client / "exports.csv", index=False, date_format="%Y-%m-%d")
    return client


@pytest.mark.slow
def test_notebook_runs_with_papermill_and_shows_the_findings(tmp_path):
    papermill = pytest.importorskip("papermill")
    client = _client(tmp_path)
    planted = write_demo_datastage(client).planted
    out = tmp_path / "datastage.out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"client_dir": str(client), "datastage_path": ""},
        kernel_name="python3",
        cwd=str(ROOT),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    by_tag = {(c.metadata.get("tags") or [""])[0]: c for c in nb.cells if c.cell_type == "code"}
    assert not [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]

    summary = "".join(
        o.get("data", {}).get("text/plain", "") for o in by_tag["compulsa-summary"].outputs
    )
    for issue in planted["issue"].unique():
        assert issue in summary
    findings = "".join(
        o.get("data", {}).get("text/plain", "") for o in by_tag["compulsa-findings"].outputs
    )
    for ped in planted["pedimento"].unique():
        assert ped in findings
    for tag in ("taxes-figure", "rates-figure"):
        html = "".join(o.get("data", {}).get("text/html", "") for o in by_tag[tag].outputs)
        assert "plotly" in html.lower(), tag
    taxes = json.dumps(by_tag["taxes-by-month"].outputs)
    assert "credited" in taxes and "deferred" in taxes
