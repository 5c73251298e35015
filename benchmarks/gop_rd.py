"""RD points of the three GOP structures and ms per frame by frame type.

    python benchmarks/gop_rd.py [--model amgap-bflow] [--qualities 1,2,3,4] [--frames 16]

carphone, first ``--frames`` frames, GOP size 16, ``--reparam`` (default off). The
B-frame zoo model carries its I/P base, so one model codes all three structures.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from amgap.bitstream import parse
from amgap.coding import decode_video, encode_video
from amgap.io import open_video
from amgap.models import resolve_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="amgap-bflow")
    ap.add_argument("--qualities", default="1,2,3,4")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--video", default="carphone")
    ap.add_argument("--reparam", default="off")
    args = ap.parse_args()
    frames = list(open_video(args.video).frames(0, args.frames))
    h, w = frames[0].shape[-2:]
    print(f"{args.video} {w}x{h}, {args.frames} frames, GOP 16, reparam {args.reparam}")
    print(f"{'q':>2} {'gop':<6}{'bpp':>8}{'PSNR-RGB':>10}  enc ms/frame (I/P/B)   "
          "dec ms/frame (I/P/B)")
    for q in [int(x) for x in args.qualities.split(",")]:
        loaded = resolve_model(args.model, None, q)
        for gop in ("ssf", "lhbdc", "aivc"):
            res = encode_video(frames, loaded, fps=30, num_frames=len(frames), gop=gop,
                               reparam=args.reparam)
            hd, recs = parse(res.to_bytes())
            dec = decode_video(hd, recs, loaded)
            assert dec.verified
            enc_ms, dec_ms = defaultdict(list), defaultdict(list)
            for s in res.stats:
                enc_ms[s.ftype.name].append(s.ms)
            for s in dec.stats:
                dec_ms[s.ftype.name].append(s.ms)

            def fmt(d):
                return "/".join(f"{sum(d[t]) / len(d[t]):.0f}" if d.get(t) else "-"
                                for t in "IPB")

            bpp = len(res.to_bytes()) * 8 / (w * h * len(frames))
            psnr = sum(s.psnr_rgb for s in res.stats) / len(frames)
            print(f"{q:>2} {gop:<6}{bpp:>8.4f}{psnr:>10.2f}  {fmt(enc_ms):<21}{fmt(dec_ms)}")


if __name__ == "__main__":
    main()
