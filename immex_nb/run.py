"""One orchestrator: a client's ledger, valued as of one date.

Every caller — the command line, the notebooks, the what-if widgets and the
monthly report — goes through :class:`ClientRun`, so two callers cannot wire
load → discharge → value differently and disagree::

    >>> ledger = immex_nb.load("data/demo/electronica-norte")   # doctest: +SKIP
    >>> run = ClientRun(ledger, "2026-10-31")                     # doctest: +SKIP
    >>> run.discharge.balances        # the ledger as it stood that day
    >>> run.exposure                  # one row per open line, every tax its own column

Options default to the client's settings (``client.toml``, docs/settings.md);
each result is computed once and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from immex_nb.dates import as_timestamp
from immex_nb.errors import ImmexError
from immex_nb.rates import Rates, resolve


@dataclass
class ClientRun:
    """``ledger`` (what :func:`immex_nb.load` returns) valued as of ``as_of``."""

    ledger: object
    #: the cut-off; ``None`` (discharge only): no cut-off, deadlines measured
    #: against the latest date in the data
    as_of: pd.Timestamp | None
    fine_rate: float | None = None
    rates: Rates | str | None = None
    deadline_rule: str | None = None
    use_prosec: bool | None = None
    oea: bool | None = None
    #: a ``distributed.Client``: the discharge then runs partitioned on it
    #: (immex_nb.partition; same results, row for row)
    client: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.as_of is not None:
            self.as_of = as_timestamp(self.as_of)
        s = self.settings
        if self.deadline_rule is None:
            self.deadline_rule = s.deadline_rule
        if self.fine_rate is None:
            self.fine_rate = s.fine_rate
        if self.use_prosec is None:
            self.use_prosec = bool(s.prosec)
        if self.oea is None:
            self.oea = bool(s.oea)
        self.rates = resolve(self.rates)

    @property
    def settings(self):
        from immex_nb.settings import ClientSettings

        return getattr(self.ledger, "settings", None) or ClientSettings()

    @cached_property
    def discharge(self):
        """The FIFO discharge with cut-off ``as_of`` (docs/rules/discharge.md)."""
        from immex_nb.discharge import discharge
        from immex_nb.partition import discharge_partitioned

        lg = self.ledger
        options = {"as_of": self.as_of, "deadline_rule": self.deadline_rule, "oea": self.oea}
        if self.client is not None:
            return discharge_partitioned(
                lg.imports, lg.exports, lg.bom, client=self.client, **options
            )
        return discharge(lg.imports, lg.exports, lg.bom, **options)

    @cached_property
    def exposure(self) -> pd.DataFrame:
        """What each open line would cost as of ``as_of`` (docs/rules/exposure.md)."""
        from immex_nb.exposure import exposure

        if self.as_of is None:
            raise ImmexError("the exposure is measured as of a date; give as_of")
        return exposure(
            self.discharge.balances,
            self.as_of,
            fine_rate=self.fine_rate,
            rates=self.rates,
            use_prosec=self.use_prosec,
        )

    def parameters(self) -> dict:
        """What a manifest records of this run."""
        return {
            "as_of": None if self.as_of is None else self.as_of.date().isoformat(),
            "deadline_rule": self.deadline_rule,
            "oea": self.oea,
            "fine_rate": self.fine_rate,
            "use_prosec": self.use_prosec,
            "last_inpc_month": self.rates.last_inpc_month,
        }
