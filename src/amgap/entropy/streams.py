"""Information streams: what a codec hands to the entropy stage for one frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from .tables import TableSet

__all__ = ["InfoKind", "InfoStream", "INFO_KINDS"]


class InfoKind(StrEnum):
    """The four information types of the paper (I frames carry only the residual ones)."""

    MOTION_SIDE = "motion-side"
    MOTION_MAIN = "motion-main"
    RESIDUAL_SIDE = "residual-side"
    RESIDUAL_MAIN = "residual-main"

    @property
    def level(self) -> str:
        return self.value.split("-")[1]


INFO_KINDS = list(InfoKind)


@dataclass(eq=False)
class InfoStream:
    """Integer symbols of one information type of one frame and the table of each symbol.

    ``symbols`` and ``table_index`` are flat int32 arrays of equal length (latent order
    C, H, W); ``tables`` is the :class:`TableSet` the indices refer to.
    """

    kind: InfoKind
    symbols: np.ndarray
    table_index: np.ndarray
    tables: TableSet
    _hist: tuple | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.symbols = np.ascontiguousarray(self.symbols, dtype=np.int32).reshape(-1)
        self.table_index = np.ascontiguousarray(self.table_index, dtype=np.int32).reshape(-1)
        if self.symbols.shape != self.table_index.shape:
            raise ValueError("symbols and table_index must have the same length")

    def __len__(self) -> int:
        return int(self.symbols.size)

    def histogram(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(table, value, count) of every distinct (table, symbol) pair, sorted by table
        then value; computed once (analysis and reparameterization both need it)."""
        if self._hist is None:
            self._hist = pair_counts(self.table_index, self.symbols)
        return self._hist

    def histograms_by_table(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Table index -> (values, counts) of the symbols it codes."""
        ts, vs, cs = self.histogram()
        if not ts.size:
            return {}
        bounds = np.flatnonzero(np.diff(ts)) + 1
        return {int(t[0]): (v, c) for t, v, c in
                zip(np.split(ts, bounds), np.split(vs, bounds), np.split(cs, bounds),
                    strict=True)}


def pair_counts(ts: np.ndarray, vs: np.ndarray, weights: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (table, value) pairs sorted by table then value, with their counts (or
    summed ``weights``): one integer key per item (table-major), counted by ``bincount``
    when the key range is small (the usual case), else by a 1-D ``unique``."""
    if not ts.size:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    v0 = int(vs.min())
    span = int(vs.max()) - v0 + 1
    key = ts.astype(np.int64) * span + (vs.astype(np.int64) - v0)
    if (int(ts.max()) + 1) * span <= max(1 << 20, 4 * key.size):
        counts = np.bincount(key, weights=weights)
        keys = np.flatnonzero(counts)
        cs = counts[keys]
    else:
        keys, inv = np.unique(key, return_inverse=True)
        cs = np.bincount(inv, weights=weights)
    return keys // span, keys % span + v0, cs if weights is not None else cs.astype(np.int64)
