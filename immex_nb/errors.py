"""The one exception immex-nb raises for input it cannot use at all.

Row-level problems never raise: they become rows of ``rejects`` (see
:mod:`immex_nb.load`).  ``ImmexError`` is for a file that is missing,
unreadable or lacks a required column, a BOM cycle, an unknown parameter …
Its message is one line a consultant can act on: what is wrong, where, and
what would be accepted.  The command line prints it and exits 2.
"""


class ImmexError(Exception):
    """Input that cannot be used at all (file, column, parameter, BOM cycle)."""
