"""Parametric replacement tables (METHOD.md §4): definitions, 10-bit codes, fitting.

Every parameter is a 10-bit code over a range fixed here and in ``docs/bitstream.md``;
tables are always built from the *dequantized* codes, in float64, then quantized to a
16-bit CDF by CompressAI's own ``pmf_to_quantized_cdf``, so that encoder and decoder
build identical rows. Each replacement table has the learned table's support plus an
escape bin of mass :data:`ESCAPE_MASS`.

Families:

* side (factorized) table on support ``[a, b]``: truncated discretized Gaussian
  mixture of K = 1..4 components, ``3K - 1`` codes (means, scales, K-1 stick-breaking
  weights);
* main (scale-table) group ``k`` with learned scale ``s_k``: truncated discretized
  zero-mean Gaussian of scale ``s_k * m(code)``, one code;
* stream-wide main rescale (ours): one code, every group ``k`` gets ``s_k * m(code)``.
"""

from __future__ import annotations

import numpy as np
from compressai._CXX import pmf_to_quantized_cdf
from scipy.special import gammainc, gammaln, ndtr

from .coder import _bypass_bits
from .tables import PRECISION

__all__ = ["CODE_BITS", "ESCAPE_MASS", "scale_multiplier", "gmm_params", "gmm_pmf", "gg_pmf",
           "gg_shape", "gg_scores", "shifted_pmf", "fit_shift", "side_shift",
           "gauss0_pmf", "quantized_cdf", "table_bits", "fit_gmm", "fit_scale", "MAX_K"]

CODE_BITS = 10
NCODES = 1 << CODE_BITS
ESCAPE_MASS = 2.0 ** -12
MAX_K = 4
SCALE_LOG2_RANGE = (-2.0, 2.0)  # main: sigma' = s_k * 2^u, u uniform in this range
SIDE_SIGMA_MIN = 0.05  # side: sigma log-uniform in [0.05, 4 * (b - a + 1)]
GG_SHAPE_RANGE = (0.5, 4.0)  # generalized Gaussian shape beta, log-uniform (2 = Gaussian)


def gg_shape(code: np.ndarray | int) -> np.ndarray:
    lo, hi = GG_SHAPE_RANGE
    return lo * (hi / lo) ** (np.asarray(code, dtype=np.float64) / (NCODES - 1))


def _gg_cdf(x: np.ndarray, std: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """CDF of a zero-mean generalized Gaussian of standard deviation ``std``, shape ``beta``."""
    alpha = std * np.exp(0.5 * (gammaln(1.0 / beta) - gammaln(3.0 / beta)))
    p = gammainc(1.0 / beta, (np.abs(x) / alpha) ** beta)
    return 0.5 + 0.5 * np.sign(x) * p


def gg_pmf(std: float, beta: float, half: int) -> np.ndarray:
    """Zero-mean discretized generalized Gaussian over ``-half..half`` then escape."""
    s = np.arange(-half, half + 1, dtype=np.float64)
    return _finish(_gg_cdf(s + 0.5, std, beta) - _gg_cdf(s - 0.5, std, beta))


def gg_scores(values: np.ndarray, counts: np.ndarray, s_k: float, half: int,
              shape_codes: np.ndarray, scale_codes: np.ndarray) -> np.ndarray:
    """Log2-likelihood of a group's in-support symbols for every (shape, scale) pair,
    ``[len(shape_codes), len(scale_codes)]`` (float pmf, truncation included)."""
    inside = np.abs(values) <= half
    av = np.abs(values[inside]).astype(np.float64)
    c = counts[inside].astype(np.float64)
    beta = gg_shape(shape_codes)[:, None, None]
    std = s_k * scale_multiplier(scale_codes)[None, :, None]
    p = _gg_cdf(av + 0.5, std, beta) - _gg_cdf(av - 0.5, std, beta)
    z = 2.0 * _gg_cdf(np.float64(half) + 0.5, std[..., 0], beta[..., 0]) - 1.0
    return (c * np.log2(np.maximum(p, 1e-300))).sum(-1) - c.sum() * np.log2(z)


def scale_multiplier(code: np.ndarray | int) -> np.ndarray:
    lo, hi = SCALE_LOG2_RANGE
    return np.exp2(lo + (hi - lo) * np.asarray(code, dtype=np.float64) / (NCODES - 1))


def _side_ranges(a: int, b: int) -> tuple[float, float, float, float]:
    width = float(b - a + 1)
    return a - 0.5, width, SIDE_SIGMA_MIN, 4.0 * width


def gmm_params(codes: np.ndarray, k: int, a: int, b: int):
    """Dequantize ``3K-1`` codes (or a batch ``[T, 3K-1]``): (means, sigmas, weights)."""
    codes = np.asarray(codes, dtype=np.float64)
    mu0, width, smin, smax = _side_ranges(a, b)
    mu = mu0 + width * codes[..., :k] / (NCODES - 1)
    sigma = smin * (smax / smin) ** (codes[..., k:2 * k] / (NCODES - 1))
    w = np.empty(codes.shape[:-1] + (k,))
    rest = np.ones(codes.shape[:-1])
    for j in range(k - 1):
        f = (codes[..., 2 * k + j] + 0.5) / NCODES
        w[..., j] = rest * f
        rest = rest - w[..., j]
    w[..., k - 1] = rest
    return mu, sigma, w


def _finish(pmf: np.ndarray) -> np.ndarray:
    """Truncate-renormalize a support pmf to ``1 - ESCAPE_MASS`` and append the escape."""
    pmf = np.maximum(pmf, 1e-300)
    pmf = pmf / pmf.sum() * (1.0 - ESCAPE_MASS)
    return np.concatenate([pmf, [ESCAPE_MASS]])


def gmm_pmf(codes: np.ndarray, k: int, a: int, b: int) -> np.ndarray:
    """pmf over ``a..b`` then escape, of the mixture given by its codes."""
    mu, sigma, w = gmm_params(codes, k, a, b)
    s = np.arange(a, b + 1, dtype=np.float64)[:, None]
    p = (ndtr((s + 0.5 - mu) / sigma) - ndtr((s - 0.5 - mu) / sigma)) @ w
    return _finish(p)


def gauss0_pmf(sigma: float, half: int) -> np.ndarray:
    """Zero-mean discretized Gaussian over ``-half..half`` then escape."""
    s = np.arange(-half, half + 1, dtype=np.float64)
    return _finish(ndtr((s + 0.5) / sigma) - ndtr((s - 0.5) / sigma))


def quantized_cdf(pmf: np.ndarray) -> np.ndarray:
    """CompressAI's own float -> 16-bit CDF conversion (identical on both sides)."""
    return np.asarray(pmf_to_quantized_cdf(pmf.tolist(), PRECISION), dtype=np.int32)


def table_bits(cdf: np.ndarray, offset: int, values: np.ndarray, counts: np.ndarray) -> float:
    """Exact bits of ``counts`` symbols of ``values`` under one quantized CDF row."""
    max_value = len(cdf) - 2
    v = values.astype(np.int64) - offset
    low, high = v < 0, v >= max_value
    esc = low | high
    vv = np.where(esc, max_value, v)
    freq = (cdf[vv + 1] - cdf[vv]).astype(np.float64)
    bits = PRECISION - np.log2(freq)
    if esc.any():
        raw = np.where(low, -2 * v - 1, 2 * (v - max_value))
        bits[esc] += _bypass_bits(raw[esc])
    return float((bits * counts).sum())


def fit_scale(values: np.ndarray, counts: np.ndarray, s_k: float, half: int) -> int:
    """Best 10-bit multiplier code for a zero-mean group (every code evaluated at once)."""
    inside = np.abs(values) <= half
    v = np.abs(values[inside]).astype(np.float64)
    c = counts[inside].astype(np.float64)
    if c.sum() == 0:
        return NCODES // 2
    sig = s_k * scale_multiplier(np.arange(NCODES))[:, None]  # [1024, 1]
    p = ndtr((0.5 - v) / sig) - ndtr((-0.5 - v) / sig)  # mass at v (symmetric in v)
    z = 2.0 * ndtr((half + 0.5) / sig[:, 0]) - 1.0  # truncation: the sum telescopes
    logq = np.log2(np.maximum(p, 1e-300)) - np.log2(z)[:, None]
    return int(np.argmax((logq * c).sum(1)))


def _to_codes(mu, sigma, w, k, a, b) -> np.ndarray:
    mu0, width, smin, smax = _side_ranges(a, b)
    cm = np.clip(np.round((mu - mu0) / width * (NCODES - 1)), 0, NCODES - 1)
    cs = np.clip(np.round(np.log(np.clip(sigma, smin, smax) / smin) / np.log(smax / smin)
                          * (NCODES - 1)), 0, NCODES - 1)
    cw = []
    rest = 1.0
    for j in range(k - 1):
        f = w[j] / rest if rest > 1e-12 else 0.5
        cw.append(np.clip(np.round(f * NCODES - 0.5), 0, NCODES - 1))
        rest = max(rest - w[j], 1e-12)
    return np.concatenate([cm, cs, np.asarray(cw, dtype=np.float64)]).astype(np.int64)


def fit_gmm(values: np.ndarray, counts: np.ndarray, k: int, a: int, b: int) -> np.ndarray:
    """Maximum discretized likelihood fit of a K-component mixture; returns its codes.

    Deterministic: quantile initialisation, EM on the histogram's bins, then a
    coordinate search over the 10-bit codes on the exact (truncated, discretized,
    escape-included) likelihood of the in-support symbols.
    """
    inside = (values >= a) & (values <= b)
    v = values[inside].astype(np.float64)
    c = counts[inside].astype(np.float64)
    if c.sum() == 0:
        return _to_codes(np.full(k, (a + b) / 2), np.full(k, 1.0), np.full(k, 1 / k), k, a, b)
    # quantile initialisation
    cum = np.cumsum(c) / c.sum()
    mu = np.array([v[min(np.searchsorted(cum, (j + 0.5) / k), len(v) - 1)] for j in range(k)])
    var = float((c * (v - (c * v).sum() / c.sum()) ** 2).sum() / c.sum())
    sigma = np.full(k, max(np.sqrt(var) / k, 0.3))
    w = np.full(k, 1.0 / k)
    for _ in range(60):  # EM with discretized component masses
        comp = ndtr((v[:, None] + 0.5 - mu) / sigma) - ndtr((v[:, None] - 0.5 - mu) / sigma)
        r = np.maximum(comp * w, 1e-300)
        r /= r.sum(1, keepdims=True)
        nk = (r * c[:, None]).sum(0) + 1e-12
        w = nk / nk.sum()
        mu = (r * c[:, None] * v[:, None]).sum(0) / nk
        sigma = np.sqrt(np.maximum((r * c[:, None] * (v[:, None] - mu) ** 2).sum(0) / nk
                                   - 1 / 12, 0.0025))
    order = np.argsort(mu, kind="stable")
    codes = _to_codes(mu[order], sigma[order], w[order], k, a, b)
    def costs(batch: np.ndarray) -> np.ndarray:
        m, sg, wt = gmm_params(batch, k, a, b)  # [T, K]
        vv = v[None, :, None]
        mass = ((ndtr((vv + 0.5 - m[:, None]) / sg[:, None])
                 - ndtr((vv - 0.5 - m[:, None]) / sg[:, None])) * wt[:, None]).sum(-1)
        z = ((ndtr((b + 0.5 - m) / sg) - ndtr((a - 0.5 - m) / sg)) * wt).sum(-1)  # telescoped
        return -(c * np.log2(np.maximum(mass, 1e-300) / z[:, None])).sum(-1)

    best = float(costs(codes[None])[0])
    eye = np.eye(len(codes), dtype=np.int64)
    for step in (64, 16, 4, 1):  # steepest descent over the 10-bit code lattice
        for _ in range(8):
            trials = np.clip(np.concatenate([codes + step * eye, codes - step * eye]), 0,
                             NCODES - 1)
            tc = costs(trials)
            i = int(np.argmin(tc))
            if tc[i] >= best - 1e-9:
                break
            best, codes = float(tc[i]), trials[i]
    return codes


def _lattice_search(score, grid: tuple[int, int], steps) -> tuple[int, int]:
    """Maximize ``score(codes_a, codes_b) -> [len(a), len(b)]`` over two 10-bit codes: a
    coarse grid, then neighbours at shrinking steps (``steps(s) -> (step_a, step_b)``)."""
    ca, cb = np.arange(0, NCODES, grid[0]), np.arange(0, NCODES, grid[1])
    sc = score(ca, cb)
    i, j = np.unravel_index(int(np.argmax(sc)), sc.shape)
    ba, bb, best = int(ca[i]), int(cb[j]), float(sc[i, j])
    for step in (32, 16, 8, 4, 2, 1):
        da, db = steps(step)
        na = np.unique(np.clip(ba + np.array([-da, 0, da]), 0, NCODES - 1))
        nb = np.unique(np.clip(bb + np.array([-db, 0, db]), 0, NCODES - 1))
        sc = score(na, nb)
        i, j = np.unravel_index(int(np.argmax(sc)), sc.shape)
        if sc[i, j] > best + 1e-12:
            ba, bb, best = int(na[i]), int(nb[j]), float(sc[i, j])
    return ba, bb


def fit_gg(groups: list[tuple[np.ndarray, np.ndarray, float, int]]) -> tuple[int, int]:
    """Best (shape, scale) codes of a generalized Gaussian shared by ``groups`` (each
    ``(values, counts, s_k, half)``; one group for a per-table fit): a coarse grid over
    both codes, then a local search on the 10-bit lattice. Deterministic."""

    def score(shapes: np.ndarray, scales: np.ndarray) -> np.ndarray:
        tot = np.zeros((len(shapes), len(scales)))
        for v, c, s_k, half in groups:
            tot += gg_scores(v, c, s_k, half, shapes, scales)
        return tot

    # coarse grid 16 shapes x 32 scales, then scale steps half the shape steps
    return _lattice_search(score, (64, 32), lambda step: (step, max(step // 2, 1)))


SHIFT_RANGE = (-2.0, 2.0)  # side stream-wide shift delta, uniform


def side_shift(code: np.ndarray | int) -> np.ndarray:
    lo, hi = SHIFT_RANGE
    return lo + (hi - lo) * np.asarray(code, dtype=np.float64) / (NCODES - 1)


def _learned_cdf_at(cdf_row: np.ndarray, a: int, x: np.ndarray) -> np.ndarray:
    """The learned table's CDF (uniform density inside each integer bin) at points ``x``."""
    n = len(cdf_row) - 2  # support values
    knots = a - 0.5 + np.arange(n + 1, dtype=np.float64)
    return np.interp(x, knots, cdf_row[: n + 1].astype(np.float64) / float(1 << PRECISION))


def shifted_pmf(cdf_row: np.ndarray, a: int, delta: float, rho: float) -> np.ndarray:
    """Learned table moved by ``delta`` and stretched by ``rho`` (around 0, the median
    that side symbols are centred on), on the same support, then escape."""
    n = len(cdf_row) - 2
    s = a + np.arange(n, dtype=np.float64)
    hi = _learned_cdf_at(cdf_row, a, (s + 0.5 - delta) / rho)
    lo = _learned_cdf_at(cdf_row, a, (s - 0.5 - delta) / rho)
    return _finish(hi - lo)


def fit_shift(groups: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]]) -> tuple[int, int]:
    """Best (shift, stretch) codes shared by side tables ``(cdf_row, a, values, counts)``."""

    def score(dc: np.ndarray, rc: np.ndarray) -> np.ndarray:
        d = side_shift(dc)[:, None, None]
        r = scale_multiplier(rc)[None, :, None]
        tot = np.zeros((len(dc), len(rc)))
        for row, a, v, c in groups:
            n = len(row) - 2
            b = a + n - 1
            inside = (v >= a) & (v <= b)
            vv = v[inside].astype(np.float64)
            cc = c[inside].astype(np.float64)
            if not len(vv):
                continue
            hi = _learned_cdf_at(row, a, (vv + 0.5 - d) / r)
            lo = _learned_cdf_at(row, a, (vv - 0.5 - d) / r)
            zh = _learned_cdf_at(row, a, (b + 0.5 - d[..., 0]) / r[..., 0])
            zl = _learned_cdf_at(row, a, (a - 0.5 - d[..., 0]) / r[..., 0])
            tot += (cc * np.log2(np.maximum(hi - lo, 1e-300))).sum(-1) \
                - cc.sum() * np.log2(np.maximum(zh - zl, 1e-300))
        return tot

    return _lattice_search(score, (32, 32), lambda step: (step, step))
