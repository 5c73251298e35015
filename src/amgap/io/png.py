"""Folders of PNG frames (read in natural order; written as ``%05d.png``).

Every PNG colour type is read at its real value or refused, never approximated:
8- and 16-bit grey (scaled by 255 / 65535, copied to R=G=B), palette (expanded),
RGB, and their alpha forms when every pixel is opaque (the alpha is then dropped).
A frame with transparent pixels is refused: amgap codes opaque RGB and will not guess
a background. Pillow reduces 16-bit colour PNGs to 8 bits, so those are decoded by
FFmpeg (PyAV) instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import VideoFormatError
from .base import VideoInfo, VideoReader

__all__ = ["PNGFolderReader", "write_png_folder", "natural_key", "read_png"]

_DIGITS = re.compile(r"(\d+)")
# FFmpeg's packed 16-bit formats for PNG: channels per pixel
_AV16 = {"gray16be": 1, "ya16be": 2, "rgb48be": 3, "rgba64be": 4}


def natural_key(name: str) -> tuple:
    """Sort key that orders numeric runs as numbers: frame_2 < frame_10 (ties by name)."""
    parts = _DIGITS.split(name)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def _rawmode(im: Image.Image) -> str:
    """The PNG's stored pixel layout (e.g. ``RGB;16B``), before Pillow converts it."""
    if not im.tile:
        return im.mode
    args = im.tile[0][3]
    return args if isinstance(args, str) else str(args[0])


def _read_av16(path: Path) -> np.ndarray:
    """A 16-bit colour / grey+alpha PNG as ``[H, W, C]`` uint16, through FFmpeg."""
    import av

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
    except (av.error.FFmpegError, OSError, StopIteration) as exc:
        raise VideoFormatError(f"{path}: cannot decode 16-bit PNG ({exc})") from exc
    fmt = frame.format.name
    if fmt not in _AV16:
        raise VideoFormatError(f"{path}: unexpected 16-bit PNG layout {fmt}")
    c, plane = _AV16[fmt], frame.planes[0]
    rows = np.frombuffer(bytes(plane), dtype=">u2").reshape(frame.height, -1)
    return rows[:, : frame.width * c].reshape(frame.height, frame.width, c)


def _key_to_alpha(arr: np.ndarray, key, top: int) -> np.ndarray:
    """A 16-bit PNG's tRNS colour key as an alpha channel (Pillow keeps only the key)."""
    if key is None or arr.shape[2] not in (1, 3):
        return arr
    key = np.asarray(key if isinstance(key, tuple) else (key,), dtype=arr.dtype)
    alpha = np.where((arr == key).all(axis=2), 0, top).astype(arr.dtype)
    return np.concatenate([arr, alpha[..., None]], axis=2)


def _pixels(path: Path) -> tuple[np.ndarray, float]:
    """Pixels ``[H, W, C]`` (C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) and their maximum."""
    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) > 1:
            raise VideoFormatError(f"{path}: animated PNG ({im.n_frames} frames); "
                                   "give one frame per file")
        if _rawmode(im).endswith(";16B") or im.mode.startswith("I"):
            arr = _read_av16(path) if not im.mode.startswith("I") else \
                np.asarray(im).astype(np.uint16)[..., None]
            return _key_to_alpha(arr, im.info.get("transparency"), 65535), 65535.0
        if "transparency" in im.info and im.mode in ("1", "L", "P", "RGB"):
            im = im.convert("LA" if im.mode in ("1", "L") else "RGBA")
        elif im.mode == "P":
            im = im.convert("RGB")
        elif im.mode == "1":
            im = im.convert("L")
        if im.mode not in ("L", "LA", "RGB", "RGBA"):
            raise VideoFormatError(f"{path}: unsupported PNG pixel mode {im.mode}")
        arr = np.asarray(im)
    return (arr[..., None] if arr.ndim == 2 else arr), 255.0


def read_png(path: str | os.PathLike) -> torch.Tensor:
    """One PNG as RGB float ``[3, H, W]`` in ``[0, 1]``, or a one-line refusal."""
    path = Path(path)
    try:
        arr, top = _pixels(path)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise VideoFormatError(f"{path}: not a readable PNG image") from exc
    if arr.shape[2] in (2, 4):
        alpha = arr[..., -1]
        clear = int(np.count_nonzero(alpha != top))
        if clear:
            raise VideoFormatError(
                f"{path}: {clear} of {alpha.size} pixels are not fully opaque; amgap reads "
                "opaque frames only (flatten the alpha channel first)")
        arr = arr[..., :-1]
    rgb = np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr
    out = torch.from_numpy(rgb.astype(np.float32) / np.float32(top))
    return out.permute(2, 0, 1).contiguous()


class PNGFolderReader(VideoReader):
    """A folder of ``.png`` frames in natural order (``frame_2`` before ``frame_10``);
    :attr:`files` is that order, :meth:`files_read` the files a selection reads."""

    def __init__(self, path: str | os.PathLike, fps: Fraction | None = None):
        self.path = str(path)
        self.files = sorted((p for p in Path(path).iterdir()
                             if p.suffix.lower() == ".png" and p.is_file()),
                            key=lambda p: natural_key(p.name))
        if not self.files:
            raise VideoFormatError(f"{self.path}: folder holds no .png frames")
        try:
            with Image.open(self.files[0]) as im:
                width, height = im.size
                deep = _rawmode(im).endswith(";16B") or im.mode.startswith("I")
                grey = im.mode in ("1", "L", "LA") or im.mode.startswith("I")
        except (OSError, UnidentifiedImageError) as exc:
            raise VideoFormatError(f"{self.files[0]}: not a readable PNG image") from exc
        self.info = VideoInfo(width, height, fps or Fraction(30), len(self.files), "png",
                              "mono" if grey else "444", 16 if deep else 8)

    def files_read(self, start: int = 0, count: int | None = None) -> list[str]:
        """The files :meth:`frames` reads for this selection, in order."""
        stop = None if count is None else start + count
        return [str(p) for p in self.files[start:stop]]

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[torch.Tensor]:
        for name in self.files_read(start, count):
            frame = read_png(name)
            if tuple(frame.shape[1:]) != (self.info.height, self.info.width):
                raise VideoFormatError(
                    f"{name}: size {frame.shape[2]}x{frame.shape[1]} differs from the first "
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
