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
    for info, z in probe:
        sq[info][0] += float((z.double() ** 2).sum())
        sq[info][1] += z.numel()
    total = sum(v[0] for v in sq.values()) / max(1, sum(v[1] for v in sq.values()))
    return {
        "mean_sq_normalized_residual": total,
        "per_info": {k: (v[0] / v[1] if v[1] else None) for k, v in sq.items()},
        "escape_rate": escape_rate(res),
    }
