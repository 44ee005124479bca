"""``immex-nb report --data DATA_ROOT --period YYYY-MM … --out OUT``: the monthly
report batch over clients × periods (docs/report.md, docs/batch.md)."""

from __future__ import annotations

import sys

from immex_nb.commands.options import add_cluster, period
from immex_nb.report import run_batch
from immex_nb.text import LANGS


def add_batch_options(parser) -> None:
    """``--workers``/``--scheduler`` (docs/batch.md), ``--lang``, ``--pdf``,
    ``--template``: shared by ``report`` and ``demo``."""
    add_cluster(parser)
    parser.add_argument(
        "--lang",
        choices=LANGS,
        default=None,
        help="language of every report (default: the client's language setting, else es)",
    )
    parser.add_argument(
        "--pdf", action="store_true", help="also write report.pdf beside report.html"
    )
    parser.add_argument(
        "--template",
        metavar="PATH",
        help="report notebook (default: the monthly report shipped with the package)",
    )


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
    add_batch_options(r)


def batch_kwargs(args) -> dict:
    """The run_batch keyword arguments of the shared batch options."""
    return {
        "workers": getattr(args, "workers", None),
        "scheduler": getattr(args, "scheduler", None),
        "template": getattr(args, "template", None),
        "language": getattr(args, "lang", None),
        "pdf": bool(getattr(args, "pdf", False)),
    }


def say(line: str) -> None:
    """The batch's progress lines, on stderr (stdout stays for results)."""
    print(line, file=sys.stderr)


def print_summary(result) -> None:
    """What the batch wrote, what failed and why, where the index is."""
    n, bad = len(result.results), result.failed
    per = [r.seconds for r in result.results if r.seconds]
    avg = f", {sum(per) / len(per):.1f} s per report" if per else ""
    print(
        f"immex-nb report: {n - len(bad)} of {n} report(s) written in {result.seconds:.1f} s{avg}",
        file=sys.stderr,
    )
    for r in bad:
        print(f"  FAILED {r.client} {r.period}: {r.reason}", file=sys.stderr)
    print(f"index: {result.index.resolve()}", file=sys.stderr)


def run(args) -> int:
    result = run_batch(
        args.data, args.period, args.out, clients=args.client, echo=say, **batch_kwargs(args)
    )
    print_summary(result)
    return result.exit_code
