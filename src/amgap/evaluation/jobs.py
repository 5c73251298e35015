"""One evaluation job: (video, GOP structure, quality, reparameterization mode).

A job encodes, decodes (checking every frame against the encoder's checksums) and
measures: bpp, PSNR (RGB and Y), MS-SSIM (RGB), encode/decode time, and the gap and
saving figures of ``amgap analyze``. Results are cached on disk by a hash of
(input bytes, model weights, settings): a re-run skips finished jobs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

__all__ = ["Job", "job_key", "run_job", "ms_ssim_rgb"]


@dataclass(frozen=True)
class Job:
    video: str  # path or sample name
    gop: str
    quality: int
    reparam: str
    model: str | None
    frames: int
    start: int
    cache_dir: str
    checkpoint: str | None = None  # with arch: a checkpoint file instead of a zoo model
    arch: str | None = None


def _file_digest(path: str) -> str:
    from ..io import is_sample, sample_path

    p = Path(path)
    if not p.exists() and is_sample(path):
        p = sample_path(path)
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(p.iterdir()):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    else:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def job_key(job: Job, weights_hash: str) -> str:
    from .._version import __version__

    skip = ("cache_dir", "video", "checkpoint", "arch")  # the weights hash names the model
    settings = {k: v for k, v in asdict(job).items() if k not in skip}
    blob = json.dumps({"input": _file_digest(job.video), "weights": weights_hash,
                       "settings": settings, "amgap": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def ms_ssim_rgb(a: torch.Tensor, b: torch.Tensor) -> float:
    """MS-SSIM (5 scales, standard weights) of two RGB frames in [0,1]. The usual 11-tap
    window needs a side above 160 px; smaller frames use the largest odd window that
    survives the 4 downsamplings (7 at QCIF), and single-scale SSIM below 49 px."""
    from pytorch_msssim import ms_ssim, ssim

    side = min(a.shape[-2:])
    x, y = a[None].clamp(0, 1), b[None].clamp(0, 1)
    win = 11
    while win > 3 and side <= (win - 1) * 16:
        win -= 2
    if side <= (win - 1) * 16:
        return float(ssim(x, y, data_range=1.0, win_size=min(win, side - (side + 1) % 2)))
    return float(ms_ssim(x, y, data_range=1.0, win_size=win))


def run_job(job: Job) -> dict:
    """Run (or load from the cache) one job; returns its result record."""
    torch.set_num_threads(1)
    from ..analysis.report import analyze_encoding
    from ..bitstream import parse
    from ..coding import decode_video, encode_video
    from ..io import open_video
    from ..models import resolve_model

    loaded = resolve_model(job.model, job.checkpoint, job.quality, job.arch)
    key = job_key(job, loaded.weights_hash.hex())
    path = Path(job.cache_dir) / f"{key}.json"
    if path.exists():
        rec = json.loads(path.read_text())
        rec["cached"] = True
        return rec
    reader = open_video(job.video)
    frames = list(reader.frames(job.start, job.frames))
    t = time.perf_counter()
    res = encode_video(frames, loaded, fps=reader.info.fps, num_frames=len(frames),
                       gop=job.gop, reparam=job.reparam,
                       measure_learned=job.reparam != "off", keep_recon=True)
    t_enc = time.perf_counter() - t
    data = res.to_bytes()
    header, records = parse(data)
    t = time.perf_counter()
    dec = decode_video(header, records, loaded)
    t_dec = time.perf_counter() - t
    rep = analyze_encoding(res)
    rep.pop("_totals")
    n = len(frames)
    rec = {
        "key": key, "video": job.video, "gop": job.gop, "quality": job.quality,
        "reparam": job.reparam, "model": loaded.name, "weights_hash": loaded.weights_hash.hex(),
        "frames": n, "width": header.width, "height": header.height, "bytes": len(data),
        "bpp": rep["bpp"], "psnr_rgb": rep["psnr_rgb"], "psnr_y": rep["psnr_y"],
        "ms_ssim_rgb": sum(ms_ssim_rgb(frames[i], dec.frames[i]) for i in range(n)) / n,
        "encoding_time": t_enc, "decoding_time": t_dec, "verified": dec.verified,
        "frame_types": rep["frame_types"], "cached": False,
    }
    os.makedirs(job.cache_dir, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec))
    os.replace(tmp, path)  # a killed run leaves no half-written result
    return rec
