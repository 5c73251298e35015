"""Recipe for the shipped B-frame models (``amgap-bflow`` q1..q4).

    python scripts/train_zoo_b.py --runs runs/zoo --out runs/zoo_b [--steps-top 3000 --steps-ft 800]

Each B model is a bi-directional motion VAE trained over the *frozen* I/P model of the
same quality (``RUNS/qQ/final.pth``) on (ref0, B, ref1) clips with frame spacing
1, 2, 4 or 8, from registry video only. q4 is trained first, q3..q1 are fine-tuned
from it over their own bases. Export with ``scripts/export_zoo.py --b``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from amgap.train import LAMBDAS, TrainConfig, train

BFLOW = dict(mid=48, latent=64, hyper=32, hyper_depth=2)
# recipe v2's schedule and scales (scripts/train_zoo.py); warm-up 300 steps
V2 = dict(schedule="cosine", warmup=300, lr_min=0.02, scales=(1.0, 0.5, 0.25), log_every=50,
          ckpt_every=500)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="runs/zoo", help="folder of the I/P runs (qQ/final.pth)")
    ap.add_argument("--out", default="runs/zoo_b")
    ap.add_argument("--steps-top", type=int, default=3000)
    ap.add_argument("--steps-ft", type=int, default=800)
    ap.add_argument("--qualities", default="4,3,2,1")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--init-top", help="checkpoint the first B model starts from (e.g. the "
                    "shipped amgap-bflow-q4 when its base is retrained; default: scratch)")
    ap.add_argument("--cosine", action="store_true", help="recipe v2's schedule (warm-up "
                    "then cosine decay) and video scales 1, 1/2, 1/4 (default: v1's)")
    ap.add_argument("--wait", action="store_true", help="wait for each base to be trained")
    ap.add_argument("--refresh", default="", help="Q=FOLDER: fine-tune B qQ again over the "
                    "I/P run RUNS/FOLDER (e.g. 4=q4p); written to OUT/FOLDER")
    ap.add_argument("--shipped", action="store_true", help="fine-tune each quality of "
                    "--qualities from the shipped amgap-bflow weights over the shipped "
                    "amgap-ssf of the same quality (no run folders needed)")
    ap.add_argument("--seed", type=int, default=30, help="--shipped: data seed (plus the "
                    "quality); another value for each round from the shipped weights")
    args = ap.parse_args()
    if args.shipped:
        return train_shipped(args)
    prev = None
    for q in [int(x) for x in args.qualities.split(",") if x]:
        top = prev is None
        base = str(Path(args.runs) / f"q{q}" / "final.pth")
        while args.wait and not Path(base).exists():  # the I/P run may still be training
            time.sleep(30)
        cfg = TrainConfig(out=str(Path(args.out) / f"q{q}"), arch="bflow-slim",
                          config={**BFLOW, "base": base}, lmbda=LAMBDAS[q], frames=3,
                          strides=(1, 2, 4, 8), steps=args.steps_top if top else args.steps_ft,
                          lr=args.lr if top else args.lr / 2, seed=10 + q, quality=q,
                          init=args.init_top if top else str(prev), threads=args.threads,
                          **(V2 if args.cosine else {}))
        prev = train(cfg)
    # re-fit a B model over a newer base of its quality (e.g. the polished q4: 4=q4p)
    for item in [kv for kv in args.refresh.split(",") if kv]:
        q, folder = item.split("=")
        base = Path(args.runs) / folder / "final.pth"
        while args.wait and not base.exists():
            time.sleep(30)
        train(TrainConfig(out=str(Path(args.out) / folder), arch="bflow-slim",
                          config={**BFLOW, "base": str(base)}, lmbda=LAMBDAS[int(q)], frames=3,
                          strides=(1, 2, 4, 8), steps=args.steps_ft, lr=args.lr / 2,
                          seed=20 + int(q), quality=int(q),
                          init=str(Path(args.out) / f"q{q}" / "final.pth"),
                          threads=args.threads))


def train_shipped(args: argparse.Namespace) -> None:
    """One more fine-tune of every listed quality, from what the zoo ships: the base is
    the shipped (float16-rounded) I/P model, the one the B model meets at run time."""
    weights = Path("src/amgap/zoo/weights")  # run from the repository root
    for q in [int(x) for x in args.qualities.split(",") if x]:
        train(TrainConfig(out=str(Path(args.out) / f"q{q}"), arch="bflow-slim",
                          config={**BFLOW, "base": "amgap-ssf"}, lmbda=LAMBDAS[q], frames=3,
                          strides=(1, 2, 4, 8), steps=args.steps_ft, lr=args.lr / 2,
                          seed=args.seed + q, quality=q,
                          init=str(weights / f"amgap-bflow-q{q}.pth.xz"),
                          threads=args.threads, **(V2 if args.cosine else {})))


if __name__ == "__main__":
    main()
