"""Connecting to a Dask cluster: a local one of N worker processes, or an
existing one at an address (docs/batch.md).

    >>> with connect(workers=2) as client:          # doctest: +SKIP
    ...     client.submit(...)
    >>> with connect(scheduler="tcp://10.0.0.5:8786") as client:  # doctest: +SKIP

``connect`` prints nothing; the command that calls it says where the
dashboard is (``client.dashboard_link``).  A local cluster is closed on
exit; an existing cluster is only disconnected from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from immex_nb.errors import ImmexError


@contextmanager
def connect(workers: int | None = None, scheduler: str | None = None) -> Iterator[object]:
    """A ``distributed.Client``: to ``scheduler`` when given, else to a new
    local cluster of ``workers`` processes (one thread each)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="5s")
        except (OSError, TimeoutError) as exc:
            raise ImmexError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); "
                "start one with `dask scheduler`, or run on a local cluster instead"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = int(workers or 1)
    if n < 1:
        raise ImmexError(f"a local cluster needs at least 1 worker (got {n})")
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # local only: the dashboard shows client names
        silence_logs=50,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
