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
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from .._fs import atomic_path
from ..codecs.bflow import forward_b
from ..codecs.registry import get_codec
from ..models import load_base, load_checkpoint, save_checkpoint, weights_hash
from .data import DEFAULT_TRAINING_VIDEOS, ClipBank
from .lineage import lineage

__all__ = ["TrainConfig", "train", "rd_loss", "lr_factor"]


@dataclass
class TrainConfig:
    out: str
    arch: str = "ssf-slim"
    config: dict | None = field(default_factory=dict)  # None: the architecture's default
    lmbda: float = 0.0483
    steps: int = 1000
    batch: int = 4
    crop: int = 128
    frames: int | None = 2  # None: 3 for B-frame architectures, else 2; 1: I frames only
    lr: float = 1e-4
    aux_lr: float = 1e-3
    seed: int = 0
    videos: list[str] = field(default_factory=lambda: list(DEFAULT_TRAINING_VIDEOS))
    max_frames: int = 300
    init: str | None = None  # fine-tune from this checkpoint
    log_every: int = 25
    ckpt_every: int = 250
    threads: int = 0  # 0: torch default
    lr_drop: float = 0.85  # schedule "step": lr drops 10x for the last (1 - lr_drop) of the steps
    schedule: str = "step"  # "step" (above) or "cosine": linear warm-up, cosine decay
    warmup: int = 0  # steps of linear warm-up from lr/100 ("cosine")
    lr_min: float = 0.02  # "cosine" ends at lr * lr_min
    clip_grad: float = 1.0  # max gradient norm of the rate-distortion parameters
    stills: list[str] = field(default_factory=list)  # photographs (synthetic motion clips)
    still_share: float = 0.0  # probability that a training clip comes from a still
    scales: tuple[float, ...] = (1.0, 0.5)  # scales of the training videos
    quality: int = 0  # B models: quality of the zoo base model they extend
    strides: tuple[int, ...] = (1,)  # frame spacing of training clips (B: 1, 2, 4, 8)
    # motion warm-up (models whose training forward returns "warp_mse", e.g. LHBDC):
    # loss += w * lambda*255^2 * warp_mse, w falling linearly from warp_weight to 0 at
    # warp_steps (0: constant)
    warp_weight: float = 0.0
    warp_steps: int = 0
    # "rd": rate-distortion (every stage of the zoo but one); "motion": the model's
    # motion estimator alone on its photometric loss (``model.motion_loss(frames)``,
    # LHBDC's SpyNet before the joint training); nothing else is updated
    objective: str = "rd"
    # > 0: train for about this many seconds of wall time instead of ``steps``: from step
    # BUDGET_PROBE[1] on (the warm-up keeps the schedule independent of ``steps`` until
    # then) the run sets ``steps`` from its measured speed, again every 50 steps (single
    # process only: DDP ranks would disagree)
    wall_budget: float = 0.0


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


SCHEDULES = ("step", "cosine")
BUDGET_PROBE = (10, 60)  # a wall-budget run times itself from step 10, plans from step 60
OBJECTIVES = ("rd", "motion")


def lr_factor(cfg: TrainConfig, step: int) -> float:
    """Multiplier of the base learning rate at ``step`` (a pure function of the step, so a
    resumed run follows exactly the schedule of an uninterrupted one).

    Short CPU runs need a higher peak than CompressAI's constant 1e-4; the warm-up keeps the
    first steps of a high peak from blowing up the entropy models, the cosine decay does
    the fine convergence the old 10x drop did in one jump.
    """
    if cfg.schedule == "step":
        return 0.1 if step >= cfg.lr_drop * cfg.steps else 1.0
    if step < cfg.warmup:
        return 0.01 + 0.99 * step / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr_min + (1 - cfg.lr_min) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def warp_factor(cfg: TrainConfig, step: int) -> float:
    """Weight of the motion warm-up term at ``step`` (a pure function of the step)."""
    if not cfg.warp_weight:
        return 0.0
    if not cfg.warp_steps:
        return cfg.warp_weight
    return cfg.warp_weight * max(0.0, 1.0 - step / cfg.warp_steps)


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


@dataclass
class _Run:
    """Everything a training run carries from step to step (and saves to resume)."""

    model: nn.Module  # what is trained (a BFrameTrainer wraps B models)
    saved: nn.Module  # what the final checkpoint holds
    params: list
    aux_params: list
    opt: torch.optim.Optimizer
    aux_opt: torch.optim.Optimizer
    gen: torch.Generator
    step: int = 0
    wall: float = 0.0
    init_lineage: list | None = None  # the runs behind cfg.init, read while it is at hand
    run_id: str = field(default_factory=lambda: secrets.token_hex(6))  # kept on resume


def _build_model(cfg: TrainConfig) -> tuple[nn.Module, nn.Module, dict | None]:
    """(what is trained, what is saved, the init checkpoint's card)."""
    arch = get_codec(cfg.arch)
    init = load_checkpoint(cfg.init, quality=cfg.quality, arch=cfg.arch) if cfg.init else None
    model = init.model if init else arch.build(cfg.config)
    card = (init.card or {}) if init else None
    if cfg.objective == "motion" and not hasattr(model, "motion_loss"):
        from ..errors import UsageError
        raise UsageError(f"objective 'motion': {cfg.arch} has no motion estimator to "
                         "train alone (no motion_loss)")
    if arch.base_default is None:
        spec = (cfg.config or {}).get("base")
        if spec and hasattr(model, "attach_intra"):  # LHBDC over a named I-frame model
            model = _over_intra_model(model, load_base(spec, cfg.quality).model, spec)
        return model, model, card
    if cfg.frames != 3:
        raise ValueError("B-frame training uses clips of 3 frames (ref0, B, ref1)")
    base = load_base(cfg.config.get("base", arch.base_default), cfg.quality).model
    return BFrameTrainer(base, model), model, card


def _over_intra_model(model: nn.Module, intra_model: nn.Module, spec: str) -> nn.Module:
    """``model`` with its I frames coded by the frozen ``intra_model``; a net that has an
    intra codec of its own (e.g. ``--init`` from one), or codes them with another model,
    keeps every other weight."""
    if model.intra is not None or model.config.base != spec:  # own intra, or another
        model = model.over_intra_model(spec)
    if not model._external:
        model.attach_intra(intra_model)
    return model


def _start(cfg: TrainConfig, device: torch.device, rank: int) -> _Run:
    torch.manual_seed(cfg.seed)
    model, saved, init_card = _build_model(cfg)
    chain = lineage(cfg.init, init_card) if cfg.init else None
    model.to(device).train()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    params = [p for n, p in trainable if not n.endswith(".quantiles")]
    aux_params = [p for n, p in trainable if n.endswith(".quantiles")]
    return _Run(model, saved, params, aux_params, torch.optim.Adam(params, lr=cfg.lr),
                torch.optim.Adam(aux_params, lr=cfg.aux_lr),
                torch.Generator().manual_seed(cfg.seed * 1000 + rank), init_lineage=chain)


def _resume(run: _Run, out: Path, device: torch.device, rank: int) -> dict:
    """Restore model, optimizers, step, data and noise RNGs; trim the log to the step.
    Returns the configuration the state was saved with."""
    st = torch.load(out / "state.pt", map_location=device, weights_only=False)
    run.model.load_state_dict(st["model"])
    run.opt.load_state_dict(st["opt"])
    run.aux_opt.load_state_dict(st["aux_opt"])
    run.step, run.wall = st["step"], st["wall"]
    run.run_id = st.get("run_id", run.run_id)
    gen_state = st["gen"]
    run.gen.set_state(gen_state[rank] if isinstance(gen_state, list) else gen_state)
    if "torch_rng" in st:  # quantization noise draws from the global generator
        torch.set_rng_state(st["torch_rng"])
    log_path = out / "log.jsonl"
    if rank == 0 and log_path.exists():  # drop records past the checkpoint we resume
        kept = [ln for ln in log_path.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] <= run.step]
        log_path.write_text("".join(ln + "\n" for ln in kept))
    return st.get("config", {})


def _save_state(run: _Run, cfg: TrainConfig, out: Path) -> None:
    with atomic_path(out / "state.pt") as tmp:
        torch.save({"model": run.model.state_dict(), "opt": run.opt.state_dict(),
                    "aux_opt": run.aux_opt.state_dict(), "step": run.step, "wall": run.wall,
                    "gen": run.gen.get_state(), "torch_rng": torch.get_rng_state(),
                    "config": asdict(cfg), "run_id": run.run_id}, tmp)


def _ddp_forward(run: _Run, device: torch.device) -> nn.Module:
    # DDP syncs the rate-distortion gradients; the EntropyBottleneck quantiles only
    # get gradients from the auxiliary loss (outside DDP's forward), so DDP ignores
    # them and their gradients are averaged by hand. DDP broadcasts rank 0's weights.
    DDP._set_params_and_buffers_to_ignore_for_model(
        run.model, [n for n, _ in run.model.named_parameters() if n.endswith(".quantiles")])
    for p in run.aux_params:
        dist.broadcast(p.data, 0)
    return DDP(run.model, device_ids=[device.index] if device.type == "cuda" else None)


def _motion_step(run: _Run, cfg: TrainConfig, frames: list, world: int) -> dict[str, float]:
    """One step of ``objective="motion"``: only the parameters its loss reaches get a
    gradient (Adam leaves the others, whose gradient stays ``None``, untouched). It
    calls ``motion_loss`` on the model itself, not through DDP's forward, so under
    DDP its gradients are averaged by hand, as the aux loss's are."""
    mse = run.model.motion_loss(frames)
    (cfg.lmbda * 255 ** 2 * mse).backward()  # the warm-up term's scale (clip_grad)
    if world > 1:
        _average_grads(run.params, world)
    torch.nn.utils.clip_grad_norm_(run.params, cfg.clip_grad)
    run.opt.step()
    run.step += 1
    mse = float(mse.detach())
    return {"loss": cfg.lmbda * 255 ** 2 * mse, "mse": mse, "bpp": 0.0, "aux": 0.0}


def _train_step(run: _Run, cfg: TrainConfig, forward: nn.Module, frames: list,
                world: int) -> dict[str, float]:
    for g in run.opt.param_groups:
        g["lr"] = cfg.lr * lr_factor(cfg, run.step)
    run.opt.zero_grad(set_to_none=True)
    run.aux_opt.zero_grad(set_to_none=True)
    if cfg.objective == "motion":
        return _motion_step(run, cfg, frames, world)
    out = forward(frames)
    res = rd_loss(out, frames, cfg.lmbda)
    w = warp_factor(cfg, run.step)
    if w and "warp_mse" in out:
        res["loss"] = res["loss"] + w * cfg.lmbda * 255 ** 2 * out["warp_mse"]
    res["loss"].backward()
    aux = run.model.aux_loss()
    aux = sum(aux) if isinstance(aux, list) else aux
    aux.backward()
    if world > 1:
        _average_grads(run.aux_params, world)
    torch.nn.utils.clip_grad_norm_(run.params, cfg.clip_grad)
    run.opt.step()
    run.aux_opt.step()
    run.step += 1
    rec = {**{k: float(res[k].detach()) for k in ("loss", "mse", "bpp")},
           "aux": float(aux.detach())}
    if "warp_mse" in out:  # how well the flows alone predict the B frames
        rec["warp_mse"] = float(out["warp_mse"].detach())
    return rec


class _Log:
    """Averages step figures and appends one JSON line every ``every`` steps (rank 0)."""

    def __init__(self, path: Path | None, every: int):
        self.fh = open(path, "a") if path else None  # closed by close()
        self.every, self.acc, self.n = every, {}, 0

    def add(self, rec: dict[str, float], run: _Run, cfg: TrainConfig) -> dict | None:
        self.acc = {k: self.acc.get(k, 0.0) + v for k, v in rec.items()}
        self.n += 1
        if not self.fh or (run.step % self.every and run.step != cfg.steps):
            return None
        mean = {k: v / self.n for k, v in self.acc.items()}
        mean["psnr"] = -10 * math.log10(max(mean["mse"], 1e-10))
        mean.update(step=run.step, wall_s=round(run.wall, 1),
                    lr=cfg.lr * lr_factor(cfg, run.step - 1))
        self.fh.write(json.dumps(mean) + "\n")
        self.fh.flush()
        self.acc, self.n = {}, 0
        return mean

    def close(self) -> None:
        if self.fh:
            self.fh.close()


def _loop(run: _Run, cfg: TrainConfig, out: Path, forward: nn.Module, bank: ClipBank,
          rank: int, world: int, progress: bool) -> None:
    device = next(run.model.parameters()).device
    log = _Log(out / "log.jsonl" if rank == 0 else None, cfg.log_every)
    bar = tqdm(total=cfg.steps, initial=run.step, desc=f"train λ={cfg.lmbda}", unit="step",
               disable=not progress or rank != 0)
    t_last = time.perf_counter()
    mark = (run.step, run.wall)  # where the speed of a wall-budget run is timed from
    try:
        while run.step < cfg.steps:
            frames = [f.to(device) for f in bank.sample(run.gen, cfg.batch, cfg.frames,
                                                         cfg.crop, tuple(cfg.strides))]
            rec = _train_step(run, cfg, forward, frames, world)
            bar.update(1)
            now = time.perf_counter()
            run.wall, t_last = run.wall + now - t_last, now
            if cfg.wall_budget:
                mark = _plan_steps(cfg, run, mark)
                bar.total = cfg.steps
            mean = log.add(rec, run, cfg)
            if mean:
                bar.set_postfix(bpp=f"{mean['bpp']:.3f}", psnr=f"{mean['psnr']:.2f}")
            if rank == 0 and (run.step % cfg.ckpt_every == 0 or run.step == cfg.steps):
                _save_state(run, cfg, out)
    finally:
        bar.close()
        log.close()


def _plan_steps(cfg: TrainConfig, run: _Run, mark: tuple[int, float]) -> tuple[int, float]:
    """Re-plan ``steps`` of a wall-budget run from its speed since ``mark`` (every
    BUDGET_PROBE[1] - BUDGET_PROBE[0] steps from step BUDGET_PROBE[1] on), so that it ends
    on time when the machine's load changes (other runs starting or ending beside it).
    The first BUDGET_PROBE[0] steps pay one-off costs (CUDA kernel selection, allocator
    growth) and are not timed. Returns the new mark."""
    lo, hi = BUDGET_PROBE
    if run.step <= lo:
        return (run.step, run.wall)
    if run.step < hi or run.step - mark[0] < hi - lo:
        return mark
    per_step = max(1e-6, (run.wall - mark[1]) / (run.step - mark[0]))
    cfg.steps = run.step + max(1, int((cfg.wall_budget - run.wall) / per_step))
    return (run.step, run.wall)


def _finish(run: _Run, cfg: TrainConfig, out: Path, bank: ClipBank, rank: int,
            world: int) -> Path:
    if world > 1:  # the whole point of DDP: every rank ends with the same weights
        hashes: list = [None] * world
        dist.all_gather_object(hashes, weights_hash(run.saved).hex())
        if rank == 0:
            (out / "ranks.json").write_text(json.dumps({"world_size": world,
                                                        "weights_hash": hashes}))
    final = out / "final.pth"
    if rank == 0:
        _save_weights(final, run, cfg, bank.sources, world)
    if world > 1:
        dist.barrier()
    return final


def _save_weights(path: Path, run: _Run, cfg: TrainConfig, sources, world: int) -> None:
    """The trained weights as a checkpoint (entropy tables rebuilt) with their card."""
    saved = run.saved.eval().cpu()
    saved.update(force=True)
    config = getattr(saved, "config_dict", dict)()
    if get_codec(cfg.arch).base_default is not None and (cfg.config or {}).get("base"):
        config["base"] = cfg.config["base"]  # the base it was trained over, not its init's
    card = {"arch": cfg.arch, "config": config,
            "lambda": cfg.lmbda, "steps": run.step, "wall_s": round(run.wall, 1),
            "run_id": run.run_id,
            "training": {**asdict(cfg), "sources": sources, "world_size": world},
            "init_lineage": run.init_lineage}
    save_checkpoint(path, saved, cfg.arch, card["config"], card)


def snapshot(run_dir: str | os.PathLike) -> Path:
    """A checkpoint of a run in progress, from its last ``state.pt`` (the step it saved),
    as ``RUN/snapshot-STEP.pth``: learning curves of runs that span sessions."""
    out = Path(run_dir)
    st = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
    cfg = TrainConfig(**st["config"])
    run = _start(cfg, torch.device("cpu"), 0)
    run.model.load_state_dict(st["model"])
    run.step, run.wall = st["step"], st["wall"]
    run.run_id = st.get("run_id", run.run_id)
    path = out / f"snapshot-{run.step}.pth"
    _save_weights(path, run, cfg, None, 1)
    return path


SLIM_WIDTHS = {"mid": 64, "latent": 64, "hyper": 48, "hyper_depth": 2}  # CLI default


def _check_sources(cfg: TrainConfig) -> None:
    """The default training videos come from packages: name the missing one now."""
    from ..errors import VideoFormatError
    from ..io.samples import is_sample, sample_path

    if list(cfg.videos) != list(DEFAULT_TRAINING_VIDEOS):
        return
    for v in cfg.videos:
        if is_sample(v):
            try:
                sample_path(v)
            except VideoFormatError as exc:
                raise VideoFormatError(f"default training video: {exc}; or pass --videos "
                                       "FILE ...") from exc


def check_config(cfg: TrainConfig) -> TrainConfig:
    """Everything :func:`train` would fail on later, checked before any work (one line
    each): the architecture, its widths, the clip length B frames need, the sources.
    Returns ``cfg`` with the architecture's defaults filled in."""
    from ..errors import ModelError, UsageError

    try:
        arch = get_codec(cfg.arch)
    except (KeyError, ModelError) as exc:
        raise UsageError(str(exc).strip("'\"")) from exc
    if arch.intra_only:
        raise UsageError(f"amgap train trains video architectures (frame chains); train "
                         f"{cfg.arch} with CompressAI's examples/train.py and load the result "
                         "with --checkpoint PATH --arch NAME")
    if cfg.steps < 1 or cfg.batch < 1 or cfg.crop < 16 or cfg.lr <= 0 or cfg.max_frames < 2:
        raise UsageError("--steps and --batch must be >= 1, --crop >= 16, --lr > 0 and "
                         "--max-frames >= 2")
    if cfg.config is None:
        cfg.config = dict(SLIM_WIDTHS) if cfg.arch in ("ssf-slim", "bflow-slim") else {}
    if cfg.arch == "ssf-slim" and not cfg.init:  # flow in crop units, valid at any size
        cfg.config.setdefault("flow_ref", cfg.crop)
    need = 3 if arch.base_default is not None else None
    if cfg.frames is None:
        cfg.frames = need or 2
    elif need is not None and cfg.frames != need:
        raise UsageError(f"{cfg.arch} trains on clips of 3 frames (ref0, B, ref1): use "
                         "--clip-frames 3 or leave it out")
    elif cfg.frames < 1:  # 1: I frames only (the keyframe codec's own training stage)
        raise UsageError("--clip-frames must be >= 1 (1 trains the I-frame codec alone)")
    widths = {k: v for k, v in cfg.config.items() if k != "base"}
    if not cfg.init:
        try:
            arch.build(cfg.config)
        except (TypeError, ValueError, KeyError) as exc:
            raise UsageError(f"{cfg.arch} does not take --width-config "
                             f"{','.join(f'{k}={v}' for k, v in widths.items())} "
                             f"({str(exc).splitlines()[0][:120]})") from exc
    if cfg.wall_budget and cfg.schedule == "cosine" and cfg.warmup < BUDGET_PROBE[1]:
        raise UsageError(f"a wall-budget run plans its steps from step {BUDGET_PROBE[1]}: its "
                         f"warm-up must last that long (--warmup >= {BUDGET_PROBE[1]})")
    if cfg.objective not in OBJECTIVES:
        raise UsageError(f"unknown objective {cfg.objective!r} (known: "
                         f"{', '.join(OBJECTIVES)})")
    if cfg.objective == "motion" and cfg.frames != 3:
        raise UsageError("objective 'motion' trains on clips of 3 frames (before, x, after)")
    _check_sources(cfg)
    return cfg


def train(cfg: TrainConfig, progress: bool = True) -> Path:
    """Train (or resume) into ``cfg.out``; returns the final checkpoint path."""
    cfg = check_config(cfg)
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {cfg.schedule!r} (known: {', '.join(SCHEDULES)})")
    rank, world = _dist()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}"
                          if torch.cuda.is_available() else "cpu")
    if cfg.wall_budget and world > 1:
        from ..errors import UsageError
        raise UsageError("a wall-budget run is a single process (DDP ranks would plan "
                         "different step counts)")
    if cfg.wall_budget:  # provisional, planned from the measured speed (_plan_steps)
        cfg.steps = 10 ** 9
    run = _start(cfg, device, rank)
    if (out / "state.pt").exists():
        saved = _resume(run, out, device, rank)
        if cfg.wall_budget and run.step >= BUDGET_PROBE[1]:
            cfg.steps = saved["steps"]
    forward = _ddp_forward(run, device) if world > 1 else run.model
    bank = ClipBank(cfg.videos, max_frames=cfg.max_frames, min_size=cfg.crop,
                    scales=cfg.scales, stills=cfg.stills, still_share=cfg.still_share)
    _loop(run, cfg, out, forward, bank, rank, world, progress)
    return _finish(run, cfg, out, bank, rank, world)
