"""Replicate-padding to the model's spatial multiple, and cropping back."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["pad_to_multiple", "crop", "padded_size"]


def padded_size(height: int, width: int, multiple: int) -> tuple[int, int]:
    """Smallest (H, W) not below the input that are multiples of ``multiple``."""
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad ``[N, C, H, W]`` on the bottom/right by edge replication (no new content at borders)."""
    height, width = x.shape[-2:]
    ph, pw = padded_size(height, width, multiple)
    if (ph, pw) == (height, width):
        return x
    return F.pad(x, (0, pw - width, 0, ph - height), mode="replicate")


def crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Undo :func:`pad_to_multiple`."""
    return x[..., :height, :width]
