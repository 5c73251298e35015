"""Training steps per second of each shipped architecture on this machine.

    python benchmarks/train_speed.py [--steps 20] [--batch 4] [--crop 128] [--frames 2]

Random data (speed does not depend on content), the real loss (lambda*MSE + bpp over a
chain of frames, plus the auxiliary loss), Adam steps; prints steps/s per architecture
after a few warm-up steps.
"""

from __future__ import annotations

import argparse
import time

import torch

from amgap.codecs.registry import get_codec
from amgap.train.loop import BFrameTrainer, rd_loss
from amgap.zoo import zoo_entries

FALLBACK = {"ssf-slim": {"mid": 64, "latent": 64, "hyper": 48, "hyper_depth": 2}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--frames", type=int, default=2)
    args = ap.parse_args()
    configs = {}
    for e in zoo_entries():
        cfg = {k: v for k, v in (e.get("config") or {}).items() if k != "base"}
        configs[f"{e['arch']} {cfg}"] = (e["arch"], cfg)
    configs = configs or {f"{k} {v}": (k, v) for k, v in FALLBACK.items()}
    print(f"threads={torch.get_num_threads()} batch={args.batch} crop={args.crop} "
          f"frames={args.frames}")
    for label, (arch, cfg) in configs.items():
        torch.manual_seed(0)
        model = get_codec(arch).build(cfg)
        frames = args.frames
        if get_codec(arch).base_default is not None:  # B motion VAE over a frozen I/P model
            model = BFrameTrainer(get_codec("ssf-slim").build({}), model)
            frames = 3
        model.train()
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        x = [torch.rand(args.batch, 3, args.crop, args.crop) for _ in range(frames)]

        def step(model=model, opt=opt, x=x) -> None:
            opt.zero_grad()
            loss = rd_loss(model(x), x, 0.0483)["loss"]
            aux = model.aux_loss()
            (loss + (sum(aux) if isinstance(aux, list) else aux)).backward()
            opt.step()

        for _ in range(3):
            step()
        t = time.perf_counter()
        for _ in range(args.steps):
            step()
        rate = args.steps / (time.perf_counter() - t)
        n = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(f"{label}: {n / 1e6:.2f} M parameters, {rate:.2f} steps/s")


if __name__ == "__main__":
    main()
