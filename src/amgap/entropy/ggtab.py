"""Encoder-only fast ``P(|X| <= u)`` of the generalized Gaussian, for fits.

Fits score tens of candidate codes over every pair of a key's streams, and the
regularized incomplete gamma function behind the GG's CDF (``scipy.special.gammainc``,
~100 ns a value) was a quarter of the planner's time. Here it is tabulated once per
shape code visited, as a cubic Hermite spline in ``t = ln x`` (``x = (u / alpha)^beta``,
``G = P(1/beta, x)``) with exact slopes ``dG/dt = x^a e^-x / Gamma(a)``: absolute error
below 1e-8 (tested), far under the 16-bit floor of the quantized tables, so candidates
rank as with the exact function. Only the *search* uses it: every plan is costed on
the real rows, and decoders build rows from :func:`.families.gg_pmfs` (exact), so no
stream depends on it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammainc, gammaln

from .families import GG_SHAPES, NCODES

__all__ = ["gg_abs_cdf_fast"]

_T0, _T1, _STEP = -36.0, 4.0, 1.0 / 32.0  # t = ln x; below: series, above: G = 1
_N = int(round((_T1 - _T0) / _STEP))  # intervals
_BLOCK = 32  # intervals built together, on first use (a key's t values span a few)
_NB = _N // _BLOCK


class _Table:
    """The spline's cubic coefficients per (shape code, block of intervals), built on
    first use: a search visits a few dozen of the 1024 codes, each over a narrow range
    of ``t``, and a process (one ``amgap encode``) pays for what it visits only."""

    def __init__(self) -> None:
        self.row = np.full(NCODES * _NB, -1, dtype=np.int64)
        self.coef = np.zeros((256, _BLOCK, 4))  # grown by doubling
        self.used = 0

    def index(self, codes: np.ndarray, i: np.ndarray) -> np.ndarray:
        """Flat index into ``coef`` of interval ``i`` of each code's spline."""
        key = codes * _NB + i // _BLOCK
        rows = self.row[key]
        missing = rows < 0
        if missing.any():
            new = np.unique(key[missing])
            end = self.used + len(new)
            if end > len(self.coef):
                grown = np.zeros((max(2 * len(self.coef), end), _BLOCK, 4))
                grown[: self.used] = self.coef[: self.used]
                self.coef = grown
            self.coef[self.used: end] = _coefficients(new // _NB, new % _NB)
            self.row[new] = self.used + np.arange(len(new))
            self.used = end
            rows = self.row[key]
        return rows * _BLOCK + i % _BLOCK


def _coefficients(codes: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    knots = _T0 + _STEP * (blocks[:, None] * _BLOCK + np.arange(_BLOCK + 1)[None])
    a = 1.0 / GG_SHAPES[codes][:, None]
    x = np.exp(knots)
    f = gammainc(a, x)
    d = np.exp(a * knots - x - gammaln(a)) * _STEP  # slope per interval width
    f0, f1, d0, d1 = f[:, :-1], f[:, 1:], d[:, :-1], d[:, 1:]
    return np.stack([f0, d0, 3 * (f1 - f0) - 2 * d0 - d1, 2 * (f0 - f1) + d0 + d1], -1)


_TABLE = _Table()


def gg_abs_cdf_fast(log_u: np.ndarray, log_alpha: np.ndarray, codes: np.ndarray
                    ) -> np.ndarray:
    """``P(|X| <= u)`` for GGs of scale ``alpha`` and shape code ``codes`` (arrays of one
    shape, logs given: callers reuse ``ln u`` across candidates)."""
    codes = np.asarray(codes, dtype=np.int64)
    beta = GG_SHAPES[codes]
    t = beta * (log_u - log_alpha)
    s = (t - _T0) / _STEP
    i = np.clip(np.floor(s), 0, _N - 1).astype(np.int64)
    w = s - i
    k = 4 * _TABLE.index(codes, i)
    c = _TABLE.coef.reshape(-1)
    g = c[k] + w * (c[k + 1] + w * (c[k + 2] + w * c[k + 3]))
    low = s < 0  # x < e^-36: P(a, x) = x^a / Gamma(a + 1) to double precision
    if low.any():
        a = 1.0 / beta[low]
        g[low] = np.exp(a * t[low] - gammaln(a + 1.0))
    return np.where(s >= _N, 1.0, g)
