"""Whole-video encoding and decoding: GOP order, entropy stage, container records.

The encoder runs the GOP plan in coding order, asks the codec for each frame's
information streams, turns every stream into rANS bytes with the tables the stream
names, and records a checksum of its own reconstruction. The decoder derives the same
plan from the header, hands the codec a :class:`SymbolReader` that rANS-decodes each
stream, and compares every reconstruction with the encoder's checksum.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
from tqdm import tqdm

from .bitstream import FrameRecord, Header, StreamRecord, pack_frame, pack_header
from .codecs.base import FrameCodec, FrameType
from .codecs.gop import GOP_IDS, CodingStep, default_structure, gop_plan, last_use
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
           "recon_checksum", "psnr", "summary", "default_gop", "check_frame_types"]

KIND_IDS = {k: i for i, k in enumerate(INFO_KINDS)}


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

    def measure(self, orig: torch.Tensor, rec: torch.Tensor) -> None:
        """Fill the quality fields: ``rec`` (reconstruction) against ``orig``."""
        self.quality = frame_quality(orig, rec)
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
    missing = sorted({s.ftype for s in plan} - have)
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
        data = rans_encode(s.symbols, r.table_index, r.tables)
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


def encode_video(frames: Iterable[torch.Tensor], loaded: LoadedModel, *, fps: Fraction,
                 num_frames: int, gop: str | None = None, gop_size: int = 16,
                 keep_recon: bool = False,
                 progress: bool = False, probe: list | None = None, reparam: str = "off",
                 measure_learned: bool = False) -> EncodeResult:
    """Encode ``num_frames`` RGB frames ``[3,H,W]`` (display order).

    ``gop``: a GOP structure; ``None`` picks ``intra`` for image codecs, else ``ssf``.
    ``reparam``: ``off`` | ``paper`` | ``optimal`` (table replacement per frame, signalled
    in each stream's parameters). ``measure_learned`` also rANS-codes every stream with
    the learned tables, to report real savings. ``probe``: a list that receives each main
    latent's ``(y - mu) / sigma`` (calibration).
    """
    if reparam not in MODES:
        raise ValueError(f"unknown --reparam {reparam!r} (off, paper, optimal)")
    rp = Reparameterizer(reparam)
    codec = make_codec(loaded)
    codec.probe = probe
    frame_list = list(frames)
    if not frame_list:
        raise UsageError("no frames to encode (empty input or --start past the end)")
    num_frames = min(num_frames, len(frame_list))
    frame_list = frame_list[:num_frames]
    height, width = frame_list[0].shape[-2:]
    for i, f in enumerate(frame_list):
        if f.shape[-2:] != (height, width):
            raise UsageError(f"frame {i} has size {f.shape[-1]}x{f.shape[-2]}, "
                             f"expected {width}x{height}")
    gop = gop or default_gop(codec)
    plan = gop_plan(gop, num_frames, gop_size)
    check_frame_types(codec, plan, gop)
    drop_after = last_use(plan)
    fps_num, fps_den = _fps(fps)
    header = Header(width=width, height=height, num_frames=num_frames, fps_num=fps_num,
                    fps_den=fps_den, gop_structure=GOP_IDS[gop], gop_size=gop_size,
                    model_source=loaded.source, quality=loaded.quality,
                    weights_hash=loaded.weights_hash, model_name=loaded.stream_name,
                    reparam_mode=MODES[reparam])
    refs: dict[int, torch.Tensor] = {}
    records, stats, all_streams, packed = [], [], [], []
    recon: dict[int, torch.Tensor] = {}
    segment: list[tuple[CodingStep, FrameStats, list[InfoStream], bytes]] = []

    def flush() -> None:
        """Reparameterization is planned over a whole segment (I frame to I frame)."""
        t0 = time.perf_counter()
        coded = rp.encode_segment([(int(step.ftype), step.ftype != FrameType.I, streams)
                                   for step, _, streams, _ in segment])
        share = (time.perf_counter() - t0) * 1000.0 / max(len(segment), 1)
        for (step, st, streams, checksum), rs in zip(segment, coded, strict=True):
            t1 = time.perf_counter()
            record = FrameRecord(int(step.ftype), step.display_index, checksum,
                                 _code_streams(streams, rs, st, measure_learned))
            packed.append(pack_frame(record))
            st.record_bytes = len(packed[-1])
            st.ms += share + (time.perf_counter() - t1) * 1000.0
            records.append(record)
            stats.append(st)
            all_streams.append(streams)
        segment.clear()

    for pos, step in enumerate(tqdm(plan, desc="encode", unit="frame", disable=not progress)):
        if step.ftype == FrameType.I and segment:
            flush()
        t0 = time.perf_counter()
        x = pad_to_multiple(frame_list[step.display_index][None], codec.pad_multiple)
        x_hat, streams = codec.encode_frame(step.ftype, x, [refs[r] for r in step.refs])
        st = FrameStats(step.display_index, pos, step.ftype, step.refs)
        rec_rgb = crop(x_hat, height, width)[0]
        st.ms = (time.perf_counter() - t0) * 1000.0
        st.measure(frame_list[step.display_index], rec_rgb)
        segment.append((step, st, streams, recon_checksum(rec_rgb)))
        refs[step.display_index] = x_hat
        if keep_recon:
            recon[step.display_index] = rec_rgb.clamp(0, 1)
        for r in [r for r in refs if drop_after[r] <= pos]:
            del refs[r]
    flush()
    return EncodeResult(header, records, stats, all_streams, packed,
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
    names = {v: k for k, v in GOP_IDS.items()}
    if header.gop_structure not in names:
        raise BitstreamError(f"header: unknown GOP structure id {header.gop_structure}")
    try:
        return gop_plan(names[header.gop_structure], header.num_frames, header.gop_size)
    except ValueError as exc:
        raise BitstreamError(f"header: {exc}") from exc


MAX_PIXELS = 1 << 22  # default decoder limit (e.g. 2560x1600): bounds memory on bad input


def decode_video(header: Header, records: list[FrameRecord], loaded: LoadedModel, *,
                 force: bool = False, progress: bool = False,
                 max_pixels: int = MAX_PIXELS) -> DecodeResult:
    """Decode all frames; raise :class:`DesyncError` at the first checksum mismatch unless
    ``force`` (then every frame is decoded and ``verified`` says whether all matched).

    Frames larger than ``max_pixels`` are refused before anything is allocated."""
    if header.width * header.height > max_pixels:
        raise BitstreamError(
            f"header: frame size {header.width}x{header.height} exceeds the decoder's limit "
            f"of {max_pixels} pixels (raise it with --max-pixels)")
    if loaded.weights_hash != header.weights_hash and not force:
        raise DesyncError(
            f"model mismatch: the stream was encoded with {header.model_name!r} "
            f"q{header.quality} (weights {header.weights_hash.hex()}), the decoder has "
            f"{loaded.name!r} q{loaded.quality} (weights {loaded.weights_hash.hex()})")
    codec = make_codec(loaded)
    plan = expected_plan(header)
    modes = {v: k for k, v in MODES.items()}
    if header.reparam_mode not in modes:
        raise BitstreamError(f"header: unknown reparameterization mode {header.reparam_mode}")
    rp = Reparameterizer(modes[header.reparam_mode])
    drop_after = last_use(plan)
    height, width = header.height, header.width
    ph, pw = padded_size(height, width, codec.pad_multiple)
    refs: dict[int, torch.Tensor] = {}
    out: dict[int, torch.Tensor] = {}
    stats: list[FrameStats] = []
    verified, first_bad = True, None
    for pos, (step, rec) in enumerate(tqdm(list(zip(plan, records, strict=True)),
                                           desc="decode", unit="frame", disable=not progress)):
        where = f"frame record {pos}"
        if rec.frame_type != int(step.ftype) or rec.display_index != step.display_index:
            raise BitstreamError(
                f"{where}: expected {step.ftype.name} frame {step.display_index}, found type "
                f"{rec.frame_type} frame {rec.display_index} (frames out of order?)")
        t0 = time.perf_counter()
        inter = step.ftype != FrameType.I
        if not inter:
            rp.reset()
        reader = _StreamReader(rec, where, rp, step.ftype)
        try:
            x_hat = codec.decode_frame(step.ftype, ph, pw, [refs[r] for r in step.refs], reader)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise BitstreamError(f"{where}: cannot decode ({str(exc).splitlines()[0][:120]})") \
                from exc
        if sorted(reader.used) != sorted(s.kind for s in rec.streams):
            raise BitstreamError(f"{where}: unexpected extra streams")
        rgb = crop(x_hat, height, width)[0]
        st = FrameStats(step.display_index, pos, step.ftype, step.refs)
        st.ms = (time.perf_counter() - t0) * 1000.0
        st.payload_bytes = {INFO_KINDS[s.kind].value: len(s.data) for s in rec.streams}
        st.param_bytes = {INFO_KINDS[s.kind].value: len(s.params) for s in rec.streams}
        st.record_bytes = len(pack_frame(rec))
        st.verified = recon_checksum(rgb) == rec.recon_checksum
        if not st.verified:
            verified = False
            if first_bad is None:
                first_bad = step.display_index
            if not force:
                raise DesyncError(
                    f"frame {step.display_index} does not match what the encoder "
                    f"reconstructed (checksum mismatch: different model, library build or "
                    f"corrupt stream)")
        stats.append(st)
        refs[step.display_index] = x_hat
        out[step.display_index] = rgb.clamp(0, 1)
        for r in [r for r in refs if drop_after[r] <= pos]:
            del refs[r]
    return DecodeResult(header, [out[i] for i in range(header.num_frames)], stats, verified,
                        first_bad)
