"""``immex-nb`` command line: validate, discharge, exposure, compulsa, report, demo.

Thin shell over the package: parse arguments, call one function, print a
short summary.  Bad input ends with a one-line message and exit code 2, never a
traceback.  Exit codes: 0 clean, 1 rows rejected / a report failed, 2 unusable
input.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from immex_nb.errors import ImmexError


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _period(text: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a period; use YYYY-MM")
    return text


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; use a fraction such as 0.7"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; use a fraction ≥ 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="immex-nb", description=__doc__.splitlines()[0])
    from immex_nb import __version__

    p.add_argument("--version", action="version", version=f"immex-nb {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="load a client folder, print a summary, write rejects.csv")
    v.add_argument("data_dir", metavar="DATA_DIR")
    v.add_argument("--out", metavar="DIR", help="folder for rejects.csv (default: DATA_DIR)")

    d = sub.add_parser("discharge", help="FIFO/PEPS discharge: allocations, balances, shortfalls")
    d.add_argument("data_dir", metavar="DATA_DIR")
    d.add_argument("--out", required=True, metavar="OUT_DIR")
    d.add_argument(
        "--as-of", type=_iso_date, metavar="YYYY-MM-DD", help="ignore exports after this date"
    )
    d.add_argument(
        "--deadline-rule", choices=["clamp", "cff"], help="month-end clamp (default) or CFF art. 12"
    )

    e = sub.add_parser("exposure", help="what open balances would cost as of a date")
    e.add_argument("data_dir", metavar="DATA_DIR")
    e.add_argument("--out", required=True, metavar="OUT_DIR")
    e.add_argument("--as-of", required=True, type=_iso_date, metavar="YYYY-MM-DD")
    e.add_argument(
        "--fine-rate",
        type=_rate,
        default=None,
        metavar="R",
        help="fines as a share of omitted taxes (default 0)",
    )
    e.add_argument(
        "--rates",
        metavar="DIR",
        help="folder with rate CSVs that extend or override the built-in tables",
    )
    e.add_argument("--deadline-rule", choices=["clamp", "cff"])

    c = sub.add_parser("compulsa", help="reconcile Anexo 24 against a SAT Data Stage ZIP")
    c.add_argument("data_dir", metavar="DATA_DIR")
    c.add_argument(
        "datastage", metavar="DATASTAGE_PATH", help="ZIP, folder of .asc files, or folder of ZIPs"
    )
    c.add_argument("--out", required=True, metavar="OUT_DIR")

    r = sub.add_parser("report", help="monthly report batch: clients × periods → HTML, Excel, KPIs")
    r.add_argument(
        "--data", required=True, metavar="DATA_ROOT", help="folder holding one folder per client"
    )
    r.add_argument("--period", required=True, action="append", type=_period, metavar="YYYY-MM")
    r.add_argument(
        "--client", action="append", metavar="NAME", help="only these clients (repeatable)"
    )
    r.add_argument("--out", required=True, metavar="OUT")
    r.add_argument("--workers", type=int, default=None, metavar="N")
    r.add_argument(
        "--template",
        metavar="PATH",
        help="report notebook (default: notebooks/monthly_report.ipynb of the repository)",
    )

    m = sub.add_parser("demo", help="run the monthly report batch on the bundled demo clients")
    m.add_argument(
        "--data",
        default=None,
        metavar="DATA_ROOT",
        help="folder holding one folder per client (default: data/demo of the repository, generated when missing)",
    )
    m.add_argument("--out", default="reports", metavar="OUT")
    m.add_argument("--months", type=int, default=3, help="how many recent months to report")
    m.add_argument("--workers", type=int, default=None, metavar="N")
    m.add_argument("--template", metavar="PATH", help="report notebook (default: as for report)")
    return p


def run(args: argparse.Namespace) -> int:
    if args.command == "validate":
        from immex_nb.load import cli_validate

        return cli_validate(args.data_dir, args.out)
    if args.command == "discharge":
        from immex_nb.discharge import cli_discharge

        return cli_discharge(
            args.data_dir, args.out, as_of=args.as_of, deadline_rule=args.deadline_rule
        )
    if args.command == "exposure":
        from immex_nb.exposure import cli_exposure

        return cli_exposure(
            args.data_dir,
            args.out,
            as_of=args.as_of,
            fine_rate=args.fine_rate,
            rates_dir=args.rates,
            deadline_rule=args.deadline_rule,
        )
    if args.command == "compulsa":
        from immex_nb.datastage.compulsa import cli_compulsa

        return cli_compulsa(args.data_dir, args.datastage, args.out)
    if args.command == "report":
        from immex_nb.report import run_batch

        return run_batch(
            args.data,
            args.period,
            args.out,
            clients=args.client,
            workers=args.workers,
            template=args.template,
        ).exit_code
    if args.command == "demo":
        from immex_nb.report import cli_demo

        return cli_demo(
            args.data, args.out, months=args.months, workers=args.workers, template=args.template
        )
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ImmexError as exc:
        print(f"immex-nb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("immex-nb: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"immex-nb {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
