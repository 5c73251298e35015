"""Long fuzz run of the decoder (issue: hardening).

    python scripts/fuzz_amg.py [--cases 10000] [--seed 0] [--model init:ssf-slim]

Encodes a small real clip (carphone, 64x64 crop, 3 frames, reparameterization on),
then decodes ``--cases`` mutated copies in-process. Prints counts per mutation and per
error message, the slowest case, peak resident memory, and every unexpected exception
(none expected). Exit status 1 if any case crashed or ran over 10 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from amgap.bitstream.fuzz_target import fuzz
from amgap.coding import encode_video
from amgap.io import open_video
from amgap.models import resolve_model


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="init:ssf-slim")
    ap.add_argument("--quality", type=int, default=1)
    args = ap.parse_args()
    loaded = resolve_model(args.model, None, args.quality)
    frames = [f[:, :64, :64] for f in open_video("carphone").frames(0, 3)]
    data = encode_video(frames, loaded, fps=30, num_frames=3, reparam="optimal").to_bytes()
    t = time.perf_counter()
    rep = fuzz(data, loaded, args.cases, args.seed)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cases {rep.cases}: decoded {rep.decoded}, refused {rep.refused}, "
          f"crashes {len(rep.crashes)}; slowest {rep.slowest_s:.2f} s; wall {wall:.0f} s; "
          f"peak RSS {peak_mb:.0f} MB")
    print("by mutation:", dict(sorted(rep.by_mutation.items())))
    print("errors:", dict(sorted(rep.messages.items(), key=lambda kv: -kv[1])))
    for c in rep.crashes[:20]:
        print("CRASH", c)
    return 1 if rep.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
