"""Is the entropy model calibrated on this video? (``docs/zoo.md``, model cards)

A well-trained Gaussian-conditional model predicts scales that match the residuals:
the mean of ``((y - mu) / sigma)^2`` over main latents is close to 1. An undertrained
one is overconfident (figures of 5 or more were seen on early amgap models) and
inflates every gap figure, so model
cards report this figure and the rate of escape symbols.
"""

from __future__ import annotations

import numpy as np
import torch

from ..coding import EncodeResult, encode_video
from ..models import LoadedModel

__all__ = ["calibration", "escape_rate"]


def escape_rate(res: EncodeResult) -> dict[str, float]:
    """Fraction of symbols outside their table's support, per information type."""
    esc: dict[str, list[int]] = {}
    for streams in res.streams:
        for s in streams:
            t = s.table_index
            v = s.symbols.astype(np.int64) - s.tables.offsets[t]
            out = (v < 0) | (v >= s.tables.cdf_lengths[t] - 2)
            e = esc.setdefault(s.kind.value, [0, 0])
            e[0] += int(out.sum())
            e[1] += len(s)
    return {k: (a / b if b else 0.0) for k, (a, b) in esc.items()}


def calibration(frames: list[torch.Tensor], loaded: LoadedModel, gop_size: int = 16,
                gop: str = "ssf") -> dict:
    """Mean normalized squared residual of main latents (motion / residual / all) and
    escape rates, on an encoding of ``frames`` with GOP structure ``gop``."""
    probe: list = []
    res = encode_video(frames, loaded, fps=30, num_frames=len(frames), gop=gop,
                       gop_size=gop_size, probe=probe)
    sq: dict[str, list[float]] = {"motion": [0.0, 0], "residual": [0.0, 0]}
    active = [0.0, 0, 0]  # sum of squares and count above the scale bound, count at it
    for info, z, *bound in probe:  # plug-ins may report (info, z) alone
        z2 = z.double() ** 2
        sq[info][0] += float(z2.sum())
        sq[info][1] += z.numel()
        off = bound[0] if bound else torch.zeros_like(z, dtype=torch.bool)
        active[0] += float(z2[~off].sum())
        active[1] += int((~off).sum())
        active[2] += int(off.sum())
    total = sum(v[0] for v in sq.values()) / max(1, sum(v[1] for v in sq.values()))
    return {
        "mean_sq_normalized_residual": total,
        "per_info": {k: (v[0] / v[1] if v[1] else None) for k, v in sq.items()},
        # latents whose scale sits at the coder's bound are switched off: near 0 above
        # whatever the fit, they pull the figure below 1; the rest, and their share
        "above_scale_bound": active[0] / active[1] if active[1] else None,
        "share_at_scale_bound": active[2] / max(1, active[1] + active[2]),
        "escape_rate": escape_rate(res),
    }
