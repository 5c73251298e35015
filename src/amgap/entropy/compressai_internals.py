"""The private parts of CompressAI that amgap relies on, pinned in one file.

amgap reads the integer tables CompressAI's entropy models code with (their buffers
``_quantized_cdf``, ``_cdf_length``, ``_offset``), quantizes its own pmfs with CompressAI's
C++ ``pmf_to_quantized_cdf`` (so encoder and decoder build identical tables), and drops or
rebuilds those buffers when loading checkpoints. None of that is public API: a CompressAI
upgrade that renames or reshapes it must break this file only, and
``tests/test_compressai_internals.py`` says how.
"""

from __future__ import annotations

import numpy as np
from compressai._CXX import pmf_to_quantized_cdf as _pmf_to_quantized_cdf
from torch import nn

__all__ = ["DYNAMIC_BUFFERS", "is_dynamic_buffer", "quantized_tables", "has_tables",
           "pmf_to_quantized_cdf", "CDF_BUFFER"]

# buffers whose size depends on update(), not on the architecture
DYNAMIC_BUFFERS = ("_quantized_cdf", "_offset", "_cdf_length", "scale_table")
CDF_BUFFER = "_quantized_cdf"


def is_dynamic_buffer(key: str) -> bool:
    """Whether a state-dict key names one of the table buffers ``update()`` rebuilds."""
    return key.rsplit(".", 1)[-1] in DYNAMIC_BUFFERS


def has_tables(module: nn.Module) -> bool:
    """Whether an ``EntropyModel`` has its integer tables (``update()`` was called)."""
    return module._offset.numel() > 0 and module._quantized_cdf.numel() > 0


def quantized_tables(module: nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cdfs [T, L], cdf_lengths [T], offsets [T])`` of an ``EntropyBottleneck`` (one
    table per channel) or ``GaussianConditional`` (one per scale-table entry), int32."""
    if module._quantized_cdf.numel() == 0:
        raise ValueError("entropy model has no tables: call update() first")
    return (module._quantized_cdf.detach().cpu().numpy().astype(np.int32),
            module._cdf_length.detach().cpu().reshape(-1).numpy().astype(np.int32),
            module._offset.detach().cpu().reshape(-1).numpy().astype(np.int32))


def pmf_to_quantized_cdf(pmf: list[float], precision: int) -> list[int]:
    """CompressAI's own pmf -> ``precision``-bit CDF (every symbol keeps mass >= 1)."""
    return _pmf_to_quantized_cdf(pmf, precision)
