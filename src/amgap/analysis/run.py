"""``amgap analyze``: encode each (video, quality), measure the gap, write all outputs."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from ..coding import encode_video
from ..io import open_video
from ..models import make_codec, resolve_model
from .figures import plot_gap_vs_rate, plot_histograms
from .report import TableHistograms, analyze_encoding, merge_totals
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
    per_quality_frames: dict[int, list[dict]] = {q: [] for q in qualities}
    loaded_models = {q: resolve_model(model, checkpoint, q, arch) for q in qualities}
    pad = {q: getattr(make_codec(m), "pad_multiple", None) for q, m in loaded_models.items()}
    labels = video_labels(inputs)  # unique: two inputs are never merged into one row
    jobs = [(v, label, q) for v, label in zip(inputs, labels, strict=True) for q in qualities]
    bar = tqdm(jobs, desc="analyze", unit="job", disable=not progress)
    readers = {}
    for path, label, q in bar:
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
        per_quality_frames[q] += rep["per_frame"]
        rep.update(model=loaded.name, quality=q, weights_hash=loaded.weights_hash.hex())
        videos.setdefault(label, {})[f"q{q}"] = rep
        plot_histograms(hist, str(outdir / f"fig1_{_file_label(label)}_q{q}.png"),
                        f"{label}, {loaded.name} q{q}: learned pmf vs symbols "
                        f"({len(frames)} frames, GOP {gop}/{gop_size})")
    # dataset aggregate per quality
    dataset = {}
    for q in qualities:
        tot = merge_totals(per_quality_totals[q])
        pix = sum(p for _, p in per_quality_bpp[q])
        bpp = sum(b * p for b, p in per_quality_bpp[q]) / pix
        dataset[f"q{q}"] = {"bpp": bpp, **_mean_metrics(per_quality_frames[q]),
                            "frame_types": {t: g.to_json() for t, g in tot.items()}}
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
                          for q in qualities], str(outdir / f"fig2_{_file_label(label)}.png"),
                         f"Gap vs rate, {label} ({model_name})")
    return report
