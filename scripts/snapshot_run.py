"""Checkpoints of training runs in progress, for learning curves and early looks.

    python scripts/snapshot_run.py runs/v2/q4 [runs/lhbdc_w/q4 ...]

Writes ``RUN/snapshot-STEP.pth`` from each run's last ``state.pt`` (the weights of the
step it saved, entropy tables rebuilt): a checkpoint every amgap command and benchmark
takes (``--checkpoint``), without stopping or changing the run.
"""

from __future__ import annotations

import argparse

from amgap.train import snapshot


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="run folders holding a state.pt")
    for run in ap.parse_args().runs:
        print(snapshot(run))


if __name__ == "__main__":
    main()
