"""Colour conversion between Y'CbCr planes and RGB, BT.709 as in CompressAI's video tools.

Frames travel through amgap as float32 RGB tensors ``[3, H, W]`` in ``[0, 1]``; the
conversions below reuse :mod:`compressai.transforms.functional` so that PSNR figures
compare with CompressAI's own video evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from compressai.transforms.functional import rgb2ycbcr, ycbcr2rgb

__all__ = ["planes_to_rgb", "rgb_to_planes", "rgb_to_ycbcr", "chroma_size"]


def chroma_size(width: int, height: int, chroma: str) -> tuple[int, int]:
    """Chroma plane size (w, h) for a subsampling name ``420``, ``422``, ``444`` or ``mono``."""
    if chroma == "420":
        return (width + 1) // 2, (height + 1) // 2
    if chroma == "422":
        return (width + 1) // 2, height
    if chroma == "444":
        return width, height
    if chroma == "mono":
        return 0, 0
    raise ValueError(f"unknown chroma subsampling {chroma!r}")


def _upsample(plane: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Bilinear (align_corners=False) upsampling by the subsampling factor, then crop."""
    h, w = plane.shape[-2:]
    fy = 2 if h < height else 1
    fx = 2 if w < width else 1
    if fx == 1 and fy == 1:
        return plane
    up = F.interpolate(plane[None, None], scale_factor=(fy, fx), mode="bilinear",
                       align_corners=False)[0, 0]
    return up[:height, :width]


def planes_to_rgb(y: np.ndarray, u: np.ndarray | None, v: np.ndarray | None,
                  bitdepth: int = 8) -> torch.Tensor:
    """Integer Y'CbCr planes (any of 4:2:0/4:2:2/4:4:4, or grey) to RGB float ``[3,H,W]``."""
    scale = float((1 << bitdepth) - 1)
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)) / scale
    height, width = yt.shape
    if u is None or v is None:  # greyscale: neutral chroma
        ut = torch.full_like(yt, 0.5)
        vt = torch.full_like(yt, 0.5)
    else:
        ut = _upsample(torch.from_numpy(np.ascontiguousarray(u, dtype=np.float32)) / scale,
                       width, height)
        vt = _upsample(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) / scale,
                       width, height)
    rgb = ycbcr2rgb(torch.stack((yt, ut, vt))[None])[0]
    return rgb.clamp_(0.0, 1.0)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """RGB ``[..., 3, H, W]`` to full-resolution Y'CbCr (BT.709), same shape."""
    return rgb2ycbcr(rgb)


def rgb_to_planes(rgb: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB float ``[3,H,W]`` to 8-bit 4:2:0 planes (chroma by 2x2 average, edges replicated)."""
    ycc = rgb2ycbcr(rgb.clamp(0.0, 1.0)[None].float())
    height, width = ycc.shape[-2:]
    y = ycc[:, :1]
    cbcr = ycc[:, 1:]
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        cbcr = F.pad(cbcr, (0, pad_w, 0, pad_h), mode="replicate")
    cbcr = F.avg_pool2d(cbcr, kernel_size=2, stride=2)

    def to8(t: torch.Tensor) -> np.ndarray:
        return (t * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()

    return to8(y[0, 0]), to8(cbcr[0, 0]), to8(cbcr[0, 1])
