"""Encode/decode speed of amgap against CompressAI's own ScaleSpaceFlow.compress/decompress.

    python benchmarks/codec_speed.py [--frames 8] [--models init:ssf-slim,init:ssf2020]

Same model object, same frames (carphone 176x144; bikes center-cropped to 416x240),
GOP I+P..P, one process, best of ``--repeats`` runs after a warm-up. Prints ms per
frame and the amgap/CompressAI ratio. amgap does
more per frame than CompressAI (per-stream ideal bits, a reconstruction checksum, the
container, and per-frame PSNRs and MS-SSIM), which is what the ratio measures; the
"no MS-SSIM" column is ``encode_video(..., ms_ssim=False)``.
"""

from __future__ import annotations

import argparse
import time

import torch

from amgap.bitstream import parse
from amgap.coding import decode_video, encode_video
from amgap.io import open_video, pad_to_multiple
from amgap.models import make_codec, resolve_model


def clip(name: str, n: int, size: tuple[int, int] | None) -> list[torch.Tensor]:
    frames = list(open_video(name).frames(0, n))
    if size:
        w, h = size
        H, W = frames[0].shape[-2:]
        y0, x0 = (H - h) // 2, (W - w) // 2
        frames = [f[:, y0:y0 + h, x0:x0 + w] for f in frames]
    return frames


def _best(fn, repeats: int) -> tuple[float, object]:
    """Fastest of ``repeats`` timed runs, after one untimed warm-up run."""
    out = fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench(model_name: str, frames: list[torch.Tensor], repeats: int) -> dict:
    name, _, q = model_name.partition("@")
    loaded = resolve_model(name, None, int(q or 1))
    n = len(frames)
    enc, res = _best(lambda: encode_video(frames, loaded, fps=30, num_frames=n), repeats)
    lean, _ = _best(lambda: encode_video(frames, loaded, fps=30, num_frames=n,
                                         ms_ssim=False), repeats)
    h, recs = parse(res.to_bytes())
    dec, dec_res = _best(lambda: decode_video(h, recs, loaded), repeats)
    assert dec_res.verified
    model = make_codec(loaded).model
    mult = make_codec(loaded).pad_multiple
    x = [pad_to_multiple(f[None], mult) for f in frames]
    with torch.no_grad():
        c_enc, (strings, shapes) = _best(lambda: model.compress(x), repeats)
        c_dec, _ = _best(lambda: model.decompress(strings, shapes), repeats)
    return {k: v / n * 1000 for k, v in
            {"enc": enc, "lean": lean, "dec": dec, "c_enc": c_enc, "c_dec": c_dec}.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--models", default="init:ssf-slim,init:ssf2020")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    clips = {"176x144 carphone": clip("carphone", args.frames, None),
             "416x240 bikes": clip("bikes", args.frames, (416, 240))}
    print(f"threads={torch.get_num_threads()} frames={args.frames}")
    print(f"{'model':<22}{'clip':<20}{'amgap enc':>10}{'cai enc':>9}{'ratio':>7}"
          f"{'no MS-SSIM':>11}{'ratio':>7}{'amgap dec':>11}{'cai dec':>9}{'ratio':>7}"
          "   (ms/frame)")
    for m in args.models.split(","):
        for cname, frames in clips.items():
            r = bench(m, frames, args.repeats)
            print(f"{m:<22}{cname:<20}{r['enc']:>10.1f}{r['c_enc']:>9.1f}"
                  f"{r['enc'] / r['c_enc']:>7.2f}{r['lean']:>11.1f}"
                  f"{r['lean'] / r['c_enc']:>7.2f}{r['dec']:>11.1f}{r['c_dec']:>9.1f}"
                  f"{r['dec'] / r['c_dec']:>7.2f}")


if __name__ == "__main__":
    main()
