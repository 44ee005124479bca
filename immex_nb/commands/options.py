"""Option types shared by the commands: dates, periods, rates, folders."""

from __future__ import annotations

import argparse
from datetime import date

from immex_nb.dates import Period
from immex_nb.errors import ImmexError


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def period(text: str) -> str:
    try:
        return str(Period.parse(text))
    except ImmexError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; use a fraction such as 0.7"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative; use a fraction ≥ 0")
    return value


def add_deadline_rule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deadline-rule",
        choices=["clamp", "cff"],
        help="month-end clamp (default, or the client's setting) or CFF art. 12",
    )


def add_cluster(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS``: run on a Dask cluster (docs/batch.md)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="run on a local cluster of N processes",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run on an existing Dask cluster (e.g. tcp://10.0.0.5:8786)",
    )


def cluster(args):
    """A context manager: a Dask client when ``--workers``/``--scheduler`` asked
    for one, else ``None`` (the work runs in this process)."""
    from contextlib import nullcontext

    from immex_nb.cluster import connect

    if getattr(args, "scheduler", None) or (getattr(args, "workers", None) or 1) > 1:
        return connect(workers=args.workers, scheduler=args.scheduler)
    return nullcontext(None)
