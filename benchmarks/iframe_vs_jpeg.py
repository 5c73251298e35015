"""A checkpoint's I frame against Pillow's JPEG at equal PSNR, beside its 16-frame video
point, next to a zoo model (how training-state/ runs are judged before they ship).

    python benchmarks/iframe_vs_jpeg.py --checkpoint runs/v2/q4i/final.pth \
        [--model amgap-ssf --quality 4] [--videos carphone,bikes] [--gop ssf]

Per video (first 16 frames, reparameterization off): the I frame (the first frame of
the encode as a one-frame file, header plus its record, as ``rd_vs_classic.py``; RGB
PSNR), the rate JPEG (optimized Huffman, quality 5..95) needs for that PSNR —
interpolated on JPEG's RD curve — and the video's bpp and mean PSNR with ``--gop``.
"""

from __future__ import annotations

import argparse

import numpy as np
from rd_vs_classic import iframe_point  # benchmarks/: the I-frame point of an encode

from amgap.analysis.reference import image_points
from amgap.coding import encode_video
from amgap.io import open_video
from amgap.models import resolve_model


def row(name: str, loaded, frames: list, gop: str) -> str:
    h, w = frames[0].shape[-2:]
    jp = image_points(frames[0], list(range(5, 100, 5)), "jpeg")
    jb, jq = np.array([p.bpp for p in jp]), np.array([p.psnr_rgb for p in jp])
    vid = encode_video(frames, loaded, fps=30, num_frames=len(frames), gop=gop)
    i = iframe_point(vid, name, 0, w, h)  # frame 0 as a one-frame file, as rd_vs_classic
    bpp_i, psnr_i = i.bpp, i.psnr_rgb
    j_rate = float(np.interp(psnr_i, jq, jb))
    psnr_v = sum(s.psnr_rgb for s in vid.stats) / len(vid.stats)
    vs = 100 * (bpp_i / j_rate - 1)
    return (f"{name:<28}{bpp_i:>8.4f}{psnr_i:>8.2f}{j_rate:>9.4f}{vs:>+8.1f}%"
            f"{vid.bpp:>9.4f}{psnr_v:>8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--model", default="amgap-ssf")
    ap.add_argument("--quality", type=int, default=4)
    ap.add_argument("--videos", default="carphone,bikes")
    ap.add_argument("--gop", default="ssf")
    args = ap.parse_args()
    models = {f"{args.model} q{args.quality}": resolve_model(args.model, None, args.quality),
              args.checkpoint: resolve_model(None, args.checkpoint, args.quality)}
    print(f"{'model':<28}{'I bpp':>8}{'I dB':>8}{'JPEG bpp':>9}{'vs JPEG':>9}"
          f"{'vid bpp':>9}{'vid dB':>8}")
    for video in args.videos.split(","):
        frames = list(open_video(video).frames(0, 16))
        print(video)
        for name, loaded in models.items():
            print(row(name[-28:], loaded, frames, args.gop), flush=True)


if __name__ == "__main__":
    main()
