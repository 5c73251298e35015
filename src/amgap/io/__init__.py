"""Video input/output: Y4M, raw YUV, PNG folders, anything PyAV decodes; output writers
picked from the output name; colour; padding."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from ..errors import VideoFormatError
from .base import VideoInfo, VideoReader
from .padding import crop, pad_to_multiple, padded_size
from .png import PNGFolderReader, natural_key, write_png_folder
from .samples import SAMPLES, is_sample, sample_path
from .writers import (
    SUPPORTED_OUTPUTS,
    OutputTarget,
    check_file_output,
    check_not_input,
    check_output,
    output_target,
    write_video,
)
from .y4m import Y4MReader, write_y4m
from .yuv import YUVReader, parse_yuv_name, write_yuv

__all__ = [
    "VideoInfo", "VideoReader", "open_video", "write_y4m", "write_png_folder", "pad_to_multiple",
    "crop", "padded_size", "parse_yuv_name", "SAMPLES", "sample_path", "Y4MReader", "YUVReader",
    "PNGFolderReader", "AVReader", "write_yuv", "write_video", "output_target", "check_output",
    "OutputTarget", "SUPPORTED_OUTPUTS", "natural_key", "check_file_output", "check_not_input",
]


def __getattr__(name: str):
    if name == "AVReader":  # lazy: importing amgap does not load FFmpeg's libraries
        from .av_reader import AVReader

        return AVReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_video(path: str | os.PathLike, *, width: int | None = None, height: int | None = None,
               fps: Fraction | None = None, bitdepth: int | None = None) -> VideoReader:
    """Open a video by its form: a sample name, a PNG folder, ``.y4m``, ``.yuv`` or any
    file FFmpeg decodes. ``width``/``height``/``fps``/``bitdepth`` are needed only for raw
    YUV whose name does not carry them."""
    if fps is not None and fps <= 0:
        raise VideoFormatError(f"frame rate must be positive, got {fps}")
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
    from .av_reader import AVReader  # PyAV (FFmpeg) loads only when a file needs it

    return AVReader(p)
