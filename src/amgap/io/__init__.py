"""Video input/output: Y4M, raw YUV, PNG folders, anything PyAV decodes; colour; padding."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from ..errors import VideoFormatError
from .av_reader import AVReader
from .base import VideoInfo, VideoReader
from .padding import crop, pad_to_multiple, padded_size
from .png import PNGFolderReader, write_png_folder
from .samples import SAMPLES, is_sample, sample_path
from .y4m import Y4MReader, write_y4m
from .yuv import YUVReader, parse_yuv_name

__all__ = [
    "VideoInfo", "VideoReader", "open_video", "write_y4m", "write_png_folder", "pad_to_multiple",
    "crop", "padded_size", "parse_yuv_name", "SAMPLES", "sample_path", "Y4MReader", "YUVReader",
    "PNGFolderReader", "AVReader",
]


def open_video(path: str | os.PathLike, *, width: int | None = None, height: int | None = None,
               fps: Fraction | None = None, bitdepth: int | None = None) -> VideoReader:
    """Open a video by its form: a sample name, a PNG folder, ``.y4m``, ``.yuv`` or any
    file FFmpeg decodes. ``width``/``height``/``fps``/``bitdepth`` are needed only for raw
    YUV whose name does not carry them."""
    p = Path(path)
    if not p.exists() and is_sample(str(path)):
        p = sample_path(str(path))
    if not p.exists():
        raise VideoFormatError(f"{path}: no such file or folder")
    if p.is_dir():
        return PNGFolderReader(p, fps=fps)
    suffix = p.suffix.lower()
    if suffix == ".y4m":
        return Y4MReader(p)
    if suffix == ".yuv":
        return YUVReader(p, width, height, fps, bitdepth)
    with open(p, "rb") as fh:
        if fh.read(9) == b"YUV4MPEG2":
            return Y4MReader(p)
    return AVReader(p)
