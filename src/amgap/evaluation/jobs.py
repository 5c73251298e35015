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

from .._fs import atomic_write
from ..bitstream import container as _container

__all__ = ["Job", "job_key", "run_job"]

# Bumped when a metric's definition changes, so cached results are not mixed with new ones
# (2: MS-SSIM through amgap.metrics, labelled scales; PSNR-YUV added; 3: fps, kbps and
# per-frame results).
METRICS_VERSION = 3
# and with the container format: a job's rate is its file's bytes
BITSTREAM_VERSION = _container.VERSION


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
                       "settings": settings, "amgap": __version__,
                       "metrics": METRICS_VERSION, "format": BITSTREAM_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _per_frame(stats, pixels: int, fps: float) -> list[dict]:
    """Display-order rows: size, bpp, kbps at the clip's frame rate and every metric."""
    rows = []
    for st in sorted(stats, key=lambda s: s.display_index):
        q = st.quality
        rows.append({"index": st.display_index, "type": st.ftype.name,
                     "bytes": st.record_bytes, "bpp": st.record_bytes * 8 / pixels,
                     "kbps": st.record_bytes * 8 * fps / 1000, "psnr_rgb": st.psnr_rgb,
                     "psnr_y": st.psnr_y, "psnr_yuv": q.psnr_yuv if q else None,
                     "ms_ssim": q.ms_ssim if q else None})
    return rows


def run_job(job: Job) -> dict:
    """Run (or load from the cache) one job; returns its result record."""
    torch.set_num_threads(1)
    from ..analysis.report import analyze_encoding
    from ..bitstream import parse
    from ..coding import decode_video, encode_video
    from ..io import open_video
    from ..metrics import mean_quality
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
    quality = mean_quality(st.quality for st in res.stats)
    rec = {
        "key": key, "video": job.video, "gop": job.gop, "quality": job.quality,
        "reparam": job.reparam, "model": loaded.name, "weights_hash": loaded.weights_hash.hex(),
        "frames": n, "width": header.width, "height": header.height, "bytes": len(data),
        "bpp": rep["bpp"], "psnr_rgb": rep["psnr_rgb"], "psnr_y": rep["psnr_y"],
        # the encoder measured its reconstruction, which the decoder just verified is dec's
        "ms_ssim_rgb": quality["ms_ssim"], "ms_ssim_scales": quality["ms_ssim_scales"],
        "psnr_yuv": quality["psnr_yuv"], "fps": float(reader.info.fps),
        "kbps": len(data) * 8 * float(reader.info.fps) / n / 1000,
        "per_frame": _per_frame(res.stats, header.width * header.height,
                                float(reader.info.fps)),
        "encoding_time": t_enc, "decoding_time": t_dec, "verified": dec.verified,
        "frame_types": rep["frame_types"], "cached": False,
    }
    os.makedirs(job.cache_dir, exist_ok=True)
    atomic_write(path, json.dumps(rec))  # a killed run leaves no half-written result
    return rec
