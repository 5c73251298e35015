"""Gap, real saving and the time reparameterization costs, for the shipped zoo.

    python benchmarks/reparam.py [--model amgap-ssf] [--qualities 1,2,3,4] [--videos carphone,bikes]

For every video (first 16 frames: one GOP), quality, GOP structure and mode
(paper, optimal): the total gap (histogram limit), the saving measured on real bytes
(learned-table payload vs reparameterized payload + signalling), saving/gap, and the
share of encode and decode time spent in reparameterization (fitting, selection,
signalling, table building). Decoded frames are checked against the encoder's.
"""

from __future__ import annotations

import argparse
import time

from amgap.analysis.report import analyze_encoding
from amgap.bitstream import parse
from amgap.codecs.gop import GOP_STRUCTURES
from amgap.coding import decode_video, encode_video
from amgap.entropy.reparam import Reparameterizer
from amgap.io import open_video
from amgap.models import resolve_model

_T = {"encode": 0.0, "decode": 0.0}


def _timed(name, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            _T[name] += time.perf_counter() - t
    return wrapper


Reparameterizer.encode = _timed("encode", Reparameterizer.encode)
Reparameterizer.decode = _timed("decode", Reparameterizer.decode)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None, help="zoo model (default: the shipped one)")
    ap.add_argument("--qualities", default="1,2,3,4")
    ap.add_argument("--videos", default="carphone,bikes")
    ap.add_argument("--frames", type=int, default=16)
    args = ap.parse_args()
    print(f"{'video':<10}{'q':>2} {'gop':<6}{'mode':<8}{'bpp':>7}{'gap %':>7}{'saving %':>9}"
          f"{'sav/gap':>8}{'enc share':>10}{'dec share':>10}  verified")
    for video in args.videos.split(","):
        frames = list(open_video(video).frames(0, args.frames))
        for q in [int(x) for x in args.qualities.split(",")]:
            loaded = resolve_model(args.model, None, q)
            for gop in sorted(GOP_STRUCTURES):
                for mode in ("paper", "optimal"):
                    _T.update(encode=0.0, decode=0.0)
                    t = time.perf_counter()
                    res = encode_video(frames, loaded, fps=30, num_frames=len(frames),
                                       gop=gop, reparam=mode, measure_learned=True)
                    t_enc = time.perf_counter() - t
                    h, recs = parse(res.to_bytes())
                    t = time.perf_counter()
                    dec = decode_video(h, recs, loaded)
                    t_dec = time.perf_counter() - t
                    video_ft = analyze_encoding(res)["frame_types"]["Video"]
                    gap, saving = video_ft["gap"], video_ft["saving"]
                    bpp = len(res.to_bytes()) * 8 / (h.width * h.height * h.num_frames)
                    print(f"{video:<10}{q:>2} {gop:<6}{mode:<8}{bpp:>7.4f}{gap:>7.2f}"
                          f"{saving:>9.2f}{saving / gap if gap else 0:>8.2f}"
                          f"{100 * _T['encode'] / t_enc:>9.1f}%{100 * _T['decode'] / t_dec:>9.1f}%"
                          f"  {dec.verified}")


if __name__ == "__main__":
    main()
