"""Training recipes as data: the ``TrainConfig`` fields of the zoo's recipes, one place.

``amgap train --recipe v2`` and the zoo scripts (``scripts/train_zoo*.py``) read them here,
so a user's run and a shipped model's run differ only in what is said on the command line.

* ``v1`` (the first zoo): constant learning rate, a 10x drop for the last 15 % of the
  steps, 2-frame clips, two scales of the training videos.
* ``v2`` (issue 12; every shipped model since): linear warm-up (``min(500, steps/10)``
  steps) then cosine decay to 2 % of the peak, gradient clipping, 3-frame clips (P frames
  coded from their own decoded references), the registry videos at three scales, and
  30 % of the clips made from opencv-doc's photographs moving at a random speed.
  Fine-tunes (a run from ``--init``) take half the peak learning rate.
"""

from __future__ import annotations

from .data import default_stills

__all__ = ["RECIPES", "LAMBDAS", "recipe"]

RECIPES = ("v1", "v2")
LAMBDAS = {4: 0.0483, 3: 0.0250, 2: 0.0130, 1: 0.0067}  # the zoo's qualities (CompressAI's)
PEAK_LR = {"v1": 1e-4, "v2": 2e-4}


def recipe(version: str, lr: float | None, steps: int, fine_tune: bool) -> dict:
    """``TrainConfig`` fields of a recipe (``lr`` None: the recipe's own peak)."""
    if version not in RECIPES:
        raise ValueError(f"unknown recipe {version!r} (known: {', '.join(RECIPES)})")
    lr = PEAK_LR[version] if lr is None else lr
    if version == "v1":
        return dict(lr=lr / 2 if fine_tune else lr, steps=steps)
    return dict(lr=lr / 2 if fine_tune else lr, steps=steps, schedule="cosine",
                warmup=min(500, steps // 10), lr_min=0.02, frames=3, threads=2,
                scales=(1.0, 0.5, 0.25), stills=default_stills(), still_share=0.3,
                log_every=50, ckpt_every=500)
