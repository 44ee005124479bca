"""``immex-nb validate DATA_DIR [--out DIR]``: load a client folder, print a
summary, write ``rejects.csv`` and ``validate_manifest.json``.

Exit 0 when every row loaded, 1 when rows were rejected, 2 when the folder is
unusable (docs/rules/validation.md).
"""

from __future__ import annotations

from pathlib import Path

from immex_nb.discharge import directed_findings
from immex_nb.load import Ledger, load
from immex_nb.outputs import check_out, write_csv, write_manifest


def add_parser(sub) -> None:
    v = sub.add_parser("validate", help="load a client folder, print a summary, write rejects.csv")
    v.add_argument("data_dir", metavar="DATA_DIR")
    v.add_argument("--out", metavar="DIR", help="folder for rejects.csv (default: DATA_DIR)")


def format_summary(ledger: Ledger, limit: int = 10) -> str:
    """The text ``immex-nb validate`` prints."""
    lines = [f"{ledger.folder}  (client: {ledger.settings.name})", ""]
    summary = ledger.summary()
    summary["file"] = summary["file"].replace("", "(none)")
    lines.append(summary.to_string(index=False))
    lines += _reading_notes(ledger)
    rejects = ledger.rejects
    if rejects.empty:
        lines += ["", "No rows rejected."]
        return "\n".join(lines)
    rows = rejects[["file", "row"]].drop_duplicates()
    lines += [
        "",
        f"{len(rows)} row(s) rejected ({len(rejects)} problem(s)); first {min(limit, len(rejects))}:",
    ]
    for r in rejects.head(limit).itertuples(index=False):
        where = f"{r.file} row {r.row}" + (f", {r.column}" if r.column else "")
        shown = f" = {r.value!r}" if r.value else ""
        lines.append(f"  {where}{shown}: {r.reason}")
    if len(rejects) > limit:
        lines.append(f"  … and {len(rejects) - limit} more in rejects.csv")
    return "\n".join(lines)


def _reading_notes(ledger: Ledger) -> list[str]:
    """Which sheet each workbook table was read from, and how many CSV lines
    were not UTF-8 and were read as Windows-1252."""
    notes = []
    for table, where in ledger.read_from.items():
        if where != ledger.files.get(table):  # a workbook sheet
            notes.append(f"{table}: read from {where}")
    for table, count in ledger.fallback_lines.items():
        if count:
            notes.append(
                f"{ledger.files[table]}: {count} line(s) not valid UTF-8, read as Windows-1252"
            )
    return ["", *notes] if notes else []


def run(args) -> int:
    data_dir, out = args.data_dir, args.out
    if out is not None:
        check_out(out)  # an unwritable OUT: one line, exit 2, before any work
    ledger = load(data_dir)
    print(format_summary(ledger))
    findings = directed_findings(ledger)
    if len(findings):  # warnings, not rejects: those exits fall to FIFO
        print(f"\n{len(findings)} directed exit(s) name import lines that cannot serve them:")
        for r in findings.head(10).itertuples(index=False):
            print(f"  {_finding_line(r)}")
    out_dir = Path(out if out is not None else data_dir)
    target = write_csv(ledger.rejects, out_dir / "rejects.csv")
    summary = ledger.summary()
    write_manifest(
        out_dir,
        command="validate",
        inputs=ledger.sources,
        parameters={"data_dir": Path(data_dir).resolve()},
        row_counts={
            **{
                f"{r.table}_{k}": int(getattr(r, k))
                for r in summary.itertuples()
                for k in ("read", "loaded", "rejected")
            },
            "rejects": len(ledger.rejects),
            **{f"{t}_cp1252_lines": n for t, n in ledger.fallback_lines.items()},
        },
        name="validate_manifest.json",
    )
    if len(findings):
        write_csv(findings, out_dir / "directed_findings.csv")
    print(f"\nrejects written to {target}")
    return 0 if ledger.rejects.empty else 1


def _finding_line(finding) -> str:
    row = finding._asdict()
    where = f"{row.get('export_pedimento', '')} line {row.get('export_line', '')}"
    return (
        f"{where} → {row.get('import_pedimento', '')}: {row.get('detail') or row.get('issue', '')}"
    )
