"""Console-script entry of ``immex-nb``; the commands live in :mod:`immex_nb.commands`."""

from __future__ import annotations

import sys

from immex_nb.commands import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
