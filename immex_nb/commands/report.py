"""``immex-nb report --data DATA_ROOT --period YYYY-MM … --out OUT``: the monthly
report batch over clients × periods (docs/report.md)."""

from __future__ import annotations

from immex_nb.commands.options import period
from immex_nb.report import run_batch


def add_parser(sub) -> None:
    r = sub.add_parser("report", help="monthly report batch: clients × periods → HTML, Excel, KPIs")
    r.add_argument(
        "--data", required=True, metavar="DATA_ROOT", help="folder holding one folder per client"
    )
    r.add_argument("--period", required=True, action="append", type=period, metavar="YYYY-MM")
    r.add_argument(
        "--client", action="append", metavar="NAME", help="only these clients (repeatable)"
    )
    r.add_argument("--out", required=True, metavar="OUT")
    r.add_argument("--workers", type=int, default=None, metavar="N")
    r.add_argument(
        "--template",
        metavar="PATH",
        help="report notebook (default: the monthly report shipped with the package)",
    )


def run(args) -> int:
    return run_batch(
        args.data,
        args.period,
        args.out,
        clients=args.client,
        workers=args.workers,
        template=args.template,
    ).exit_code
