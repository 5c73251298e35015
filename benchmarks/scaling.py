"""Time and peak memory of amgap encode/decode against resolution and frame count,
and the share of time in the networks, entropy coding and reparameterization.

    python benchmarks/scaling.py [--model init:ssf-slim] [--reparam optimal]

Each configuration runs in its own process (peak RSS is per process). Frames are
carphone up-scaled to each resolution (content matters little for time). Prints one
row per configuration.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

SIZES = [(176, 144), (416, 240), (832, 480), (1280, 720), (1920, 1080)]

CHILD = r"""
import json, resource, sys, time
import torch
import torch.nn.functional as F
from amgap import coding
from amgap.entropy import reparam as rp
from amgap.bitstream import parse
from amgap.io import open_video
from amgap.models import resolve_model
w, h, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
model, mode = sys.argv[4], sys.argv[5]
T = {"rans": 0.0, "reparam": 0.0}
def timed(name, fn):
    def wrap(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            T[name] += time.perf_counter() - t
    return wrap
coding.rans_encode = timed("rans", coding.rans_encode)
coding.rans_decode = timed("rans", coding.rans_decode)
rp.Reparameterizer.encode_segment = timed("reparam", rp.Reparameterizer.encode_segment)
rp.Reparameterizer.decode = timed("reparam", rp.Reparameterizer.decode)
rp.Reparameterizer.observe = timed("reparam", rp.Reparameterizer.observe)
src = list(open_video("carphone").frames(0, n))
frames = [F.interpolate(f[None], size=(h, w), mode="bilinear", align_corners=False)[0].clamp(0, 1)
          for f in src]
loaded = resolve_model(model, None, 1)
t = time.perf_counter()
res = coding.encode_video(frames, loaded, fps=30, num_frames=n, reparam=mode)
enc = time.perf_counter() - t; enc_rans, enc_rp = T["rans"], T["reparam"]
T.update(rans=0.0, reparam=0.0)
hd, recs = parse(res.to_bytes())
t = time.perf_counter(); d = coding.decode_video(hd, recs, loaded, max_pixels=1 << 25)
dec = time.perf_counter() - t
print(json.dumps({"enc_ms": 1000 * enc / n, "dec_ms": 1000 * dec / n,
                  "enc_rans": enc_rans / enc, "enc_reparam": enc_rp / enc,
                  "dec_rans": T["rans"] / dec, "dec_reparam": T["reparam"] / dec,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "verified": d.verified}))
"""


def run(w: int, h: int, n: int, model: str, mode: str) -> dict:
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", CHILD, str(w), str(h), str(n),
                        model, mode], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="init:ssf-slim")
    ap.add_argument("--reparam", default="optimal")
    ap.add_argument("--frames", type=int, default=3)
    args = ap.parse_args()
    print(f"model {args.model}, reparam {args.reparam}; shares are of encode/decode time; "
          "network share = 1 - rANS - reparam")
    head = (f"{'size':>10}{'frames':>7}{'enc ms/f':>10}{'dec ms/f':>10}{'rANS e/d':>12}"
            f"{'reparam e/d':>13}{'peak MB':>9}")
    print(head)
    rows = [(w, h, args.frames) for w, h in SIZES] + [(416, 240, n) for n in (1, 8, 16)]
    for w, h, n in rows:
        r = run(w, h, n, args.model, args.reparam)
        print(f"{w}x{h:<5}{n:>7}{r['enc_ms']:>10.0f}{r['dec_ms']:>10.0f}"
              f"{100 * r['enc_rans']:>6.1f}/{100 * r['dec_rans']:<5.1f}"
              f"{100 * r['enc_reparam']:>6.1f}/{100 * r['dec_reparam']:<6.1f}"
              f"{r['peak_mb']:>9.0f}  {'ok' if r['verified'] else 'MISMATCH'}")


if __name__ == "__main__":
    main()
