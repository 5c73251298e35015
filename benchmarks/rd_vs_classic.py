"""Where the zoo stands against classic codecs, every codec measured the same way.

    python benchmarks/rd_vs_classic.py [--clips carphone,bikes] [--frames 16]
        [--models amgap-ssf,amgap-bflow] [--qualities 1,2,3,4] [--reparam optimal]
        [--anchors x264,x264-ld,jpeg,webp] [--out rd_vs_classic]

For each clip (first ``--frames`` frames; GOP 16): RD points of every zoo model and
quality (``amgap-ssf``: GOP ``ssf``; B models: ``lhbdc`` and ``aivc``, and ``ssf``
unless their I/P model was already measured; ``amgap-aivc``: ``aivc`` and ``ssf``;
``amgap-lhbdc``: ``lhbdc``) against the anchors of
:mod:`amgap.analysis.reference`: x264 ``veryslow``/``tune=psnr`` over a CRF grid (``x264``:
the preset's B frames; ``x264-ld``: no B frames, low delay like ``ssf``; ``x265``
on request) and, for I frames, Pillow JPEG and WebP over a quality grid. The amgap
I-frame point is the first frame of the encode: header plus its frame record. Rates are
whole files; PSNR is RGB PSNR against the input frames, as ``amgap encode`` reports it.
Prints the RD points and the BD-rate (:mod:`amgap.evaluation.bdrate`, Akima, with the PSNR
overlap used) of each amgap curve against each anchor; writes ``OUT/rd_CLIP.png`` and
``OUT/rd_vs_classic.json``. Nothing is cached between runs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import av
import torch

from amgap.analysis.reference import (
    AnchorPoint,
    image_points,
    read_planes,
    x264_points,
)
from amgap.codecs import get_codec
from amgap.codecs.gop import native_structures
from amgap.coding import encode_video
from amgap.errors import AmgapError, UsageError
from amgap.evaluation.bdrate import BDRate, bd_rate
from amgap.io import open_video, sample_path
from amgap.io.color import planes_to_rgb
from amgap.models import resolve_model
from amgap.zoo import zoo_entries

VIDEO_ANCHORS = {"x264": ("x264", None), "x264-ld": ("x264", 0), "x265": ("x265", None)}
IMAGE_ANCHORS = ("jpeg", "webp")
CRFS = [14, 18, 22, 26, 30, 34, 38, 42, 46, 51]
IMAGE_QUALITIES = [0, 2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95]


def _extends_base(arch: str | None) -> bool:
    """B-frame models extend an I/P base model (their I frames and `ssf` GOP are the base's)."""
    return arch is not None and get_codec(arch).base_default is not None


@dataclass
class Curve:
    """One RD curve: an amgap model + GOP (or its I frames), or a classic anchor."""

    clip: str
    name: str  # e.g. "amgap-ssf/ssf", "amgap-ssf/I", "x264", "jpeg"
    kind: str  # "video" or "image"
    points: list[AnchorPoint] = field(default_factory=list)
    ours: bool = False  # an amgap curve (else a classic anchor)

    def rd(self) -> list[tuple[float, float]]:
        return [(p.bpp, p.psnr_rgb) for p in self.points]


@dataclass
class BDRow:
    clip: str
    curve: str
    anchor: str
    result: BDRate


def source_planes(clip: str, frames: list[torch.Tensor]):
    """The clip's own 4:2:0 planes when they reproduce amgap's frames exactly, else None
    (the reference then converts the RGB frames itself)."""
    path = Path(clip) if Path(clip).exists() else sample_path(clip)
    if path.is_dir():
        return None
    try:
        planes = read_planes(path, len(frames))
    except (av.error.FFmpegError, OSError, ValueError):  # not for PyAV: use the RGB frames
        return None
    same = len(planes) == len(frames) and all(
        torch.equal(planes_to_rgb(*p), f) for p, f in zip(planes, frames, strict=False))
    return planes if same else None


@dataclass(frozen=True)
class EncodeTask:
    """One amgap encode: a clip, a zoo model and quality, a GOP structure."""

    clip: str
    frames: int
    model: str
    quality: int
    gop: str
    reparam: str
    iframe: bool  # this encode also gives the model's I-frame point
    threads: int = 1  # torch threads of a worker process (the parent's are left alone)


def plan_tasks(clips: list[str], frames: int, models: list[str], qualities: list[int] | None,
               reparam: str, threads: int) -> tuple[list[EncodeTask], list[str]]:
    """Every (clip, model, quality, GOP) to encode. A B model's ``ssf`` GOP and I frames
    are coded by its I/P base alone: skipped when that base is measured too."""
    cards = [e for e in zoo_entries() if e.get("name") in models]
    tasks, notes = [], []
    for clip in clips:
        for model in models:
            for card in sorted((c for c in cards if c["name"] == model),
                               key=lambda c: c["quality"]):
                q = card["quality"]
                if qualities is not None and q not in qualities:
                    continue
                b_model = _extends_base(card.get("arch"))
                base_measured = b_model and (card.get("config") or {}).get("base") in models
                gops = ["lhbdc", "aivc"] if b_model else \
                    native_structures(get_codec(card["arch"]).frame_types)
                if b_model and not base_measured:
                    gops.insert(0, "ssf")
                elif base_measured and clip == clips[0]:
                    notes.append(f"{model} q{q}: ssf GOP and I frames = its base "
                                 f"{card['config']['base']} q{q} (measured once)")
                tasks += [EncodeTask(clip, frames, model, q, g, reparam, i == 0 and not
                                     base_measured, threads) for i, g in enumerate(gops)]
    return tasks, notes


def iframe_point(res, model: str, q: int, w: int, h: int) -> AnchorPoint:
    """Frame 0 as a one-frame file: the header plus its record (what a 1-frame encode
    writes), with its PSNR."""
    header = len(res.to_bytes()) - sum(s.record_bytes for s in res.stats)
    st = next(s for s in res.stats if s.display_index == 0)
    nbytes = header + st.record_bytes
    return AnchorPoint(f"{model}/I", q, 1, nbytes * 8, nbytes * 8 / (w * h), st.psnr_rgb,
                       st.psnr_y)


def run_task(task: EncodeTask) -> tuple[EncodeTask, AnchorPoint, AnchorPoint | None, float]:
    """Encode once; the video point and (when asked) the I-frame point."""
    reader = open_video(task.clip)
    frames = list(reader.frames(0, task.frames))
    loaded = resolve_model(task.model, None, task.quality)
    t0 = time.perf_counter()
    with torch.no_grad():
        res = encode_video(frames, loaded, fps=reader.info.fps, num_frames=len(frames),
                           gop=task.gop, gop_size=16, reparam=task.reparam)
    seconds = time.perf_counter() - t0
    h, w = frames[0].shape[-2:]
    n = len(frames)
    total = len(res.to_bytes())
    key = f"{task.model}/{task.gop}"
    video = AnchorPoint(key, task.quality, n, total * 8, total * 8 / (w * h * n),
                        sum(s.psnr_rgb for s in res.stats) / n,
                        sum(s.psnr_y for s in res.stats) / n)
    iframe = iframe_point(res, task.model, task.quality, w, h) if task.iframe else None
    return task, video, iframe, seconds


def amgap_curves(tasks: list[EncodeTask], workers: int, log) -> list[Curve]:
    """Run the encodes (``workers`` processes when > 1) into one curve per clip, model and
    GOP, plus one I-frame curve per I/P model."""
    with ExitStack() as stack:
        results = map(run_task, tasks)
        if workers > 1 and tasks:  # results come in task order, each once it is ready
            pool = stack.enter_context(ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=torch.set_num_threads, initargs=(tasks[0].threads,)))
            results = pool.map(run_task, tasks)
        curves = _collect(results, log)
    return list(curves.values())


def _collect(results, log) -> dict[tuple[str, str], Curve]:
    """Group encode results into curves, logging each as it arrives."""
    curves: dict[tuple[str, str], Curve] = {}
    for task, video, iframe, seconds in results:
        for pt, kind in ((video, "video"), (iframe, "image")):
            if pt is not None:
                curves.setdefault((task.clip, pt.codec),
                                  Curve(task.clip, pt.codec, kind, ours=True))
                curves[(task.clip, pt.codec)].points.append(pt)
        log(f"  {task.clip} {task.model} q{task.quality} {task.gop}: {video.bpp:.4f} bpp "
            f"{video.psnr_rgb:.2f} dB (encode {seconds:.1f} s)")
    return curves


def anchor_curves(clip: str, frames, planes, anchors: list[str], crfs: list[int],
                  image_qs: list[int], log) -> list[Curve]:
    out = []
    for a in anchors:
        t0 = time.perf_counter()
        if a in VIDEO_ANCHORS:
            codec, bframes = VIDEO_ANCHORS[a]
            pts = x264_points(frames, crfs, planes=planes, gop=16, codec=codec, bframes=bframes)
            out.append(Curve(clip, a, "video", pts))
        else:
            out.append(Curve(clip, a, "image", image_points(frames[0], image_qs, a)))
        log(f"  {a}: {len(out[-1].points)} points ({time.perf_counter() - t0:.1f} s)")
    return out


def bd_rows(curves: list[Curve], method: str) -> list[BDRow]:
    """Each amgap curve against each anchor of its kind (video or I frame), and each
    B-frame GOP against each ``ssf`` GOP (hierarchical B must pay for itself)."""
    rows = []
    ours = [c for c in curves if c.ours]
    theirs = [c for c in curves if not c.ours]
    ssf = [c for c in ours if c.name.endswith("/ssf")]
    for c in ours:
        refs = [a for a in theirs if a.kind == c.kind]
        if c.kind == "video" and not c.name.endswith("/ssf"):
            refs += ssf
        rows += [BDRow(c.clip, c.name, a.name, bd_rate(a.rd(), c.rd(), method))
                 for a in refs if a.clip == c.clip]
    return rows


def print_tables(curves: list[Curve], rows: list[BDRow]) -> None:
    print(f"{'clip':<9}{'curve':<19}{'set':>4}{'frames':>7}{'bits':>9}{'bpp':>9}"
          f"{'PSNR-RGB':>10}{'PSNR-Y':>8}{'banner':>8}")
    for c in curves:
        for p in c.points:
            banner = "-" if c.ours else p.banner_bytes * 8
            print(f"{c.clip:<9}{c.name:<19}{p.setting:>4}{p.frames:>7}{p.bits:>9}{p.bpp:>9.4f}"
                  f"{p.psnr_rgb:>10.2f}{p.psnr_y:>8.2f}{banner:>8}")
    print("\n(set: quality for amgap, CRF for x264/x265, quality for JPEG/WebP; banner: bits "
          "of the encoder's settings SEI, included in bits)\n")
    print(f"{'clip':<9}{'amgap curve':<19}{'anchor':<15}{'BD-rate':>10}  PSNR overlap used")
    for r in rows:
        b = r.result
        val = "-" if b.percent is None else f"{b.percent:+.1f} %"
        ov = b.note if b.overlap is None else f"{b.overlap[0]:.2f}-{b.overlap[1]:.2f} dB" + \
            (f"; {b.note}" if b.note else "")
        print(f"{r.clip:<9}{r.curve:<19}{r.anchor:<15}{val:>10}  {ov}")


def plot(curves: list[Curve], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for clip in dict.fromkeys(c.clip for c in curves):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, kind, title in ((axes[0], "video", "video (GOP 16)"),
                                (axes[1], "image", "I frame (first frame)")):
            for c in (c for c in curves if c.clip == clip and c.kind == kind):
                style = "o-" if c.ours else "s--"
                ax.plot([p.bpp for p in c.points], [p.psnr_rgb for p in c.points], style,
                        ms=3.5, label=c.name)
            ax.set(xlabel="rate (bpp)", ylabel="PSNR-RGB (dB)", title=f"{clip}: {title}",
                   xscale="log")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(out / f"rd_{Path(clip).stem}.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default="carphone,bikes", help="sample names or video paths")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--models", default=None, help="zoo names (default: every zoo model)")
    ap.add_argument("--qualities", default=None, help="e.g. 1,4 (default: all)")
    ap.add_argument("--reparam", default="optimal", choices=["off", "paper", "optimal"],
                    help="as amgap encode (default: its default, optimal)")
    ap.add_argument("--anchors", default="x264,x264-ld,jpeg,webp",
                    help=f"of {', '.join([*VIDEO_ANCHORS, *IMAGE_ANCHORS])}")
    ap.add_argument("--crfs", default=",".join(map(str, CRFS)))
    ap.add_argument("--image-qualities", default=",".join(map(str, IMAGE_QUALITIES)))
    ap.add_argument("--bd-method", default="akima", choices=["akima", "pchip", "cubic"])
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                    help="encoding processes (each with cores/workers torch threads)")
    ap.add_argument("--out", default="rd_vs_classic")
    return ap.parse_args(argv)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict:
    """Measure everything, print the tables, write the plot and the JSON; the JSON doc."""
    anchors = [a for a in args.anchors.split(",") if a]
    bad = [a for a in anchors if a not in VIDEO_ANCHORS and a not in IMAGE_ANCHORS]
    if bad:
        raise UsageError(f"unknown anchor(s) {', '.join(bad)} "
                         f"(known: {', '.join([*VIDEO_ANCHORS, *IMAGE_ANCHORS])})")
    arch = {e["name"]: e.get("arch") for e in zoo_entries() if "name" in e}
    models = args.models.split(",") if args.models else sorted(arch)
    if not models or any(m not in arch for m in models):
        raise UsageError(f"--models: zoo models are {', '.join(sorted(arch)) or 'none'}")
    models.sort(key=lambda m: _extends_base(arch[m]))  # I/P models first: they own "ssf"
    clips = [c for c in args.clips.split(",") if c]
    t_start = time.perf_counter()
    clip_frames = {c: list(open_video(c).frames(0, args.frames)) for c in clips}
    workers = max(1, args.workers)
    tasks, notes = plan_tasks(clips, args.frames, models,
                              ints(args.qualities) if args.qualities else None, args.reparam,
                              max(1, (os.cpu_count() or 1) // workers))
    for note in notes:
        _log(note)
    curves = amgap_curves(tasks, workers, _log)
    for clip, frames in clip_frames.items():
        _log(f"{clip}: anchors on {len(frames)} frames {frames[0].shape[-1]}x"
             f"{frames[0].shape[-2]}")
        curves += anchor_curves(clip, frames, source_planes(clip, frames), anchors,
                                ints(args.crfs), ints(args.image_qualities), _log)
    curves.sort(key=lambda c: clips.index(c.clip))  # stable: amgap curves, then anchors
    rows = bd_rows(curves, args.bd_method)
    print_tables(curves, rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pngs = plot(curves, out)
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    doc = {"settings": vars(args), "notes": notes,
           "wall_s": round(time.perf_counter() - t_start, 1),
           "cpu_s": round(sum(u.ru_utime + u.ru_stime for u in usage), 1),
           "curves": [{**asdict(c), "points": [p.to_json() for p in c.points]} for c in curves],
           "bd_rate": [{"clip": r.clip, "curve": r.curve, "anchor": r.anchor,
                        **r.result.to_json()} for r in rows]}
    (out / "rd_vs_classic.json").write_text(json.dumps(doc, indent=1))
    print(f"\nwrote {', '.join(map(str, pngs))}, {out / 'rd_vs_classic.json'}; "
          f"wall {doc['wall_s']:.0f} s, CPU {doc['cpu_s']:.0f} s ({workers} worker(s))")
    return doc


def main(argv=None) -> int:
    try:
        run(parse_args(argv))
    except AmgapError as exc:
        print(f"rd_vs_classic: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
