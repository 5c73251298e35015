"""Time of the encoder's reparameterization planning alone, on fixed streams.

    python benchmarks/plan_time.py [--configs carphone:amgap-ssf:1:ssf,...] [--repeat 10]

Each configuration (clip, zoo model, quality, GOP; first 16 frames) is encoded once with
``--reparam optimal`` while the inputs of every ``Reparameterizer.encode_segment`` call
are recorded; those segments are then planned ``--repeat`` times by a fresh
``Reparameterizer("optimal")`` and the fastest and median times printed, with the file's
bytes. The convolutions and the rANS coder are out of the measurement, so planning
changes can be compared to the millisecond on a shared machine (``benchmarks/reparam.py``
gives the shares of whole encodes).
"""

from __future__ import annotations

import argparse
import statistics
import time

from amgap.coding import encode_video
from amgap.entropy.reparam import Reparameterizer
from amgap.io import open_video
from amgap.models import resolve_model

DEFAULT = ("carphone:amgap-ssf:1:ssf,carphone:amgap-ssf:4:ssf,carphone:amgap-ssf:1:intra,"
           "carphone:amgap-bflow:1:lhbdc,carphone:amgap-bflow:4:aivc,"
           "carphone:amgap-aivc:1:aivc,bikes:amgap-ssf:1:ssf,bikes:amgap-bflow:1:lhbdc")


def _recorded(frames, loaded, gop: str) -> tuple[list, int]:
    """(segments as ``encode_segment`` received them, file bytes) of one encode."""
    segments: list = []
    original = Reparameterizer.encode_segment

    def record(self, seg):
        segments.append(seg)
        return original(self, seg)

    Reparameterizer.encode_segment = record
    try:
        res = encode_video(frames, loaded, fps=30, num_frames=len(frames), gop=gop,
                           reparam="optimal")
    finally:
        Reparameterizer.encode_segment = original
    return segments, len(res.to_bytes())


def _plan_times(segments: list, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        rp = Reparameterizer("optimal")  # the hints carry across segments, as in an encode
        t = time.perf_counter()
        for seg in segments:
            rp.encode_segment(seg)
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default=DEFAULT,
                    help="comma list of clip:model:quality:gop")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--frames", type=int, default=16)
    args = ap.parse_args()
    clips: dict = {}
    print(f"{'clip':<10}{'model':<13}{'q':>2} {'gop':<6}{'bytes':>9}{'min ms':>9}{'median':>9}")
    for cfg in args.configs.split(","):
        clip, model, q, gop = cfg.split(":")
        if clip not in clips:
            clips[clip] = list(open_video(clip).frames(0, args.frames))
        segments, nbytes = _recorded(clips[clip], resolve_model(model, None, int(q)), gop)
        times = _plan_times(segments, args.repeat)
        print(f"{clip:<10}{model:<13}{q:>2} {gop:<6}{nbytes:>9}{1e3 * min(times):>9.1f}"
              f"{1e3 * statistics.median(times):>9.1f}", flush=True)


if __name__ == "__main__":
    main()
