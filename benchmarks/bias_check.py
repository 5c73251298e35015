"""The exact bias of the histogram limit against a Monte Carlo on real streams.

    python benchmarks/bias_check.py [--video carphone] [--model amgap-ssf] [--quality 1]
                                    [--frames 16] [--draws 20]

Encodes the clip, then, for every frame and table, draws as many symbols as the table
really coded from the table's own learned pmf and runs the gap computation on them:
the mean ``L - L*`` over draws (per information type, summed over frames) must match
the exact bias of ``amgap.analysis.bias`` within the Monte Carlo's standard error.
"""

from __future__ import annotations

import argparse

import numpy as np

from amgap.analysis import stream_gap
from amgap.coding import encode_video
from amgap.entropy import InfoStream
from amgap.io import open_video
from amgap.models import resolve_model


def _drawn(stream: InfoStream, rng: np.random.Generator) -> InfoStream:
    """The stream with every table's symbols redrawn from its learned pmf."""
    sym = np.empty(len(stream), dtype=np.int64)
    for t in np.unique(stream.table_index):
        m = stream.table_index == t
        q = stream.tables.pmf(int(t))
        sym[m] = rng.choice(q.size, int(m.sum()), p=q / q.sum()) + int(stream.tables.offsets[t])
    return InfoStream(stream.kind, sym, stream.table_index, stream.tables)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default="carphone")
    ap.add_argument("--model", default="amgap-ssf")
    ap.add_argument("--quality", type=int, default=1)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--draws", type=int, default=20)
    args = ap.parse_args()
    reader = open_video(args.video)
    frames = list(reader.frames(0, args.frames))
    res = encode_video(frames, resolve_model(args.model, None, args.quality),
                       fps=reader.info.fps, num_frames=len(frames))
    rng = np.random.default_rng(0)
    acc: dict[str, list] = {}
    for streams in res.streams:
        for s in streams:
            g = stream_gap(s)
            a = acc.setdefault(s.kind.value, [0.0, 0.0, np.zeros(args.draws)])
            a[0] += g.bits
            a[1] += g.bias_bits
            for i in range(args.draws):
                d = stream_gap(_drawn(s, rng))
                a[2][i] += d.bits - d.limit_bits
    print(f"{args.video} {args.model} q{args.quality}, {len(frames)} frames, "
          f"{args.draws} draws")
    for k, (bits, bias, mc) in acc.items():
        se = mc.std(ddof=1) / np.sqrt(mc.size)
        print(f"  {k:14s} exact bias {bias:9.1f} bits ({100 * bias / bits:5.2f} % of L); "
              f"Monte Carlo {mc.mean():9.1f} ± {se:.1f}")


if __name__ == "__main__":
    main()
