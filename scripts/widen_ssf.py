"""Widen a slim SSF checkpoint's I-frame codec (function-preserving, amgap.train.widen).

    python scripts/widen_ssf.py IN.pth[.xz] OUT.pth --img-mid 128

OUT computes the same frames as IN (checked here on a random frame before saving) and
is a ``--init`` / ``--init-top`` for training: the wider transform starts where the
narrow one stopped instead of from scratch.
"""

from __future__ import annotations

import argparse
import copy

import torch

from amgap.models import load_checkpoint, save_checkpoint
from amgap.train.widen import widen_ssf_image_codec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--img-mid", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    loaded = load_checkpoint(args.src)
    model = loaded.model.float().eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = model.img_decoder(model.img_encoder(x))
        wide = widen_ssf_image_codec(copy.deepcopy(model), args.img_mid, seed=args.seed)
        after = wide.img_decoder(wide.img_encoder(x))
    err = float((before - after).abs().max())
    if err > 1e-4:
        raise SystemExit(f"widening changed the output by {err:.2e}: not saved")
    save_checkpoint(args.dst, wide, loaded.arch, wide.config_dict(), None)
    n = sum(p.numel() for p in wide.parameters())
    print(f"{args.dst}: img_mid {args.img_mid}, {n} parameters, max |change| {err:.1e}")


if __name__ == "__main__":
    main()
