"""Quality metrics: the one PSNR implementation, PSNR-YUV (6:1:1) and MS-SSIM.

Frames are float RGB ``[3, H, W]`` in ``[0, 1]``; the reconstruction is clamped to
``[0, 1]`` first (what a user's 8-bit file holds, up to rounding). Definitions:

* ``psnr_rgb``: ``10 log10(1 / MSE)`` over the three RGB channels (CompressAI's
  ``psnr-rgb``, on unrounded values);
* ``psnr_y`` / ``psnr_u`` / ``psnr_v``: per plane of BT.709 Y'CbCr (CompressAI's
  conversion); Y' at full resolution, Cb/Cr at 4:2:0 (2x2 average, edges replicated:
  the planes amgap's Y4M writer stores) for both frames;
* ``psnr_yuv = (6 psnr_y + psnr_u + psnr_v) / 8``: the JVET common-test-condition
  weighting (CompressAI's video tools weight 4:1:1 instead);
* ``ms_ssim``: MS-SSIM on RGB with ``data_range=1`` through ``pytorch_msssim``, the
  library and conventions CompressAI uses (11-tap Gaussian window, sigma 1.5, 5 scales
  with weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333). Five scales need a shorter
  side above 160 px; smaller frames use the largest number of scales ``S`` whose
  coarsest scale still holds the window (shorter side > 10 * 2^(S-1)), with the first
  ``S`` weights renormalized to sum to one, and every report carries
  ``ms_ssim_scales`` (``1`` is plain SSIM; ``0``: frame too small, ``ms_ssim`` is None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .io.color import rgb_to_ycbcr

__all__ = ["FrameQuality", "psnr", "psnr_yuv", "ms_ssim", "ms_ssim_scales", "frame_quality",
           "mean_quality", "MS_SSIM_WEIGHTS"]

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_WIN, _SIGMA = 11, 1.5


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> float:
    """PSNR in dB of two same-shape tensors; ``inf`` when they are equal."""
    mse = float(torch.mean((a.double() - b.double()) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(data_range ** 2 / mse)


def _ycbcr420(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ycc = rgb_to_ycbcr(rgb[None].float())
    h, w = ycc.shape[-2:]
    cbcr = F.pad(ycc[:, 1:], (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) \
        else ycc[:, 1:]
    cbcr = F.avg_pool2d(cbcr, kernel_size=2, stride=2)
    return ycc[0, 0], cbcr[0, 0], cbcr[0, 1]


def psnr_yuv(orig: torch.Tensor, rec: torch.Tensor) -> tuple[float, float, float, float]:
    """``(psnr_y, psnr_u, psnr_v, psnr_yuv)`` of two RGB frames (see the module doc)."""
    y, u, v = (psnr(a, b) for a, b in zip(_ycbcr420(orig), _ycbcr420(rec), strict=True))
    return y, u, v, (6 * y + u + v) / 8


def ms_ssim_scales(height: int, width: int) -> int:
    """Scales MS-SSIM uses for this frame size: 5 above 160 px, fewer below, 0 when
    even one scale cannot hold the 11-tap window."""
    side = min(height, width)
    scales = 0
    while scales < len(MS_SSIM_WEIGHTS) and side > (_WIN - 1) * 2 ** scales:
        scales += 1
    return scales


def _ms_ssim_fewer(x: torch.Tensor, y: torch.Tensor, scales: int) -> torch.Tensor:
    """pytorch_msssim's own loop (same ``_ssim``, pooling and weighting) for ``scales``
    < 5, which its public ``ms_ssim`` refuses; weights renormalized to sum to one."""
    from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

    w = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=x.dtype)
    w = w / w.sum()
    win = _fspecial_gauss_1d(_WIN, _SIGMA).repeat([x.shape[1], 1, 1, 1])
    mcs = []
    for i in range(scales):
        ssim_pc, cs = _ssim(x, y, data_range=1.0, win=win, size_average=False)
        if i < scales - 1:
            mcs.append(torch.relu(cs))
            pad = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=pad)
            y = F.avg_pool2d(y, kernel_size=2, padding=pad)
    stack = torch.stack([*mcs, torch.relu(ssim_pc)], dim=0)
    return torch.prod(stack ** w.view(-1, 1, 1), dim=0).mean()


def ms_ssim(orig: torch.Tensor, rec: torch.Tensor) -> tuple[float | None, int]:
    """``(MS-SSIM, scales used)`` of two RGB frames; ``(None, 0)`` below 11 px a side."""
    scales = ms_ssim_scales(*orig.shape[-2:])
    if scales == 0:
        return None, 0
    x, y = orig[None].float().clamp(0, 1), rec[None].float().clamp(0, 1)
    if scales == len(MS_SSIM_WEIGHTS):
        from pytorch_msssim import ms_ssim as _ms_ssim

        return float(_ms_ssim(x, y, data_range=1.0, win_size=_WIN)), scales
    return float(_ms_ssim_fewer(x, y, scales)), scales


@dataclass
class FrameQuality:
    psnr_rgb: float
    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_yuv: float
    ms_ssim: float | None
    ms_ssim_scales: int

    def to_json(self) -> dict:
        return asdict(self)


def frame_quality(orig: torch.Tensor, rec: torch.Tensor, with_ms_ssim: bool = True
                  ) -> FrameQuality:
    """Every metric of one reconstructed frame against its original (MS-SSIM, the one
    that costs as much as a small codec's frame, can be left out: ``None``)."""
    rec = rec.clamp(0, 1)
    y, u, v, yuv = psnr_yuv(orig, rec)
    ms, scales = ms_ssim(orig, rec) if with_ms_ssim else (None, 0)
    return FrameQuality(psnr(orig, rec), y, u, v, yuv, ms, scales)


def mean_quality(frames: Iterable[FrameQuality]) -> dict:
    """Per-video figures: the mean of each per-frame metric (PSNRs averaged in dB, as
    CompressAI and the CTCs do); None where any frame lacks the metric."""
    frames = list(frames)
    out: dict = {}
    for key in ("psnr_rgb", "psnr_y", "psnr_u", "psnr_v", "psnr_yuv", "ms_ssim"):
        vals = [getattr(f, key) for f in frames]
        out[key] = None if not vals or any(v is None for v in vals) else sum(vals) / len(vals)
    out["ms_ssim_scales"] = min((f.ms_ssim_scales for f in frames), default=0)
    return out
