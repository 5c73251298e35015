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
        """A copy with extra tables appended (row indices ``len(self) ...``).

        The copy's ``[n_tables, max_len]`` matrix is built only when something reads
        ``cdfs``: planning builds hundreds of candidate sets per key, and a scale table
        set is tens of rows 3 000 wide, while costing a candidate (:meth:`gather`) and
        coding with it (:meth:`as_lists`) need only the parent and the new rows."""
        if not len(cdfs):
            return self
        lengths = np.asarray([len(c) for c in cdfs], np.int32)
        extra = np.zeros((len(cdfs), int(lengths.max())), dtype=np.int32)
        for i, c in enumerate(cdfs):
            extra[i, : len(c)] = c
        return self.with_matrix(extra, lengths, offsets)

    def with_matrix(self, extra: np.ndarray, lengths: np.ndarray, offsets) -> TableSet:
        """:meth:`with_rows` of rows given as one padded int32 matrix and their lengths."""
        child = object.__new__(TableSet)  # no ``cdfs`` yet: ``__getattr__`` builds it
        for name, value in (("cdf_lengths", np.concatenate([self.cdf_lengths,
                                                             lengths.astype(np.int32)])),
                            ("offsets", np.concatenate([self.offsets,
                                                        np.asarray(offsets, np.int32)])),
                            ("family", self.family), ("scales", self.scales),
                            ("_lists", {}), ("_appended", (self, extra))):
            object.__setattr__(child, name, value)
        # the coder's lists, when asked for: the parent's rows are converted once
        child._lists["parent"] = (self, extra, lengths.tolist(), offsets)
        return child

    def __getattr__(self, name: str):
        """``cdfs`` of a :meth:`with_rows` copy, built on first use."""
        appended = self.__dict__.get("_appended")
        if name != "cdfs" or appended is None:
            raise AttributeError(name)
        parent, extra = appended
        width = max(parent.cdfs.shape[1], extra.shape[1])
        out = np.zeros((len(parent) + len(extra), width), dtype=np.int32)
        out[: len(parent), : parent.cdfs.shape[1]] = parent.cdfs
        out[len(parent):, : extra.shape[1]] = extra
        object.__setattr__(self, "cdfs", out)
        return out

    def gather(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``cdfs[rows, cols]`` without building a copy's full matrix."""
        appended = self.__dict__.get("_appended")
        if "cdfs" in self.__dict__ or appended is None:
            return self.cdfs[rows, cols]
        parent, extra = appended
        n = len(parent)
        rows, cols = np.broadcast_arrays(rows, cols)
        own = rows < n
        out = np.empty(rows.shape, dtype=np.int32)
        out[own] = parent.gather(rows[own], cols[own])
        out[~own] = extra[rows[~own] - n, cols[~own]]
        return out

    # -- views ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.cdf_lengths.shape[0])

    def as_lists(self) -> tuple[list[list[int]], list[int], list[int]]:
        """The Python lists ``compressai.ans`` wants (cached: conversion is not free)."""
        if "v" in self._lists:
            return self._lists["v"]
        if "parent" in self._lists:  # a parent's rows plus the appended ones
            parent, extra, lengths, offsets = self._lists.pop("parent")
            rows, lens, offs = parent.as_lists()
            self._lists["v"] = (rows + [r[:n].tolist() for r, n in zip(extra, lengths,
                                                                       strict=True)],
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
