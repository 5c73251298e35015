"""Vectorized family models and fits over the (table, value, count) pairs of a stream.

Planning never loops over tables in Python: a stream's histogram is a set of pairs
sorted by table (:class:`Pairs`); each family gives the float log2-probability of every
pair for a whole batch of candidate codes at once (``[G, P]``), and per-table scores are
segment sums. The float model is the family's pmf with the escape mass and the 16-bit
floor of the quantized table (``q >= 2^-16``); exact bits come later from the real rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np
from scipy.special import ndtr

from .coder import _bypass_bits
from .families import (
    ESCAPE_MASS,
    GG_ALPHAS,
    MULTIPLIERS,
    NCODES,
    SIDE_SIGMA_MIN,
    code_bits,
    fine_codes,
    scale_multiplier,
    side_shift,
)
from .ggtab import gg_abs_cdf_fast
from .streams import pair_counts
from .tables import PRECISION, TableSet

__all__ = ["Pairs", "TableAttrs", "log2q", "fit", "fit_groups", "exact_bits", "NPARAMS"]

NPARAMS = {"gmm": 2, "gauss0": 1, "gg": 2, "shift": 2, "shift5": 2}  # K = 1 mixtures only
SYMMETRIC = ("gauss0", "gg")  # pmf of |v| (scale tables): fitted on folded pairs
_FLOOR = 2.0 ** -PRECISION


@dataclass
class TableAttrs:
    """Per-table arrays the models need (computed once per TableSet)."""

    a: np.ndarray  # first support value
    n: np.ndarray  # support size (escape bin index)
    scales: np.ndarray | None
    cdfs: np.ndarray  # the table set's own int32 matrix (not copied)
    lengths: np.ndarray
    starts: np.ndarray  # [T + 1]: where each table's bins (support, escape) start in a
    # flat histogram (adaptation history): scale tables range from 3 to thousands of
    # bins, so a [tables, widest] matrix would be mostly empty

    @classmethod
    def of(cls, tables: TableSet) -> TableAttrs:
        if "attrs" not in tables._lists:
            lengths = tables.cdf_lengths.astype(np.int64)
            tables._lists["attrs"] = cls(tables.offsets.astype(np.int64), lengths - 2,
                                         tables.scales, tables.cdfs,
                                         lengths, np.concatenate([[0], np.cumsum(lengths - 1)]))
        return tables._lists["attrs"]

    @cached_property
    def bins32(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``a``, ``n`` (uint32) and ``starts[:-1]`` in 32 bits: the decoder bins every
        decoded symbol into the history with these (half the memory traffic of int64)."""
        if self.starts[-1] >= 1 << 31:
            raise ValueError("tables too large for a 32-bit history")
        return self.a.astype(np.int32), self.n.astype(np.uint32), \
            self.starts[:-1].astype(np.int32)


@dataclass
class Pairs:
    """Histogram pairs sorted by table: ``ts`` (table), ``vs`` (value), ``cs`` (count);
    ``idx`` = bin of each value in its table (``n`` = escape), ``inside`` its mask."""

    ts: np.ndarray
    vs: np.ndarray
    cs: np.ndarray
    idx: np.ndarray
    inside: np.ndarray

    @classmethod
    def build(cls, ts, vs, cs, attrs: TableAttrs) -> Pairs:
        o = np.argsort(ts, kind="stable")
        ts, vs, cs = (np.asarray(x, dtype=np.int64)[o] for x in (ts, vs, cs))
        v = vs - attrs.a[ts]
        inside = (v >= 0) & (v < attrs.n[ts])
        return cls(ts, vs, cs.astype(np.float64), np.where(inside, v, attrs.n[ts]), inside)

    @classmethod
    def stack(cls, parts: list[Pairs]) -> tuple[Pairs, np.ndarray]:
        """Several streams' pairs one after the other (each still sorted by table) and the
        stream of each pair: many streams' fits and scores in one batch of numpy calls
        (``concat`` instead merges them into one stream, sorted by table)."""
        cat = cls(*(np.concatenate([getattr(q, f.name) for q in parts])
                    for f in fields(cls)))
        return cat, np.repeat(np.arange(len(parts)), [len(q) for q in parts])

    @classmethod
    def concat(cls, parts: list[Pairs], attrs: TableAttrs) -> Pairs:
        return cls.build(np.concatenate([p.ts for p in parts]),
                         np.concatenate([p.vs for p in parts]),
                         np.concatenate([p.cs for p in parts]), attrs)

    def take(self, mask: np.ndarray) -> Pairs:
        return Pairs(self.ts[mask], self.vs[mask], self.cs[mask], self.idx[mask],
                     self.inside[mask])

    def __len__(self) -> int:
        return int(self.ts.size)

    def folded(self, attrs: TableAttrs) -> Pairs:
        """Pairs of ``(table, |value|)``: the symmetric families' pmfs (zero-mean, on the
        symmetric supports of scale tables) depend on ``|v|`` only, so their fits and
        scores see half the pairs for the same sums."""
        if not len(self):
            return self
        return Pairs.build(*pair_counts(self.ts, np.abs(self.vs), self.cs), attrs)

    def for_family(self, fam: str, attrs: TableAttrs) -> Pairs:
        """The pairs a family's fits and scores run on: folded for symmetric families."""
        return self.folded(attrs) if fam in SYMMETRIC else self


def _side_params(attrs: TableAttrs, ts: np.ndarray, c0, c1):
    a = attrs.a[ts].astype(np.float64)
    w = attrs.n[ts].astype(np.float64)
    mu = a - 0.5 + w * c0 / (NCODES - 1)
    smax = 4.0 * w
    sigma = SIDE_SIGMA_MIN * (smax / SIDE_SIGMA_MIN) ** (c1 / (NCODES - 1))
    return a, a + w - 1, mu, sigma


def _masses(fam: str, attrs: TableAttrs, p: Pairs, codes: list[np.ndarray]):
    """(mass at each pair's value, mass of the whole support) for ``codes`` [G, P]."""
    v = p.vs.astype(np.float64)
    if fam == "gmm":
        a, b, mu, sg = _side_params(attrs, p.ts, codes[0], codes[1])
        return (ndtr((v + 0.5 - mu) / sg) - ndtr((v - 0.5 - mu) / sg),
                ndtr((b + 0.5 - mu) / sg) - ndtr((a - 0.5 - mu) / sg))
    if fam in ("shift", "shift5"):
        c0, c1 = (fine_codes(c) for c in codes) if fam == "shift5" else codes
        d, r = side_shift(c0), scale_multiplier(c1)
        a = attrs.a[p.ts].astype(np.float64)
        b = a + attrs.n[p.ts] - 1
        cdf = _learned_cdf(attrs, p.ts)
        return (cdf((v + 0.5 - d) / r) - cdf((v - 0.5 - d) / r),
                cdf((b + 0.5 - d) / r) - cdf((a - 0.5 - d) / r))
    av, half = np.abs(v), (attrs.n[p.ts] - 1) // 2
    s = attrs.scales[p.ts]
    if fam == "gauss0":
        sig = s * scale_multiplier(codes[0])
        run = _same_as_previous(p, [codes[0]])  # the support mass: once per table and code
        first = np.flatnonzero(~run)
        sig2 = np.broadcast_to(sig, np.broadcast_shapes(sig.shape, av.shape))
        z = 2.0 * ndtr((half[first] + 0.5) / sig2[..., first]) - 1.0
        return ndtr((av + 0.5) / sig) - ndtr((av - 0.5) / sig), z[..., np.cumsum(~run) - 1]
    return _gg_masses(p, av, half, s, codes)


def _same_as_previous(p: Pairs, codes: list) -> np.ndarray:
    """Per pair, whether it has the table and codes (every candidate row) of the pair
    before it: per-table quantities are computed once per run of such pairs."""
    run = np.zeros(p.ts.size, dtype=bool)
    run[1:] = p.ts[1:] == p.ts[:-1]
    for code in codes:
        c = np.asarray(code)
        c = np.broadcast_to(c, np.broadcast_shapes(c.shape, p.ts.shape)).reshape(-1, p.ts.size)
        run[1:] &= (c[:, 1:] == c[:, :-1]).all(0)
    return run


# logs of the multiplier and of the GG's unit-std scale per code, once (not per pair)
_LOG_MULTIPLIERS = np.log(MULTIPLIERS)
_LOG_GG_ALPHAS = np.log(GG_ALPHAS)


def _gg_masses(p: Pairs, av: np.ndarray, half: np.ndarray, s: np.ndarray, codes):
    """The GG's masses from ``G(u) = P(|X| <= u)`` (one regularized gamma each): a value
    ``v != 0`` has ``(G(|v|+1/2) - G(|v|-1/2)) / 2``, zero has ``G(1/2)``, the support
    ``G(half+1/2)``. Consecutive values of a table under the same codes share a bound
    and a support, so each is computed once (the gamma function is the cost of a fit)."""
    code = np.asarray(codes[0]).astype(np.int64)
    shape = np.broadcast_shapes(code.shape, np.shape(codes[1]), av.shape)
    c0 = np.broadcast_to(code, shape).reshape(-1, av.size)
    c1 = np.broadcast_to(np.asarray(codes[1]).astype(np.int64), shape).reshape(-1, av.size)
    log_alpha = np.log(s) + _LOG_MULTIPLIERS[c1] + _LOG_GG_ALPHAS[c0]

    def g(u: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return gg_abs_cdf_fast(np.log(u[cols]), log_alpha[:, cols], c0[:, cols])

    run = _same_as_previous(p, [c0, c1])
    hi = g(av + 0.5, np.ones(av.size, dtype=bool))
    shared = run.copy()
    shared[1:] &= av[1:] == av[:-1] + 1.0
    lo = np.zeros_like(hi)
    lo[:, shared] = hi[:, np.flatnonzero(shared) - 1]
    own = (av > 0) & ~shared
    lo[:, own] = g(av - 0.5, own)
    z = g(half.astype(np.float64) + 0.5, ~run)[:, np.cumsum(~run) - 1]
    mass = np.where(av == 0, hi, 0.5 * (hi - lo))
    return mass.reshape(shape), z.reshape(shape)


def _learned_cdf(attrs: TableAttrs, ts: np.ndarray):
    """The learned CDF of each pair's table, linear inside integer bins (shift family)."""
    a, n = attrs.a[ts], attrs.n[ts]

    def at(x: np.ndarray) -> np.ndarray:
        u = np.clip(x - (a - 0.5), 0.0, n.astype(np.float64))
        i = np.minimum(np.floor(u).astype(np.int64), n - 1)
        lo = attrs.cdfs[ts, i].astype(np.float64)
        hi = attrs.cdfs[ts, i + 1].astype(np.float64)
        return (lo + (u - i) * (hi - lo)) / float(1 << PRECISION)
    return at


def log2q(fam: str, attrs: TableAttrs, p: Pairs, codes: list[np.ndarray]) -> np.ndarray:
    """Float log2-probability of every pair (escape pairs: the escape mass)."""
    mass, z = _masses(fam, attrs, p, codes)
    q = np.maximum(mass, 1e-300) / np.maximum(z, 1e-300) * (1.0 - ESCAPE_MASS)
    q = np.where(p.inside, q, ESCAPE_MASS)
    return np.log2(np.maximum(q, _FLOOR))


def _scores(fam, attrs, p: Pairs, codes: list[np.ndarray], starts: np.ndarray
            ) -> np.ndarray:
    """Log-likelihood [G, groups]: sums over the contiguous groups of ``p`` that begin at
    ``starts``."""
    return np.add.reduceat(log2q(fam, attrs, p, codes) * p.cs, starts, axis=-1)


def _init(fam: str, attrs: TableAttrs, p: Pairs, starts: np.ndarray) -> np.ndarray:
    """Starting codes per group: moments for mixtures, the middle otherwise."""
    if fam != "gmm":
        return np.full((len(starts), NPARAMS[fam]), NCODES // 2, dtype=np.int64)
    w = np.where(p.inside, p.cs, 0.0)
    n = np.maximum(np.add.reduceat(w, starts), 1e-9)
    v = p.vs.astype(np.float64)
    m = np.add.reduceat(w * v, starts) / n
    var = np.add.reduceat(w * v * v, starts) / n - m * m
    tabs = p.ts[starts]
    a, width = attrs.a[tabs], attrs.n[tabs].astype(np.float64)
    cm = np.round((m - (a - 0.5)) / width * (NCODES - 1))
    sd = np.clip(np.sqrt(np.maximum(var - 1 / 12, 0.0025)), SIDE_SIGMA_MIN, 4 * width)
    cs = np.round(np.log(sd / SIDE_SIGMA_MIN) / np.log(4 * width / SIDE_SIGMA_MIN)
                  * (NCODES - 1))
    return np.clip(np.stack([cm, cs], 1), 0, NCODES - 1).astype(np.int64)


def _starts(gid: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[True, gid[1:] != gid[:-1]])


def _grid(fam: str) -> np.ndarray:
    """Coarse candidate codes [G, nc] tried for every group before the local search."""
    if fam == "gauss0":  # one code: every 32nd, then the local search from the best
        return np.arange(16, NCODES, 32)[:, None]
    if fam == "gmm":
        return np.zeros((0, 2), dtype=np.int64)
    if fam == "shift5":  # every 4th of the 32 codes per parameter, then steps 2, 1
        g = np.arange(2, 32, 4)
        return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    g0, g1 = (np.arange(64, NCODES, 192), np.arange(32, NCODES, 128)) if fam == "gg" else \
        (np.arange(64, NCODES, 128), np.arange(64, NCODES, 128))
    return np.stack(np.meshgrid(g0, g1, indexing="ij"), -1).reshape(-1, 2)


def fit(fam: str, attrs: TableAttrs, p: Pairs, per_table: bool = True
        ) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood 10-bit codes: (groups' tables, codes [groups, nc]). Per table
    (every table of ``p`` at once) or one set shared by all (``per_table=False``)."""
    p = p.for_family(fam, attrs)
    if per_table:
        tabs = np.unique(p.ts)
        return tabs, fit_groups(fam, attrs, p, np.searchsorted(tabs, p.ts))
    return np.zeros(1, dtype=np.int64), fit_groups(fam, attrs, p, np.zeros(len(p), int))


def fit_groups(fam: str, attrs: TableAttrs, p: Pairs, gid: np.ndarray,
               start: np.ndarray | None = None) -> np.ndarray:
    """Codes [groups, nc] of many independent fits at once: group ``gid`` of every pair
    (0, 1, ... non-decreasing; e.g. one per table, per frame, or per (frame, table)).
    Deterministic: a coarse grid, then neighbours at shrinking steps. One batch of numpy
    calls serves every group, so small streams do not pay per-fit overheads. ``start``
    [groups, nc]: codes near the optimum (e.g. a fit of the groups pooled), searched
    from there at small steps only."""
    starts = _starts(gid)
    ng = len(starts)
    grid = _grid(fam)
    if start is not None:
        best = np.array(start, dtype=np.int64)
    elif len(grid):
        sc = _scores(fam, attrs, p, [grid[:, j, None] + 0.0 * p.cs for j in
                                     range(grid.shape[1])], starts)
        best = grid[np.argmax(sc, 0)]
    else:
        best = _init(fam, attrs, p, starts)
    nc = best.shape[1]
    cur = _scores(fam, attrs, p, [best[gid, j][None] for j in range(nc)], starts)[0]
    offs = np.stack(np.meshgrid(*[[-1, 0, 1]] * nc, indexing="ij"), -1).reshape(-1, nc)
    offs = offs[np.any(offs != 0, 1)]
    steps = (2, 1) if fam == "shift5" else (16, 8, 4, 2, 1) \
        if fam == "gauss0" or start is not None else (64, 32, 16, 8, 4, 2, 1)
    top = (1 << code_bits(fam)) - 1
    for step in steps:
        active = np.arange(ng)  # groups whose neighbours at this step are not yet scored
        for _ in range(3 if fam == "gmm" else 2):
            q, qgid = _groups_of(p, gid, active, ng)
            cand = np.clip(best[None, active] + step * offs[:, None], 0, top)
            sc = _scores(fam, attrs, q, [cand[:, qgid, j] for j in range(nc)],
                         starts if q is p else _starts(qgid))
            i = np.argmax(sc, 0)
            better = np.flatnonzero(sc[i, np.arange(len(active))] > cur[active] + 1e-9)
            if not len(better):
                break
            best[active[better]] = cand[i[better], better]
            cur[active[better]] = sc[i[better], better]
            active = active[better]  # the others' neighbours are the ones just scored
    return best


def _groups_of(p: Pairs, gid: np.ndarray, active: np.ndarray, ng: int
               ) -> tuple[Pairs, np.ndarray]:
    """The pairs of groups ``active`` (sorted) and their group's position in it."""
    if len(active) == ng:
        return p, gid
    pos = np.full(ng, -1)
    pos[active] = np.arange(len(active))
    keep = pos[gid] >= 0
    return p.take(keep), pos[gid[keep]]


def exact_bits(tables: TableSet, rows: np.ndarray, p: Pairs, with_bypass: bool = True
               ) -> np.ndarray:
    """Exact bits of every pair (all its symbols) under ``rows`` (one row per pair) of the
    quantized tables, escapes and bypass chunks included."""
    off = tables.offsets[rows].astype(np.int64)
    nmax = tables.cdf_lengths[rows].astype(np.int64) - 2
    v = p.vs - off
    low, high = v < 0, v >= nmax
    vv = np.where(low | high, nmax, v)
    freq = (tables.gather(rows, vv + 1) - tables.gather(rows, vv)).astype(np.float64)
    bits = PRECISION - np.log2(freq)
    if with_bypass and (low | high).any():
        esc = low | high
        raw = np.where(low, -2 * v - 1, 2 * (v - nmax))
        bits[esc] += _bypass_bits(raw[esc])
    return bits * p.cs
