"""What every video reader yields: RGB float frames plus a little metadata."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import torch

__all__ = ["VideoInfo", "VideoReader"]


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    num_frames: int | None  # None when the container does not say
    source: str  # "y4m" | "yuv" | "png" | "av"
    chroma: str = "420"
    bitdepth: int = 8


class VideoReader:
    """Iterates frames as float32 RGB tensors ``[3, H, W]`` in ``[0, 1]``.

    Subclasses implement :meth:`_iter_all`; selection with ``start``/``count`` is shared.
    """

    info: VideoInfo
    path: str

    def _iter_all(self) -> Iterator[torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def files_read(self, start: int = 0, count: int | None = None) -> list[str]:
        """The files a selection reads (one file for all but PNG folders): what reports
        name as the input, so a user can see which frames were measured."""
        return [self.path]

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[torch.Tensor]:
        """Frames ``start .. start+count-1`` (all remaining when ``count`` is None)."""
        if count is not None and count <= 0:
            return
        taken = 0
        for i, frame in enumerate(self._iter_all()):  # (never reads past the last asked)
            if i < start:
                continue
            yield frame
            taken += 1
            if count is not None and taken >= count:
                return

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self.frames()
