"""What limits an I-frame codec's PSNR: its rate, or its transform?

    python benchmarks/transform_ceiling.py [--models amgap-ssf] [--checkpoints PATH,...]
        [--images carphone,bikes,baboon.jpg,fruits.jpg]

For each model (every quality of a zoo name, or a checkpoint) and image (a sample's
first frame, or a photograph from opencv-doc's examples): PSNR-RGB of the I-frame
autoencoder's reconstruction from its *continuous* latent ``g_s(g_a(x))`` (no
quantization: what the transform alone keeps), from the rounded latent, and the coded I
frame's bpp and PSNR (``amgap encode``, one frame). When the continuous figure sits a
fraction of a dB above the coded one at every quality, quantization (i.e. rate) is not
what limits quality, and more bits or more steps at the same width will not raise it.
Architectures with ``img_encoder``/``img_decoder`` (``ssf-slim``, ``ssf2020``) only.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from amgap.coding import encode_video
from amgap.io import open_video
from amgap.models import load_checkpoint, load_zoo
from amgap.train.data import OPENCV_DATA
from amgap.zoo import zoo_entries

STILLS = OPENCV_DATA  # the photographs recipe v2 trains I frames on


def image(name: str) -> torch.Tensor:
    if (STILLS / name).is_file():
        a = np.asarray(Image.open(STILLS / name).convert("RGB"), dtype=np.float32) / 255
        return torch.from_numpy(a).permute(2, 0, 1).contiguous()
    return next(iter(open_video(name).frames(0, 1)))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1.0 / max(float(torch.mean((a - b) ** 2)), 1e-12))


@torch.no_grad()
def ceiling(model, x: torch.Tensor) -> tuple[float, float]:
    """PSNR of the reconstruction from the continuous and from the rounded latent."""
    h, w = x.shape[-2:]
    xp = F.pad(x[None], (0, (-w) % 64, 0, (-h) % 64), mode="replicate")
    y = model.img_encoder(xp)
    return tuple(psnr(model.img_decoder(v)[0, :, :h, :w].clamp(0, 1), x)
                 for v in (y, torch.round(y)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="amgap-ssf")
    ap.add_argument("--checkpoints", default="")
    ap.add_argument("--images", default="carphone,bikes,baboon.jpg,fruits.jpg")
    args = ap.parse_args()
    loaded = []
    for name in [m for m in args.models.split(",") if m]:
        qs = sorted(e["quality"] for e in zoo_entries() if e["name"] == name)
        loaded += [(f"{name} q{q}", load_zoo(name, q)) for q in qs]
    for path in [c for c in args.checkpoints.split(",") if c]:
        loaded.append((path, load_checkpoint(path)))
    print(f"{'model':<30}{'image':<14}{'continuous':>11}{'rounded':>9}{'I bpp':>8}"
          f"{'I PSNR':>8}")
    for label, lm in loaded:
        lm.model.eval()
        for name in args.images.split(","):
            x = image(name)
            cont, rnd = ceiling(lm.model, x)
            res = encode_video([x], lm, fps=30, num_frames=1, gop="intra", reparam="off")
            bpp = len(res.to_bytes()) * 8 / (x.shape[-1] * x.shape[-2])
            print(f"{label:<30}{name:<14}{cont:>11.2f}{rnd:>9.2f}{bpp:>8.3f}"
                  f"{res.stats[0].psnr_rgb:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
