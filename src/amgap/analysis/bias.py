"""Small-sample bias of the histogram limit (docs/analysis.md, "Bias").

The limit ``L*`` of a table is ``n`` times the entropy of the histogram of the ``n``
symbols it coded in one frame. That plug-in estimate is biased low, so ``L - L*`` is
positive even when the symbols follow the learned pmf exactly. The bias of a table is
``E[L - L*]`` when its ``n`` symbols are drawn iid from its own learned pmf ``q``:

* ``E[L] = n * sum_k q_k * bits_k`` with ``bits_k`` the ideal code length of outcome
  ``k`` under the 16-bit table (the escape outcome pays its bypass bits too);
* ``E[L*] = E[sum_k c_k log2(n / c_k)] = sum_k sum_c Binom(c; n, q_k) c log2(n / c)``,
  exact by linearity of expectation (each count ``c_k`` is binomial).

The inner sum is truncated to ``mu_k +- t_k`` where Bernstein's inequality puts less
than ``EPS`` mass outside; a term is at most ``n / (e ln 2)`` bits, so the truncation
error of one table is below ``2 * EPS * K * n / (e ln 2)`` (``K`` outcomes), returned as
``bound``. No approximation valid only for ``n >> K`` (Miller-Madow) is involved.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ..entropy import TableSet, symbol_bits

__all__ = ["EPS", "ExpectedLimit", "expected_limit_bits", "table_outcomes", "TableBias"]

EPS = 1e-12  # tail mass left out on each side of every binomial
_LOG_EPS = float(np.log(1.0 / EPS))
_CHUNK = 2_000_000  # binomial terms evaluated at once (bounds memory)


@dataclass
class ExpectedLimit:
    """``E[n * H(histogram)]`` in bits for each ``(pmf, n)`` pair, and its error bound."""

    bits: np.ndarray
    bound: np.ndarray


def _windows(q: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``[lo, hi]`` holding all but ``EPS`` of Binom(n, q) on each side (Bernstein:
    P(|X - mu| >= t) <= exp(-t^2 / (2 (v + t/3))) per side, v = n q (1 - q))."""
    mu = n * q
    v = mu * (1.0 - q)
    t = _LOG_EPS / 3.0 + np.sqrt((_LOG_EPS / 3.0) ** 2 + 2.0 * v * _LOG_EPS)
    lo = np.maximum(1, np.floor(mu - t)).astype(np.int64)  # c = 0 adds nothing
    hi = np.minimum(n, np.ceil(mu + t)).astype(np.int64)
    return lo, np.maximum(hi, lo - 1)


def _expected_clogc(q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``E[c log2(n / c)]``, c ~ Binom(n, q), for flat arrays of outcomes."""
    lo, hi = _windows(q, n)
    width = hi - lo + 1
    out = np.zeros(q.size)
    start = 0
    while start < q.size:  # chunks of outcomes whose windows fit in _CHUNK terms
        stop = start + max(1, int(np.searchsorted(np.cumsum(width[start:]), _CHUNK)))
        sl = slice(start, stop)
        w = width[sl]
        owner = np.repeat(np.arange(w.size), w)
        first = np.cumsum(w) - w
        c = (lo[sl][owner] + np.arange(owner.size) - first[owner]).astype(np.float64)
        nn, qq = n[sl][owner].astype(np.float64), q[sl][owner]
        rest = nn - c
        with np.errstate(divide="ignore", invalid="ignore"):  # q = 1: only c = n has mass
            tail = np.where(rest > 0, rest * np.log1p(-qq), 0.0)
        logp = gammaln(nn + 1) - gammaln(c + 1) - gammaln(rest + 1) + c * np.log(qq) + tail
        term = np.exp(logp) * c * np.log2(nn / c)
        out[sl] = np.bincount(owner, weights=term, minlength=w.size)
        start = stop
    return out


def expected_limit_bits(pmfs: list[np.ndarray], ns: np.ndarray) -> ExpectedLimit:
    """``E[n H(h)]`` (bits) of the histogram ``h`` of ``n`` iid draws from each pmf.

    Exact up to the binomial truncation, whose bound is returned; correct for any ``n``,
    in particular ``n`` below the number of outcomes with mass."""
    ns = np.asarray(ns, dtype=np.int64)
    qs = [np.asarray(p, dtype=np.float64) for p in pmfs]
    qs = [p[p > 0] for p in qs]
    owner = np.repeat(np.arange(len(qs)), [p.size for p in qs])
    q = np.concatenate(qs) if qs else np.zeros(0)
    n = ns[owner]
    per_outcome = _expected_clogc(q, n)
    bits = np.bincount(owner, weights=per_outcome, minlength=len(qs))
    k = np.array([p.size for p in qs], dtype=np.float64)
    bound = 2.0 * EPS * k * ns / (np.e * np.log(2.0))
    return ExpectedLimit(bits, bound)


def table_outcomes(tables: TableSet, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of table ``t``'s outcomes (support values, then the escape) and the
    ideal bits of each, computed by the coder's own accounting. The escape outcome is
    charged as the cheapest escaped value (just above the support)."""
    pmf = tables.pmf(t)
    values = np.arange(pmf.size, dtype=np.int64) + int(tables.offsets[t])
    bits = symbol_bits(values, np.full(values.size, t), tables)
    return pmf, bits


class TableBias:
    """Bias ``E[L - L*]`` (bits) of tables of one :class:`TableSet`, cached per ``(t, n)``:
    frames of one video share tables and often counts (every side table of a frame
    codes the same number of symbols)."""

    _instances: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, tables: TableSet) -> None:
        self.tables = tables
        self.cache: dict[tuple[int, int], tuple[float, float]] = {}
        self.outcomes: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(cls, tables: TableSet) -> TableBias:
        """The shared instance for ``tables`` (kept as long as the tables live)."""
        inst = cls._instances.get(tables)
        if inst is None:
            inst = cls._instances[tables] = cls(tables)
        return inst

    def _outcomes(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        if t not in self.outcomes:
            self.outcomes[t] = table_outcomes(self.tables, t)
        return self.outcomes[t]

    def bias(self, table: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bias and truncation bound (bits) of every ``(table[i], count[i])``."""
        keys = [(int(t), int(n)) for t, n in zip(table, count, strict=True)]
        todo = sorted({k for k in keys if k not in self.cache})
        if todo:
            pmfs = [self._outcomes(t)[0] for t, _ in todo]
            ns = np.array([n for _, n in todo], dtype=np.int64)
            lim = expected_limit_bits(pmfs, ns)
            for (t, n), e_lim, bnd in zip(todo, lim.bits, lim.bound, strict=True):
                q, bits = self._outcomes(t)
                self.cache[(t, n)] = (n * float(q @ bits) - float(e_lim), float(bnd))
        out = np.array([self.cache[k] for k in keys], dtype=np.float64).reshape(-1, 2)
        return out[:, 0], out[:, 1]
