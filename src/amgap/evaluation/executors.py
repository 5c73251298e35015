"""One small interface over the engines that run evaluation jobs.

``local`` is a process pool on this machine; ``dask`` is a Dask distributed cluster
(``--dask ADDRESS`` to join one, ``--dask local`` to start a ``LocalCluster`` on the
loopback interface). Why Dask rather than Ray: see ``docs/evaluate.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

__all__ = ["run_jobs"]


def run_jobs(fn: Callable[[Any], Any], jobs: list, *, engine: str = "local",
             address: str | None = None, workers: int = 1) -> Iterator[Any]:
    """Run ``fn(job)`` for every job; yields results as they complete (any order)."""
    if not jobs:
        return
    if engine == "serial" or (engine == "local" and workers <= 1):
        for job in jobs:
            yield fn(job)
        return
    if engine == "local":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fn, job) for job in jobs]
            for fut in as_completed(futures):
                yield fut.result()
        return
    if engine == "dask":
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed

        cluster = None
        if address in (None, "local"):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address)
        try:
            futures = client.map(fn, jobs, pure=False)
            for fut in dask_completed(futures):
                yield fut.result()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    raise ValueError(f"unknown engine {engine!r} (local, dask, serial)")
