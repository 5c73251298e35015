"""YUV4MPEG2 (``.y4m``) reading and writing.

Reads 8- to 16-bit 4:2:0 / 4:2:2 / 4:4:4 and greyscale (``Cmono``, ``Cmono16``, ...: every
planar layout FFmpeg writes but 4:1:1 and alpha); writes 8-bit 4:2:0 to a file or a stream.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import BinaryIO

import numpy as np
import torch

from .._fs import atomic_file
from ..bitstream.container import LIMITS
from ..errors import VideoFormatError
from .base import VideoInfo, VideoReader
from .color import chroma_size, planes_to_rgb, rgb_to_planes

__all__ = ["Y4MReader", "write_y4m", "MAX_DIMENSION"]

MAGIC = b"YUV4MPEG2"
MAX_DIMENSION = LIMITS["dimension"]  # what a stream header carries (readers check it)

# Y4M colourspace tag -> (chroma subsampling, bit depth): every progressive planar YUV
# layout FFmpeg's yuv4mpegpipe muxer writes (8-bit 4:1:1 and 4:4:4+alpha excepted).
_COLORSPACES = {
    "420": ("420", 8), "420jpeg": ("420", 8), "420paldv": ("420", 8), "420mpeg2": ("420", 8),
    "422": ("422", 8), "444": ("444", 8), "mono": ("mono", 8),
    **{f"{c}p{d}": (c, d) for c in ("420", "422", "444") for d in (9, 10, 12, 14, 16)},
    **{f"mono{d}": ("mono", d) for d in (9, 10, 12, 16)},
}


def _parse_header(line: bytes, path: str) -> tuple[int, int, Fraction, str, int]:
    fields = line.decode("ascii", errors="replace").split()
    if not fields or fields[0].encode() != MAGIC:
        raise VideoFormatError(f"{path}: not a Y4M file (missing YUV4MPEG2 signature)")
    width = height = 0
    fps = Fraction(25)
    cs = None
    alt = "420jpeg"  # FFmpeg's fallback; its older XYSCSS extension may name the layout
    for f in fields[1:]:
        key, val = f[0], f[1:]
        try:
            if key == "W":
                width = int(val)
            elif key == "H":
                height = int(val)
            elif key == "F":
                num, den = val.split(":")
                fps = Fraction(int(num), int(den))
            elif key == "C":
                cs = val
            elif key == "X" and val.startswith("YSCSS="):
                alt = val[6:].lower()
            elif key == "I" and val not in ("p", "?"):
                raise VideoFormatError(f"{path}: interlaced Y4M (I{val}) is not supported")
        except (ValueError, ZeroDivisionError) as exc:
            raise VideoFormatError(f"{path}: bad Y4M header field {f!r}") from exc
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise VideoFormatError(f"{path}: bad Y4M frame size {width}x{height}")
    cs = cs or alt
    if cs not in _COLORSPACES:
        raise VideoFormatError(
            f"{path}: Y4M colourspace C{cs} is not supported "
            f"(supported: {', '.join(sorted(_COLORSPACES))})")
    chroma, depth = _COLORSPACES[cs]
    return width, height, fps, chroma, depth


class Y4MReader(VideoReader):
    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        try:
            with open(self.path, "rb") as fh:
                header = fh.readline(4096)
                self._data_start = fh.tell()
        except OSError as exc:
            raise VideoFormatError(f"{self.path}: cannot read ({exc.strerror})") from exc
        if not header.endswith(b"\n"):
            raise VideoFormatError(f"{self.path}: not a Y4M file (no header line)")
        width, height, fps, chroma, depth = _parse_header(header, self.path)
        cw, ch = chroma_size(width, height, chroma)
        self._bytes_per_sample = 2 if depth > 8 else 1
        self._plane_sizes = [(width, height), (cw, ch), (cw, ch)] if chroma != "mono" else [
            (width, height)]
        self._frame_bytes = sum(w * h for w, h in self._plane_sizes) * self._bytes_per_sample
        size = os.path.getsize(self.path) - self._data_start
        # Frame headers are usually the bare "FRAME\n" (6 bytes): then the size says the
        # count; otherwise walk the frame headers (longer ones, or a cut-off last frame)
        num = size // (self._frame_bytes + 6)
        if size % (self._frame_bytes + 6):
            num = self._count_frames(self._data_start + size)
        self.info = VideoInfo(width, height, fps, num, "y4m", chroma, depth)

    def _count_frames(self, end: int) -> int:
        """Frames by their headers up to the file's ``end``; a cut-off last frame or
        trailing bytes count as one more, so that reading up to the end reports them
        instead of stopping short."""
        count = 0
        with open(self.path, "rb") as fh:
            pos = self._data_start
            while pos < end:
                fh.seek(pos)
                tag = fh.readline(1024)
                count += 1
                if not tag.startswith(b"FRAME"):
                    break
                pos += len(tag) + self._frame_bytes
        return count

    def _iter_all(self) -> Iterator[torch.Tensor]:
        dtype = np.dtype("<u2") if self._bytes_per_sample == 2 else np.dtype(np.uint8)
        with open(self.path, "rb") as fh:
            fh.seek(self._data_start)
            index = 0
            while True:
                tag = fh.readline(1024)
                if not tag:
                    return
                if not tag.startswith(b"FRAME"):
                    raise VideoFormatError(f"{self.path}: frame {index}: missing FRAME marker")
                data = fh.read(self._frame_bytes)
                if len(data) != self._frame_bytes:
                    raise VideoFormatError(
                        f"{self.path}: frame {index} is truncated "
                        f"({len(data)} of {self._frame_bytes} bytes)")
                buf = np.frombuffer(data, dtype=dtype)
                planes, pos = [], 0
                for w, h in self._plane_sizes:
                    planes.append(buf[pos:pos + w * h].reshape(h, w))
                    pos += w * h
                if len(planes) == 1:
                    yield planes_to_rgb(planes[0], None, None, self.info.bitdepth)
                else:
                    yield planes_to_rgb(planes[0], planes[1], planes[2], self.info.bitdepth)
                index += 1


def write_y4m(dest: str | os.PathLike | BinaryIO, frames: Iterable[torch.Tensor],
              fps: Fraction) -> int:
    """Write RGB frames as 8-bit 4:2:0 Y4M (``C420jpeg``) to a file (atomically) or an
    open binary stream (e.g. stdout); returns the number of frames."""
    if not isinstance(dest, (str, os.PathLike)):
        return _write_y4m(dest, frames, Fraction(fps))
    with atomic_file(dest) as fh:
        return _write_y4m(fh, frames, Fraction(fps))


def _write_y4m(fh: BinaryIO, frames: Iterable[torch.Tensor], fps: Fraction) -> int:
    n = 0
    for frame in frames:
        y, u, v = rgb_to_planes(frame)
        if n == 0:
            h, w = y.shape
            fh.write(b"YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg\n"
                     % (w, h, fps.numerator, fps.denominator))
        fh.write(b"FRAME\n")
        fh.write(y.tobytes())
        fh.write(u.tobytes())
        fh.write(v.tobytes())
        n += 1
    return n
