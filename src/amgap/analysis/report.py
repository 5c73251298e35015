"""From encoded videos to the analysis report (``report.json``, schema in docs/analysis.md)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..coding import EncodeResult
from .gap import GapTotals, StreamGap, aggregate, stream_gap  # noqa: F401

__all__ = ["analyze_encoding", "merge_totals", "FRAME_TYPES", "TableHistograms"]

FRAME_TYPES = ("I", "P", "B", "Video")


class TableHistograms:
    """Symbol counts per (frame type, information type, table), for the Fig. 1 plots."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], dict[int, dict[int, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int)))
        self.bits: dict[tuple[str, str], dict[int, float]] = defaultdict(lambda: defaultdict(float))
        self.tables: dict[tuple[str, str], object] = {}

    def add(self, ftype: str, stream, gap: StreamGap) -> None:
        key = (ftype, stream.kind.value)
        self.tables[key] = stream.tables
        ts, vs, cs = stream.histogram()
        for t, v, c in zip(ts.tolist(), vs.tolist(), cs.tolist(), strict=True):
            self.counts[key][t][v] += c
        for t, b in zip(gap.tables.table.tolist(), gap.tables.bits.tolist(), strict=True):
            self.bits[key][t] += b

    def top_tables(self, key: tuple[str, str], n: int) -> list[int]:
        bits = self.bits.get(key, {})
        return sorted(bits, key=lambda t: -bits[t])[:n]


def analyze_encoding(res: EncodeResult, hist: TableHistograms | None = None) -> dict:
    """Per-frame and per-frame-type gap figures of one encoded video."""
    per_frame_gaps: list[tuple[str, GapTotals]] = []
    frames = []
    for st, streams in zip(res.stats, res.streams, strict=True):
        gaps = [stream_gap(s) for s in streams]
        ftype = st.ftype.name
        if hist is not None:
            for s, g in zip(streams, gaps, strict=True):
                hist.add(ftype, s, g)
        tot = GapTotals()
        reparam_bytes = {k: st.payload_bytes[k] + st.param_bytes.get(k, 0)
                         for k in st.payload_bytes} if st.learned_payload_bytes else None
        tot.add(gaps, st.learned_payload_bytes or None, reparam_bytes)
        per_frame_gaps.append((ftype, tot))
        fj = tot.to_json()
        frames.append({"index": st.display_index, "coding_index": st.coding_index,
                       "type": ftype, "bytes": st.record_bytes,
                       "payload_bytes": sum(st.payload_bytes.values()),
                       "psnr_rgb": st.psnr_rgb, "psnr_y": st.psnr_y,
                       "bits": fj["bits"], "limit_bits": fj["limit_bits"], "gap": fj["gap"],
                       **({"saving": fj["saving"]} if "saving" in fj else {}),
                       "info": {k: v for k, v in fj["info"].items() if v["bits"] > 0}})
    totals = aggregate(per_frame_gaps)
    h = res.header
    n = h.num_frames
    total_bytes = len(res.to_bytes())
    return {
        "frames": n, "width": h.width, "height": h.height,
        "bytes": total_bytes, "bpp": total_bytes * 8 / (h.width * h.height * n),
        "psnr_rgb": float(np.mean([f["psnr_rgb"] for f in frames])),
        "psnr_y": float(np.mean([f["psnr_y"] for f in frames])),
        "frame_types": {t: totals[t].to_json() for t in FRAME_TYPES if t in totals},
        "per_frame": sorted(frames, key=lambda f: f["index"]),
        "_totals": totals,
    }


def merge_totals(items: list[dict[str, GapTotals]]) -> dict[str, GapTotals]:
    out: dict[str, GapTotals] = {}
    for totals in items:
        for t, g in totals.items():
            out.setdefault(t, GapTotals()).merge(g)
    return out
