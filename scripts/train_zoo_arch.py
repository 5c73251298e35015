"""Recipe for the shipped AIVC and LHBDC instances (``amgap-aivc``, ``amgap-lhbdc``).

    python scripts/train_zoo_arch.py aivc  --out runs/aivc   # 5000 steps q4, then q1
    python scripts/train_zoo_arch.py lhbdc --out runs/lhbdc  # 2600 steps q4, then q1

Trains the top rate (q4, from scratch) then fine-tunes each lower quality from the one
above, exactly like ``scripts/train_zoo.py`` for ``amgap-ssf`` (recipe v2: linear warm-up
then cosine decay from a 2e-4 peak, gradient clipping, the registry videos at three
scales plus opencv-doc's photographs with synthetic motion). Each clip is one small GOP
of the architecture's own structure (``net_blocks.gop_forward``): AIVC codes 3-frame
clips as I, P (last), B (between); LHBDC as I, I, B. Frame spacing 1, 2 or 4 so that B
frames see distant references. One thread per run: the two architectures train side by
side on the two cores. Every run resumes where it stopped (rerun the same command).
Export with ``scripts/export_zoo.py --arch-zoo``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from amgap.codecs.aivc_net import zero_flow_outputs
from amgap.models import load_checkpoint, save_checkpoint
from amgap.train import LAMBDAS, TrainConfig, recipe, train
from amgap.train.loop import check_config

# (batch, crop): LHBDC costs ~3x AIVC per clip (SpyNet twice, two I frames per clip),
# so it trains on half the batch to get a comparable number of steps.
BATCH = {"aivc": (4, 128), "lhbdc": (2, 128)}
# steps (top rate, each fine-tune) that fit one ~2-hour session with both runs side by
# side on 2 cores: AIVC ~1.1 s/step, LHBDC ~1.5-2 s/step there (the shipped instances)
STEPS = {"aivc": (5000, 1500), "lhbdc": (2600, 900)}


def config(arch: str, q: int, out: Path, steps: int, init: str | None,
           warp: tuple[float, int] = (0.0, 0), top: bool | None = None,
           threads: int = 1, lr: float = 2e-4, seed: int = 100) -> TrainConfig:
    """``top``: the top-rate run (full lr, the motion warm-up); default: when from scratch."""
    batch, crop = BATCH[arch]
    top = init is None if top is None else top
    # recipe v2 as for amgap-ssf; one thread per run (two runs share the two cores)
    return TrainConfig(
        out=str(out / f"q{q}"), arch=arch, config=None, lmbda=LAMBDAS[q], seed=seed + q,
        quality=q,  # the quality of a model the config names (LHBDC's I-frame model)
        init=init, batch=batch, crop=crop, strides=(1, 2, 4),
        warp_weight=warp[0] if top else 0.0, warp_steps=warp[1],
        **{**recipe("v2", lr, steps, fine_tune=not top), "threads": threads,
           "ckpt_every": 100})


def _stage(arch: str, out: Path, name: str, seed: int, steps: int, init: str | None,
           threads: int, **fields) -> Path:
    """A single-stage run at the top rate before the joint one (``RUN/NAME``), recipe v2
    with ``fields`` on top."""
    return train(check_config(TrainConfig(
        out=str(out / name), arch=arch, config=None, lmbda=LAMBDAS[4], seed=seed,
        init=init, crop=BATCH[arch][1],
        **{**recipe("v2", 2e-4, steps, fine_tune=False), "threads": threads,
           "ckpt_every": 100, **fields})))


def intra_stage(arch: str, out: Path, steps: int, init: str | None,
                threads: int = 1) -> Path:
    """Stage 0 (``RUN/q4i``): the I-frame codec alone on single frames, batch 8, half
    the crops from the photographs (as ``train_zoo.intra_stage`` for amgap-ssf): every
    B frame's references are I frames, and 3-frame clips give them a third of the
    steps. The top rate then starts from it."""
    return _stage(arch, out, "q4i", 400, steps, init, threads, strides=(1,), frames=1,
                  batch=8, still_share=0.5)


def flow_stage(arch: str, out: Path, steps: int, init: str | None,
               threads: int = 1) -> Path:
    """Stage ``RUN/q4f`` (LHBDC): SpyNet alone on its photometric loss
    (``objective="motion"``: each reference warped onto the B frame, and the references
    onto each other), batch 4, the top rate's clips; nothing else changes. The
    published LHBDC starts from a pretrained SpyNet; this is amgap's stand-in."""
    if arch != "lhbdc":
        raise SystemExit("--flow-steps: LHBDC only (AIVC codes its motion end to end)")
    return _stage(arch, out, "q4f", 450, steps, init, threads, strides=(1, 2, 4),
                  objective="motion", batch=4)


def zero_flows_init(arch: str, init: str | None, out: Path) -> Path:
    """``RUN/init.pth``: ``init`` with AIVC's flow outputs zeroed (``zero_flow_outputs``);
    its card names ``init``, so the shipped lineage goes on through it."""
    if arch != "aivc" or not init:
        raise SystemExit("--zero-flows: AIVC only, with --init")
    path = out / "init.pth"
    if not path.exists():  # a rerun (resume) keeps the first one
        loaded = load_checkpoint(init, arch=arch)
        zero_flow_outputs(loaded.model)
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, loaded.model, arch, loaded.model.config_dict(),
                        card={"steps": 0, "training": {"init": init},
                              "note": "MNet flow outputs zeroed (--zero-flows)"})
    return path


def intra_model_init(arch: str, init: str | None, out: Path, spec: str) -> Path:
    """``RUN/init_intra.pth``: ``init`` with its I frames coded by the model ``spec``
    names (config ``base``, e.g. ``amgap-ssf`` of each run's quality), its own intra codec
    dropped, every B-frame weight kept; its card names ``init`` for the lineage."""
    if arch != "lhbdc" or not init:
        raise SystemExit("--intra-model: LHBDC only, with --init")
    path = out / "init_intra.pth"
    if not path.exists():  # a rerun (resume) keeps the first one
        net = load_checkpoint(init, arch=arch).model
        net = net.over_intra_model(spec) if net.intra is not None else net
        out.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, net, arch, net.config_dict(),
                        card={"steps": 0, "training": {"init": init},
                              "note": f"I frames coded by {spec} (--intra-model)"})
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("arch", choices=sorted(BATCH))
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps-top", type=int, help="default: STEPS[arch][0]")
    ap.add_argument("--steps-ft", type=int, help="default: STEPS[arch][1]")
    ap.add_argument("--qualities", default="4,1", help="top first, then each fine-tuned "
                    "from the previous one")
    ap.add_argument("--warp-weight", type=float, default=0.0,
                    help="motion warm-up weight of the top-rate run (LHBDC: the warped "
                    "references; AIVC: the prediction). 0 let the motion latents of the "
                    "first shipped instances collapse")
    ap.add_argument("--warp-steps", type=int, default=0,
                    help="steps over which the warm-up weight falls to 0")
    ap.add_argument("--intra-steps", type=int, default=0,
                    help="train the top rate's I-frame codec alone first (RUN/q4i)")
    ap.add_argument("--init", help="checkpoint the first run starts from (default: "
                    "scratch; with --intra-steps, the I-frame stage starts from it, after "
                    "--zero-flows when given)")
    ap.add_argument("--zero-flows", action="store_true",
                    help="AIVC: restart MNet's flows at zero in --init (RUN/init.pth): "
                    "predictions start as copies of the references")
    ap.add_argument("--flow-steps", type=int, default=0,
                    help="LHBDC: train SpyNet alone on its photometric loss first "
                    "(RUN/q4f, after the I-frame stage); the top rate starts from it")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of every stage "
                    "(2 when nothing else runs on the 2 cores; resuming with another value "
                    "is exact up to float rounding)")
    ap.add_argument("--intra-model", help="LHBDC: code I frames with this model (e.g. "
                    "amgap-ssf, of each run's quality) instead of the net's own intra "
                    "codec, as the published test codes them with mbt2018-mean; from "
                    "--init (RUN/init_intra.pth), the B-frame nets train on over it")
    ap.add_argument("--lr", type=float, default=2e-4, help="peak learning rate of the "
                    "top-rate run (fine-tunes: half)")
    ap.add_argument("--seed", type=int, default=100, help="data seed of each quality's run "
                    "(plus the quality): another value gives a round from the same init "
                    "another data order")
    args = ap.parse_args()
    out = Path(args.out)
    prev: str | None = args.init
    if args.intra_model and args.intra_steps:
        raise SystemExit("--intra-model and --intra-steps: the named I-frame model is "
                         "frozen, there is no intra codec to train")
    if args.intra_model:
        prev = str(intra_model_init(args.arch, args.init, out, args.intra_model))
    if args.zero_flows:
        prev = str(zero_flows_init(args.arch, args.init, out))
    if args.intra_steps:
        prev = str(intra_stage(args.arch, out, args.intra_steps, prev, args.threads))
    if args.flow_steps:
        prev = str(flow_stage(args.arch, out, args.flow_steps, prev, args.threads))
    for i, q in enumerate(int(x) for x in args.qualities.split(",") if x):
        top, ft = STEPS[args.arch]
        steps = (args.steps_top or top) if i == 0 else (args.steps_ft or ft)
        cfg = config(args.arch, q, out, steps, prev, (args.warp_weight, args.warp_steps),
                     top=i == 0, threads=args.threads, lr=args.lr, seed=args.seed)
        prev = str(train(check_config(cfg)))


if __name__ == "__main__":
    main()
