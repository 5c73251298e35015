"""Export trained runs into the shipped zoo with their model cards.

    python scripts/export_zoo.py runs/zoo --name amgap-ssf [--qualities 1,2,3,4]
    python scripts/export_zoo.py runs/zoo_b --name amgap-bflow --base amgap-ssf
    python scripts/export_zoo.py --remeasure --name amgap-ssf   # cards of shipped weights
    python scripts/export_zoo.py runs/aivc --name amgap-aivc --qualities 1,4
    python scripts/export_zoo.py runs/lhbdc --name amgap-lhbdc --qualities 1,4

For each ``RUN/qQ/final.pth``: store float weights as float16 (the zoo must stay
under 60 MB), rebuild the entropy tables from the rounded weights (``update``), then
measure on carphone (first 16 frames, GOP I+15P) the RD point, the calibration
figure and escape rates with exactly the shipped weights, and write
``src/amgap/zoo/weights/NAME-qQ.{pth,json}`` plus the training log. Slim SSF runs
trained on 128-px crops are exported with ``flow_ref=128`` (flow in the units they were
trained in; see ``SlimConfig.flow_ref``). ``--remeasure`` re-measures the cards of the
shipped weights as the shipped cards configure them (after a convention change).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import lzma
import shutil
import tempfile
from pathlib import Path

import torch

from amgap import __version__
from amgap.analysis.calibration import calibration
from amgap.analysis.reference import read_planes, x264_points
from amgap.codecs import get_codec
from amgap.codecs.gop import native_structures
from amgap.coding import encode_video
from amgap.io import open_video, sample_path
from amgap.models import load_checkpoint, load_zoo
from amgap.train.lineage import lineage
from amgap.zoo import WEIGHTS_DIR, ZOO_SUFFIX, half_parameters

LOGS_DIR = Path(__file__).resolve().parents[1] / "training-logs"  # beside the repo, not shipped


def _rd(res, frames) -> dict:
    n = len(frames)
    h, w = frames[0].shape[-2:]
    return {"frames": n, "bpp": len(res.to_bytes()) * 8 / (w * h * n),
            "psnr_rgb": sum(s.psnr_rgb for s in res.stats) / n,
            "psnr_y": sum(s.psnr_y for s in res.stats) / n}


def measure(shipped, frames, base: str | None) -> dict:
    """Card fields measured with exactly the shipped weights on carphone."""
    # the first GOP is the model's own (calibration, carphone_rd); B models over an I/P
    # base measure both B GOPs
    gops = ("lhbdc", "aivc") if base else \
        native_structures(get_codec(shipped.arch).frame_types)
    rds = {}
    for gop in gops:
        res = encode_video(frames, shipped, fps=30, num_frames=len(frames), gop=gop,
                           gop_size=16, reparam="off")
        rds[gop] = {"gop": f"{gop}/16", **_rd(res, frames)}
    return {"weights_hash": shipped.weights_hash.hex(), "carphone_rd": rds[gops[0]],
            "carphone_rd_by_gop": rds,
            "calibration_carphone": calibration(frames, shipped, gop=gops[0])}


def remeasure(name: str, q: int, frames) -> dict:
    """Re-measure a shipped card (its config as shipped) and write it back."""
    path = WEIGHTS_DIR / f"{name}-q{q}.json"
    card = json.loads(path.read_text())
    card.update(measure(load_zoo(name, q), frames, card.get("config", {}).get("base")))
    card["remeasured"] = {"date": datetime.date.today().isoformat(),
                          "amgap_version": __version__}
    path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    return card


def export(run: Path, name: str, q: int, frames, x264, base: str | None = None) -> dict:
    ckpt = torch.load(run / "final.pth", map_location="cpu", weights_only=False)
    if base:  # the run may name its base by a path on the machine it trained on
        ckpt["config"] = {**ckpt["config"], "base": base}
        with tempfile.TemporaryDirectory() as tmp:
            torch.save(ckpt, Path(tmp) / "final.pth")
            loaded = load_checkpoint(Path(tmp) / "final.pth", quality=q)
    else:
        loaded = load_checkpoint(run / "final.pth", quality=q)
    model = loaded.model
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    model.update(force=True)
    # every float parameter was rounded to float16 above, so storing it as float16 is
    # lossless; buffers (scale table, bounds, CDF tables) keep their dtype
    sd = half_parameters(model.state_dict(), (n for n, _ in model.named_parameters()))
    chain = lineage(run / "final.pth")  # before the file it may start from is replaced
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    out = WEIGHTS_DIR / f"{name}-q{q}{ZOO_SUFFIX}"
    card = dict(ckpt.get("card") or {})
    config = dict(ckpt["config"])
    if ckpt["arch"] == "ssf-slim":
        # trained with flow_ref 0 (CompressAI's units) on N-px crops = flow_ref N
        if not config.get("flow_ref"):
            config["flow_ref"] = int(card.get("training", {}).get("crop", 128))
        card["config"] = config
    if base:  # B models: the shipped base is the zoo I/P model of the same quality
        config["base"] = base
        card["config"] = config
    buf = io.BytesIO()
    torch.save({"arch": ckpt["arch"], "config": config, "state_dict": sd, "card": card}, buf)
    out.write_bytes(lzma.compress(buf.getvalue(), preset=9))
    card.update({
        "name": name, "quality": q, "amgap_version": __version__,
        "exported": datetime.date.today().isoformat(),
        "file_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "storage": "float16 weights, float32 at load; entropy tables rebuilt after rounding",
        "lineage": chain,
        "total_steps": sum(r["steps"] or 0 for r in chain),
        "x264_reference_carphone": x264,
    })
    card.pop("file", None)
    path = WEIGHTS_DIR / f"{name}-q{q}.json"
    path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    # measured as a user loads it (zoo name and card), so that the header, and so the
    # file size, are those of `amgap encode --model NAME`
    card.update(measure(load_zoo(name, q), frames, base))
    path.write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")
    LOGS_DIR.mkdir(exist_ok=True)
    for step in card["lineage"]:  # the log of every run behind this model, once per run
        log = Path(step["run"]) / "log.jsonl"
        if log.exists():
            (LOGS_DIR / name).mkdir(parents=True, exist_ok=True)
            run_dir = Path(step["run"])  # e.g. runs/v2/q4 -> v2_q4.log.jsonl
            shutil.copy(log, LOGS_DIR / name / f"{run_dir.parent.name}_{run_dir.name}.log.jsonl")
    return card


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="?")
    ap.add_argument("--remeasure", action="store_true",
                    help="re-measure the shipped cards of --name instead of exporting")
    ap.add_argument("--name", default="amgap-ssf")
    ap.add_argument("--qualities", default="1,2,3,4")
    ap.add_argument("--base", help="B models: zoo name of their I/P base (e.g. amgap-ssf)")
    ap.add_argument("--dirs", default="", help="run folder per quality, e.g. 4=q4p "
                    "(default: qQ)")
    args = ap.parse_args()
    dirs = dict(kv.split("=") for kv in args.dirs.split(",") if kv)
    frames = list(open_video("carphone").frames(0, 16))
    if args.remeasure:
        for q in [int(x) for x in args.qualities.split(",")]:
            _report(args.name, q, remeasure(args.name, q, frames))
        return
    x264 = {"settings": "PyAV's libx264, veryslow, tune=psnr, keyint=16, no scene cut, the "
                        "preset's B frames, 4:2:0 source planes; whole Annex B stream",
            "points": [p.to_json() for p in x264_points(
                frames, [22, 27, 32, 37, 42], planes=read_planes(sample_path("carphone"), 16))]}
    for q in [int(x) for x in args.qualities.split(",")]:
        run = Path(args.runs) / dirs.get(str(q), f"q{q}")
        _report(args.name, q, export(run, args.name, q, frames, x264, args.base))


def _report(name: str, q: int, card: dict) -> None:
    rd, cal = card["carphone_rd"], card["calibration_carphone"]
    print(f"{name} q{q}: {rd['bpp']:.4f} bpp {rd['psnr_rgb']:.2f} dB RGB; "
          f"calibration {cal['mean_sq_normalized_residual']:.3f}; "
          f"escapes {json.dumps({k: round(v, 5) for k, v in cal['escape_rate'].items()})}")


if __name__ == "__main__":
    main()
