"""The pmf tables that the rANS coder really uses.

A :class:`TableSet` holds exactly what :mod:`compressai.ans` consumes: 16-bit quantized
CDFs (one row per table, last bin = escape), their lengths and offsets. Two families,
as in tensorflow-compression:

* ``factorized`` ("batched"): one table per channel of an ``EntropyBottleneck``;
* ``indexed``: one table per scale index of a ``GaussianConditional``.

Replacement tables (reparameterization) are appended as new rows of a copy, so the
coder never needs to know where a table came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from compressai.entropy_models import EntropyBottleneck, GaussianConditional

from .compressai_internals import quantized_tables

__all__ = ["TableSet", "PRECISION", "BYPASS_PRECISION"]

PRECISION = 16  # compressai.ans probability precision
BYPASS_PRECISION = 4  # compressai.ans bypass chunk width (escape values)


@dataclass(frozen=True, eq=False)
class TableSet:
    """Quantized CDF tables ``[n_tables, max_len]`` (int32) with lengths and offsets.

    Row ``t`` codes value ``v = symbol - offsets[t]``: ``0 <= v < cdf_lengths[t] - 2`` with
    probability ``(cdf[v+1]-cdf[v]) / 2**16``; anything else is the escape bin
    ``cdf_lengths[t] - 2`` followed by bypass bits.
    """

    cdfs: np.ndarray
    cdf_lengths: np.ndarray
    offsets: np.ndarray
    family: str  # "factorized" | "indexed"
    scales: np.ndarray | None = None  # indexed family: the scale s_k of every table
    _lists: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.cdfs.ndim != 2 or self.cdfs.shape[0] != self.cdf_lengths.shape[0]:
            raise ValueError("cdfs must be [n_tables, max_len] with one length per table")

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_entropy_bottleneck(cls, eb: EntropyBottleneck) -> TableSet:
        """One table per channel (call ``update()`` on the model first)."""
        return cls._from_module(eb, "factorized")

    @classmethod
    def from_gaussian_conditional(cls, gc: GaussianConditional) -> TableSet:
        """One table per entry of the scale table."""
        return cls._from_module(gc, "indexed")

    @classmethod
    def _from_module(cls, m, family: str) -> TableSet:
        cdfs, cdf_lengths, offsets = quantized_tables(m)
        scales = None
        if family == "indexed":
            scales = m.scale_table.detach().cpu().numpy().astype(np.float64)
        return cls(cdfs=cdfs, cdf_lengths=cdf_lengths, offsets=offsets, family=family,
                   scales=scales)

    def with_rows(self, cdfs: list[np.ndarray], offsets: list[int]) -> TableSet:
        """A copy with extra tables appended (row indices ``len(self) ...``)."""
        if not cdfs:
            return self
        lengths = [len(c) for c in cdfs]
        width = max(self.cdfs.shape[1], max(lengths))
        out = np.zeros((len(self) + len(cdfs), width), dtype=np.int32)
        out[: len(self), : self.cdfs.shape[1]] = self.cdfs
        for i, c in enumerate(cdfs):
            out[len(self) + i, : len(c)] = c
        child = TableSet(out, np.concatenate([self.cdf_lengths,
                                              np.asarray(lengths, np.int32)]),
                         np.concatenate([self.offsets, np.asarray(offsets, np.int32)]),
                         self.family, self.scales)
        # the coder's lists, when asked for: the parent's rows are converted once
        child._lists["parent"] = (self, cdfs, lengths, offsets)
        return child

    # -- views ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.cdfs.shape[0])

    def as_lists(self) -> tuple[list[list[int]], list[int], list[int]]:
        """The Python lists ``compressai.ans`` wants (cached: conversion is not free)."""
        if "v" in self._lists:
            return self._lists["v"]
        if "parent" in self._lists:  # a parent's rows plus the appended ones
            parent, cdfs, lengths, offsets = self._lists.pop("parent")
            rows, lens, offs = parent.as_lists()
            self._lists["v"] = (rows + [np.asarray(c).tolist() for c in cdfs],
                                lens + lengths, offs + [int(o) for o in offsets])
        else:
            cdfs = [row[:n].tolist() for row, n in zip(self.cdfs, self.cdf_lengths, strict=True)]
            self._lists["v"] = (cdfs, self.cdf_lengths.tolist(), self.offsets.tolist())
        return self._lists["v"]

    def pmf(self, t: int) -> np.ndarray:
        """Probabilities of table ``t``: its support values, then the escape bin (last)."""
        n = int(self.cdf_lengths[t])
        return np.diff(self.cdfs[t, :n].astype(np.int64)) / float(1 << PRECISION)

    def support(self, t: int) -> np.ndarray:
        """Symbols coded without escape by table ``t``."""
        return np.arange(int(self.cdf_lengths[t]) - 2) + int(self.offsets[t])
