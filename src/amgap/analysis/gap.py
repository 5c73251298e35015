"""Amortization gap of one information stream and its aggregation (``docs/analysis.md``).

Pure functions of :class:`~amgap.entropy.InfoStream`: no model code here.

* baseline bits ``L``: ideal code length of the symbols under the tables the coder
  really uses (16-bit CDFs, escape bin and bypass bits included);
* theoretical limit ``L*``: for every table, the number of symbols it coded times the
  entropy of their normalized histogram;
* ``Gap = (L - L*) / L``; ``Ratio = L / L_frame``; aggregates sum ``L`` and ``L*``;
* bias ``B = E[L - L*]`` under symbols drawn from the learned pmfs (:mod:`.bias`) and
  mismatch gap ``(L - L* - B) / L``, with standard errors over frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..entropy import INFO_KINDS, InfoStream, symbol_bits
from .bias import TableBias

__all__ = ["TableStats", "StreamGap", "stream_gap", "GapTotals", "FrameMoments", "aggregate"]


@dataclass
class TableStats:
    """Per-table figures of one stream (tables that coded at least one symbol)."""

    table: np.ndarray  # table indices
    count: np.ndarray  # symbols coded by each table
    bits: np.ndarray  # baseline bits per table
    limit_bits: np.ndarray  # N_t * H(h_t)
    bias_bits: np.ndarray  # E[L - L*] with N_t symbols drawn from the learned pmf


@dataclass
class StreamGap:
    kind: str
    bits: float
    limit_bits: float
    n_symbols: int
    tables: TableStats
    bias_bits: float = 0.0
    bias_bound: float = 0.0  # bound on the bias's truncation error (bits)
    pad_bits: float | None = None  # bits of symbols at padded positions (when known)

    @property
    def gap(self) -> float:
        return (self.bits - self.limit_bits) / self.bits if self.bits > 0 else 0.0


def stream_gap(stream: InfoStream, padded: np.ndarray | None = None) -> StreamGap:
    """Baseline bits, histogram limit and bias of one stream, in total and per table.

    ``padded``: optional boolean mask of the symbols at padded latent positions."""
    n = len(stream)
    if n == 0:
        empty = np.zeros(0)
        return StreamGap(stream.kind.value, 0.0, 0.0, 0,
                         TableStats(empty.astype(int), empty.astype(int), empty, empty, empty),
                         pad_bits=0.0 if padded is not None else None)
    bits = symbol_bits(stream.symbols, stream.table_index, stream.tables)
    tables, _, counts = stream.histogram()
    uniq, inverse = np.unique(tables, return_inverse=True)
    n_t = np.bincount(inverse, weights=counts)
    # sum over (table, value) of -c log2(c / N_t)
    contrib = -counts * np.log2(counts / n_t[inverse])
    limit_t = np.bincount(inverse, weights=contrib, minlength=len(uniq))
    t_sorted = np.searchsorted(uniq, stream.table_index)
    bits_t = np.bincount(t_sorted, weights=bits, minlength=len(uniq))
    bias_t, bound_t = TableBias.of(stream.tables).bias(uniq, n_t.astype(np.int64))
    ts = TableStats(uniq, n_t.astype(np.int64), bits_t, limit_t, bias_t)
    pad = float(bits[padded].sum()) if padded is not None else None
    return StreamGap(stream.kind.value, float(bits.sum()), float(limit_t.sum()), n, ts,
                     float(bias_t.sum()), float(bound_t.sum()), pad)


_GAP, _BIAS, _MISMATCH = (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.0, 1.0, -1.0)


@dataclass
class FrameMoments:
    """Sums over frames of ``x`` and ``x x^T``, ``x = (L, L - L*, B)`` of one frame.

    Enough for the linearized (delta-method) standard error of any ratio
    ``sum(a . x) / sum(L)`` over frames, and mergeable across videos: the standard error
    of a gap figure treats frames as independent draws (docs/analysis.md)."""

    n: int = 0
    s: np.ndarray = field(default_factory=lambda: np.zeros(3))
    xx: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))

    def add(self, x: np.ndarray) -> None:
        self.n += 1
        self.s = self.s + x
        self.xx = self.xx + np.outer(x, x)

    def merge(self, o: FrameMoments) -> None:
        self.n += o.n
        self.s = self.s + o.s
        self.xx = self.xx + o.xx

    def se(self, a: tuple[float, float, float]) -> float | None:
        """Standard error (percent) of ``100 * sum(a . x) / sum(L)``; None below 2 frames."""
        if self.n < 2 or self.s[0] <= 0:
            return None
        w = np.asarray(a) - (np.dot(a, self.s) / self.s[0]) * np.array([1.0, 0.0, 0.0])
        var = self.n / (self.n - 1) * max(float(w @ self.xx @ w), 0.0)
        return 100.0 * np.sqrt(var) / self.s[0]

    def to_json(self) -> dict:
        return {"frames": self.n, "sum": self.s.tolist(), "xx": self.xx.tolist()}

    @classmethod
    def from_json(cls, d: dict | None) -> FrameMoments:
        if not d:
            return cls()
        return cls(int(d["frames"]), np.asarray(d["sum"], float), np.asarray(d["xx"], float))


def _kinds(value: float = 0.0) -> dict[str, float]:
    return {k.value: value for k in INFO_KINDS}


def _pct(num: float, den: float) -> float | None:
    return 100.0 * num / den if den else None


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den is not None and den > 0 else None


def _figures(bits: float, limit: float, bias: float, m: FrameMoments) -> dict:
    """Gap, bias and mismatch gap (percent of ``bits``) with their standard errors."""
    gap = _pct(bits - limit, bits)
    b = _pct(bias, bits)
    return {"bits": bits, "limit_bits": limit, "bias_bits": bias, "gap": gap,
            "gap_se": m.se(_GAP), "bias": b, "bias_se": m.se(_BIAS),
            "mismatch_gap": None if gap is None else gap - b,
            "mismatch_gap_se": m.se(_MISMATCH), "moments": m.to_json()}


def _savings(fig: dict, learned: float, reparam: float) -> None:
    """Saving (percent of the learned bytes) and the closures saving/gap, saving/mismatch."""
    saving = _pct(learned - reparam, learned)
    fig.update(learned_bytes=learned, reparam_bytes=reparam, saving=saving,
               closure=_ratio(saving, fig["gap"]),
               closure_mismatch=_ratio(saving, fig["mismatch_gap"]))


@dataclass
class GapTotals:
    """Summed ``L``, ``L*``, bias and padded bits per information type over a set of
    frames, with the frame moments that give each figure's standard error."""

    bits: dict[str, float] = field(default_factory=_kinds)
    limit_bits: dict[str, float] = field(default_factory=_kinds)
    bias_bits: dict[str, float] = field(default_factory=_kinds)
    pad_bits: dict[str, float] = field(default_factory=_kinds)
    pad_known: bool = True  # every stream added knew its padded positions
    # real bytes per information type: learned tables vs reparameterized (+ signalling)
    learned_bytes: dict[str, float] = field(default_factory=_kinds)
    reparam_bytes: dict[str, float] = field(default_factory=_kinds)
    moments: dict[str, FrameMoments] = field(
        default_factory=lambda: {k: FrameMoments() for k in [*_kinds(), "all"]})
    frames: int = 0

    def add(self, gaps: list[StreamGap], learned_bytes: dict[str, int] | None = None,
            reparam_bytes: dict[str, int] | None = None) -> None:
        """Add one frame's streams."""
        x = {k: np.zeros(3) for k in self.bits}
        for g in gaps:
            self.bits[g.kind] += g.bits
            self.limit_bits[g.kind] += g.limit_bits
            self.bias_bits[g.kind] += g.bias_bits
            x[g.kind] += (g.bits, g.bits - g.limit_bits, g.bias_bits)
            if g.pad_bits is None:
                self.pad_known = False
            else:
                self.pad_bits[g.kind] += g.pad_bits
        for k, v in x.items():
            if v[0] > 0:
                self.moments[k].add(v)
        self.moments["all"].add(sum(x.values()))
        for k, v in (learned_bytes or {}).items():
            self.learned_bytes[k] += v
        for k, v in (reparam_bytes or {}).items():
            self.reparam_bytes[k] += v
        self.frames += 1

    def merge(self, other: GapTotals) -> None:
        for d, o in ((self.bits, other.bits), (self.limit_bits, other.limit_bits),
                     (self.bias_bits, other.bias_bits), (self.pad_bits, other.pad_bits),
                     (self.learned_bytes, other.learned_bytes),
                     (self.reparam_bytes, other.reparam_bytes)):
            for k in d:
                d[k] += o[k]
        for k, m in self.moments.items():
            m.merge(other.moments[k])
        self.pad_known = self.pad_known and other.pad_known
        self.frames += other.frames

    def total_bits(self) -> float:
        return sum(self.bits.values())

    def _padding(self, fig: dict, pad: float, bits: float) -> None:
        if self.pad_known:
            fig.update(pad_bits=pad, pad_share=_pct(pad, bits))

    def to_json(self) -> dict:
        total = self.total_bits()
        info = {}
        has_saving = sum(self.learned_bytes.values()) > 0
        for k in self.bits:
            b = self.bits[k]
            info[k] = {**_figures(b, self.limit_bits[k], self.bias_bits[k], self.moments[k]),
                       "ratio": _pct(b, total)}
            self._padding(info[k], self.pad_bits[k], b)
            if has_saving:
                _savings(info[k], self.learned_bytes[k], self.reparam_bytes[k])
        out = {"frames": self.frames,
               **_figures(total, sum(self.limit_bits.values()), sum(self.bias_bits.values()),
                          self.moments["all"]), "info": info}
        self._padding(out, sum(self.pad_bits.values()), total)
        if has_saving:
            _savings(out, sum(self.learned_bytes.values()), sum(self.reparam_bytes.values()))
        return out

    @classmethod
    def from_json(cls, ft: dict) -> GapTotals:
        """Inverse of :meth:`to_json` (reports written before bias/padding read as zero
        bias, unknown padding and no standard errors)."""
        g = cls(frames=ft["frames"], pad_known="pad_bits" in ft)
        for k, info in ft["info"].items():
            g.bits[k] = info["bits"]
            g.limit_bits[k] = info["limit_bits"]
            g.bias_bits[k] = info.get("bias_bits", 0.0)
            g.pad_bits[k] = info.get("pad_bits", 0.0)
            g.learned_bytes[k] = info.get("learned_bytes", 0.0)
            g.reparam_bytes[k] = info.get("reparam_bytes", 0.0)
            g.moments[k] = FrameMoments.from_json(info.get("moments"))
        g.moments["all"] = FrameMoments.from_json(ft.get("moments"))
        return g


def aggregate(per_frame: list[tuple[str, GapTotals]]) -> dict[str, GapTotals]:
    """Totals per frame type (``I``, ``P``, ``B``) and for the whole ``Video``."""
    out: dict[str, GapTotals] = {}
    for ftype, tot in per_frame:
        out.setdefault(ftype, GapTotals()).merge(tot)
        out.setdefault("Video", GapTotals()).merge(tot)
    return out
