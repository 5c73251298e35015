"""``amgap analyze``: encode each (video, quality), measure the gap, write all outputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tqdm import tqdm

from ..coding import encode_video
from ..io import open_video
from ..models import make_codec, resolve_model
from .figures import plot_gap_vs_rate, plot_histograms
from .report import TableHistograms, analyze_encoding, merge_totals
from .table1 import table1_csv, table1_markdown

__all__ = ["run_analysis"]


def _video_label(path: str) -> str:
    return Path(path).stem if os.path.exists(path) else path


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


def run_analysis(inputs: list[str], *, model: str | None, checkpoint: str | None,
                 qualities: list[int], gop: str, gop_size: int, frames_per_gop: int,
                 gops: int, start: int, out: str, progress: bool = True,
                 reparam: str = "optimal", arch: str | None = None) -> dict:
    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    n_frames = gops * frames_per_gop
    videos: dict[str, dict] = {}
    per_quality_totals: dict[int, list] = {q: [] for q in qualities}
    per_quality_bpp: dict[int, list[tuple[float, int]]] = {q: [] for q in qualities}
    loaded_models = {q: resolve_model(model, checkpoint, q, arch) for q in qualities}
    pad = {q: getattr(make_codec(m), "pad_multiple", None) for q, m in loaded_models.items()}
    jobs = [(v, q) for v in inputs for q in qualities]
    bar = tqdm(jobs, desc="analyze", unit="job", disable=not progress)
    readers = {}
    for path, q in bar:
        label = _video_label(path)
        bar.set_postfix_str(f"{label} q{q}")
        if path not in readers:
            readers[path] = open_video(path)
        reader = readers[path]
        frames = list(reader.frames(start, n_frames))
        loaded = loaded_models[q]
        res = encode_video(frames, loaded, fps=reader.info.fps, num_frames=len(frames),
                           gop=gop, gop_size=gop_size, reparam=reparam,
                           measure_learned=reparam != "off")
        hist = TableHistograms()
        rep = analyze_encoding(res, hist, pad[q])
        totals = rep.pop("_totals")
        per_quality_totals[q].append(totals)
        per_quality_bpp[q].append((rep["bpp"], rep["frames"] * rep["width"] * rep["height"]))
        rep.update(model=loaded.name, quality=q, weights_hash=loaded.weights_hash.hex())
        videos.setdefault(label, {})[f"q{q}"] = rep
        plot_histograms(hist, str(outdir / f"fig1_{label}_q{q}.png"),
                        f"{label}, {loaded.name} q{q}: learned pmf vs symbols "
                        f"({len(frames)} frames, GOP {gop}/{gop_size})")
    # dataset aggregate per quality
    dataset = {}
    for q in qualities:
        tot = merge_totals(per_quality_totals[q])
        pix = sum(p for _, p in per_quality_bpp[q])
        bpp = sum(b * p for b, p in per_quality_bpp[q]) / pix
        dataset[f"q{q}"] = {"bpp": bpp, "frame_types": {t: g.to_json() for t, g in tot.items()}}
    report = {
        "settings": {"gop": gop, "gop_size": gop_size, "frames_per_gop": frames_per_gop,
                     "reparam": reparam,
                     "gops": gops, "start": start, "qualities": qualities,
                     "model": model, "checkpoint": checkpoint},
        "videos": videos, "dataset": dataset,
    }
    with open(outdir / "report.json", "w") as fh:
        json.dump(report, fh, indent=1)
    # Table I: dataset first, then each video
    model_name = next(iter(loaded_models.values())).name
    scopes = {"all videos": {f"{model_name} q{q}": dataset[f"q{q}"]["frame_types"]
                             for q in qualities}}
    for label, per_q in videos.items():
        scopes[label] = {f"{model_name} q{q}": per_q[f"q{q}"]["frame_types"] for q in qualities}
    _write_table1(outdir, scopes)
    # Fig. 2: gap against rate (dataset and per video)
    plot_gap_vs_rate([_fig2_point(dataset[f"q{q}"]["bpp"], dataset[f"q{q}"]["frame_types"])
                      for q in qualities], str(outdir / "fig2_all.png"),
                     f"Gap vs rate, all videos ({model_name})")
    for label, per_q in videos.items():
        plot_gap_vs_rate([_fig2_point(per_q[f"q{q}"]["bpp"], per_q[f"q{q}"]["frame_types"])
                          for q in qualities], str(outdir / f"fig2_{label}.png"),
                         f"Gap vs rate, {label} ({model_name})")
    return report
