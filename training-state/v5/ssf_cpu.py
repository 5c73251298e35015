"""CPU continuation of amgap-ssf qQ with the GPU-lease recipe (scripts/gpu_zoo.py ssf job)."""
import sys, json
from dataclasses import asdict
from amgap.train import LAMBDAS, recipe, TrainConfig, train
from amgap.train.recipes import default_stills
q = int(sys.argv[1]); out = sys.argv[2]; budget = float(sys.argv[3]); threads = int(sys.argv[4])
init = sys.argv[5] if len(sys.argv) > 5 else f"src/amgap/zoo/weights/amgap-ssf-q{q}.pth.xz"
v2 = {k: v for k, v in recipe("v2", 2e-4, 1, fine_tune=True).items() if k in ("scales", "still_share", "lr")}
cfg = TrainConfig(out=out, arch="ssf-slim", config={}, lmbda=LAMBDAS[q], seed=900 + q, init=init,
                  stills=default_stills(), batch=8, crop=256, frames=4, warmup=100, log_every=10,
                  ckpt_every=50, threads=threads, schedule="cosine", lr_min=0.02,
                  wall_budget=budget, steps=10**6 if budget else 3, **v2)
print(json.dumps(asdict(cfg))[:400])
train(cfg)
