"""``immex-nb demo`` / ``make demo``: the report batch on the bundled demo clients,
then where ``index.html`` is."""

from __future__ import annotations

import sys
from pathlib import Path

from immex_nb.commands.report import add_batch_options, batch_kwargs, print_summary, say
from immex_nb.outputs import check_out
from immex_nb.report import run_batch
from immex_nb.report.demo import check_data_root, default_demo_root, last_periods


def add_parser(sub) -> None:
    m = sub.add_parser("demo", help="run the monthly report batch on the bundled demo clients")
    m.add_argument(
        "--data",
        default=None,
        metavar="DATA_ROOT",
        help="folder holding one folder per client (default: data/demo of the repository, generated when missing)",
    )
    m.add_argument("--out", default="reports", metavar="OUT")
    m.add_argument("--months", type=int, default=3, help="how many recent months to report")
    add_batch_options(m)


def run(args) -> int:
    default = default_demo_root()
    root = Path(args.data) if args.data is not None else default
    if not root.exists() and root.resolve() == default.resolve():
        check_out(args.out)
        from immex_nb.samples.demo import write_demo

        print(f"immex-nb demo: writing demo clients to {root}", file=sys.stderr)
        write_demo(root)
    check_data_root(root)
    periods = last_periods(root, args.months)
    result = run_batch(root, periods, args.out, echo=say, **batch_kwargs(args))
    print_summary(result)
    print(f"Open {result.index.resolve()} in a browser.")
    return result.exit_code
