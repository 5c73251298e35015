"""Dataset evaluation: jobs, engines (process pool, Dask), aggregated outputs."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from .bdrate import bd_rate
from .executors import run_jobs
from .jobs import Job, run_job
from .report import write_outputs

__all__ = ["evaluate", "expand_dataset", "Job", "run_job", "run_jobs", "bd_rate"]

VIDEO_SUFFIXES = {".y4m", ".yuv", ".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v"}


def expand_dataset(items: list[str]) -> list[str]:
    """Files and sample names as given; a folder of PNGs is one video; any other folder
    contributes its video files (sorted)."""
    from ..io import is_sample

    out = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            if any(f.suffix.lower() == ".png" for f in p.iterdir()):
                out.append(str(p))
            else:
                out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES)
        elif p.exists() or is_sample(item):
            out.append(item)
        else:
            raise UsageError(f"{item}: no such file, folder or sample")
    if not out:
        raise UsageError("the dataset holds no video")
    return out


def evaluate(items: list[str], *, model: str | None, gops: list[str], qualities: list[int],
             modes: list[str], frames: int, start: int, out: str, engine: str = "local",
             address: str | None = None, workers: int = 1, progress: bool = True,
             checkpoint: str | None = None, arch: str | None = None,
             metric: str = "psnr") -> dict:
    from tqdm import tqdm

    from ..models import resolve_model

    videos = expand_dataset(items)
    outdir = Path(out)
    cache = outdir / "jobs"
    jobs = [Job(v, g, q, m, model, frames, start, str(cache), checkpoint, arch)
            for v in videos for g in gops for q in qualities for m in modes]
    records = []
    for rec in tqdm(run_jobs(run_job, jobs, engine=engine, address=address, workers=workers),
                    total=len(jobs), desc="evaluate", unit="job", disable=not progress):
        records.append(rec)
    label = resolve_model(model, checkpoint, qualities[0], arch).name
    summary = write_outputs(records, outdir, label, metric)
    summary.update(jobs=len(jobs), cached=sum(r["cached"] for r in records),
                   videos=videos, metric=metric)
    return summary
