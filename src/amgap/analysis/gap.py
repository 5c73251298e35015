"""Amortization gap of one information stream and its aggregation (METHOD.md §3).

Pure functions of :class:`~amgap.entropy.InfoStream`: no model code here.

* baseline bits ``L``: ideal code length of the symbols under the tables the coder
  really uses (16-bit CDFs, escape bin and bypass bits included);
* theoretical limit ``L*``: for every table, the number of symbols it coded times the
  entropy of their normalized histogram;
* ``Gap = (L - L*) / L``; ``Ratio = L / L_frame``; aggregates sum ``L`` and ``L*``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..entropy import INFO_KINDS, InfoStream, symbol_bits

__all__ = ["TableStats", "StreamGap", "stream_gap", "GapTotals", "aggregate"]


@dataclass
class TableStats:
    """Per-table figures of one stream (tables that coded at least one symbol)."""

    table: np.ndarray  # table indices
    count: np.ndarray  # symbols coded by each table
    bits: np.ndarray  # baseline bits per table
    limit_bits: np.ndarray  # N_t * H(h_t)


@dataclass
class StreamGap:
    kind: str
    bits: float
    limit_bits: float
    n_symbols: int
    tables: TableStats

    @property
    def gap(self) -> float:
        return (self.bits - self.limit_bits) / self.bits if self.bits > 0 else 0.0


def stream_gap(stream: InfoStream) -> StreamGap:
    """Baseline bits and histogram limit of one stream, in total and per table."""
    n = len(stream)
    if n == 0:
        empty = np.zeros(0)
        return StreamGap(stream.kind.value, 0.0, 0.0, 0,
                         TableStats(empty.astype(int), empty.astype(int), empty, empty))
    bits = symbol_bits(stream.symbols, stream.table_index, stream.tables)
    tables, _, counts = stream.histogram()
    uniq, inverse = np.unique(tables, return_inverse=True)
    n_t = np.bincount(inverse, weights=counts)
    # sum over (table, value) of -c log2(c / N_t)
    contrib = -counts * np.log2(counts / n_t[inverse])
    limit_t = np.bincount(inverse, weights=contrib, minlength=len(uniq))
    t_sorted = np.searchsorted(uniq, stream.table_index)
    bits_t = np.bincount(t_sorted, weights=bits, minlength=len(uniq))
    ts = TableStats(uniq, n_t.astype(np.int64), bits_t, limit_t)
    return StreamGap(stream.kind.value, float(bits.sum()), float(limit_t.sum()), n, ts)


@dataclass
class GapTotals:
    """Summed ``L`` and ``L*`` per information type over a set of frames."""

    bits: dict[str, float] = field(default_factory=lambda: {k.value: 0.0 for k in INFO_KINDS})
    limit_bits: dict[str, float] = field(
        default_factory=lambda: {k.value: 0.0 for k in INFO_KINDS})
    # real bytes per information type: learned tables vs reparameterized (+ signalling)
    learned_bytes: dict[str, float] = field(
        default_factory=lambda: {k.value: 0.0 for k in INFO_KINDS})
    reparam_bytes: dict[str, float] = field(
        default_factory=lambda: {k.value: 0.0 for k in INFO_KINDS})
    frames: int = 0

    def add(self, gaps: list[StreamGap], learned_bytes: dict[str, int] | None = None,
            reparam_bytes: dict[str, int] | None = None) -> None:
        for g in gaps:
            self.bits[g.kind] += g.bits
            self.limit_bits[g.kind] += g.limit_bits
        for k, v in (learned_bytes or {}).items():
            self.learned_bytes[k] += v
        for k, v in (reparam_bytes or {}).items():
            self.reparam_bytes[k] += v
        self.frames += 1

    def merge(self, other: GapTotals) -> None:
        for d, o in ((self.bits, other.bits), (self.limit_bits, other.limit_bits),
                     (self.learned_bytes, other.learned_bytes),
                     (self.reparam_bytes, other.reparam_bytes)):
            for k in d:
                d[k] += o[k]
        self.frames += other.frames

    def total_bits(self) -> float:
        return sum(self.bits.values())

    def to_json(self) -> dict:
        total = self.total_bits()
        info = {}
        has_saving = sum(self.learned_bytes.values()) > 0
        for k in self.bits:
            b, lim = self.bits[k], self.limit_bits[k]
            info[k] = {"bits": b, "limit_bits": lim,
                       "ratio": 100.0 * b / total if total else None,
                       "gap": 100.0 * (b - lim) / b if b else None}
            if has_saving:
                lb, rb = self.learned_bytes[k], self.reparam_bytes[k]
                info[k].update(learned_bytes=lb, reparam_bytes=rb,
                               saving=100.0 * (lb - rb) / lb if lb else None)
        lim_total = sum(self.limit_bits.values())
        out = {"frames": self.frames, "bits": total, "limit_bits": lim_total,
               "gap": 100.0 * (total - lim_total) / total if total else None, "info": info}
        if has_saving:
            lb, rb = sum(self.learned_bytes.values()), sum(self.reparam_bytes.values())
            out.update(learned_bytes=lb, reparam_bytes=rb, saving=100.0 * (lb - rb) / lb)
        return out


def aggregate(per_frame: list[tuple[str, GapTotals]]) -> dict[str, GapTotals]:
    """Totals per frame type (``I``, ``P``, ``B``) and for the whole ``Video``."""
    out: dict[str, GapTotals] = {}
    for ftype, tot in per_frame:
        out.setdefault(ftype, GapTotals()).merge(tot)
        out.setdefault("Video", GapTotals()).merge(tot)
    return out
