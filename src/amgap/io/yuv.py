"""Raw planar YUV (``.yuv``): reading (geometry from a CTC-style name or from flags) and
8-bit 4:2:0 writing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import BinaryIO

import numpy as np
import torch

from .._fs import atomic_file
from ..errors import VideoFormatError
from .base import VideoInfo, VideoReader
from .color import chroma_size, planes_to_rgb, rgb_to_planes
from .y4m import MAX_DIMENSION

__all__ = ["YUVReader", "parse_yuv_name", "write_yuv"]

_SIZE_RE = re.compile(r"(?:^|[_\-.])(\d{2,5})x(\d{2,5})(?=$|[_\-.])")
_FPS_RE = re.compile(r"(?:^|[_\-.])(\d{1,3}(?:\.\d+)?)(?:fps|hz|p)?(?=$|[_\-.])", re.IGNORECASE)
_DEPTH_RE = re.compile(r"(?:^|[_\-.])(8|10|12|16)bit(?=$|[_\-.])", re.IGNORECASE)


def parse_yuv_name(name: str) -> tuple[int | None, int | None, Fraction | None, int | None]:
    """``BasketballDrill_832x480_50.yuv`` -> (832, 480, 50, None); missing parts are None."""
    stem = os.path.splitext(os.path.basename(name))[0]
    width = height = None
    fps = depth = None
    m = _SIZE_RE.search(stem)
    if m:
        width, height = int(m.group(1)), int(m.group(2))
        rest = stem[m.end():]
        f = _FPS_RE.search(rest)
        if f:
            fps = Fraction(f.group(1))
    d = _DEPTH_RE.search(stem)
    if d:
        depth = int(d.group(1))
    return width, height, fps, depth


class YUVReader(VideoReader):
    def __init__(self, path: str | os.PathLike, width: int | None = None,
                 height: int | None = None, fps: Fraction | None = None,
                 bitdepth: int | None = None):
        self.path = str(path)
        nw, nh, nfps, ndepth = parse_yuv_name(self.path)
        width, height = width or nw, height or nh
        if not width or not height:
            raise VideoFormatError(
                f"{self.path}: raw YUV needs its size: name it like Name_WxH_FPS.yuv "
                "or pass --width/--height")
        if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
            raise VideoFormatError(f"{self.path}: bad frame size {width}x{height} "
                                   f"(1..{MAX_DIMENSION} each)")
        fps = fps or nfps or Fraction(30)
        bitdepth = bitdepth or ndepth or 8
        if bitdepth not in (8, 10, 12, 16):
            raise VideoFormatError(f"{self.path}: unsupported bit depth {bitdepth}")
        cw, ch = chroma_size(width, height, "420")
        self._bps = 2 if bitdepth > 8 else 1
        self._sizes = [(width, height), (cw, ch), (cw, ch)]
        self._frame_bytes = sum(w * h for w, h in self._sizes) * self._bps
        try:
            size = os.path.getsize(self.path)
        except OSError as exc:
            raise VideoFormatError(f"{self.path}: cannot read ({exc.strerror})") from exc
        if size == 0 or size % self._frame_bytes:
            raise VideoFormatError(
                f"{self.path}: file size {size} is not a multiple of the {width}x{height} "
                f"4:2:0 {bitdepth}-bit frame size {self._frame_bytes}; check --width/--height")
        self.info = VideoInfo(width, height, fps, size // self._frame_bytes, "yuv", "420",
                              bitdepth)

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[torch.Tensor]:
        # Raw frames have a fixed size: seek instead of reading what is skipped.
        dtype = np.dtype("<u2") if self._bps == 2 else np.dtype(np.uint8)
        total = self.info.num_frames or 0
        stop = total if count is None else min(total, start + count)
        with open(self.path, "rb") as fh:
            fh.seek(start * self._frame_bytes)
            for _ in range(start, stop):
                buf = np.frombuffer(fh.read(self._frame_bytes), dtype=dtype)
                planes, pos = [], 0
                for w, h in self._sizes:
                    planes.append(buf[pos:pos + w * h].reshape(h, w))
                    pos += w * h
                yield planes_to_rgb(*planes, bitdepth=self.info.bitdepth)

    def _iter_all(self) -> Iterator[torch.Tensor]:
        return self.frames()


def write_yuv(dest: str | os.PathLike | BinaryIO, frames: Iterable[torch.Tensor]) -> int:
    """Write RGB frames as raw 8-bit 4:2:0 planes (Y, then Cb, Cr at ceil(W/2) x ceil(H/2)),
    to a file (atomically) or an open binary stream; returns the number of frames.
    The file carries no geometry: name it ``Name_WxH_FPS.yuv`` to read it back."""
    if not isinstance(dest, (str, os.PathLike)):
        return _write_yuv(dest, frames)
    with atomic_file(dest) as fh:
        return _write_yuv(fh, frames)


def _write_yuv(fh: BinaryIO, frames: Iterable[torch.Tensor]) -> int:
    n = 0
    for frame in frames:
        for plane in rgb_to_planes(frame):
            fh.write(plane.tobytes())
        n += 1
    return n
