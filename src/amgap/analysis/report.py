"""From encoded videos to the analysis report (``report.json``, schema in docs/analysis.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..coding import CodedSegment, EncodeResult, FrameStats
from ..entropy import InfoStream
from ..io import padded_size
from .gap import GapTotals, StreamGap, aggregate, stream_gap  # noqa: F401

__all__ = ["analyze_encoding", "EncodingAnalysis", "merge_totals", "FRAME_TYPES", "TableHistograms",
           "LatentGeometry"]

FRAME_TYPES = ("I", "P", "B", "Video")


@dataclass(frozen=True)
class LatentGeometry:
    """Where the replicate-padded border lies in the coded latents.

    Frames are padded bottom/right to ``pad_multiple``; main latents have stride
    ``main_stride`` (four stride-2 stages in every shipped codec); a side latent's stride
    follows from its channel count (one table per channel) and its symbol count. A
    latent position is *padded* when its ``stride x stride`` footprint lies wholly in
    the border (positions straddling the frame edge count as picture)."""

    width: int
    height: int
    pad_multiple: int
    main_stride: int = 16

    def padded_mask(self, stream: InfoStream) -> np.ndarray | None:
        """Boolean mask of the stream's symbols at padded positions (None: shape unknown)."""
        ph, pw = padded_size(self.height, self.width, self.pad_multiple)
        n = len(stream)
        if stream.kind.level == "main":
            stride = self.main_stride
        else:
            channels = len(stream.tables)
            if not channels or n % channels:
                return None
            stride = int(round(np.sqrt(ph * pw * channels / n)))
        if stride <= 0 or ph % stride or pw % stride:
            return None
        hl, wl = ph // stride, pw // stride
        if n % (hl * wl):
            return None
        rows = np.arange(hl)[:, None] >= -(-self.height // stride)
        cols = np.arange(wl)[None, :] >= -(-self.width // stride)
        return np.tile((rows | cols).reshape(-1), n // (hl * wl))


class TableHistograms:
    """Symbol counts per (frame type, information type, table), for the Fig. 1 plots."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], dict[int, dict[int, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int)))
        self.bits: dict[tuple[str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.tables: dict[tuple[str, str], object] = {}
        # frames in which each table coded symbols (symbols per frame = counts / frames)
        self.frames: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, ftype: str, stream, gap: StreamGap) -> None:
        key = (ftype, stream.kind.value)
        self.tables[key] = stream.tables
        for t in gap.tables.table.tolist():
            self.frames[key][t] += 1
        ts, vs, cs = stream.histogram()
        for t, v, c in zip(ts.tolist(), vs.tolist(), cs.tolist(), strict=True):
            self.counts[key][t][v] += c
        for t, b in zip(gap.tables.table.tolist(), gap.tables.bits.tolist(), strict=True):
            self.bits[key][t] += b

    def top_tables(self, key: tuple[str, str], n: int) -> list[int]:
        bits = self.bits.get(key, {})
        return sorted(bits, key=lambda t: -bits[t])[:n]


def _frame_json(fj: dict) -> dict:
    """One frame's figures for report.json (moments and standard errors are for
    aggregates over frames)."""
    drop = {"moments", "gap_se", "bias_se", "mismatch_gap_se"}
    return {k: {a: b for a, b in v.items() if a not in drop} for k, v in fj["info"].items()
            if v["bits"] > 0}


class EncodingAnalysis:
    """Gap figures of one video, accumulated segment by segment: pass :meth:`add` as
    ``encode_video(..., on_segment=..., keep_streams=False)`` and each segment's symbols
    are released once counted; :meth:`report` then gives what :func:`analyze_encoding`
    gives for the whole result."""

    def __init__(self, hist: TableHistograms | None = None,
                 pad_multiple: int | None = None) -> None:
        self.hist, self.pad_multiple = hist, pad_multiple
        self.per_frame_gaps: list[tuple[str, GapTotals]] = []
        self.frames: list[dict] = []

    def add(self, seg: CodedSegment) -> None:
        """Count one coded segment (its ``size`` is ``(height, width)``)."""
        h, w = seg.size
        geo = LatentGeometry(w, h, self.pad_multiple) if self.pad_multiple else None
        for st, streams in zip(seg.stats, seg.streams, strict=True):
            self._add_frame(st, streams, geo)

    def _add_frame(self, st: FrameStats, streams: list[InfoStream],
                   geo: LatentGeometry | None) -> None:
        gaps = [stream_gap(s, geo.padded_mask(s) if geo else None) for s in streams]
        ftype = st.ftype.name
        if self.hist is not None:
            for s, g in zip(streams, gaps, strict=True):
                self.hist.add(ftype, s, g)
        tot = GapTotals()
        reparam_bytes = {k: st.payload_bytes[k] + st.param_bytes.get(k, 0)
                         for k in st.payload_bytes} if st.learned_payload_bytes else None
        tot.add(gaps, st.learned_payload_bytes or None, reparam_bytes)
        self.per_frame_gaps.append((ftype, tot))
        fj = tot.to_json()
        self.frames.append({
            "index": st.display_index, "coding_index": st.coding_index, "type": ftype,
            "bytes": st.record_bytes, "payload_bytes": sum(st.payload_bytes.values()),
            "psnr_rgb": st.psnr_rgb, "psnr_y": st.psnr_y,
            "psnr_yuv": st.quality.psnr_yuv if st.quality else None,
            "ms_ssim": st.quality.ms_ssim if st.quality else None,
            "bits": fj["bits"], "limit_bits": fj["limit_bits"], "gap": fj["gap"],
            "bias": fj["bias"], "mismatch_gap": fj["mismatch_gap"],
            **({"saving": fj["saving"]} if "saving" in fj else {}),
            "info": _frame_json(fj)})

    def report(self, res: EncodeResult) -> dict:
        """Per-frame and per-frame-type figures of the encoded video."""
        totals = aggregate(self.per_frame_gaps)
        h, frames = res.header, self.frames
        n = h.num_frames
        total_bytes = len(res.to_bytes())
        return {
            "frames": n, "width": h.width, "height": h.height,
            "bytes": total_bytes, "bpp": total_bytes * 8 / (h.width * h.height * n),
            "psnr_rgb": float(np.mean([f["psnr_rgb"] for f in frames])),
            "psnr_y": float(np.mean([f["psnr_y"] for f in frames])),
            **_quality_means(res),
            "frame_types": {t: totals[t].to_json() for t in FRAME_TYPES if t in totals},
            "per_frame": sorted(frames, key=lambda f: f["index"]),
            "_totals": totals,
        }


def analyze_encoding(res: EncodeResult, hist: TableHistograms | None = None,
                     pad_multiple: int | None = None) -> dict:
    """Per-frame and per-frame-type gap figures of one encoded video (its streams kept).

    ``pad_multiple``: the codec's padding multiple; with it, bits at padded latent
    positions are reported (``pad_bits``, ``pad_share``)."""
    acc = EncodingAnalysis(hist, pad_multiple)
    h = res.header
    acc.add(CodedSegment(res.records, res.packed, res.stats, res.streams, (h.height, h.width)))
    return acc.report(res)


def _quality_means(res: EncodeResult) -> dict:
    """Mean PSNR-YUV and MS-SSIM of the video, and the MS-SSIM scales used."""
    from ..metrics import mean_quality

    qs = [st.quality for st in res.stats if st.quality is not None]
    m = mean_quality(qs) if qs else {}
    return {k: m.get(k) for k in ("psnr_yuv", "ms_ssim", "ms_ssim_scales")}


def merge_totals(items: list[dict[str, GapTotals]]) -> dict[str, GapTotals]:
    out: dict[str, GapTotals] = {}
    for totals in items:
        for t, g in totals.items():
            out.setdefault(t, GapTotals()).merge(g)
    return out
