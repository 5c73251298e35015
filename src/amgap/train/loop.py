"""Rate-distortion training of amgap's codecs (CompressAI conventions).

Loss ``lambda * 255^2 * MSE + bpp`` over a chain of T frames coded as at test time
(I frame, then P frames that reference the previous *decoded* frame, with the
reference detached as in SSF), plus the EntropyBottleneck auxiliary loss on its own
optimizer. Runs alone or under ``torchrun`` (DDP: gloo on CPU, NCCL on GPU).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from ..codecs.bflow import forward_b
from ..codecs.registry import get_codec
from ..models import load_base, load_checkpoint, save_checkpoint, weights_hash
from .data import DEFAULT_TRAINING_VIDEOS, ClipBank

__all__ = ["TrainConfig", "train", "rd_loss"]


@dataclass
class TrainConfig:
    out: str
    arch: str = "ssf-slim"
    config: dict = field(default_factory=dict)
    lmbda: float = 0.0483
    steps: int = 1000
    batch: int = 4
    crop: int = 128
    frames: int = 2
    lr: float = 1e-4
    aux_lr: float = 1e-3
    seed: int = 0
    videos: list[str] = field(default_factory=lambda: list(DEFAULT_TRAINING_VIDEOS))
    max_frames: int = 300
    init: str | None = None  # fine-tune from this checkpoint
    log_every: int = 25
    ckpt_every: int = 250
    threads: int = 0  # 0: torch default
    lr_drop: float = 0.85  # learning rates drop 10x for the last (1 - lr_drop) of the steps
    quality: int = 0  # B models: quality of the zoo base model they extend
    strides: tuple[int, ...] = (1,)  # frame spacing of training clips (B: 1, 2, 4, 8)


class BFrameTrainer(nn.Module):
    """Trains a B-frame motion VAE on (ref0, cur, ref1) clips over a frozen I/P base.

    References are the base model's (noisy, training-mode) I-frame reconstructions; the
    loss counts the B frame's motion and residual rates and its distortion.
    """

    def __init__(self, base: nn.Module, bmodel: nn.Module):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.bmodel = bmodel

    def forward(self, frames: list[torch.Tensor]) -> dict:
        with torch.no_grad():
            ref0 = self.base.forward_keyframe(frames[0])[0]
            ref1 = self.base.forward_keyframe(frames[2])[0]
        x_hat, lk = forward_b(self.base, self.bmodel, frames[1], ref0, ref1)
        return {"x_hat": [x_hat], "likelihoods": [lk], "targets": [frames[1]]}

    def aux_loss(self):
        return self.bmodel.aux_loss()


def rd_loss(out: dict, frames: list[torch.Tensor], lmbda: float) -> dict[str, torch.Tensor]:
    """``lambda*255^2*MSE + bpp`` averaged over the coded frames of the chain (``targets``
    when the model codes only some of the frames it sees)."""
    frames = out.get("targets", frames)
    n, _, h, w = frames[0].shape
    num_pixels = n * h * w * len(frames)
    bits = 0.0
    for lk in out["likelihoods"]:
        for part in lk.values():
            for v in part.values():
                bits = bits + torch.log(v).sum() / -math.log(2)
    mse = sum(torch.mean((xh - x) ** 2) for xh, x in zip(out["x_hat"], frames, strict=True)) \
        / len(frames)
    bpp = bits / num_pixels
    return {"loss": lmbda * 255 ** 2 * mse + bpp, "mse": mse, "bpp": bpp}


def _dist() -> tuple[int, int]:
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        if not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _average_grads(params, world: int) -> None:
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world


def train(cfg: TrainConfig, progress: bool = True) -> Path:
    """Train (or resume) into ``cfg.out``; returns the final checkpoint path."""
    rank, world = _dist()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}"
                          if torch.cuda.is_available() else "cpu")
    if cfg.init:
        model = load_checkpoint(cfg.init, quality=cfg.quality, arch=cfg.arch).model
    else:
        model = get_codec(cfg.arch).build(cfg.config)
    saved = model  # what the final checkpoint holds
    if get_codec(cfg.arch).base_default is not None:
        if cfg.frames != 3:
            raise ValueError("B-frame training uses clips of 3 frames (ref0, B, ref1)")
        base = load_base(cfg.config.get("base", get_codec(cfg.arch).base_default),
                         cfg.quality).model
        model = BFrameTrainer(base, model)
    model.to(device).train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for n, p in trainable if not n.endswith(".quantiles")]
    aux_params = [p for n, p in trainable if n.endswith(".quantiles")]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    aux_opt = torch.optim.Adam(aux_params, lr=cfg.aux_lr)
    state_path = out / "state.pt"
    step, wall = 0, 0.0
    if state_path.exists():  # resume
        st = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        aux_opt.load_state_dict(st["aux_opt"])
        step, wall = st["step"], st["wall"]
        gen_state = st["gen"]
        log_path = out / "log.jsonl"
        if rank == 0 and log_path.exists():  # drop records past the checkpoint we resume
            kept = [ln for ln in log_path.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["step"] <= step]
            log_path.write_text("".join(ln + "\n" for ln in kept))
    else:
        gen_state = None
    forward = model
    if world > 1:
        # DDP syncs the rate-distortion gradients; the EntropyBottleneck quantiles only
        # get gradients from the auxiliary loss (outside DDP's forward), so DDP ignores
        # them and their gradients are averaged by hand. DDP broadcasts rank 0's weights.
        DDP._set_params_and_buffers_to_ignore_for_model(
            model, [n for n, _ in model.named_parameters() if n.endswith(".quantiles")])
        for p in aux_params:
            dist.broadcast(p.data, 0)
        forward = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    bank = ClipBank(cfg.videos, max_frames=cfg.max_frames, min_size=cfg.crop)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
    if gen_state is not None:
        gen.set_state(gen_state[rank] if isinstance(gen_state, list) else gen_state)
    log = open(out / "log.jsonl", "a") if rank == 0 else None
    bar = tqdm(total=cfg.steps, initial=step, desc=f"train λ={cfg.lmbda}", unit="step",
               disable=not progress or rank != 0)
    acc = {"loss": 0.0, "mse": 0.0, "bpp": 0.0, "aux": 0.0, "n": 0}
    t_last = time.perf_counter()
    while step < cfg.steps:
        scale = 0.1 if step >= cfg.lr_drop * cfg.steps else 1.0
        for g in opt.param_groups:
            g["lr"] = cfg.lr * scale
        frames = [f.to(device) for f in bank.sample(gen, cfg.batch, cfg.frames, cfg.crop,
                                                     tuple(cfg.strides))]
        opt.zero_grad(set_to_none=True)
        aux_opt.zero_grad(set_to_none=True)
        res = rd_loss(forward(frames), frames, cfg.lmbda)
        res["loss"].backward()
        aux = model.aux_loss()
        aux = sum(aux) if isinstance(aux, list) else aux
        aux.backward()
        if world > 1:
            _average_grads(aux_params, world)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        aux_opt.step()
        step += 1
        bar.update(1)
        for k in ("loss", "mse", "bpp"):
            acc[k] += float(res[k].detach())
        acc["aux"] += float(aux.detach())
        acc["n"] += 1
        now = time.perf_counter()
        wall += now - t_last
        t_last = now
        if log and (step % cfg.log_every == 0 or step == cfg.steps):
            n = acc.pop("n")
            rec = {k: v / n for k, v in acc.items()}
            rec["psnr"] = -10 * math.log10(max(rec["mse"], 1e-10))
            rec.update(step=step, wall_s=round(wall, 1))
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.set_postfix(bpp=f"{rec['bpp']:.3f}", psnr=f"{rec['psnr']:.2f}")
            acc = {"loss": 0.0, "mse": 0.0, "bpp": 0.0, "aux": 0.0, "n": 0}
        if rank == 0 and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            gens = gen.get_state()
            tmp = out / "state.pt.tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "aux_opt": aux_opt.state_dict(), "step": step, "wall": wall,
                        "gen": gens, "config": asdict(cfg)}, tmp)
            os.replace(tmp, state_path)
    bar.close()
    if world > 1:  # the whole point of DDP: every rank ends with the same weights
        hashes: list = [None] * world
        dist.all_gather_object(hashes, weights_hash(saved).hex())
        if rank == 0:
            (out / "ranks.json").write_text(json.dumps({"world_size": world,
                                                        "weights_hash": hashes}))
    final = out / "final.pth"
    if rank == 0:
        saved.eval().cpu()
        saved.update(force=True)
        card = {"arch": cfg.arch, "config": getattr(saved, "config_dict", dict)(),
                "lambda": cfg.lmbda, "steps": step, "wall_s": round(wall, 1),
                "training": {**asdict(cfg), "sources": bank.sources, "world_size": world}}
        save_checkpoint(final, saved, cfg.arch, card["config"], card)
    if world > 1:
        dist.barrier()
    return final
