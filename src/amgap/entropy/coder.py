"""The entropy stage: symbols <-> bytes with CompressAI's rANS, and ideal code lengths.

Ideal lengths are computed from the same integer CDFs the coder uses, including the
escape bin and the bypass chunks CompressAI writes for out-of-support values, so that
the estimate and the file cannot drift apart.
"""

from __future__ import annotations

import numpy as np
from compressai.ans import RansDecoder, RansEncoder

from ..errors import BitstreamError
from .tables import BYPASS_PRECISION, PRECISION, TableSet

__all__ = ["rans_encode", "rans_decode", "symbol_bits", "ideal_bits"]

_MAX_BYPASS = (1 << BYPASS_PRECISION) - 1


def rans_encode(symbols: np.ndarray, table_index: np.ndarray, tables: TableSet) -> bytes:
    """Code ``symbols`` (int32) with per-symbol tables; an empty stream is ``b""``."""
    if symbols.size == 0:
        return b""
    if symbols.size == 1:  # CompressAI's encoder overruns its buffer on a single symbol
        symbols, table_index = np.repeat(symbols, 2), np.repeat(table_index, 2)
    cdfs, lengths, offsets = tables.as_lists()
    return RansEncoder().encode_with_indexes(
        symbols.astype(np.int32).tolist(), table_index.astype(np.int32).tolist(), cdfs,
        lengths, offsets)


def rans_decode(data: bytes, table_index: np.ndarray, tables: TableSet) -> np.ndarray:
    """Inverse of :func:`rans_encode` given the same table indices."""
    if table_index.size == 0:
        return np.zeros(0, dtype=np.int32)
    if len(data) < 8 or len(data) % 4:
        # rANS64 streams are whole 32-bit words, at least the 64-bit final state.
        raise BitstreamError(f"entropy-coded string of {len(data)} bytes is malformed")
    n = table_index.size
    if n == 1:  # see rans_encode
        table_index = np.repeat(table_index, 2)
    cdfs, lengths, offsets = tables.as_lists()
    # A valid stream is never read past its end. A corrupt one can be: CompressAI's
    # decoder would then read past the buffer, so zero words follow the data (a zero
    # word also ends any run of bypass chunks, which bounds the work).
    padded = data + bytes(4 * (len(table_index) + 64))
    out = RansDecoder().decode_with_indexes(
        padded, table_index.astype(np.int32).tolist(), cdfs, lengths, offsets)
    return np.asarray(out[:n], dtype=np.int32)


def _bypass_bits(raw: np.ndarray) -> np.ndarray:
    """Bits CompressAI spends on an escaped value's raw magnitude ``raw`` (uint)."""
    n = np.zeros(raw.shape, dtype=np.int64)
    r = raw.astype(np.int64)
    while np.any(r > 0):
        nz = r > 0
        n[nz] += 1
        r = r >> BYPASS_PRECISION
    # the count itself is written in chunks of BYPASS_PRECISION (15 means "more follows")
    return BYPASS_PRECISION * (n // _MAX_BYPASS + 1) + BYPASS_PRECISION * n


def symbol_bits(symbols: np.ndarray, table_index: np.ndarray, tables: TableSet) -> np.ndarray:
    """Ideal code length in bits of every symbol (float64), escapes and bypass included."""
    t = table_index.astype(np.int64)
    lengths = tables.cdf_lengths.astype(np.int64)[t]
    max_value = lengths - 2
    value = symbols.astype(np.int64) - tables.offsets.astype(np.int64)[t]
    low, high = value < 0, value >= max_value
    esc = low | high
    raw = np.where(low, -2 * value - 1, np.where(high, 2 * (value - max_value), 0))
    v = np.where(esc, max_value, value)
    freq = tables.gather(t, v + 1).astype(np.int64) - tables.gather(t, v).astype(np.int64)
    bits = PRECISION - np.log2(freq.astype(np.float64))
    if np.any(esc):
        bits[esc] += _bypass_bits(raw[esc])
    return bits


def ideal_bits(symbols: np.ndarray, table_index: np.ndarray, tables: TableSet) -> float:
    """Total ideal code length in bits."""
    if symbols.size == 0:
        return 0.0
    return float(symbol_bits(symbols, table_index, tables).sum())
