"""``immex-nb discharge DATA_DIR --out OUT_DIR [--as-of YYYY-MM-DD]``: the FIFO
discharge written as ``allocations.csv``, ``balances.csv``, ``shortfalls.csv``
and ``manifest.json`` (docs/rules/discharge.md)."""

from __future__ import annotations

from pathlib import Path

from immex_nb.commands.options import add_cluster, add_deadline_rule, cluster, iso_date
from immex_nb.load import load
from immex_nb.outputs import check_out, manifest_json, write_tables
from immex_nb.run import ClientRun


def add_parser(sub) -> None:
    d = sub.add_parser("discharge", help="FIFO/PEPS discharge: allocations, balances, shortfalls")
    d.add_argument("data_dir", metavar="DATA_DIR")
    d.add_argument("--out", required=True, metavar="OUT_DIR")
    d.add_argument(
        "--as-of",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="the ledger as it stood that day: imports and exports after it are ignored",
    )
    add_deadline_rule(d)
    add_cluster(d)


def run(args) -> int:
    data_dir, out, as_of = args.data_dir, Path(args.out), args.as_of
    check_out(out)  # an unwritable OUT: one line, exit 2, before any work
    ledger = load(data_dir)
    rule = args.deadline_rule or ledger.settings.deadline_rule
    with cluster(args) as client:
        result = ClientRun(ledger, as_of, deadline_rule=rule, client=client).discharge
    tables = {
        "allocations": result.allocations,
        "balances": result.balances,
        "shortfalls": result.shortfalls,
    }
    manifest = manifest_json(
        command="discharge",
        inputs=ledger.sources,
        parameters={
            "data_dir": Path(data_dir).resolve(),
            "as_of": as_of,
            "deadline_rule": rule,
            "oea": ledger.settings.oea,
        },
        row_counts={**{k: len(v) for k, v in tables.items()}, "rejects": len(ledger.rejects)},
    )
    write_tables(tables, out, extra={"manifest.json": manifest})  # one set, published at once
    s = result.summary()
    when = "--as-of" if as_of is not None else "the latest date in the data; pass --as-of to choose"
    print(f"deadlines measured as of {result.reference_date:%Y-%m-%d} ({when})")
    print(
        f"{ledger.settings.name}: {s['import_lines']} import lines, {s['open_lines']} open "
        f"({s['expired_open_lines']} expired), {s['allocations']} allocations "
        f"({s['late_allocations']} late), {s['shortfall_lines']} shortfalls; "
        f"open value MXN {s['open_value_mxn']:,.2f}"
    )
    if len(ledger.rejects):
        print(
            f"note: {len(ledger.rejects)} input problems were not loaded; run `immex-nb validate`"
        )
    print(f"wrote {out}/allocations.csv, balances.csv, shortfalls.csv, manifest.json")
    return 0
