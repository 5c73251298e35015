"""Whole-video encoding and decoding: GOP order, entropy stage, container records.

The encoder runs the GOP plan in coding order, asks the codec for each frame's
information streams, turns every stream into rANS bytes with the tables the stream
names, and records a checksum of its own reconstruction. The decoder derives the same
plan from the header, hands the codec a :class:`SymbolReader` that rANS-decodes each
stream, and compares every reconstruction with the encoder's checksum.

Both run one segment at a time (a random-access I frame, one at a multiple of the GOP
size, and the frames coded after it up to the next one): the encoder pulls input
frames from an iterator only when a step needs them and releases each once coded; the
decoder hands frames on in display order as soon as they are complete. Neither holds
more than a GOP of frames unless asked to (``keep_recon``, ``keep_streams``,
:func:`decode_video`'s list).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
from tqdm import tqdm

from .bitstream import FrameRecord, Header, StreamRecord, header_problem, pack_frame, pack_header
from .bitstream.syntax import GopId, ReparamMode, StreamKind
from .codecs.base import FrameCodec, FrameType
from .codecs.gop import (
    GOP_IDS,
    CodingStep,
    default_structure,
    gop_plan,
    last_use,
    missing_frame_types,
    random_access,
)
from .entropy import (
    INFO_KINDS,
    InfoKind,
    InfoStream,
    TableSet,
    rans_decode,
    rans_encode,
)
from .entropy.reparam import MODES, Reparameterizer
from .errors import BitstreamError, DesyncError, UsageError
from .io import crop, pad_to_multiple, padded_size
from .metrics import FrameQuality, frame_quality, mean_quality, psnr  # noqa: F401  (psnr: was defined here)
from .models import LoadedModel, make_codec

__all__ = ["EncodeResult", "DecodeResult", "FrameStats", "encode_video", "decode_video",
           "recon_checksum", "psnr", "summary", "default_gop", "check_frame_types",
           "VideoEncoder", "VideoDecoder", "CodedSegment"]

KIND_IDS = {k: int(StreamKind[k.name]) for k in INFO_KINDS}  # header ids: bitstream.syntax


def recon_checksum(x: torch.Tensor) -> bytes:
    """8-byte checksum of a reconstruction as 8-bit RGB (what the user gets)."""
    q = (x.clamp(0, 1) * 255.0).round().to(torch.uint8).contiguous().numpy()
    return hashlib.blake2b(q.tobytes(), digest_size=8).digest()


@dataclass
class FrameStats:
    display_index: int
    coding_index: int
    ftype: FrameType
    refs: tuple[int, ...]
    record_bytes: int = 0
    payload_bytes: dict[str, int] = field(default_factory=dict)  # rANS bytes per stream
    param_bytes: dict[str, int] = field(default_factory=dict)  # reparam signalling bytes
    ideal_bits: dict[str, float] = field(default_factory=dict)  # under the learned tables
    coded_bits: dict[str, float] = field(default_factory=dict)  # tables used + signalling
    learned_payload_bytes: dict[str, int] = field(default_factory=dict)  # when measured
    psnr_rgb: float | None = None
    psnr_y: float | None = None
    quality: FrameQuality | None = None  # every metric (amgap.metrics), when measured
    ms: float = 0.0
    verified: bool | None = None

    def to_json(self) -> dict:
        return {
            "index": self.display_index, "coding_index": self.coding_index,
            "type": self.ftype.name, "refs": list(self.refs), "bytes": self.record_bytes,
            "payload_bytes": self.payload_bytes, "param_bytes": self.param_bytes,
            "ideal_bits": self.ideal_bits, "coded_bits": self.coded_bits,
            "psnr_rgb": self.psnr_rgb, "psnr_y": self.psnr_y, "ms": round(self.ms, 2),
            **({"psnr_yuv": self.quality.psnr_yuv, "ms_ssim": self.quality.ms_ssim}
               if self.quality else {}),
            **({"verified": self.verified} if self.verified is not None else {}),
        }

    def measure(self, orig: torch.Tensor, rec: torch.Tensor, with_ms_ssim: bool = True
                ) -> None:
        """Fill the quality fields: ``rec`` (reconstruction) against ``orig``."""
        self.quality = frame_quality(orig, rec, with_ms_ssim)
        self.psnr_rgb, self.psnr_y = self.quality.psnr_rgb, self.quality.psnr_y


@dataclass
class EncodeResult:
    header: Header
    records: list[FrameRecord]
    stats: list[FrameStats]  # coding order
    streams: list[list[InfoStream]]  # coding order; what analysis consumes
    packed: list[bytes]  # each record as written, packed once
    recon: dict[int, torch.Tensor] | None = None  # display index -> RGB, when kept

    def to_bytes(self) -> bytes:
        """The whole ``.amg`` stream."""
        return pack_header(self.header) + b"".join(self.packed)

    @property
    def data(self) -> bytes:
        """The whole ``.amg`` stream (``to_bytes()``)."""
        return self.to_bytes()

    @property
    def bpp(self) -> float:
        h = self.header
        return len(self.data) * 8 / (h.width * h.height * h.num_frames)

    def to_json(self) -> dict:
        """The ``encode --json`` figures: size, rate, quality, per-stream byte split and
        per-frame figures (display order)."""
        data = self.data
        out = summary(self.header, len(data), self.stats)
        payload = sum(sum(s.payload_bytes.values()) for s in self.stats)
        params = sum(sum(s.param_bytes.values()) for s in self.stats)
        out.update(payload_bytes=payload, param_bytes=params,
                   ideal_payload_bytes_learned=round(
                       sum(sum(s.ideal_bits.values()) for s in self.stats) / 8, 1),
                   estimated_bytes=round(
                       sum(sum(s.coded_bits.values()) for s in self.stats) / 8, 1),
                   container_overhead_bytes=len(data) - payload - params,
                   header_bytes=len(data) - sum(s.record_bytes for s in self.stats))
        return out


def summary(header: Header, total_bytes: int, stats: list[FrameStats]) -> dict:
    """Size, rate, mean quality and per-frame figures (display order) of a stream."""
    n = len(stats)
    per = sorted(stats, key=lambda s: s.display_index)
    ps = [s.psnr_rgb for s in per if s.psnr_rgb is not None]
    py = [s.psnr_y for s in per if s.psnr_y is not None]
    return {
        "frames": n, "width": header.width, "height": header.height,
        "fps": header.fps_num / header.fps_den, "bytes": total_bytes,
        "bpp": total_bytes * 8 / (header.width * header.height * n),
        "psnr_rgb": sum(ps) / len(ps) if ps else None,
        "psnr_y": sum(py) / len(py) if py else None,
        **_metrics_summary(per),
        "per_frame": [s.to_json() for s in per],
    }


def _metrics_summary(stats: list[FrameStats]) -> dict:
    """Mean PSNR-YUV and MS-SSIM (and the MS-SSIM scales used), when measured."""
    qs = [s.quality for s in stats if s.quality is not None]
    m = mean_quality(qs) if qs else {}
    return {k: m.get(k) for k in ("psnr_yuv", "ms_ssim", "ms_ssim_scales")}


def _fps(fps: Fraction) -> tuple[int, int]:
    f = Fraction(fps).limit_denominator(1_000_000)
    return f.numerator, f.denominator


def default_gop(codec: FrameCodec) -> str:
    """``ssf`` for codecs with P frames, ``lhbdc`` for I/B codecs, ``intra`` for image
    codecs."""
    return default_structure(codec.frame_types)


def check_frame_types(codec: FrameCodec, plan: list[CodingStep], gop: str) -> None:
    """Refuse, in one line, a GOP whose frame types the codec does not code."""
    have = set(codec.frame_types)
    missing = missing_frame_types(have, plan)
    if not missing:
        return
    if FrameType.B in have:  # an I/B codec (LHBDC) asked for P frames
        raise ValueError(f"{codec.name} codes I and B frames, no P frames: GOP {gop!r} needs "
                         "P frames; use --gop lhbdc or intra")
    if FrameType.P in have:  # only B frames missing
        raise ValueError(f"{codec.name} has no B-frame model: GOP {gop!r} needs B frames; "
                         "use --gop ssf or intra, or a model with one (e.g. amgap-bflow)")
    raise ValueError(f"{codec.name} is an image codec (I frames only); GOP {gop!r} needs "
                     f"{'/'.join(t.name for t in missing)} frames: use --gop intra")


def _code_streams(streams: list[InfoStream], rs: list, st: FrameStats,
                  measure_learned: bool) -> list[StreamRecord]:
    """rANS-code a frame's streams with the tables reparameterization chose."""
    srecs = []
    for s, r in zip(streams, rs, strict=True):
        data = r.data if r.data is not None else rans_encode(s.symbols, r.table_index,
                                                             r.tables)
        srecs.append(StreamRecord(KIND_IDS[s.kind], data, r.payload))
        k = s.kind.value
        st.payload_bytes[k] = len(data)
        st.param_bytes[k] = len(r.payload)
        st.ideal_bits[k] = r.learned_bits
        st.coded_bits[k] = r.coded_bits + r.payload_bits
        if measure_learned:
            st.learned_payload_bytes[k] = len(data) if not r.payload else len(
                rans_encode(s.symbols, s.table_index, s.tables))
    return srecs


class _FrameSource:
    """Input frames pulled from an iterable only when a coding step needs them, and held
    only until that frame is coded: the encoder's memory is bounded by a GOP, not by the
    video. Every frame is checked against the first one's size as it arrives."""

    def __init__(self, frames: Iterable[torch.Tensor], limit: int) -> None:
        self._it: Iterator[torch.Tensor] = iter(frames)
        self._held: dict[int, torch.Tensor] = {}
        self.limit = limit
        self.pulled = 0
        self.size: tuple[int, int] | None = None  # (height, width) of the first frame

    def _pull(self) -> bool:
        frame = next(self._it, None) if self.pulled < self.limit else None
        if frame is None:
            return False
        shape = tuple(frame.shape[-2:])
        if self.size is None:
            self.size = shape
        elif shape != self.size:
            raise UsageError(f"frame {self.pulled} has size {shape[1]}x{shape[0]}, "
                             f"expected {self.size[1]}x{self.size[0]}")
        self._held[self.pulled] = frame
        self.pulled += 1
        return True

    def has(self, index: int) -> bool:
        """Pull frames up to ``index``; False when the input ends before it."""
        while self.pulled <= index:
            if not self._pull():
                return False
        return True

    def take(self, index: int) -> torch.Tensor:
        return self._held.pop(index)


class _Planner:
    """The GOP plan for the announced frame count, re-derived for the real count when the
    input ends early. Every step is coded only once its frame has arrived, so for every
    registered structure the steps already coded are a prefix of the new plan; a plan that
    is not (a plug-in GOP) is refused rather than written."""

    def __init__(self, gop: str, num_frames: int, gop_size: int) -> None:
        if num_frames < 1:
            raise UsageError("no frames to encode (empty input or --start past the end)")
        self.gop, self.gop_size = gop, gop_size
        self.num_frames = num_frames
        self.plan = gop_plan(gop, num_frames, gop_size)
        self.last_use = last_use(self.plan)

    def step(self, pos: int, source: _FrameSource) -> CodingStep | None:
        """The step at coding position ``pos`` with its frame pulled; None at the end."""
        while pos < len(self.plan):
            step = self.plan[pos]
            if source.has(step.display_index):
                return step
            self._replan(pos, source.pulled)
        return None

    def _replan(self, pos: int, n: int) -> None:
        if n == 0:
            raise UsageError("no frames to encode (empty input or --start past the end)")
        plan = gop_plan(self.gop, n, self.gop_size)
        if plan[:pos] != self.plan[:pos]:
            raise UsageError(f"the input ended after {n} frames, not the {self.num_frames} "
                             f"announced, inside a GOP already coded: give --frames {n}")
        self.plan, self.last_use, self.num_frames = plan, last_use(plan), n


@dataclass
class _Pending:
    """A frame coded by the codec, waiting for its segment's entropy stage."""

    step: CodingStep
    stats: FrameStats
    streams: list[InfoStream]
    checksum: bytes


@dataclass
class CodedSegment:
    """One segment (a random-access I frame and the frames coded after it up to the next
    one: :func:`.codecs.gop.random_access`),
    entropy-coded: what :func:`encode_video` hands on and then releases."""

    records: list[FrameRecord]
    packed: list[bytes]
    stats: list[FrameStats]
    streams: list[list[InfoStream]]
    size: tuple[int, int]  # (height, width) of the frames
    recon: dict[int, torch.Tensor] = field(default_factory=dict)  # when kept


class VideoEncoder:
    """Encodes a video segment by segment (:meth:`segments`); a segment is entropy-coded
    as soon as the next random-access I frame arrives, because reparameterization plans
    over it."""

    def __init__(self, loaded: LoadedModel, *, gop: str | None, gop_size: int,
                 reparam: str = "off", measure_learned: bool = False,
                 probe: list | None = None, ms_ssim: bool = True) -> None:
        if reparam not in MODES:
            raise ValueError(f"unknown --reparam {reparam!r} ({', '.join(MODES)})")
        self.loaded, self.reparam, self.measure_learned = loaded, reparam, measure_learned
        self.ms_ssim = ms_ssim
        self.rp = Reparameterizer(reparam)
        self.codec = make_codec(loaded)
        self.codec.probe = probe
        self.gop, self.gop_size = gop or default_gop(self.codec), gop_size
        self.num_frames = 0
        self.size: tuple[int, int] | None = None
        self.refs: dict[int, torch.Tensor] = {}

    def segments(self, frames: Iterable[torch.Tensor], num_frames: int, *,
                 keep_recon: bool = False, progress: bool = False) -> Iterator[CodedSegment]:
        """Coded segments of up to ``num_frames`` frames pulled from ``frames``; afterwards
        :attr:`num_frames` and :attr:`size` say what was coded (:meth:`header`)."""
        planner = _Planner(self.gop, num_frames, self.gop_size)
        check_frame_types(self.codec, planner.plan, self.gop)
        source = _FrameSource(frames, num_frames)
        pending: list[_Pending] = []
        recon: dict[int, torch.Tensor] = {}
        self.refs, pos = {}, 0
        with tqdm(total=len(planner.plan), desc="encode", unit="frame",
                  disable=not progress) as bar:
            while (step := planner.step(pos, source)) is not None:
                if random_access(step, self.gop_size) and pending:
                    yield self._entropy_code(pending, recon, source.size)
                    pending, recon = [], {}
                frame = source.take(step.display_index)
                if pos == 0:  # the frame size fits the header (any rate: checked apart)
                    self.check_header(Fraction(1), source.size)
                coded, rec = self._code_frame(pos, step, frame, source.size)
                pending.append(coded)
                if keep_recon:
                    recon[step.display_index] = rec.clamp(0, 1)
                for r in [r for r in self.refs if planner.last_use[r] <= pos]:
                    del self.refs[r]
                pos += 1
                bar.total = len(planner.plan)
                bar.update()
        if pending:
            yield self._entropy_code(pending, recon, source.size)
        self.num_frames, self.size = planner.num_frames, source.size

    def _code_frame(self, pos: int, step: CodingStep, frame: torch.Tensor,
                    size: tuple[int, int]) -> tuple[_Pending, torch.Tensor]:
        """Run the codec on one frame; its quality is measured now, so the input frame can
        be released."""
        t0 = time.perf_counter()
        x = pad_to_multiple(frame[None], self.codec.pad_multiple)
        x_hat, streams = self.codec.encode_frame(step.ftype, x,
                                                 [self.refs[r] for r in step.refs])
        st = FrameStats(step.display_index, pos, step.ftype, step.refs)
        rec_rgb = crop(x_hat, *size)[0]
        st.ms = (time.perf_counter() - t0) * 1000.0
        st.measure(frame, rec_rgb, self.ms_ssim)
        self.refs[step.display_index] = x_hat
        return _Pending(step, st, streams, recon_checksum(rec_rgb)), rec_rgb

    def _entropy_code(self, pending: list[_Pending], recon: dict[int, torch.Tensor],
                      size: tuple[int, int]) -> CodedSegment:
        """Reparameterization planned over the whole segment, then rANS and records."""
        t0 = time.perf_counter()
        coded = self.rp.encode_segment([(int(p.step.ftype), p.step.ftype != FrameType.I,
                                         p.streams) for p in pending])
        share = (time.perf_counter() - t0) * 1000.0 / len(pending)
        seg = CodedSegment([], [], [], [], size, recon)
        for p, rs in zip(pending, coded, strict=True):
            t1 = time.perf_counter()
            record = FrameRecord(int(p.step.ftype), p.step.display_index, p.checksum,
                                 _code_streams(p.streams, rs, p.stats, self.measure_learned))
            seg.packed.append(pack_frame(record))
            p.stats.record_bytes = len(seg.packed[-1])
            p.stats.ms += share + (time.perf_counter() - t1) * 1000.0
            seg.records.append(record)
            seg.stats.append(p.stats)
            seg.streams.append(p.streams)
        return seg

    def header(self, fps: Fraction) -> Header:
        """The stream header of what :meth:`segments` coded."""
        assert self.size is not None, "header() before segments() ran"
        return self.check_header(fps, self.size, self.num_frames)

    def check_header(self, fps: Fraction, size: tuple[int, int] = (1, 1),
                     num_frames: int = 1) -> Header:
        """The header these settings give (``size`` and ``num_frames`` once known),
        refused in one line if the stream could not carry it or its decoder would refuse
        it: checked before coding, not after."""
        if Fraction(fps) <= 0:
            raise UsageError(f"frame rate {fps}: must be positive")
        if self.gop not in GOP_IDS:
            raise UsageError(f"GOP structure {self.gop!r} has no header id: a stream "
                             "cannot name it (known: " + ", ".join(GOP_IDS) + ")")
        fps_num, fps_den = _fps(fps)
        loaded = self.loaded
        h = Header(width=size[1], height=size[0], num_frames=num_frames,
                   fps_num=fps_num, fps_den=fps_den, gop_structure=GOP_IDS[self.gop],
                   gop_size=self.gop_size, model_source=loaded.source,
                   quality=loaded.quality, weights_hash=loaded.weights_hash,
                   model_name=loaded.stream_name, reparam_mode=MODES[self.reparam])
        problem = header_problem(h)
        if problem:
            raise UsageError(f"cannot write this stream: {problem}")
        return h


def encode_video(frames: Iterable[torch.Tensor], loaded: LoadedModel, *, fps: Fraction,
                 num_frames: int, gop: str | None = None, gop_size: int = 16,
                 keep_recon: bool = False, progress: bool = False, probe: list | None = None,
                 reparam: str = "off", measure_learned: bool = False,
                 keep_streams: bool = True, ms_ssim: bool = True,
                 on_segment: Callable[[CodedSegment], None] | None = None) -> EncodeResult:
    """Encode up to ``num_frames`` RGB frames ``[3,H,W]`` (display order), pulled from
    ``frames`` (a list, an ``[N,3,H,W]`` tensor or any iterator, e.g. a reader's
    ``frames()``) one segment at a time.

    ``gop``: a GOP structure; ``None`` picks ``intra`` for image codecs, else ``ssf``.
    ``reparam``: ``off`` | ``paper`` | ``optimal`` | ``thorough`` (table replacement per
    frame, signalled in each stream's parameters). ``measure_learned`` also rANS-codes
    every stream with the learned tables, to report real savings. ``probe``: a list that
    receives each main latent's ``(y - mu) / sigma`` (calibration). ``keep_streams=False``
    releases every segment's symbols once coded (``on_segment`` sees each segment first),
    and ``keep_recon`` keeps the reconstructions: without them memory is bounded by a GOP.
    ``ms_ssim=False`` leaves MS-SSIM out of the per-frame figures (PSNRs are always
    measured): at QCIF it costs about a sixth of the encode.
    """
    if isinstance(frames, (Sequence, torch.Tensor)):
        num_frames = min(num_frames, len(frames))
    enc = VideoEncoder(loaded, gop=gop, gop_size=gop_size, reparam=reparam,
                       measure_learned=measure_learned, probe=probe, ms_ssim=ms_ssim)
    records, stats, streams, packed = [], [], [], []
    recon: dict[int, torch.Tensor] = {}
    enc.check_header(fps)  # rate, GOP size, quality: before any frame is coded
    for seg in enc.segments(frames, num_frames, keep_recon=keep_recon, progress=progress):
        if on_segment is not None:
            on_segment(seg)
        records += seg.records
        packed += seg.packed
        stats += seg.stats
        streams += seg.streams if keep_streams else [[] for _ in seg.stats]
        recon.update(seg.recon)
    return EncodeResult(enc.header(fps), records, stats, streams, packed,
                        recon if keep_recon else None)


@dataclass
class DecodeResult:
    header: Header
    frames: list[torch.Tensor]  # display order, RGB [3,H,W] in [0,1]
    stats: list[FrameStats]  # coding order
    verified: bool
    first_mismatch: int | None = None


class _StreamReader:
    """The decoder's :class:`SymbolReader`: rANS-decodes the record's stream of ``kind``."""

    def __init__(self, record: FrameRecord, where: str, rp: Reparameterizer,
                 ftype: FrameType):
        self.streams = {s.kind: s for s in record.streams}
        self.where = where
        self.rp = rp
        self.ftype = ftype
        self.used: list[int] = []

    def __call__(self, kind: InfoKind, table_index: np.ndarray, tables: TableSet) -> np.ndarray:
        sid = KIND_IDS[kind]
        if sid not in self.streams:
            raise BitstreamError(f"{self.where}: missing {kind.value} stream")
        self.used.append(sid)
        s = self.streams[sid]
        tables2, remap = self.rp.decode(s.params, tables, kind.value, int(self.ftype),
                                        self.ftype != FrameType.I, table_index,
                                        f"{self.where} {kind.value}")
        symbols = rans_decode(s.data, remap[table_index], tables2)
        self.rp.observe(kind.value, int(self.ftype), tables, symbols, table_index)
        return symbols


def expected_plan(header: Header) -> list[CodingStep]:
    try:
        gop = GopId(header.gop_structure).label
    except ValueError:
        raise BitstreamError(f"header: unknown GOP structure id {header.gop_structure}") \
            from None
    try:
        return gop_plan(gop, header.num_frames, header.gop_size)
    except ValueError as exc:
        raise BitstreamError(f"header: {exc}") from exc


MAX_PIXELS = 1 << 22  # default decoder limit (e.g. 2560x1600): bounds memory on bad input


def _check_decodable(header: Header, loaded: LoadedModel, force: bool,
                     max_pixels: int) -> str:
    """Refuse, before anything is allocated, a stream this decoder must not decode; the
    reparameterization mode's name."""
    if header.width * header.height > max_pixels:
        raise BitstreamError(
            f"header: frame size {header.width}x{header.height} exceeds the decoder's limit "
            f"of {max_pixels} pixels (raise it with --max-pixels)")
    if loaded.weights_hash != header.weights_hash and not force:
        raise DesyncError(
            f"model mismatch: the stream was encoded with {header.model_name!r} "
            f"q{header.quality} (weights {header.weights_hash.hex()}), the decoder has "
            f"{loaded.name!r} q{loaded.quality} (weights {loaded.weights_hash.hex()})")
    try:
        return ReparamMode(header.reparam_mode).label
    except ValueError:
        raise BitstreamError(f"header: unknown reparameterization mode {header.reparam_mode}") \
            from None


class VideoDecoder:
    """Decodes a parsed stream frame by frame (:meth:`frames`): each frame is handed on
    in display order as soon as every earlier one is, and released by the decoder once no
    later frame references it, so memory is bounded by a GOP, not by the video.

    Raises :class:`DesyncError` at the first checksum mismatch unless ``force`` (then
    every frame is decoded and :attr:`verified` says whether all matched). Frames larger
    than ``max_pixels`` are refused before anything is allocated."""

    def __init__(self, header: Header, records: list[FrameRecord], loaded: LoadedModel, *,
                 force: bool = False, max_pixels: int = MAX_PIXELS) -> None:
        mode = _check_decodable(header, loaded, force, max_pixels)
        self.header, self.records, self.force = header, records, force
        self.codec = make_codec(loaded)
        self.plan = expected_plan(header)
        self.rp = Reparameterizer(mode)
        self.stats: list[FrameStats] = []  # coding order, filled as frames are decoded
        self.verified, self.first_mismatch = True, None

    def frames(self, progress: bool = False) -> Iterator[tuple[FrameStats, torch.Tensor]]:
        """``(stats, RGB [3,H,W] in [0,1])`` of every frame, in display order."""
        drop_after = last_use(self.plan)
        refs: dict[int, torch.Tensor] = {}
        ready: dict[int, tuple[FrameStats, torch.Tensor]] = {}
        next_out = 0
        steps = zip(self.plan, self.records, strict=True)
        for pos, (step, rec) in enumerate(tqdm(steps, total=len(self.plan), desc="decode",
                                               unit="frame", disable=not progress)):
            x_hat, st = self._decode_frame(pos, step, rec, refs)
            refs[step.display_index] = x_hat
            ready[step.display_index] = (st, crop(x_hat, self.header.height,
                                                  self.header.width)[0].clamp(0, 1))
            for r in [r for r in refs if drop_after[r] <= pos]:
                del refs[r]
            while next_out in ready:
                yield ready.pop(next_out)
                next_out += 1

    def _decode_frame(self, pos: int, step: CodingStep, rec: FrameRecord,
                      refs: dict[int, torch.Tensor]) -> tuple[torch.Tensor, FrameStats]:
        """One frame: checked against the plan, decoded, verified against the checksum."""
        where = f"frame record {pos}"
        if rec.frame_type != int(step.ftype) or rec.display_index != step.display_index:
            raise BitstreamError(
                f"{where}: expected {step.ftype.name} frame {step.display_index}, found type "
                f"{rec.frame_type} frame {rec.display_index} (frames out of order?)")
        t0 = time.perf_counter()
        if random_access(step, self.header.gop_size):
            self.rp.reset()
        reader = _StreamReader(rec, where, self.rp, step.ftype)
        h = self.header
        ph, pw = padded_size(h.height, h.width, self.codec.pad_multiple)
        try:
            x_hat = self.codec.decode_frame(step.ftype, ph, pw, [refs[r] for r in step.refs],
                                            reader)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise BitstreamError(f"{where}: cannot decode ({str(exc).splitlines()[0][:120]})") \
                from exc
        if sorted(reader.used) != sorted(s.kind for s in rec.streams):
            raise BitstreamError(f"{where}: unexpected extra streams")
        st = FrameStats(step.display_index, pos, step.ftype, step.refs)
        st.ms = (time.perf_counter() - t0) * 1000.0
        st.payload_bytes = {INFO_KINDS[s.kind].value: len(s.data) for s in rec.streams}
        st.param_bytes = {INFO_KINDS[s.kind].value: len(s.params) for s in rec.streams}
        st.record_bytes = len(pack_frame(rec))
        self._verify(st, crop(x_hat, h.height, h.width)[0], rec)
        self.stats.append(st)
        return x_hat, st

    def _verify(self, st: FrameStats, rgb: torch.Tensor, rec: FrameRecord) -> None:
        st.verified = recon_checksum(rgb) == rec.recon_checksum
        if st.verified:
            return
        self.verified = False
        if self.first_mismatch is None:
            self.first_mismatch = st.display_index
        if not self.force:
            raise DesyncError(
                f"frame {st.display_index} does not match what the encoder reconstructed "
                f"(checksum mismatch: different model, library build or corrupt stream)")


def decode_video(header: Header, records: list[FrameRecord], loaded: LoadedModel, *,
                 force: bool = False, progress: bool = False,
                 max_pixels: int = MAX_PIXELS) -> DecodeResult:
    """Decode all frames into one list (:class:`VideoDecoder` streams them instead)."""
    dec = VideoDecoder(header, records, loaded, force=force, max_pixels=max_pixels)
    frames = [rgb for _, rgb in dec.frames(progress)]
    return DecodeResult(header, frames, dec.stats, dec.verified, dec.first_mismatch)
