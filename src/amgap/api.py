"""The Python API: what ``import amgap`` offers (the CLI is a view of these functions).

>>> import amgap
>>> model = amgap.load_model(name="init:ssf-slim", quality=1)
>>> enc = amgap.encode("carphone", model, frames=2)
>>> dec = amgap.decode(enc.data, model)
>>> dec.verified
True

Documented with a runnable example in ``docs/api.md``.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .bitstream import Header, parse
from .bitstream.syntax import EVAL_MODES
from .codecs.gop import default_structure
from .codecs.registry import Architecture, architectures, get_codec, refusals, register_codec
from .coding import DecodeResult, EncodeResult, VideoDecoder, encode_video
from .errors import ModelError, UsageError
from .models import (
    SOURCE_FILE,
    SOURCE_INIT,
    LoadedModel,
    init_model,
    load_checkpoint,
    load_model,
    load_zoo,
    split_stream_name,
)

if TYPE_CHECKING:
    from .io import VideoReader

__all__ = ["load_model", "encode", "decode", "open_decoder", "analyze", "evaluate",
           "register_codec", "list_codecs", "model_for_stream", "default_gop",
           "expand_inputs", "Analysis", "model_for_gops", "B_GOPS",
           "Table1Row", "InfoCell", "EncodeResult", "DecodeResult", "LoadedModel",
           "Architecture", "VideoDecoder", "measured"]

Video = str | os.PathLike | torch.Tensor | Iterable[torch.Tensor]  # or a VideoReader
ModelSpec = LoadedModel | str


def _model(model: ModelSpec | None) -> LoadedModel:
    if isinstance(model, LoadedModel):
        return model
    return load_model(name=model)


def default_gop(model: LoadedModel) -> str:
    """``intra`` for image codecs, ``lhbdc`` for I/B codecs, ``ssf`` (I P P ...) otherwise."""
    return default_structure(get_codec(model.arch).frame_types)


B_GOPS = ("lhbdc", "aivc")  # GOP structures with B frames


def _has_b(loaded: LoadedModel) -> bool:
    from .codecs.base import FrameType

    return FrameType.B in get_codec(loaded.arch).frame_types


def _zoo_b_model() -> str | None:
    """The shipped model with B frames (``amgap-bflow`` extends the default ``amgap-ssf``)."""
    from .codecs.base import FrameType
    from .zoo import zoo_entries

    known = {a.name: a for a in architectures()}
    names = [e["name"] for e in zoo_entries()
             if e.get("arch") in known and FrameType.B in known[e["arch"]].frame_types]
    return "amgap-bflow" if "amgap-bflow" in names else (names[0] if names else None)


def model_for_gops(model: str | None, gops: Sequence[str], *, checkpoint: str | None = None,
                   arch: str | None = None, quality: int = 4) -> str | None:
    """The ``--model`` to run ``gops`` with, decided before any work: a GOP with B frames
    and a model without them takes the zoo's B-frame model when no model was named, and
    is refused (naming it) when one was."""
    needs_b = [g for g in gops if g in B_GOPS]
    if not needs_b:
        return model
    loaded = load_model(name=model, checkpoint=checkpoint, arch=arch, quality=quality)
    if _has_b(loaded):
        return model
    b_model = _zoo_b_model()
    if model is None and checkpoint is None and b_model is not None:
        return b_model
    raise _no_b(loaded.name, needs_b[0], b_model)


def _no_b(name: str, gop: str, b_model: str | None) -> UsageError:
    hint = f"--model {b_model}" if b_model else "a model with B frames"
    return UsageError(f"{name} has no B frames and GOP {gop!r} needs them: use {hint}, "
                      "or --gop ssf / intra")


def _count(reader: VideoReader, start: int, frames: int | None) -> int:
    """How many frames to plan for: the reader's count from ``start`` (exact, or an upper
    bound the encoder corrects when the input ends early), capped by ``frames``; counted by
    one decoding pass (constant memory) only when neither is known."""
    known = reader.info.num_frames
    if known:  # 0 from an estimate (a truncated Y4M) is read, so its error is reported
        n = max(0, known - start)
        return n if frames is None else min(n, frames)
    if frames is not None:
        return frames
    return sum(1 for _ in reader.frames(start))


def _frames(video: Video, frames: int | None, start: int
            ) -> tuple[Iterable[torch.Tensor], int, Fraction]:
    """The frames to encode as an iterable (files are read as the encoder pulls them),
    how many of them, and the frame rate."""
    from .io import VideoReader, open_video

    if isinstance(video, (str, os.PathLike, VideoReader)):
        reader = video if isinstance(video, VideoReader) else open_video(video)
        count = _count(reader, start, frames)
        return reader.frames(start, count), count, reader.info.fps
    if isinstance(video, torch.Tensor):
        video = video if video.dim() == 4 else video[None]
    if not isinstance(video, (Sequence, torch.Tensor)):
        if frames is None:
            video = list(video)  # an iterator of unknown length: the count is needed first
        else:
            return itertools.islice(video, start, start + frames), frames, Fraction(30)
    seq = video[start:start + frames if frames else None]
    return seq, len(seq), Fraction(30)


def encode(video: Video, model: ModelSpec | None = None, *, gop: str | None = None,
           gop_size: int = 16, reparam: str = "optimal", frames: int | None = None,
           start: int = 0, fps: Fraction | None = None, keep_recon: bool = False,
           progress: bool = False, measure_learned: bool = False,
           keep_streams: bool = True) -> EncodeResult:
    """Encode a video (path, sample name, :class:`~amgap.io.VideoReader`, ``[N,3,H,W]``
    tensor, or list or iterator of ``[3,H,W]`` RGB frames in [0, 1]); ``.data`` holds the
    ``.amg`` bytes, ``.stats`` the frames. Files are read one segment at a time;
    ``keep_streams=False`` also releases each segment's symbols (``.streams``) once coded,
    which bounds memory by a GOP (``keep_recon`` keeps every reconstruction)."""
    loaded = _model(model)
    if (gop or default_gop(loaded)) in B_GOPS and not _has_b(loaded):
        raise _no_b(loaded.name, gop, _zoo_b_model())
    seq, count, rate = _frames(video, frames, start)
    try:
        return encode_video(seq, loaded, fps=fps or rate, num_frames=count,
                            gop=gop or default_gop(loaded), gop_size=gop_size,
                            reparam=reparam, keep_recon=keep_recon, progress=progress,
                            measure_learned=measure_learned, keep_streams=keep_streams)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def model_for_stream(header: Header, *, checkpoint: str | os.PathLike | None = None,
                     arch: str | None = None) -> LoadedModel:
    """The model a stream names: zoo and init models from the header; a checkpoint
    stream needs its file (its architecture is read from the header when recorded)."""
    rec_arch, name = split_stream_name(header.model_name)
    if checkpoint:
        return load_checkpoint(checkpoint, quality=header.quality, arch=arch or rec_arch)
    if header.model_source == SOURCE_FILE:
        raise UsageError(f"the stream was encoded with checkpoint {name!r}"
                         f"{f' (architecture {rec_arch})' if rec_arch else ''}: "
                         "pass --checkpoint PATH")
    if header.model_source == SOURCE_INIT:
        return init_model(name.removeprefix("init:"), header.quality)
    return load_zoo(name, header.quality)


def open_decoder(data: bytes | str | os.PathLike, model: ModelSpec | None = None, *,
                 checkpoint: str | os.PathLike | None = None, arch: str | None = None,
                 force: bool = False, max_pixels: int = 1 << 22) -> VideoDecoder:
    """A :class:`~amgap.coding.VideoDecoder` for ``.amg`` bytes (or a file): its
    ``frames()`` yields ``(stats, RGB [3,H,W])`` in display order as frames are decoded,
    holding no more than a GOP (``decode`` collects them into a list)."""
    if not isinstance(data, (bytes, bytearray)):
        from .bitstream import read_file

        header, records = read_file(data)
    else:
        header, records = parse(bytes(data))
    loaded = _model(model) if model is not None else \
        model_for_stream(header, checkpoint=checkpoint, arch=arch)
    rec_arch, _ = split_stream_name(header.model_name)
    if rec_arch is not None and rec_arch != loaded.arch and not force:
        raise ModelError(f"the stream was encoded with architecture {rec_arch!r}, the model "
                         f"is {loaded.arch!r}")
    return VideoDecoder(header, records, loaded, force=force, max_pixels=max_pixels)


def _open_reference(path: str, start: int, header):
    """The reference video for ``decode --reference``, checked before any decoding: its
    frames from ``start`` must cover the stream (same size, at least as many frames)."""
    from .io import open_video

    if start < 0:
        raise UsageError("--start must be >= 0")
    reader = open_video(path)
    info, n = reader.info, header.num_frames
    if (info.width, info.height) != (header.width, header.height):
        raise UsageError(f"{path}: frames are {info.width}x{info.height}, the stream's are "
                         f"{header.width}x{header.height}")
    if info.num_frames is not None and info.num_frames - start < n:
        raise UsageError(f"{path}: {max(0, info.num_frames - start)} frames from --start "
                         f"{start}, fewer than the stream's {n}")
    return reader


def _measure_each(frames, reader, start: int, n: int):
    """Decoded frames (display order), each measured against its reference frame as it
    passes: neither video is held whole."""
    ref = reader.frames(start, n)
    for st, rec in frames:
        orig = next(ref, None)
        if orig is None:
            raise UsageError(f"{reader.path}: fewer frames from --start {start} than the "
                             f"stream's {n}")
        st.measure(orig, rec)
        yield st, rec


def measured(frames: Iterable, reference: str, start: int, header: Header) -> Iterable:
    """``frames`` (``(stats, RGB)`` in display order, as ``open_decoder(...).frames()``
    yields them) with each one's stats measured against ``reference`` from ``start`` as
    it passes. The reference is opened and checked now (same size, enough frames), before
    any frame is decoded; neither video is held whole."""
    reader = _open_reference(reference, start, header)
    return _measure_each(frames, reader, start, header.num_frames)


def decode(data: bytes | str | os.PathLike, model: ModelSpec | None = None, *,
           checkpoint: str | os.PathLike | None = None, arch: str | None = None,
           force: bool = False, progress: bool = False,
           max_pixels: int = 1 << 22) -> DecodeResult:
    """Decode ``.amg`` bytes (or a file); ``.frames`` are RGB ``[3,H,W]`` in display
    order and ``.verified`` says every frame matched the encoder's reconstruction."""
    dec = open_decoder(data, model, checkpoint=checkpoint, arch=arch, force=force,
                       max_pixels=max_pixels)
    frames = [rgb for _, rgb in dec.frames(progress)]
    return DecodeResult(dec.header, frames, dec.stats, dec.verified, dec.first_mismatch)


@dataclass(frozen=True)
class InfoCell:
    """One information type of a Table I row (percent; ``None`` where it has no bits):
    ratio, the paper's gap, its standard error over frames, the small-sample bias of the
    histogram limit, the mismatch gap (gap - bias), the saving of the reparameterization
    mode, and the closures saving/gap (paper-comparable) and saving/mismatch gap."""

    ratio: float | None
    gap: float | None
    saving: float | None = None
    gap_se: float | None = None
    bias: float | None = None
    mismatch_gap: float | None = None
    closure: float | None = None
    closure_mismatch: float | None = None

    @classmethod
    def from_report(cls, v: dict) -> InfoCell:
        if v["bits"] <= 0:
            return cls(None, None)
        return cls(v["ratio"], v["gap"], v.get("saving"), v.get("gap_se"), v.get("bias"),
                   v.get("mismatch_gap"), v.get("closure"), v.get("closure_mismatch"))


@dataclass(frozen=True)
class Table1Row:
    """One row of the paper's Table I: a frame type of one method within one scope."""

    scope: str  # "all videos" or a video label
    method: str  # "MODEL qQ"
    frame_type: str  # I, P, B or Video
    info: dict[str, InfoCell]
    gap: float
    saving: float | None = None
    total: InfoCell | None = None  # every figure of the whole row (bias, se, closures)

    def to_json(self) -> dict:
        return {"scope": self.scope, "method": self.method, "frame_type": self.frame_type,
                "info": {k: vars(v) for k, v in self.info.items()}, "gap": self.gap,
                "saving": self.saving, "total": vars(self.total) if self.total else None}


def _rows(scope: str, method: str, ftypes: dict) -> list[Table1Row]:
    rows = []
    for t, ft in ftypes.items():
        cells = {k: InfoCell.from_report(v) for k, v in ft["info"].items()}
        rows.append(Table1Row(scope, method, t, cells, ft["gap"], ft.get("saving"),
                              InfoCell.from_report({"ratio": 100.0, **ft})))
    return rows


@dataclass
class Analysis:
    """Result of :func:`analyze`: Table I rows, the whole report and where files went."""

    rows: list[Table1Row]
    report: dict
    out: Path | None = None
    model: str = ""
    _scopes: dict = field(default_factory=dict, repr=False)

    def to_markdown(self) -> str:
        from .analysis.table1 import table1_markdown

        return "\n".join(table1_markdown(res, title=scope) for scope, res in self._scopes.items())

    def to_json(self) -> dict:
        """Table I rows and the whole report (``report.json``), JSON-ready."""
        return {"rows": [r.to_json() for r in self.rows], "report": self.report}


def _image_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError):
        return None


def expand_inputs(inputs: Sequence[str | os.PathLike], tmp: str) -> list[str]:
    """Inputs as videos. A folder of PNG images whose sizes differ (a Kodak-style image
    set) becomes one 1-frame video per image: the ``.amg`` header holds one frame size,
    so each image is coded as its own stream (a 1-image folder under ``tmp`` named
    after the image, which keeps its name as the video label)."""
    out = []
    for i, item in enumerate(inputs):
        p = Path(item)
        pngs = sorted(f for f in p.iterdir() if f.suffix.lower() == ".png") \
            if p.is_dir() else []
        if len({_image_size(f) for f in pngs}) > 1:
            for f in pngs:
                one = Path(tmp, f"images{i}", f.stem)
                one.mkdir(parents=True)
                os.symlink(f.resolve(), one / f.name)
                out.append(str(one))
        else:
            out.append(str(item))
    return out


def analyze(videos: Sequence[str | os.PathLike], model: str | None = None, *,
            checkpoint: str | None = None, arch: str | None = None,
            qualities: Sequence[int] = (4,), gop: str | None = None, frames: int = 16,
            gops: int = 1, start: int = 0, reparam: str = "optimal",
            out: str | os.PathLike | None = None, progress: bool = False) -> Analysis:
    """Amortization gap (Table I, Fig. 1, Fig. 2, report.json) of ``videos`` (paths,
    sample names, PNG folders; image folders of mixed sizes: one video per image).

    ``model`` is a zoo name or ``init:ARCH``; or give ``checkpoint`` (and ``arch``).
    Files go to ``out`` (a temporary folder, removed, when ``None``)."""
    from ._fs import fresh_folder
    from .analysis.run import check_out_folder, run_analysis

    if frames < 1 or gops < 1:
        raise UsageError("frames and gops must be >= 1")
    if out is not None:
        check_out_folder(out)  # before any work: never a user's files
    if gop is not None:
        model = model_for_gops(model, [gop], checkpoint=checkpoint, arch=arch,
                               quality=qualities[0])
    first = load_model(name=model, checkpoint=checkpoint, arch=arch, quality=qualities[0])
    gop = gop or default_gop(first)
    with tempfile.TemporaryDirectory(prefix="amgap-") as tmp, \
            (fresh_folder(out) if out is not None else nullcontext(Path(tmp, "out"))) as outdir:
        inputs = expand_inputs(videos, tmp)
        try:
            report = run_analysis(inputs, model=model, checkpoint=checkpoint, arch=arch,
                                  qualities=list(qualities), gop=gop, gop_size=frames,
                                  frames_per_gop=frames, gops=gops, start=start,
                                  out=str(outdir), progress=progress, reparam=reparam)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    method = {q: f"{first.name} q{q}" for q in qualities}
    scopes = {"all videos": {method[q]: report["dataset"][f"q{q}"]["frame_types"]
                             for q in qualities}}
    for label, per_q in report["videos"].items():
        scopes[label] = {method[q]: per_q[f"q{q}"]["frame_types"] for q in qualities}
    rows = [r for scope, res in scopes.items() for m, ft in res.items()
            for r in _rows(scope, m, ft)]
    return Analysis(rows, report, Path(out) if out is not None else None, first.name, scopes)


def evaluate(dataset: Sequence[str], model: str | None = None, *,
             checkpoint: str | None = None, arch: str | None = None,
             gops: Sequence[str] | None = None, qualities: Sequence[int] = (1, 2, 3, 4),
             modes: Sequence[str] = EVAL_MODES, frames: int = 16,
             start: int = 0, out: str | os.PathLike, engine: str = "local",
             address: str | None = None, workers: int = 1, progress: bool = False,
             metric: str = "psnr") -> dict:
    """RD, BD-rate, gap and saving over a dataset (``docs/evaluate.md``); the summary.

    ``metric`` (``psnr`` or ``ms-ssim``) is the quality axis of the RD plots and BD-rates.
    Everything that can be refused is refused before the first job runs."""
    from .evaluation import evaluate as run
    from .evaluation.report import QUALITY_AXES

    if metric not in QUALITY_AXES:
        raise UsageError(f"unknown metric {metric!r} (known: {', '.join(QUALITY_AXES)})")
    if gops is None:
        first = load_model(name=model, checkpoint=checkpoint, arch=arch, quality=qualities[0])
        gops = [default_gop(first)]
    model = model_for_gops(model, gops, checkpoint=checkpoint, arch=arch, quality=qualities[0])
    try:
        return run(list(dataset), model=model, checkpoint=checkpoint, arch=arch,
                   gops=list(gops), qualities=list(qualities), modes=list(modes),
                   frames=frames, start=start, out=str(out), engine=engine,
                   address=address, workers=workers, progress=progress, metric=metric)
    except ImportError as exc:
        raise UsageError(f"--engine dask needs Dask: pip install 'amgap[cluster]' ({exc})") \
            from exc


def list_codecs() -> dict:
    """Registered architectures and the ones amgap refuses (with why)."""
    from .codecs.registry import plugin_errors

    return {"architectures": [a.to_json() for a in architectures()],
            "refused": refusals(), "plugin_errors": plugin_errors()}
