"""``immex-nb compulsa DATA_DIR DATASTAGE_PATH --out OUT_DIR``: Anexo 24 held
against the SAT Data Stage (docs/rules/datastage.md).

Writes ``compulsa.csv``, ``compulsa_summary.csv``, ``datastage_findings.csv``
(data quality of the Data Stage itself), ``datastage_rejects.csv`` and
``manifest.json``.  Exit 0 when the two agree, 1 when there is any
difference, 2 when an input is unusable.
"""

from __future__ import annotations

from pathlib import Path

from immex_nb.datastage import compulsa, compulsa_summary, read_datastage
from immex_nb.datastage.views import data_quality
from immex_nb.load import load
from immex_nb.outputs import write_csv, write_manifest


def add_parser(sub) -> None:
    c = sub.add_parser("compulsa", help="reconcile Anexo 24 against a SAT Data Stage ZIP")
    c.add_argument("data_dir", metavar="DATA_DIR")
    c.add_argument(
        "datastage", metavar="DATASTAGE_PATH", help="ZIP, folder of .asc files, or folder of ZIPs"
    )
    c.add_argument("--out", required=True, metavar="OUT_DIR")


def run(args) -> int:
    data_dir, datastage_path, out = args.data_dir, args.datastage, Path(args.out)
    ledger = load(data_dir)
    ds = read_datastage(datastage_path)
    findings = compulsa(ledger.imports, ledger.exports, ds)
    summary = compulsa_summary(findings)
    quality = data_quality(ds)
    write_csv(findings, out / "compulsa.csv")
    write_csv(summary, out / "compulsa_summary.csv")
    write_csv(quality, out / "datastage_findings.csv")
    write_csv(ds.rejects, out / "datastage_rejects.csv")
    write_manifest(
        out,
        "compulsa",
        inputs=[*getattr(ledger, "sources", []), *ds.sources],
        parameters={
            "data_dir": data_dir,
            "datastage": datastage_path,
            "qty_tolerance": 0.001,
            "value_tolerance": 1.0,
            "date_tolerance_days": 0,
        },
        row_counts={
            "compulsa": len(findings),
            "datastage_findings": len(quality),
            "datastage_rejects": len(ds.rejects),
            "datastage_pedimentos": int(ds.index["is_latest"].sum()),
        },
    )
    lo, hi = ds.period()
    period = f"{lo:%Y-%m-%d} – {hi:%Y-%m-%d}" if lo is not None else "no Resumen"
    print(f"compulsa {data_dir} vs {datastage_path} ({period}): {len(findings)} difference(s)")
    for r in summary.itertuples(index=False):
        if r.findings:
            print(f"  {r.issue:<22} {r.findings:>5} finding(s) on {r.pedimentos} pedimento(s)")
    if len(quality):
        print(
            f"  Data Stage data quality: {len(quality)} finding(s), {len(ds.rejects)} rejected line(s)"
        )
    print(f"  written to {out}")
    return 1 if len(findings) else 0
