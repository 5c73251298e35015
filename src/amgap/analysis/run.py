"""``amgap analyze``: encode each (video, quality), measure the gap, write all outputs."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..coding import encode_video
from ..io import VideoReader, open_video
from ..models import make_codec, resolve_model
from .figures import plot_gap_vs_rate, plot_histograms
from .report import EncodingAnalysis, TableHistograms, merge_totals
from .table1 import table1_csv, table1_markdown

__all__ = ["run_analysis", "video_labels", "check_out_folder", "OWN_OUTPUT"]

# The files ``amgap analyze`` writes: a folder holding only these (or nothing) is an
# earlier analysis and may be replaced; anything else in --out is a user's file.
METRIC_KEYS = ("psnr_rgb", "psnr_y", "psnr_yuv", "ms_ssim")
OWN_OUTPUT = re.compile(r"^(report\.json|table1\.(md|csv)|fig[12]_.*\.png)$")


def _label_parts(path: str) -> tuple[str, ...]:
    if not os.path.exists(path) and os.sep not in path:
        return (path,)  # a sample name
    p = Path(os.path.abspath(path))
    return (*[x for x in p.parent.parts if x != p.anchor], p.stem)


def video_labels(inputs: list[str]) -> list[str]:
    """One label per input: the shortest path suffix no other input shares (``A/frames``
    and ``B/frames`` stay two videos); an input given twice gets ``#2``. Never merged."""
    parts = [_label_parts(p) for p in inputs]
    labels = []
    for i, mine in enumerate(parts):
        others = [q for j, q in enumerate(parts) if j != i and q != mine]
        k = next((k for k in range(1, len(mine) + 1)
                  if all(q[-k:] != mine[-k:] for q in others)), len(mine))
        labels.append("/".join(mine[-k:]))
    seen: Counter[str] = Counter()
    out = []
    for lab in labels:
        seen[lab] += 1
        out.append(lab if seen[lab] == 1 else f"{lab}#{seen[lab]}")
    return out


def _file_label(label: str) -> str:
    """A video label as part of a file name (``A/frames`` -> ``A_frames``)."""
    return re.sub(r"[^\w.#+-]", "_", label)


def check_out_folder(out: str | os.PathLike) -> None:
    """Refuse, before any work, an ``--out`` that is a file or holds files amgap analyze
    did not write (they would be lost when the new outputs are moved into place)."""
    from ..errors import UsageError

    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise UsageError(f"{out}: exists and is not a folder")
    foreign = sorted(f for f in os.listdir(out) if not OWN_OUTPUT.match(f))
    if foreign:
        raise UsageError(f"{out}: holds files amgap analyze did not write ({foreign[0]}); "
                         "give a new folder, an empty one, or an earlier analysis")


def _mean_metrics(frames: list[dict]) -> dict:
    """Every metric averaged over all frames of all videos (PSNRs in dB, as CompressAI)."""
    out = {}
    for k in METRIC_KEYS:
        vals = [f[k] for f in frames]
        out[k] = None if not vals or None in vals else float(sum(vals) / len(vals))
    return out


def _fig2_point(bpp: float, ftypes: dict) -> dict:
    video = ftypes["Video"]
    point = {"bpp": bpp, "gap": video["gap"],
             "info": {k: v["gap"] for k, v in video["info"].items() if v["bits"] > 0}}
    if "saving" in video:
        point["saving"] = video["saving"]
    return point


def _write_table1(outdir: Path, scopes: dict[str, dict]) -> None:
    """``table1.md`` (with its legend) and ``table1.csv``, one section per scope."""
    md = ["# Table I: amortization gap (%)", "",
          "Ratio = share of the bits of the frames of that type; Gap = (L - L*)/L, "
          "L* = histogram limit; Bias = E[L - L*] if the symbols followed the learned "
          "pmfs; Mismatch = Gap - Bias; ± = standard error over frames (delta method); "
          "Saving/Gap and Saving/Mismatch = closures; Padded bits = share of the bits "
          "coded at replicate-padded latent positions. Definitions: docs/analysis.md.", ""]
    for scope, res in scopes.items():
        md.append(table1_markdown(res, title=scope))
    (outdir / "table1.md").write_text("\n".join(md))
    (outdir / "table1.csv").write_text(table1_csv(scopes))


@dataclass
class _Job:
    """What every (video, quality) encoding of one analysis shares."""

    gop: str
    gop_size: int
    n_frames: int
    start: int
    reparam: str
    outdir: Path


def _analyze_video(reader: VideoReader, label: str, loaded, pad: int | None, job: _Job) -> dict:
    """Encode one video at one quality, segment by segment, counting each segment's
    symbols and releasing them; write its Fig. 1; its report entry (``_totals`` kept)."""
    hist = TableHistograms()
    acc = EncodingAnalysis(hist, pad)
    res = encode_video(reader.frames(job.start, job.n_frames), loaded, fps=reader.info.fps,
                       num_frames=job.n_frames, gop=job.gop, gop_size=job.gop_size,
                       reparam=job.reparam, measure_learned=job.reparam != "off",
                       keep_streams=False, on_segment=acc.add)
    rep = acc.report(res)
    q = loaded.quality
    rep.update(model=loaded.name, quality=q, weights_hash=loaded.weights_hash.hex())
    plot_histograms(hist, str(job.outdir / f"fig1_{_file_label(label)}_q{q}.png"),
                    f"{label}, {loaded.name} q{q}: learned pmf vs symbols "
                    f"({res.header.num_frames} frames, GOP {job.gop}/{job.gop_size})")
    return rep


def _dataset_entry(reps: list[dict]) -> dict:
    """The ``dataset`` entry of one quality: pixel-weighted bpp, mean metrics, gaps."""
    tot = merge_totals([r["_totals"] for r in reps])
    pix = [r["frames"] * r["width"] * r["height"] for r in reps]
    bpp = sum(r["bpp"] * p for r, p in zip(reps, pix, strict=True)) / sum(pix)
    return {"bpp": bpp, **_mean_metrics([f for r in reps for f in r["per_frame"]]),
            "frame_types": {t: g.to_json() for t, g in tot.items()}}


def _write_figures(outdir: Path, report: dict, model_name: str, qualities: list[int]) -> None:
    """Table I (dataset first, then each video) and Fig. 2 (gap against rate)."""
    dataset, videos = report["dataset"], report["videos"]
    scopes = {"all videos": {f"{model_name} q{q}": dataset[f"q{q}"]["frame_types"]
                             for q in qualities}}
    for label, per_q in videos.items():
        scopes[label] = {f"{model_name} q{q}": per_q[f"q{q}"]["frame_types"] for q in qualities}
    _write_table1(outdir, scopes)
    plot_gap_vs_rate([_fig2_point(dataset[f"q{q}"]["bpp"], dataset[f"q{q}"]["frame_types"])
                      for q in qualities], str(outdir / "fig2_all.png"),
                     f"Gap vs rate, all videos ({model_name})")
    for label, per_q in videos.items():
        plot_gap_vs_rate([_fig2_point(per_q[f"q{q}"]["bpp"], per_q[f"q{q}"]["frame_types"])
                          for q in qualities], str(outdir / f"fig2_{_file_label(label)}.png"),
                         f"Gap vs rate, {label} ({model_name})")


def run_analysis(inputs: list[str], *, model: str | None, checkpoint: str | None,
                 qualities: list[int], gop: str, gop_size: int, frames_per_gop: int,
                 gops: int, start: int, out: str, progress: bool = True,
                 reparam: str = "optimal", arch: str | None = None) -> dict:
    """Encode every (input, quality), measure the gap, write report.json, Table I and the
    figures into ``out``; the report. Each input is read one segment at a time."""
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    job = _Job(gop, gop_size, gops * frames_per_gop, start, reparam, outdir)
    loaded_models = {q: resolve_model(model, checkpoint, q, arch) for q in qualities}
    pad = {q: getattr(make_codec(m), "pad_multiple", None) for q, m in loaded_models.items()}
    labels = video_labels(inputs)  # unique: two inputs are never merged into one row
    jobs = [(v, label, q) for v, label in zip(inputs, labels, strict=True) for q in qualities]
    videos: dict[str, dict] = {}
    per_quality: dict[int, list[dict]] = {q: [] for q in qualities}
    readers: dict[str, VideoReader] = {}
    bar = tqdm(jobs, desc="analyze", unit="job", disable=not progress)
    for path, label, q in bar:
        bar.set_postfix_str(f"{label} q{q}")
        if path not in readers:
            readers[path] = open_video(path)
        reader = readers[path]
        rep = _analyze_video(reader, label, loaded_models[q], pad[q], job)
        per_quality[q].append(rep)
        videos.setdefault(label, {})[f"q{q}"] = rep
    dataset = {f"q{q}": _dataset_entry(per_quality[q]) for q in qualities}
    for rep in (r for reps in per_quality.values() for r in reps):
        rep.pop("_totals")
    report = {
        "settings": {"gop": gop, "gop_size": gop_size, "frames_per_gop": frames_per_gop,
                     "reparam": reparam, "gops": gops, "start": start,
                     "qualities": qualities, "model": model, "checkpoint": checkpoint},
        "videos": videos, "dataset": dataset,
    }
    with open(outdir / "report.json", "w") as fh:
        json.dump(report, fh, indent=1)
    _write_figures(outdir, report, next(iter(loaded_models.values())).name, qualities)
    return report
