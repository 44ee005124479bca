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
from immex_nb.outputs import check_out, manifest_json, write_tables


def add_parser(sub) -> None:
    c = sub.add_parser("compulsa", help="reconcile Anexo 24 against a SAT Data Stage ZIP")
    c.add_argument("data_dir", metavar="DATA_DIR")
    c.add_argument(
        "datastage",
        nargs="+",
        metavar="DATASTAGE_PATH",
        help="Data Stage ZIPs, folders of .asc files or folders of ZIPs (several requests at once)",
    )
    c.add_argument("--out", required=True, metavar="OUT_DIR")


def run(args) -> int:
    data_dir, out = args.data_dir, Path(args.out)
    check_out(out)  # an unwritable OUT: one line, exit 2, before any work
    datastage_path = args.datastage[0] if len(args.datastage) == 1 else args.datastage
    ledger = load(data_dir)
    ds = read_datastage(datastage_path)
    findings = compulsa(ledger.imports, ledger.exports, ds)
    summary = compulsa_summary(findings)
    quality = data_quality(ds)
    tables = {
        "compulsa": findings,
        "compulsa_summary": summary,
        "datastage_findings": quality,
        "datastage_rejects": ds.rejects,
    }
    manifest = manifest_json(
        "compulsa",
        inputs=[*getattr(ledger, "sources", []), *ds.sources],
        parameters={
            "data_dir": data_dir,
            "datastage": [str(x) for x in args.datastage],
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
    write_tables(tables, out, extra={"manifest.json": manifest})  # one set, published at once
    lo, hi = ds.period()
    period = f"{lo:%Y-%m-%d} – {hi:%Y-%m-%d}" if lo is not None else "no Resumen"
    shown = ", ".join(str(x) for x in args.datastage)
    print(f"compulsa {data_dir} vs {shown} ({period}): {len(findings)} difference(s)")
    for r in summary.itertuples(index=False):
        if r.findings:
            print(f"  {r.issue:<22} {r.findings:>5} finding(s) on {r.pedimentos} pedimento(s)")
    if len(quality):
        print(
            f"  Data Stage data quality: {len(quality)} finding(s), {len(ds.rejects)} rejected line(s)"
        )
    print(f"  written to {out}")
    return 1 if len(findings) else 0
