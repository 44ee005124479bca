"""``immex-nb exposure DATA_DIR --out OUT_DIR --as-of YYYY-MM-DD``: what the
open balances would cost that day, written as ``exposure.csv``,
``exposure_summary.csv`` and ``manifest.json`` (docs/rules/exposure.md)."""

from __future__ import annotations

from pathlib import Path

from immex_nb.commands.options import add_cluster, add_deadline_rule, cluster, iso_date, rate
from immex_nb.exposure import EXPIRED, exposure_summary_table
from immex_nb.load import load
from immex_nb.outputs import check_out, manifest_json, write_tables
from immex_nb.rates import Rates
from immex_nb.run import ClientRun


def add_parser(sub) -> None:
    e = sub.add_parser("exposure", help="what open balances would cost as of a date")
    e.add_argument("data_dir", metavar="DATA_DIR")
    e.add_argument("--out", required=True, metavar="OUT_DIR")
    e.add_argument("--as-of", required=True, type=iso_date, metavar="YYYY-MM-DD")
    e.add_argument(
        "--fine-rate",
        type=rate,
        default=None,
        metavar="R",
        help="fines as a share of omitted taxes (default: the client's setting, else 0)",
    )
    e.add_argument(
        "--rates",
        metavar="DIR",
        help="folder with rate CSVs that extend or override the built-in tables",
    )
    add_deadline_rule(e)
    add_cluster(e)


def run(args) -> int:
    data_dir, out = args.data_dir, Path(args.out)
    check_out(out)  # an unwritable OUT: one line, exit 2, before any work
    rates = Rates.load(args.rates) if args.rates else None
    ledger = load(data_dir)
    with cluster(args) as dask_client:
        client = ClientRun(
            ledger,
            args.as_of,
            fine_rate=args.fine_rate,
            rates=rates,
            deadline_rule=args.deadline_rule,
            client=dask_client,
        )
        df = client.exposure
    summary = exposure_summary_table(df)
    rates = client.rates
    manifest = manifest_json(
        "exposure",
        inputs=[*ledger.sources, *rates.files],
        parameters={
            "data_dir": str(data_dir),
            **client.parameters(),
            "rates_dir": args.rates,
            "inpc_estimated": df.attrs.get("inpc_estimated", False),
        },
        row_counts={
            "exposure": len(df),
            "exposure_summary": len(summary),
            "rejects": len(ledger.rejects),
        },
    )
    tables = {"exposure": df, "exposure_summary": summary}
    write_tables(tables, out, extra={"manifest.json": manifest})  # one set, published at once
    expired = df["status"] == EXPIRED
    print(
        f"exposure as of {client.as_of.date()}: {len(df)} open line(s), {int(expired.sum())} "
        f"expired; total MXN {df['total'].sum():,.2f} (USD {df['total_usd'].sum():,.2f}); "
        f"of it on expired lines MXN {df.loc[expired, 'total'].sum():,.2f}"
    )
    if df.attrs.get("inpc_before_table"):
        print(
            f"note: {df.attrs['inpc_before_table']} line(s) entered before the INPC table starts "
            f"({df.attrs['first_inpc_month']}) use its first value, which understates their update; "
            "extend inpc.csv with --rates DIR (column inpc_before_table)"
        )
    if df.attrs.get("inpc_estimated"):
        print(
            f"note: INPC after {rates.last_inpc_month} not in the table; "
            "the last published value was used (inpc_estimated)"
        )
    if len(ledger.rejects):
        print(
            f"note: {len(ledger.rejects)} input row(s) rejected and left out (see immex-nb validate)"
        )
    print(f"wrote {out / 'exposure.csv'}, {out / 'exposure_summary.csv'}")
    return 0
