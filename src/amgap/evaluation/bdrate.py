"""Bjøntegaard delta rate: amgap's one implementation (``evaluate`` and the benchmarks).

BD-rate is the average rate difference of a test curve against an anchor at equal
quality: interpolate log-rate as a function of PSNR for each curve, integrate both over
the PSNR interval they share (the *overlap*), and turn the mean log-rate difference into
a percentage. Interpolants (all in log-rate):

* ``akima`` (default): piecewise cubic Akima, as the ``bjontegaard`` package and
  JVET's current practice recommend (no overshoot between points);
* ``pchip``: piecewise cubic Hermite (monotone), the JVET CTC spreadsheet's choice;
* ``cubic``: VCEG-M33's least-squares polynomial of degree ``min(3, n - 1)``.

Quality is any metric in dB: PSNR, or MS-SSIM as ``-10 log10(1 - MS-SSIM)``
(``evaluate --metric ms-ssim``); "PSNR" below stands for it.

Two curves measured at the same PSNRs (reparameterization never changes a pixel) need
no interpolation: the BD-rate is the exact mean log-rate ratio over their points.
Written here, not taken from the ``bjontegaard`` package, so that the overlap used is
reported with every figure and a curve that cannot be compared says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import Akima1DInterpolator, PchipInterpolator

__all__ = ["BDRate", "bd_rate", "METHODS"]

METHODS = ("akima", "pchip", "cubic")


@dataclass(frozen=True)
class BDRate:
    """One BD-rate figure; ``percent`` is None when it cannot be computed (see ``note``)."""

    percent: float | None
    method: str
    overlap: tuple[float, float] | None = None  # quality interval (dB) both curves cover
    note: str = ""

    def to_json(self) -> dict:
        return {"bd_rate_percent": self.percent, "method": self.method,
                "overlap_db": list(self.overlap) if self.overlap else None, "note": self.note}

    def describe(self) -> str:
        """``-12.3 % [31.0, 35.2 dB]`` or the reason there is no figure."""
        if self.percent is None:
            return self.note
        if self.overlap is None:
            return f"{self.percent:+.2f} % ({self.method})"
        return f"{self.percent:+.2f} % [{self.overlap[0]:.2f}, {self.overlap[1]:.2f} dB]"


def _clean(points: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray] | str:
    """Sorted (PSNR, log-rate) arrays without repeated points, or why the curve cannot
    be interpolated."""
    pts = sorted({(float(d), float(r)) for r, d in points})
    if len(pts) < 2:
        return "fewer than 2 points"
    if any(not math.isfinite(d) or not math.isfinite(r) or r <= 0 for d, r in pts):
        return "non-positive or non-finite point"
    d = np.array([p[0] for p in pts])
    if np.any(np.diff(d) <= 0):
        return "two points with the same quality"
    return d, np.log(np.array([p[1] for p in pts]))


def _integral(d: np.ndarray, logr: np.ndarray, lo: float, hi: float, method: str) -> float:
    if method == "akima":
        return float(Akima1DInterpolator(d, logr).integrate(lo, hi))
    if method == "pchip":
        return float(PchipInterpolator(d, logr).integrate(lo, hi))
    poly = np.polyint(np.polyfit(d, logr, min(3, len(d) - 1)))
    return float(np.polyval(poly, hi) - np.polyval(poly, lo))


def _same_distortion(a, t) -> bool:
    return len(a) == len(t) and all(abs(x[1] - y[1]) < 1e-9 for x, y in zip(a, t, strict=True))


def bd_rate(anchor: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]],
            method: str = "akima") -> BDRate:
    """BD-rate (%) of ``test`` against ``anchor``; points are ``(rate, quality)`` (PSNR or
    MS-SSIM in dB), any rate unit.

    Negative: the test curve needs less rate than the anchor at equal PSNR."""
    if method not in METHODS:
        raise ValueError(f"unknown BD-rate method {method!r} ({', '.join(METHODS)})")
    a, t = sorted(anchor, key=lambda p: p[1]), sorted(test, key=lambda p: p[1])
    if a and _same_distortion(a, t) and all(p[0] > 0 for p in [*a, *t]):
        diff = float(np.mean([math.log(y[0] / x[0]) for x, y in zip(a, t, strict=True)]))
        span = (float(a[0][1]), float(a[-1][1]))
        return BDRate(100.0 * math.expm1(diff), "exact", span,
                      "same quality at every point: mean log-rate ratio")
    ca, ct = _clean(a), _clean(t)
    for name, c in (("anchor", ca), ("test", ct)):
        if isinstance(c, str):
            return BDRate(None, method, None, f"{name}: {c}")
    lo, hi = max(ca[0][0], ct[0][0]), min(ca[0][-1], ct[0][-1])
    if hi <= lo:
        return BDRate(None, method, None, "no overlap")
    diff = (_integral(*ct, lo, hi, method) - _integral(*ca, lo, hi, method)) / (hi - lo)
    # a curve whose rate falls while PSNR rises has no single BD reading: say so
    odd = [n for n, c in (("anchor", ca), ("test", ct)) if np.any(np.diff(c[1]) < 0)]
    note = f"{' and '.join(odd)} not monotone (more PSNR for less rate)" if odd else ""
    return BDRate(100.0 * math.expm1(diff), method, (float(lo), float(hi)), note)
