"""Amortization-gap analysis: Table I, figures (pure functions of information streams)."""

from .bias import TableBias, expected_limit_bits
from .gap import FrameMoments, GapTotals, StreamGap, aggregate, stream_gap
from .report import FRAME_TYPES, LatentGeometry, TableHistograms, analyze_encoding, merge_totals
from .table1 import table1_csv, table1_markdown

__all__ = ["stream_gap", "StreamGap", "GapTotals", "FrameMoments", "aggregate",
           "analyze_encoding", "merge_totals", "TableHistograms", "LatentGeometry",
           "FRAME_TYPES", "table1_markdown", "table1_csv", "TableBias", "expected_limit_bits"]
