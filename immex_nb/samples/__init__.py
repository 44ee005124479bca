"""Synthetic data for the demo, the benchmarks and the tests — never read by the core.

- :mod:`immex_nb.samples.demo` — the three demo clients and the big benchmark ledger;
- :mod:`immex_nb.samples.datastage` — layout-exact synthetic SAT Data Stage requests.

May import the core (to describe tables with its schema); nothing in the core imports it.
"""
