"""Folders of PNG frames (read sorted by name; written as ``%05d.png``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import VideoFormatError
from .base import VideoInfo, VideoReader

__all__ = ["PNGFolderReader", "write_png_folder"]


def _load(path: Path) -> torch.Tensor:
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise VideoFormatError(f"{path}: not a readable PNG image") from exc
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


class PNGFolderReader(VideoReader):
    def __init__(self, path: str | os.PathLike, fps: Fraction | None = None):
        self.path = str(path)
        self._files = sorted(p for p in Path(path).iterdir()
                             if p.suffix.lower() == ".png" and p.is_file())
        if not self._files:
            raise VideoFormatError(f"{self.path}: folder holds no .png frames")
        try:
            with Image.open(self._files[0]) as im:
                width, height = im.size
        except (OSError, UnidentifiedImageError) as exc:
            raise VideoFormatError(f"{self._files[0]}: not a readable PNG image") from exc
        self.info = VideoInfo(width, height, fps or Fraction(30), len(self._files), "png",
                              "444", 8)

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[torch.Tensor]:
        stop = None if count is None else start + count
        for p in self._files[start:stop]:
            frame = _load(p)
            if tuple(frame.shape[1:]) != (self.info.height, self.info.width):
                raise VideoFormatError(
                    f"{p}: size {frame.shape[2]}x{frame.shape[1]} differs from the first "
                    f"frame's {self.info.width}x{self.info.height}")
            yield frame

    def _iter_all(self) -> Iterator[torch.Tensor]:
        return self.frames()


def write_png_folder(path: str | os.PathLike, frames: Iterable[torch.Tensor]) -> int:
    """Write RGB frames as 8-bit PNGs ``00000.png, 00001.png, ...``; returns the count."""
    os.makedirs(path, exist_ok=True)
    n = 0
    for frame in frames:
        arr = (frame.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(arr).save(os.path.join(path, f"{n:05d}.png"))
        n += 1
    return n
