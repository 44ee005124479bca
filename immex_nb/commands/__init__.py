"""The ``immex-nb`` command line: the thin shell over the package.

One module per command, each with ``add_parser(subparsers)`` (its options)
and ``run(args) -> int`` (load → call the core → write → print a summary).
Only this package parses arguments, prints to the terminal and decides exit
codes: 0 clean, 1 rows rejected / differences found / a report failed, 2
unusable input — always a one-line message, never a traceback.

May import anything in the package; nothing outside ``commands/`` imports it
(but ``immex_nb/cli.py``, the console-script entry).
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from immex_nb.errors import ImmexError

#: Command name → module under immex_nb.commands, in the order of ``--help``.
COMMANDS = {
    "validate": "validate",
    "discharge": "discharge",
    "exposure": "exposure",
    "compulsa": "compulsa",
    "anexo30": "anexo30",
    "report": "report",
    "demo": "demo",
}


def _module(name: str):
    return import_module(f"immex_nb.commands.{COMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    from immex_nb import __version__

    p = argparse.ArgumentParser(
        prog="immex-nb",
        description="IMMEX discharge, deadlines, exposure, Data Stage and monthly reports.",
    )
    p.add_argument("--version", action="version", version=f"immex-nb {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        _module(name).add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _module(args.command).run(args)
    except ImmexError as exc:
        print(f"immex-nb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("immex-nb: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"immex-nb {args.command}: error: {exc}", file=sys.stderr)
        return 2
