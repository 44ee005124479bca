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
