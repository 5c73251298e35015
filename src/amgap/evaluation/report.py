"""Aggregate evaluation jobs: CompressAI-style result files, Table I, RD curves, BD-rate."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..analysis.gap import GapTotals
from ..analysis.table1 import table1_csv, table1_markdown
from .bdrate import bd_rate

__all__ = ["write_outputs", "bd_rate", "quality_axis", "QUALITY_AXES"]

METRICS = {"bpp": "bpp", "kbps": "kbps", "psnr-rgb": "psnr_rgb", "psnr-y": "psnr_y",
           "psnr-yuv": "psnr_yuv", "ms-ssim-rgb": "ms_ssim_rgb",
           "encoding_time": "encoding_time", "decoding_time": "decoding_time"}
# --metric: the RD axis and the BD-rate's quality. MS-SSIM in dB (-10 log10(1 - MS-SSIM)),
# as CompressAI plots it: near 1 the raw value squeezes every curve together.
QUALITY_AXES = {"psnr": "PSNR-RGB (dB)", "ms-ssim": "MS-SSIM-RGB (dB, -10 log10(1 - x))"}
SEQUENCE_KEYS = ("video", "gop", "reparam", "quality", "model", "frames", "width", "height",
                 "fps", "bytes", "bpp", "kbps", "psnr_rgb", "psnr_y", "psnr_yuv", "ms_ssim_rgb",
                 "ms_ssim_scales", "verified", "encoding_time", "decoding_time")
FRAME_KEYS = ("index", "type", "bytes", "bpp", "kbps", "psnr_rgb", "psnr_y", "psnr_yuv",
              "ms_ssim")


def quality_axis(metric: str, rec: dict) -> float:
    """The quality of one result on the ``metric`` axis (PSNR-RGB, or MS-SSIM in dB)."""
    if metric == "psnr":
        return float(rec["psnr_rgb"])
    return float(-10 * np.log10(max(1.0 - rec["ms_ssim_rgb"], 1e-10)))


def _write_rows(out: Path, name: str, rows: list[dict], keys: tuple[str, ...]) -> None:
    """``name.json`` (a list of objects) and ``name.csv`` (same columns), for scripts."""
    import csv
    import io

    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(keys), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (out / f"{name}.csv").write_text(buf.getvalue())


def _write_per_results(records: list[dict], results_dir: Path) -> None:
    """Per-sequence and per-frame results beside the CompressAI-layout averages."""
    ordered = sorted(records, key=lambda r: (r["video"], r["gop"], r["reparam"], r["quality"]))
    _write_rows(results_dir, "per_sequence", [{k: r.get(k) for k in SEQUENCE_KEYS}
                                              for r in ordered], SEQUENCE_KEYS)
    head = ("video", "gop", "reparam", "quality")
    frames = [{**{k: r[k] for k in head}, **f} for r in ordered for f in r.get("per_frame", [])]
    _write_rows(results_dir, "per_frame", frames, head + FRAME_KEYS)


def _totals_from_json(ftypes: dict) -> dict[str, GapTotals]:
    return {t: GapTotals.from_json(ft) for t, ft in ftypes.items()}


def write_outputs(records: list[dict], out: Path, model_label: str,
                  metric: str = "psnr") -> dict:
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str], dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        groups[(r["gop"], r["reparam"])][r["quality"]].append(r)
    # CompressAI eval_model layout, one file per (GOP, mode), averages over videos
    results_dir = out / "results"
    results_dir.mkdir(exist_ok=True)
    _write_per_results(records, out)  # beside results/, which keeps CompressAI's layout only
    curves: dict[tuple[str, str], list[tuple[float, float]]] = {}
    summary = {}
    for (gop, mode), per_q in sorted(groups.items()):
        qs = sorted(per_q)
        res = {"quality": qs}
        for name, key in METRICS.items():
            res[name] = [float(np.mean([r[key] for r in per_q[q]])) for q in qs]
        res["gap"], res["saving"] = [], []
        for q in qs:
            tot = GapTotals()
            for r in per_q[q]:
                tot.merge(_totals_from_json(r["frame_types"])["Video"])
            j = tot.to_json()
            res["gap"].append(j["gap"])
            res["saving"].append(j.get("saving"))
        doc = {"name": f"{model_label} ({gop}, reparam {mode})",
               "description": f"amgap evaluate: {len(per_q[qs[0]])} video(s), GOP {gop}, "
                              f"reparameterization {mode}; averages over videos",
               "results": res}
        (results_dir / f"{gop}-{mode}.json").write_text(json.dumps(doc, indent=1))
        axis = [float(np.mean([quality_axis(metric, r) for r in per_q[q]])) for q in qs]
        curves[(gop, mode)] = list(zip(res["bpp"], axis, strict=True))
        summary[(gop, mode)] = res
    # BD-rate of each mode against off
    bd = {}
    for (gop, mode), pts in curves.items():
        if mode != "off" and (gop, "off") in curves:
            bd[(gop, mode)] = bd_rate(curves[(gop, "off")], pts)
    # Table I over the dataset, per GOP (Saving from the first non-off mode)
    md = ["# Table I over the dataset (%)", ""]
    scopes = {}
    for gop in sorted({g for g, _ in groups}):
        modes = [m for g, m in groups if g == gop]
        mode = next((m for m in ("optimal", "paper") if m in modes), modes[0])
        per_q = groups[(gop, mode)]
        res = {}
        for q in sorted(per_q):
            merged: dict[str, GapTotals] = {}
            for r in per_q[q]:
                for t, g in _totals_from_json(r["frame_types"]).items():
                    merged.setdefault(t, GapTotals()).merge(g)
            res[f"{model_label} q{q} ({mode})"] = {t: g.to_json() for t, g in merged.items()}
        scopes[gop] = res
        md.append(table1_markdown(res, title=f"GOP {gop}"))
    (out / "table1.md").write_text("\n".join(md))
    (out / "table1.csv").write_text(table1_csv(scopes))
    _plot_rd(curves, out, QUALITY_AXES[metric])
    _write_summary(summary, bd, records, out, model_label, QUALITY_AXES[metric])
    return {"bd_rate": {f"{g}-{m}": v.to_json() for (g, m), v in bd.items()}}


def _plot_rd(curves, out: Path, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for gop in sorted({g for g, _ in curves}):
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for (g, mode), pts in sorted(curves.items()):
            if g != gop:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=f"reparam {mode}")
        ax.set_xlabel("rate (bpp)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"RD, GOP {gop}")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"rd_{gop}.png", dpi=120)
        plt.close(fig)


def _write_summary(summary, bd, records, out: Path, model_label: str, axis: str) -> None:
    lines = [f"# amgap evaluate: {model_label}", "",
             f"{len(records)} jobs over {len({r['video'] for r in records})} video(s); "
             "times are seconds per sequence (encode includes fitting and signalling).", ""]
    for (gop, mode), res in sorted(summary.items()):
        lines += [f"## GOP {gop}, reparam {mode}", "",
                  "| quality | bpp | PSNR-RGB | PSNR-Y | PSNR-YUV | MS-SSIM | gap % | saving % "
                  "| enc s | dec s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for i, q in enumerate(res["quality"]):
            sav = res["saving"][i]
            lines.append(
                f"| {q} | {res['bpp'][i]:.4f} | {res['psnr-rgb'][i]:.2f} | "
                f"{res['psnr-y'][i]:.2f} | {res['psnr-yuv'][i]:.2f} | "
                f"{res['ms-ssim-rgb'][i]:.4f} | {res['gap'][i]:.2f} | "
                f"{'-' if sav is None else f'{sav:.2f}'} | {res['encoding_time'][i]:.2f} | "
                f"{res['decoding_time'][i]:.2f} |")
        lines.append("")
    if bd:
        lines += ["## BD-rate against reparam off", "", f"Quality axis: {axis}.", "",
                  "| GOP | mode | BD-rate % | quality overlap (dB) | method |",
                  "|---|---|---|---|---|"]
        for (gop, mode), r in sorted(bd.items()):
            ov = "-" if r.overlap is None else f"{r.overlap[0]:.2f}-{r.overlap[1]:.2f}"
            val = "-" if r.percent is None else f"{r.percent:.2f}"
            how = f"{r.method}: {r.note}" if r.note else r.method
            lines.append(f"| {gop} | {mode} | {val} | {ov} | {how} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
