"""Amortization-gap analysis: Table I, figures (pure functions of information streams)."""

from .gap import GapTotals, StreamGap, aggregate, stream_gap
from .report import FRAME_TYPES, TableHistograms, analyze_encoding, merge_totals
from .table1 import table1_csv, table1_markdown

__all__ = ["stream_gap", "StreamGap", "GapTotals", "aggregate", "analyze_encoding",
           "merge_totals", "TableHistograms", "FRAME_TYPES", "table1_markdown", "table1_csv"]
