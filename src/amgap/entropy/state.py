"""State shared by the planner (:mod:`.plan`) and the reparameterizer (:mod:`.reparam`):
what a table was replaced by, the per-key history, and how rows are rebuilt from them.
Both sides of the codec build rows only through these functions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .families import (
    gauss0_pmf,
    gg_pmf,
    gg_shape,
    gmm_pmf,
    quantized_cdf,
    scale_multiplier,
    shifted_pmf,
    side_shift,
)
from .streams import InfoStream
from .syntax import PRIORS
from .tables import TableSet
from .vfit import Pairs, TableAttrs, exact_bits

__all__ = ["TableParams", "StreamReparam", "KeyState", "Applied", "family_name",
           "limit_bits", "table_order", "build_row", "adapt_row", "stream_pairs",
           "coded_bits"]


@dataclass(frozen=True)
class TableParams:
    """What a table was replaced by: family name, components, 10-bit codes."""

    family: str  # "gmm" | "gauss0" | "gg" | "shift"
    k: int
    codes: tuple[int, ...]


@dataclass
class StreamReparam:
    """Result of reparameterizing one stream (encoder side)."""

    payload: bytes
    tables: TableSet
    table_index: np.ndarray
    learned_bits: float  # exact bits with the learned tables
    coded_bits: float  # exact bits of the symbols with the tables actually used
    payload_bits: int  # signalling bits before byte padding
    replaced: int = 0
    reused: int = 0
    adapted: int = 0
    data: bytes | None = None  # rANS bytes, when planning already coded the stream


def family_name(main: bool, family: int) -> str:
    """The table family a (level, family id) builds rows with."""
    return ("gauss0", "gauss0", "gg", "gg")[family] if main else ("gmm", "shift")[family]


def limit_bits(counts: np.ndarray) -> float:
    """N * H(histogram): the fewest bits any table can spend on these symbols."""
    c = counts.astype(np.float64)
    return float(-(c * np.log2(c / c.sum())).sum())


def table_order(tables: TableSet) -> np.ndarray:
    """Signalling order: side tables by learned entropy (high first); main tables by
    scale index (low scales first). Depends only on the learned tables."""
    if "order" not in tables._lists:
        if tables.family == "factorized":
            h = np.empty(len(tables))
            for t in range(len(tables)):
                p = tables.pmf(t)
                h[t] = -(p * np.log2(p)).sum()
            tables._lists["order"] = np.lexsort((np.arange(len(tables)), -np.round(h, 9)))
        else:
            tables._lists["order"] = np.arange(len(tables))
    return tables._lists["order"]


def build_row(tables: TableSet, t: int, p: TableParams) -> np.ndarray:
    """The quantized CDF of table ``t`` replaced by ``p`` (same on both sides)."""
    a = int(tables.offsets[t])
    b = a + int(tables.cdf_lengths[t]) - 3
    if p.family == "gmm":
        return quantized_cdf(gmm_pmf(np.asarray(p.codes), p.k, a, b))
    if p.family == "shift":
        row = tables.cdfs[t, : tables.cdf_lengths[t]]
        return quantized_cdf(shifted_pmf(row, a, float(side_shift(p.codes[0])),
                                         float(scale_multiplier(p.codes[1]))))
    if p.family == "gg":
        return quantized_cdf(gg_pmf(float(tables.scales[t] * scale_multiplier(p.codes[1])),
                                    float(gg_shape(p.codes[0])), b))
    return quantized_cdf(gauss0_pmf(float(tables.scales[t] * scale_multiplier(p.codes[0])),
                                    b))


def adapt_row(tables: TableSet, t: int, hist: np.ndarray, prior: int) -> np.ndarray:
    """Decoder-side adaptation of table ``t``: counts of the key's previous symbols
    (support bins then escape) plus ``PRIORS[prior]`` pseudo-symbols spread as the
    learned table, in exact integers, then CompressAI's quantization."""
    n = int(tables.cdf_lengths[t])
    freq = np.diff(tables.cdfs[t, :n].astype(np.int64))
    w = hist[: n - 1].astype(np.int64) * (1 << 16) + PRIORS[prior] * freq
    return quantized_cdf(w / float(w.sum()))


@dataclass
class KeyState:
    """Per (information type, frame type): parameters in force and symbol history."""

    in_force: dict[int, TableParams] = field(default_factory=dict)
    hist: np.ndarray | None = None  # [tables, bins] counts since the last I frame
    frames: int = 0

    def observe(self, tables: TableSet, ts: np.ndarray, idx: np.ndarray,
                counts: np.ndarray) -> None:
        """Add symbols (table, bin, count) to the history."""
        width = int(tables.cdf_lengths.max()) - 1
        if self.hist is None:
            self.hist = np.zeros((len(tables), width), dtype=np.int64)
        # O(symbols), not O(tables x bins): the widest scale table has thousands of bins
        np.add.at(self.hist.reshape(-1), ts * width + idx, np.asarray(counts, np.int64))
        self.frames += 1


@dataclass
class Applied:
    tables: TableSet
    remap: np.ndarray
    in_force: dict[int, TableParams]
    replaced: int = 0
    reused: int = 0
    adapted: int = 0


def stream_pairs(stream: InfoStream) -> Pairs:
    ts, vs, cs = stream.histogram()
    return Pairs.build(ts, vs, cs, TableAttrs.of(stream.tables))


def coded_bits(applied: Applied, pairs: Pairs) -> float:
    return float(exact_bits(applied.tables, applied.remap[pairs.ts], pairs).sum())
