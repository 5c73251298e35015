"""Raw gap, small-sample bias, mismatch gap and both closures, per information type.

    python benchmarks/honest_gap.py [--runs amgap-ssf:ssf,amgap-bflow:lhbdc,amgap-bflow:aivc]
        [--videos carphone,bikes] [--qualities 1,4] [--frames 16] [--reparam optimal]
        [--json OUT.json]

For every (model, GOP) run, video and quality: the Video row of Table I per information
type — gap ± its standard error over frames, bias, mismatch gap (= gap − bias), saving of
``--reparam``, closure = saving/gap (the paper's) and closure of the mismatch gap, and the
share of bits spent at replicate-padded latent positions. Add ``bigbuckbunny`` (1280×720)
to ``--videos`` to see the bias shrink with resolution. Everything comes from
``amgap.analyze`` (the same figures as ``amgap analyze … --json``).
"""

from __future__ import annotations

import argparse
import json

import amgap
from amgap.entropy.streams import INFO_KINDS


def _f(v, fmt: str = ".2f") -> str:
    return "-" if v is None else format(v, fmt)


def _row(run: str, video: str, q: int, kind: str, c: dict) -> str:
    return (f"{run:<22}{video:<13}{q:>2} {kind:<14}{_f(c.get('ratio'), '.1f'):>6}"
            f"{_f(c['gap']):>7} ±{_f(c.get('gap_se')):<5}{_f(c['bias']):>7}"
            f"{_f(c['mismatch_gap']):>8}{_f(c.get('saving')):>7}{_f(c.get('closure')):>7}"
            f"{_f(c.get('closure_mismatch')):>7}{_f(c.get('pad_share'), '.1f'):>6}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="amgap-ssf:ssf,amgap-bflow:lhbdc,amgap-bflow:aivc",
                    help="MODEL:GOP pairs")
    ap.add_argument("--videos", default="carphone,bikes")
    ap.add_argument("--qualities", default="1,4")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--reparam", default="optimal")
    ap.add_argument("--json", help="write every Video row here")
    args = ap.parse_args()
    qs = [int(q) for q in args.qualities.split(",")]
    print(f"{'model:gop':<22}{'video':<13}{'q':>2} {'info':<14}{'ratio':>6}{'gap':>7}  "
          f"{'se':<5}{'bias':>7}{'mism.':>8}{'saving':>7}{'clos.':>7}{'c.mis':>7}{'pad%':>6}")
    dump = []
    for run in args.runs.split(","):
        model, gop = run.split(":")
        res = amgap.analyze(args.videos.split(","), model, qualities=qs, gop=gop,
                            frames=args.frames, reparam=args.reparam)
        for label, per_q in res.report["videos"].items():
            for q in qs:
                video = per_q[f"q{q}"]["frame_types"]["Video"]
                for kind in [k.value for k in INFO_KINDS] + ["total"]:
                    c = video if kind == "total" else video["info"].get(kind)
                    if c and c["bits"] > 0:
                        print(_row(run, label, q, kind, c), flush=True)
                        dump.append({"run": run, "video": label, "q": q, "info": kind,
                                     **{k: v for k, v in c.items()
                                        if k not in ("moments", "info")}})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1)


if __name__ == "__main__":
    main()
