"""x264/x265 reference points through FFmpeg (when it is installed), measured like amgap's.

The same decoded frames go in (FFmpeg reads the source and stops after N frames), and
PSNR is computed in RGB from the decoded 4:2:0 planes with amgap's BT.709 conversion.
Rate counts the raw elementary stream (no container).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from ..io import AVReader
from ..io.color import rgb_to_ycbcr
from ..metrics import psnr

__all__ = ["ffmpeg_available", "x264_points"]


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None


def x264_points(source: str | Path, originals: list[torch.Tensor], crfs: list[int],
                gop: int = 16, codec: str = "libx264") -> list[dict]:
    """RD points ``{crf, bpp, psnr_rgb, psnr_y}`` for ``-preset veryslow -tune psnr``."""
    n = len(originals)
    h, w = originals[0].shape[-2:]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for crf in crfs:
            ext = "h264" if codec == "libx264" else "hevc"
            bs = Path(tmp) / f"crf{crf}.{ext}"
            cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-frames:v", str(n),
                   "-pix_fmt", "yuv420p", "-c:v", codec, "-preset", "veryslow", "-tune", "psnr",
                   "-crf", str(crf), "-g", str(gop), "-bf", "0" if codec == "libx264" else "0",
                   "-threads", "1", "-f", ext, str(bs)]
            subprocess.run(cmd, check=True, capture_output=True)
            dec = list(AVReader(bs).frames(0, n))
            pr = sum(psnr(o, d) for o, d in zip(originals, dec, strict=True)) / n
            py = sum(psnr(rgb_to_ycbcr(o[None])[0, 0], rgb_to_ycbcr(d[None])[0, 0])
                     for o, d in zip(originals, dec, strict=True)) / n
            out.append({"crf": crf, "bpp": bs.stat().st_size * 8 / (w * h * n),
                        "psnr_rgb": pr, "psnr_y": py})
    return out
