"""Temporal reparameterization: replace worthwhile tables per frame and signal them.

A pure function of information streams on both sides. The encoder turns a stream and
the parameters in force into (payload, tables with appended replacement rows,
remapped table indices); the decoder runs the inverse from the payload alone. The
payload syntax is specified in ``docs/bitstream.md`` (section *Reparameterization*).

Modes:

* ``paper``: the paper's greedy rule. Tables in the signalling order; a table reuses
  the parameters in force when its new fit quantizes to the same codes, otherwise gets
  new parameters when the bits saved exceed their cost. Side tables: one Gaussian
  (K = 1); main tables: zero-mean Gaussian.
* ``optimal`` (ours): per table the cheapest of learned / in force / new, counting every
  mask and parameter bit; K = 1..4 and N chosen per frame; for main streams also the
  stream-wide rescale family (one code for all groups), whichever is cheaper.

Both modes send an empty payload (all learned tables, zero cost) whenever replacement
does not pay for the stream as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from ..errors import BitstreamError
from .bits import BitReader, BitWriter
from .families import (
    CODE_BITS,
    MAX_K,
    fit_gg,
    fit_gmm,
    fit_scale,
    fit_shift,
    gauss0_pmf,
    gg_pmf,
    gg_shape,
    gmm_pmf,
    quantized_cdf,
    scale_multiplier,
    shifted_pmf,
    side_shift,
    table_bits,
)
from .streams import InfoStream
from .tables import TableSet

__all__ = ["MODES", "TableParams", "Reparameterizer", "StreamReparam", "table_order"]

MODES = {"off": 0, "paper": 1, "optimal": 2}
# 2-bit family field. Side streams: 0 = per-table mixture, 1 = stream-wide shift and
# stretch of the learned tables (parameters shared across channels). Main streams: 0 = per-table
# zero-mean Gaussian, 1 = stream-wide Gaussian rescale, 2 = per-table generalized
# Gaussian (shape, scale), 3 = stream-wide generalized Gaussian (shape, scale).
FAMILY_GMM, FAMILY_GAUSS0, FAMILY_RESCALE, FAMILY_GG, FAMILY_GG_STREAM = 0, 0, 1, 2, 3
FAMILY_SHIFT = 1
# (is main stream, family) -> (table family, number of codes) for stream-wide families
_STREAM_WIDE = {(True, FAMILY_RESCALE): ("gauss0", 1), (True, FAMILY_GG_STREAM): ("gg", 2),
                (False, FAMILY_SHIFT): ("shift", 2)}
N_BITS = 8  # N - 1 is written with 8 bits: N <= 256


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


def limit_bits(counts: np.ndarray) -> float:
    """N * H(histogram): the fewest bits any table can spend on these symbols."""
    c = counts.astype(np.float64)
    return float(-(c * np.log2(c / c.sum())).sum())


def _learned_entropy(tables: TableSet) -> np.ndarray:
    h = np.empty(len(tables))
    for t in range(len(tables)):
        p = tables.pmf(t)
        h[t] = -(p * np.log2(p)).sum()
    return h


def table_order(tables: TableSet) -> np.ndarray:
    """Signalling order: side tables by learned entropy (high first); main tables by
    scale index (low scales first). Depends only on the learned tables."""
    if "order" not in tables._lists:
        if tables.family == "factorized":
            h = np.round(_learned_entropy(tables), 9)
            tables._lists["order"] = np.lexsort((np.arange(len(tables)), -h))
        else:
            tables._lists["order"] = np.arange(len(tables))
    return tables._lists["order"]


def _support(tables: TableSet, t: int) -> tuple[int, int]:
    a = int(tables.offsets[t])
    return a, a + int(tables.cdf_lengths[t]) - 3


def _build_row(tables: TableSet, t: int, p: TableParams):
    a, b = _support(tables, t)
    if p.family == "gmm":
        return quantized_cdf(gmm_pmf(np.asarray(p.codes), p.k, a, b))
    if p.family == "shift":
        row = tables.cdfs[t, : tables.cdf_lengths[t]]
        return quantized_cdf(shifted_pmf(row, a, float(side_shift(p.codes[0])),
                                         float(scale_multiplier(p.codes[1]))))
    half = b  # indexed tables are symmetric: a = -half
    if p.family == "gg":
        return quantized_cdf(gg_pmf(float(tables.scales[t] * scale_multiplier(p.codes[1])),
                                    float(gg_shape(p.codes[0])), half))
    return quantized_cdf(gauss0_pmf(float(tables.scales[t] * scale_multiplier(p.codes[0])),
                                    half))


@dataclass
class _Hist:
    values: dict[int, np.ndarray]
    counts: dict[int, np.ndarray]


def _histograms(stream: InfoStream) -> _Hist:
    by_table = stream.histograms_by_table()
    return _Hist({t: v for t, (v, _) in by_table.items()},
                 {t: c for t, (_, c) in by_table.items()})


@dataclass
class Reparameterizer:
    """Holds the parameters in force per information type (reset at every I frame)."""

    mode: str = "optimal"
    in_force: dict[str, dict[int, TableParams]] = field(default_factory=dict)
    _rows: dict = field(default_factory=dict, repr=False)  # (tables id, t, params) -> CDF

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown reparameterization mode {self.mode!r}")

    def reset(self) -> None:
        self.in_force.clear()

    # ------------------------------------------------------------------ encoder --
    def encode(self, stream: InfoStream, inter: bool) -> StreamReparam:
        tables = stream.tables
        hist = _histograms(stream)
        learned_t = {t: table_bits(tables.cdfs[t, :tables.cdf_lengths[t]],
                                   int(tables.offsets[t]), hist.values[t], hist.counts[t])
                     for t in hist.values}
        learned = float(sum(learned_t.values()))
        plain = StreamReparam(b"", tables, stream.table_index, learned, learned, 0)
        key = stream.kind.value
        if self.mode == "off" or not hist.values:
            if inter:
                self.in_force[key] = {}
            return plain
        main = tables.family == "indexed"
        candidates = []
        if main:
            candidates.append(self._plan_main_per_table(tables, hist, learned_t, inter, key))
            if self.mode == "optimal":
                candidates.append(self._plan_rescale(tables, hist))
                candidates.append(self._plan_main_per_table(tables, hist, learned_t, inter,
                                                            key, gg=True))
                candidates.append(self._plan_gg_stream(tables, hist))
        else:
            ks = [1] if self.mode == "paper" else list(range(1, MAX_K + 1))
            for k in ks:
                candidates.append(self._plan_side(tables, hist, learned_t, inter, key, k))
            if self.mode == "optimal":
                candidates.append(self._plan_shift(tables, hist))
        best = min(candidates, key=lambda c: c["total"])
        writer = BitWriter()
        best["write"](writer)
        coded = sum(learned_t[t] if best["choices"].get(t) is None else best["bits"][t]
                    for t in learned_t)
        # the payload is stored in whole bytes: replacement must pay for its padding too
        if coded + 8 * -(-len(writer) // 8) >= learned:
            if inter:
                self.in_force[key] = {}
            return plain
        new_tables, remap = self._apply(tables, best["choices"], set(hist.values))
        if inter:
            self.in_force[key] = {t: p for t, p in best["choices"].items() if p is not None}
        return StreamReparam(writer.to_bytes(), new_tables, remap[stream.table_index], learned,
                             float(coded), len(writer), best["replaced"], best["reused"])

    def _row(self, tables: TableSet, t: int, p: TableParams) -> np.ndarray:
        key = (id(tables), t, p)
        row = self._rows.get(key)
        if row is None:
            if len(self._rows) > 8192:
                self._rows.clear()
            row = self._rows[key] = _build_row(tables, t, p)
        return row

    def _apply(self, tables: TableSet, choices: dict[int, TableParams | None],
               used: set[int]):
        """Append rows for the replaced tables that code symbols here (same on both sides)."""
        rows, offsets, remap = [], [], np.arange(len(tables))
        for t in sorted(choices):
            p = choices[t]
            if p is None or t not in used:
                continue
            remap[t] = len(tables) + len(rows)
            rows.append(self._row(tables, t, p))
            offsets.append(int(tables.offsets[t]))
        return tables.with_rows(rows, offsets), remap.astype(np.int32)

    def _new_bits(self, tables, t, p, hist) -> float:
        row = self._row(tables, t, p)
        return table_bits(row, int(tables.offsets[t]), hist.values[t], hist.counts[t])

    def _plan_tables(self, tables, hist, learned_t, inter, key, fit, nparams, header_bits,
                     write_header):
        """Shared per-table selection (mask bits, reuse, new parameters) and choice of N."""
        order = table_order(tables)
        prev = self.in_force.get(key, {}) if inter else {}
        options = []  # per position: (cost with flags, choice, bits, kind)
        for t in order.tolist():
            if t not in hist.values:
                # nothing coded: keep what costs the fewest flag bits
                options.append((1.0 if inter else 1.0, prev.get(t) if inter else None, 0.0,
                                "prev" if inter else "learned"))
                continue
            lb = learned_t[t]
            opts = [((2.0 if inter else 1.0) + lb, None, lb, "learned")]
            if inter:
                pp = prev.get(t)
                pb = lb if pp is None else self._new_bits(tables, t, pp, hist)
                opts.append((1.0 + pb, pp, pb, "prev"))
            # no table codes these symbols in fewer bits than their histogram entropy:
            # skip the fit when even that could not pay for the parameters
            if lb - limit_bits(hist.counts[t]) > nparams * CODE_BITS:
                newp = fit(t)
                nb = self._new_bits(tables, t, newp, hist)
                opts.append(((2.0 if inter else 1.0) + nparams * CODE_BITS + nb, newp, nb, "new"))
            else:
                newp, nb = None, float("inf")
            if self.mode == "paper":
                # greedy rule: reuse when the new fit equals what is in force; otherwise
                # replace when the bits saved exceed the parameter cost
                if inter and newp is not None and prev.get(t) == newp:
                    options.append(opts[1])
                elif newp is not None and lb - nb > nparams * CODE_BITS:
                    options.append(opts[-1])
                else:
                    options.append(opts[0])
            else:
                options.append(min(opts, key=lambda o: o[0]))
        plain = [learned_t.get(t, 0.0) for t in order.tolist()]
        cost_flags = np.cumsum([0.0] + [o[0] for o in options])
        cost_plain = np.cumsum([0.0] + plain[::-1])[::-1]  # tables from N on: learned
        totals = [header_bits + cost_flags[n] + cost_plain[n] if n else float("inf")
                  for n in range(len(order) + 1)]
        n = int(np.argmin(totals))
        choices = {t: None for t in hist.values}
        bits = {}
        replaced = reused = 0
        for pos in range(n):
            t = int(order[pos])
            _, choice, b, kind = options[pos]
            if t in hist.values:
                choices[t] = choice
                bits[t] = b
            elif choice is not None:
                choices[t] = choice
            replaced += kind == "new"
            reused += kind == "prev" and choice is not None

        def write(w: BitWriter) -> None:
            write_header(w)
            w.write(n - 1, N_BITS)
            for pos in range(n):
                _, choice, _, kind = options[pos]
                if inter:
                    w.write(1 if kind == "prev" else 0, 1)
                    if kind == "prev":
                        continue
                w.write(1 if kind == "new" else 0, 1)
                if kind == "new":
                    for code in choice.codes:
                        w.write(int(code), CODE_BITS)

        return {"total": totals[n], "choices": choices, "bits": bits, "write": write,
                "replaced": replaced, "reused": reused}

    def _plan_side(self, tables, hist, learned_t, inter, key, k):
        def fit(t):
            a, b = _support(tables, t)
            return TableParams("gmm", k, tuple(int(c) for c in
                                               fit_gmm(hist.values[t], hist.counts[t], k, a, b)))

        def header(w: BitWriter) -> None:
            w.write(FAMILY_GMM, 2)
            w.write(k - 1, 2)

        return self._plan_tables(tables, hist, learned_t, inter, key, fit, 3 * k - 1,
                                 4 + N_BITS, header)

    def _plan_main_per_table(self, tables, hist, learned_t, inter, key, gg: bool = False):
        def fit(t):
            _, half = _support(tables, t)
            v, c, s_k = hist.values[t], hist.counts[t], float(tables.scales[t])
            if gg:
                return TableParams("gg", 1, fit_gg([(v, c, s_k, half)]))
            return TableParams("gauss0", 1, (fit_scale(v, c, s_k, half),))

        def header(w: BitWriter) -> None:
            w.write(FAMILY_GG if gg else FAMILY_GAUSS0, 2)

        return self._plan_tables(tables, hist, learned_t, inter, key, fit, 2 if gg else 1,
                                 2 + N_BITS, header)

    def _stream_wide(self, tables, hist, p: TableParams, family: int) -> dict:
        """Plan for a family whose parameters are shared by every table of the stream:
        ``family`` then the codes; no per-table flags, no temporal reuse."""
        ts = sorted(hist.values)
        bits = {t: self._new_bits(tables, t, p, hist) for t in ts}

        def write(w: BitWriter) -> None:
            w.write(family, 2)
            for code in p.codes:
                w.write(int(code), CODE_BITS)

        return {"total": sum(bits.values()) + 2 + CODE_BITS * len(p.codes),
                "choices": dict.fromkeys(range(len(tables)), p), "bits": bits,
                "write": write, "replaced": len(ts), "reused": 0}

    def _plan_shift(self, tables, hist):
        """Side tables: one shift and one stretch of every learned table (20 bits)."""
        groups = [(tables.cdfs[t, :tables.cdf_lengths[t]], int(tables.offsets[t]),
                   hist.values[t], hist.counts[t]) for t in sorted(hist.values)]
        return self._stream_wide(tables, hist, TableParams("shift", 1, fit_shift(groups)),
                                 FAMILY_SHIFT)

    def _plan_gg_stream(self, tables, hist):
        """One generalized Gaussian shape and one rescale for every group of the stream."""
        groups = [(hist.values[t], hist.counts[t], float(tables.scales[t]),
                   _support(tables, t)[1]) for t in sorted(hist.values)]
        return self._stream_wide(tables, hist, TableParams("gg", 1, fit_gg(groups)),
                                 FAMILY_GG_STREAM)

    def _plan_rescale(self, tables, hist):
        """One multiplier for every group: all 1024 codes scored at once on the pooled
        histograms (float pmf), then exact bits for the best code."""
        mult = scale_multiplier(np.arange(1 << CODE_BITS))[:, None]
        score = np.zeros(len(mult))
        for t in sorted(hist.values):
            _, half = _support(tables, t)
            v, c = hist.values[t], hist.counts[t].astype(np.float64)
            inside = np.abs(v) <= half
            if not inside.any():
                continue
            av = np.abs(v[inside]).astype(np.float64)
            sig = tables.scales[t] * mult
            p = ndtr((0.5 - av) / sig) - ndtr((-0.5 - av) / sig)
            z = 2.0 * ndtr((half + 0.5) / sig) - 1.0
            score += (c[inside] * np.log2(np.maximum(p, 1e-300) / z)).sum(1)
        p = TableParams("gauss0", 1, (int(np.argmax(score)),))
        return self._stream_wide(tables, hist, p, FAMILY_RESCALE)

    # ------------------------------------------------------------------ decoder --
    def decode(self, payload: bytes, tables: TableSet, kind: str, inter: bool,
               table_index: np.ndarray, where: str = "stream") -> tuple[TableSet, np.ndarray]:
        """Rebuild the tables an encoder used from its payload; returns (tables, remap)."""
        if not payload:
            if inter:
                self.in_force[kind] = {}
            return tables, np.arange(len(tables), dtype=np.int32)
        if self.mode == "off":
            raise BitstreamError(f"{where}: reparameterization payload in a stream "
                                 "whose header says reparameterization is off")
        r = BitReader(payload, where)
        main = tables.family == "indexed"
        family = r.read(2)
        choices: dict[int, TableParams | None] = {}
        wide = _STREAM_WIDE.get((main, family))
        if wide is not None:
            name, ncodes = wide
            p = TableParams(name, 1, tuple(r.read(CODE_BITS) for _ in range(ncodes)))
            choices = dict.fromkeys(range(len(tables)), p)
        elif family == 0 or (main and family == FAMILY_GG):
            k = r.read(2) + 1 if not main else 1
            n = r.read(N_BITS) + 1
            if n > len(tables):
                raise BitstreamError(f"{where}: reparameterization covers {n} tables, "
                                     f"the model has {len(tables)}")
            order = table_order(tables)
            prev = self.in_force.get(kind, {}) if inter else {}
            nparams = 3 * k - 1 if not main else (2 if family == FAMILY_GG else 1)
            fam = "gmm" if not main else ("gg" if family == FAMILY_GG else "gauss0")
            for pos in range(n):
                t = int(order[pos])
                if inter and r.read(1):
                    choices[t] = prev.get(t)
                    continue
                if r.read(1):
                    codes = tuple(r.read(CODE_BITS) for _ in range(nparams))
                    choices[t] = TableParams(fam, k, codes)
                else:
                    choices[t] = None
        else:
            raise BitstreamError(f"{where}: unknown reparameterization family {family}")
        r.check_end()
        new_tables, remap = self._apply(tables, choices, set(np.unique(table_index).tolist()))
        if inter:
            self.in_force[kind] = {t: p for t, p in choices.items() if p is not None}
        return new_tables, remap

