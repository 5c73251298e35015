"""Encode/decode speed of amgap against CompressAI's own ScaleSpaceFlow.compress/decompress.

    python benchmarks/codec_speed.py [--frames 8] [--models init:ssf-slim,init:ssf2020]

Same model object, same frames (carphone 176x144; bikes center-cropped to 416x240),
GOP I+P..P, one process. Prints ms per frame and the amgap/CompressAI ratio. amgap does
more per frame than CompressAI (per-stream ideal bits, a reconstruction checksum, the
container), which is what the ratio measures.
"""

from __future__ import annotations

import argparse
import time

import torch

from amgap.bitstream import parse
from amgap.coding import decode_video, encode_video
from amgap.io import open_video, pad_to_multiple
from amgap.zoo import make_codec, resolve_model


def clip(name: str, n: int, size: tuple[int, int] | None) -> list[torch.Tensor]:
    frames = list(open_video(name).frames(0, n))
    if size:
        w, h = size
        H, W = frames[0].shape[-2:]
        y0, x0 = (H - h) // 2, (W - w) // 2
        frames = [f[:, y0:y0 + h, x0:x0 + w] for f in frames]
    return frames


def bench(model_name: str, frames: list[torch.Tensor]) -> dict:
    name, _, q = model_name.partition("@")
    loaded = resolve_model(name, None, int(q or 1))
    n = len(frames)
    t = time.perf_counter()
    res = encode_video(frames, loaded, fps=30, num_frames=n)
    enc = (time.perf_counter() - t) / n * 1000
    h, recs = parse(res.to_bytes())
    t = time.perf_counter()
    dec_res = decode_video(h, recs, loaded)
    dec = (time.perf_counter() - t) / n * 1000
    assert dec_res.verified
    model = make_codec(loaded).model
    mult = make_codec(loaded).pad_multiple
    x = [pad_to_multiple(f[None], mult) for f in frames]
    with torch.no_grad():
        t = time.perf_counter()
        strings, shapes = model.compress(x)
        c_enc = (time.perf_counter() - t) / n * 1000
        t = time.perf_counter()
        model.decompress(strings, shapes)
        c_dec = (time.perf_counter() - t) / n * 1000
    return {"enc": enc, "dec": dec, "c_enc": c_enc, "c_dec": c_dec}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--models", default="init:ssf-slim,init:ssf2020")
    args = ap.parse_args()
    clips = {"176x144 carphone": clip("carphone", args.frames, None),
             "416x240 bikes": clip("bikes", args.frames, (416, 240))}
    print(f"threads={torch.get_num_threads()} frames={args.frames}")
    print(f"{'model':<22}{'clip':<20}{'amgap enc':>10}{'cai enc':>9}{'ratio':>7}"
          f"{'amgap dec':>11}{'cai dec':>9}{'ratio':>7}   (ms/frame)")
    for m in args.models.split(","):
        for cname, frames in clips.items():
            r = bench(m, frames)
            print(f"{m:<22}{cname:<20}{r['enc']:>10.1f}{r['c_enc']:>9.1f}"
                  f"{r['enc'] / r['c_enc']:>7.2f}{r['dec']:>11.1f}{r['c_dec']:>9.1f}"
                  f"{r['dec'] / r['c_dec']:>7.2f}")


if __name__ == "__main__":
    main()
