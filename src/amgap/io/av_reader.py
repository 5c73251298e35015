"""Anything FFmpeg decodes (mp4, avi, mkv, ...) through PyAV.

Planes are taken as decoded (no swscale colour conversion) and converted with amgap's
BT.709 code, so an mp4 and its Y4M dump give the same RGB frames.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
import torch

from ..errors import VideoFormatError
from .base import VideoInfo, VideoReader
from .color import planes_to_rgb

__all__ = ["AVReader"]

_DIRECT = {"yuv420p": "420", "yuvj420p": "420", "yuv422p": "422", "yuvj422p": "422",
           "yuv444p": "444", "yuvj444p": "444", "gray": "mono"}


def _plane(p) -> np.ndarray:
    arr = np.frombuffer(p, dtype=np.uint8).reshape(p.height, p.line_size)
    return arr[:, : p.width]


class AVReader(VideoReader):
    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        try:
            with av.open(self.path) as container:
                if not container.streams.video:
                    raise VideoFormatError(f"{self.path}: no video stream")
                s = container.streams.video[0]
                width, height = s.codec_context.width, s.codec_context.height
                rate = s.average_rate or s.guessed_rate or Fraction(30)
                num = s.frames or None
                pix = s.codec_context.pix_fmt or "yuv420p"
        except VideoFormatError:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise VideoFormatError(f"{self.path}: cannot decode as video ({exc})") from exc
        if not width or not height:
            raise VideoFormatError(f"{self.path}: video stream has no frame size")
        self.info = VideoInfo(width, height, Fraction(rate), num, "av", _DIRECT.get(pix, "420"), 8)

    def _iter_all(self) -> Iterator[torch.Tensor]:
        try:
            with av.open(self.path) as container:
                for frame in container.decode(video=0):
                    fmt = frame.format.name
                    if fmt not in _DIRECT:
                        frame = frame.reformat(format="yuv420p")
                        fmt = "yuv420p"
                    if _DIRECT[fmt] == "mono":
                        yield planes_to_rgb(_plane(frame.planes[0]), None, None)
                    else:
                        y, u, v = (_plane(p) for p in frame.planes[:3])
                        yield planes_to_rgb(y, u, v)
        except (av.error.FFmpegError, OSError) as exc:
            raise VideoFormatError(f"{self.path}: decoding failed ({exc})") from exc
