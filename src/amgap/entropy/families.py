"""Parametric replacement tables: definitions and 10-bit codes (fits: :mod:`.vfit`).

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
from scipy.special import gammainc, gammaln, ndtr

from .compressai_internals import pmf_to_quantized_cdf
from .syntax import COARSE_BITS, CODE_BITS
from .tables import PRECISION

__all__ = ["CODE_BITS", "ESCAPE_MASS", "scale_multiplier", "gmm_params", "gmm_pmf", "gg_pmf",
           "gg_shape", "shifted_pmf", "side_shift", "gauss0_pmf", "quantized_cdf", "MAX_K",
           "gauss0_pmfs", "gg_pmfs", "MULTIPLIERS", "GG_SHAPES", "GG_ALPHAS", "fine_codes",
           "COARSE_STEP", "code_bits"]

NCODES = 1 << CODE_BITS
ESCAPE_MASS = 2.0 ** -12
MAX_K = 4
SCALE_LOG2_RANGE = (-2.0, 2.0)  # main: sigma' = s_k * 2^u, u uniform in this range
SIDE_SIGMA_MIN = 0.05  # side: sigma log-uniform in [0.05, 4 * (b - a + 1)]
GG_SHAPE_RANGE = (0.5, 4.0)  # generalized Gaussian shape beta, log-uniform (2 = Gaussian)


def gg_shape(code: np.ndarray | int) -> np.ndarray:
    lo, hi = GG_SHAPE_RANGE
    return lo * (hi / lo) ** (np.asarray(code, dtype=np.float64) / (NCODES - 1))


def gg_alpha(beta: np.ndarray) -> np.ndarray:
    """Scale parameter of a unit-standard-deviation generalized Gaussian of shape ``beta``."""
    return np.exp(0.5 * (gammaln(1.0 / beta) - gammaln(3.0 / beta)))


def gg_abs_cdf(u: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``P(|X| <= u)``, ``u >= 0``, for a zero-mean generalized Gaussian of scale
    ``alpha``, shape ``beta`` (fits work on ``|v|``: folded pairs)."""
    return gammainc(1.0 / beta, (u / alpha) ** beta)


def gg_cdf_scaled(x: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """CDF of a zero-mean generalized Gaussian of scale ``alpha``, shape ``beta``."""
    return 0.5 + 0.5 * np.sign(x) * gg_abs_cdf(np.abs(x), alpha, beta)


def _gg_cdf(x: np.ndarray, std: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """CDF of a zero-mean generalized Gaussian of standard deviation ``std``, shape ``beta``."""
    return gg_cdf_scaled(x, std * gg_alpha(beta), beta)


def gg_pmf(std: float, beta: float, half: int) -> np.ndarray:
    """Zero-mean discretized generalized Gaussian over ``-half..half`` then escape."""
    s = np.arange(-half, half + 1, dtype=np.float64)
    return _finish(_gg_cdf(s + 0.5, std, beta) - _gg_cdf(s - 0.5, std, beta))


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


# ------------------------------------------------- many main rows in one batch --
# Rows are built from the dequantized codes through these 1024-entry tables (one numpy
# path on both sides), and the special functions run once over every row's bin edges:
# a decoder builds hundreds of rows per GOP, and per-row Python calls were its cost.
_CODES = np.arange(NCODES)
MULTIPLIERS = scale_multiplier(_CODES)
GG_SHAPES = gg_shape(_CODES)
GG_ALPHAS = gg_alpha(GG_SHAPES)  # unit-std scale parameter of each shape code


def _ragged(lengths: np.ndarray, extra: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``lengths + extra`` elements, concatenated: (row of each element, its
    position in its row, where each row starts)."""
    n = lengths + extra
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    rows = np.repeat(np.arange(len(lengths)), n)
    return rows, np.arange(int(n.sum())) - starts[rows], starts


def gauss0_pmfs(sigmas: np.ndarray, halves: np.ndarray) -> list[np.ndarray]:
    """:func:`gauss0_pmf` of many rows: zero-mean discretized Gaussians of scales
    ``sigmas`` over ``-h..h`` (``h`` in ``halves``) then escape."""
    halves = np.asarray(halves, dtype=np.int64)
    rows, j, starts = _ragged(2 * halves, 2)  # edges -h-1/2 .. h+1/2
    c = ndtr((j - halves[rows] - 0.5) / np.asarray(sigmas, np.float64)[rows])
    return [_finish(np.diff(c[s: s + 2 * h + 2])) for s, h in zip(starts, halves.tolist(),
                                                                    strict=True)]


def gg_pmfs(stds: np.ndarray, shape_codes: np.ndarray, halves: np.ndarray
            ) -> list[np.ndarray]:
    """Zero-mean discretized generalized Gaussians (standard deviations ``stds``, shapes
    ``GG_SHAPES[shape_codes]``) over ``-h..h`` then escape: ``P(|X| <= u)`` once per
    positive bin edge ``u``, the CDF by symmetry."""
    halves = np.asarray(halves, dtype=np.int64)
    rows, j, starts = _ragged(halves, 1)  # edges 1/2 .. h+1/2
    beta = GG_SHAPES[shape_codes][rows]
    g = gg_abs_cdf(j + 0.5, (np.asarray(stds, np.float64) * GG_ALPHAS[shape_codes])[rows],
                   beta)
    out = []
    for s, h in zip(starts, halves.tolist(), strict=True):
        gr = g[s: s + h + 1]
        out.append(_finish(np.diff(np.concatenate((0.5 - 0.5 * gr[::-1], 0.5 + 0.5 * gr)))))
    return out


SHIFT_RANGE = (-2.0, 2.0)  # side stream-wide shift delta, uniform


# a 5-bit code c (side family 2) stands for the 10-bit code 33 c: the same range
COARSE_STEP = (NCODES - 1) // ((1 << COARSE_BITS) - 1)


def code_bits(family: str) -> int:
    """Bits of each code of a family (by name): the syntax's widths, for fits and costs."""
    return COARSE_BITS if family == "shift5" else CODE_BITS


def fine_codes(codes) -> np.ndarray:
    """The 10-bit codes that 5-bit codes (side family 2) stand for: 0, 33, ..., 1023,
    the same range as the stream-wide shift/stretch at a 32nd of its resolution (any
    shape: the fits' candidate grids and one table's pair of codes alike)."""
    return COARSE_STEP * np.asarray(codes, dtype=np.int64)


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



