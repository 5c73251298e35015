"""State shared by the planner (:mod:`.plan`) and the reparameterizer (:mod:`.reparam`):
what a table was replaced by, the per-key history, and how rows are rebuilt from them.
Both sides of the codec build rows only through these functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .families import (
    MULTIPLIERS,
    fine_codes,
    gauss0_pmfs,
    gg_pmfs,
    gmm_pmf,
    quantized_cdf,
    scale_multiplier,
    shifted_pmf,
    side_shift,
)
from .streams import InfoStream
from .syntax import PRIORS
from .tables import PRECISION, TableSet
from .vfit import Pairs, TableAttrs, exact_bits

__all__ = ["TableParams", "StreamReparam", "KeyState", "Applied", "family_name",
           "limit_bits", "table_order", "build_row", "build_rows", "adapt_row", "adapt_rows",
           "adapt_matrix", "counts_to_cdf",
           "stream_pairs", "coded_bits"]


@dataclass(frozen=True)
class TableParams:
    """What a table was replaced by: family name, components, 10-bit codes."""

    family: str  # "gmm" | "gauss0" | "gg" | "shift" | "shift5" (5-bit shift codes)
    k: int
    codes: tuple[int, ...]


@dataclass
class StreamReparam:
    """Result of reparameterizing one stream (encoder side)."""

    payload: bytes
    tables: TableSet
    table_index: np.ndarray
    learned_bits: float  # exact bits with the learned tables
    coded_bits: float  # exact bits of the symbols with the tables actually used
    payload_bits: int  # signalling bits before byte padding
    replaced: int = 0
    reused: int = 0
    adapted: int = 0
    data: bytes | None = None  # rANS bytes, when planning already coded the stream


def family_name(main: bool, family: int) -> str:
    """The table family a (level, family id) builds rows with."""
    return ("gauss0", "gauss0", "gg", "gg")[family] if main else \
        ("gmm", "shift", "shift5")[family]


def limit_bits(counts: np.ndarray) -> float:
    """N * H(histogram): the fewest bits any table can spend on these symbols."""
    c = counts.astype(np.float64)
    return float(-(c * np.log2(c / c.sum())).sum())


def table_order(tables: TableSet) -> np.ndarray:
    """Signalling order: side tables by learned entropy (high first); main tables by
    scale index (low scales first). Depends only on the learned tables."""
    if "order" not in tables._lists:
        if tables.family == "factorized":
            h = np.empty(len(tables))
            for t in range(len(tables)):
                p = tables.pmf(t)
                h[t] = -(p * np.log2(p)).sum()
            tables._lists["order"] = np.lexsort((np.arange(len(tables)), -np.round(h, 9)))
        else:
            tables._lists["order"] = np.arange(len(tables))
    return tables._lists["order"]


def build_row(tables: TableSet, t: int, p: TableParams) -> np.ndarray:
    """The quantized CDF of table ``t`` replaced by ``p`` (same on both sides)."""
    return build_rows(tables, [(t, p)])[0]


def build_rows(tables: TableSet, items: list[tuple[int, TableParams]]) -> list[np.ndarray]:
    """:func:`build_row` of many ``(table, parameters)`` at once: the main families'
    rows share one pass of their special functions (:func:`.families.gg_pmfs`)."""
    out: list[np.ndarray | None] = [None] * len(items)
    main: dict[str, list[int]] = {"gg": [], "gauss0": []}
    for i, (t, p) in enumerate(items):
        if p.family in main:
            main[p.family].append(i)
            continue
        a = int(tables.offsets[t])
        b = a + int(tables.cdf_lengths[t]) - 3
        if p.family == "gmm":
            out[i] = quantized_cdf(gmm_pmf(np.asarray(p.codes), p.k, a, b))
        else:  # "shift", "shift5" (5-bit codes for the same range)
            c = fine_codes(p.codes) if p.family == "shift5" else p.codes
            row = tables.cdfs[t, : tables.cdf_lengths[t]]
            out[i] = quantized_cdf(shifted_pmf(row, a, float(side_shift(c[0])),
                                               float(scale_multiplier(c[1]))))
    for fam, which in main.items():
        if not which:
            continue
        ts = np.array([items[i][0] for i in which])
        codes = np.array([items[i][1].codes for i in which])
        halves = tables.offsets[ts].astype(np.int64) + tables.cdf_lengths[ts] - 3
        std = tables.scales[ts] * MULTIPLIERS[codes[:, -1]]  # the scale code is last
        pmfs = gg_pmfs(std, codes[:, 0], halves) if fam == "gg" else gauss0_pmfs(std, halves)
        for i, pmf in zip(which, pmfs, strict=True):
            out[i] = quantized_cdf(pmf)
    return out  # type: ignore[return-value]


def adapt_row(tables: TableSet, t: int, hist: np.ndarray, prior: int) -> np.ndarray:
    """Decoder-side adaptation of table ``t``: counts of the key's previous symbols
    (``hist``: the flat history, :attr:`.vfit.TableAttrs.starts`) plus ``PRIORS[prior]``
    pseudo-symbols spread as the learned table, quantized to 16 bits in exact integers
    (:func:`counts_to_cdf`)."""
    return adapt_rows(tables, [t], hist, [prior])[0]


def adapt_rows(tables: TableSet, ts: list[int], hist: np.ndarray, priors: list[int]
               ) -> list[np.ndarray]:
    """:func:`adapt_row` of many tables in a few integer numpy operations (a decoder adapts
    every table of most streams, so per-row calls were most of its reparameterization
    time); the rows equal the one-table definition."""
    cdf, n = adapt_matrix(tables, ts, hist, priors)
    return [cdf[i, : n[i] + 1] for i in range(len(n))]


def adapt_matrix(tables: TableSet, ts, hist: np.ndarray, priors
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The adapted CDFs of tables ``ts`` as one padded int32 matrix, with their bins."""
    ts_a = np.asarray(ts, dtype=np.intp)
    n = (TableAttrs.of(tables).n + 1).take(ts_a)  # bins: support and escape
    width = int(n.max())  # (scale tables are up to thousands wide: only what is used)
    freq, base = _adapt_base(tables, width)
    inside = np.arange(width) < n[:, None]
    h = np.where(inside, hist[base[ts_a, :width]], 0)  # (padding reads bin 0: dropped)
    prior = np.asarray(PRIORS, dtype=np.int64)[np.asarray(priors)][:, None]
    cdf = counts_to_cdf(h * (1 << PRECISION) + prior * freq[ts_a, :width], n)
    cdf[np.arange(width + 1) > n[:, None]] = 0  # (a TableSet's rows end in zeros)
    return cdf, n


def _adapt_base(tables: TableSet, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per table, padded to at least ``width`` columns: learned 16-bit frequencies (0
    beyond the table) and the flat history index of every bin (0 beyond). Built for the
    widest tables asked for so far (a power of two): scale tables run to thousands of
    bins, the tables streams use to far fewer, and a decoder builds this once per model."""
    have = tables._lists.get("adapt")
    if have is None or have[0].shape[1] < width:
        attrs = TableAttrs.of(tables)
        nbins = attrs.n + 1
        w = min(1 << max(int(width) - 1, 1).bit_length(), int(nbins.max()))
        cols = np.arange(w)[None]
        inside = cols < nbins[:, None]
        cdf = attrs.cdfs[:, : w + 1].astype(np.int64)
        freq = np.zeros((len(nbins), w), dtype=np.int64)
        freq[:, : cdf.shape[1] - 1] = np.diff(cdf, axis=1)
        have = tables._lists["adapt"] = (np.where(inside, freq, 0),
                                         np.where(inside, attrs.starts[:-1, None] + cols, 0))
    return have


_WEIGHT_BITS = 46  # sum of a row's weights kept below 2**46: sum * 2**16 fits int64


def counts_to_cdf(w: np.ndarray, n: np.ndarray) -> np.ndarray:
    """16-bit CDF rows ``[R, width + 1]`` from non-negative integer weights ``w [R, width]``
    (row ``i`` has ``n[i]`` bins, zero weights beyond, a positive sum ``W``), by cumulative
    rounding: ``cdf(j) = j + floor(C(j) (2^16 - n) / W)`` with ``C(j)`` the weight of the
    bins below ``j``. So ``cdf(n) = 2^16``, every bin gets at least 1 and is within 1 of its
    exact share ``1 + w (2^16 - n) / W``. Rows whose ``W`` reaches 2^46 are first shifted
    right (``w >> k``, the smallest such ``k``) so that nothing overflows. Integers only:
    encoder and decoder get the same rows on any machine. (Entries past ``n`` are
    meaningless.)"""
    c = np.zeros((len(w), w.shape[1] + 1), dtype=np.int64)
    np.cumsum(w, axis=1, out=c[:, 1:])
    over = c[:, -1] >> _WEIGHT_BITS
    if over.any():  # (rare: shift the rows' weights, the smallest k each)
        k = np.zeros(len(w), dtype=np.int64)
        while over.any():
            k += over > 0
            over >>= 1
        np.cumsum(w.astype(np.int64) >> k[:, None], axis=1, out=c[:, 1:])
    out = c * ((1 << PRECISION) - n)[:, None] // c[:, -1:] + np.arange(w.shape[1] + 1)
    return out.astype(np.int32)


# Symbols a key's history may hold unbinned (8 bytes each on the decoder): binning is
# deferred because most streams of a GOP never read the history, but not without bound.
MAX_PENDING = 1 << 22


@dataclass
class KeyState:
    """Per (information type, frame type): parameters in force and symbol history.

    The history is kept as the symbols' flat (table, bin) indices and summed into counts
    only when a table adapts (:meth:`history`): most streams of a GOP never read it.
    ``hist`` is never modified in place (states may share it)."""

    in_force: dict[int, TableParams] = field(default_factory=dict)
    hist: np.ndarray | None = None  # flat counts since the last reset (TableAttrs.starts)
    frames: int = 0
    _pending: list = field(default_factory=list, repr=False)  # (flat index, counts)
    _size: int = 0
    _held: int = 0  # entries held in _pending

    def _hold(self, item: tuple, entries: int) -> None:
        """Queue an item; once the queue holds more entries than :data:`MAX_PENDING`
        (and than the history itself) it is binned: a long GOP whose streams never
        adapt must not keep every symbol it decoded."""
        self._pending.append(item)
        self._held += entries
        self.frames += 1
        if self._held > max(MAX_PENDING, 4 * self._size):
            self.history()

    def observe(self, tables: TableSet, ts: np.ndarray, idx: np.ndarray,
                counts: np.ndarray | None = None) -> None:
        """Add symbols (table, bin, count; count 1 when ``counts`` is None)."""
        starts = TableAttrs.of(tables).starts
        self._size = int(starts[-1])
        self._hold((starts[ts] + idx, np.ones(len(ts)) if counts is None else counts),
                   len(ts))

    def observe_symbols(self, tables: TableSet, symbols: np.ndarray,
                        table_index: np.ndarray) -> None:
        """Add a decoded stream's symbols (an escaped one counts in its escape bin); the
        bins are worked out only if the history is ever read."""
        self._size = int(TableAttrs.of(tables).starts[-1])
        self._hold((tables, symbols, table_index), len(symbols))

    @staticmethod
    def _counts(item: tuple, size: int) -> np.ndarray:
        """Flat counts of one pending item: encoder (flat index, counts) pairs, or a
        decoded stream's symbols (binned in 32-bit integers: the decoder's hot path)."""
        if len(item) == 2:
            where, counts = item
            return np.bincount(where, weights=counts, minlength=size).astype(np.int64)
        tables, symbols, table_index = item
        a, n, starts = TableAttrs.of(tables).bins32
        ti = table_index.astype(np.intp, copy=False)  # (take: no index conversion)
        v = symbols.astype(np.int32, copy=False) - a.take(ti)
        idx = np.minimum(v.view(np.uint32), n.take(ti))  # below the support: escape too
        return np.bincount(starts.take(ti) + idx.view(np.int32), minlength=size)

    def history(self) -> np.ndarray | None:
        """Flat counts of every symbol observed, per table and bin (None before any)."""
        if self._pending:
            add = sum(self._counts(it, self._size) for it in self._pending)
            self._pending, self._held = [], 0
            self.hist = add if self.hist is None else self.hist + add
        return self.hist


@dataclass
class Applied:
    tables: TableSet
    remap: np.ndarray
    in_force: dict[int, TableParams]
    replaced: int = 0
    reused: int = 0
    adapted: int = 0


def stream_pairs(stream: InfoStream) -> Pairs:
    ts, vs, cs = stream.histogram()
    return Pairs.build(ts, vs, cs, TableAttrs.of(stream.tables))


def coded_bits(applied: Applied, pairs: Pairs) -> float:
    return float(exact_bits(applied.tables, applied.remap[pairs.ts], pairs).sum())
