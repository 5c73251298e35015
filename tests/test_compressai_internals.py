"""What amgap assumes of CompressAI's private internals (one adapter module,
``amgap.entropy.compressai_internals``): if an upgrade breaks one of these, this file says
which assumption went, and only that module needs a change."""

import numpy as np
import pytest
import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.models import ScaleHyperprior

from amgap.entropy.compressai_internals import (
    CDF_BUFFER,
    DYNAMIC_BUFFERS,
    has_tables,
    is_dynamic_buffer,
    pmf_to_quantized_cdf,
    quantized_tables,
)


def _cdf_ok(cdf: np.ndarray, length: int) -> None:
    assert cdf[0] == 0 and cdf[length - 1] == 1 << 16
    assert (np.diff(cdf[:length]) > 0).all()  # every outcome keeps mass


def test_entropy_bottleneck_tables_one_per_channel():
    torch.manual_seed(0)
    eb = EntropyBottleneck(5)
    assert not has_tables(eb)
    with pytest.raises(ValueError, match="update"):
        quantized_tables(eb)
    eb.update(force=True)
    assert has_tables(eb)
    cdfs, lengths, offsets = quantized_tables(eb)
    assert cdfs.dtype == lengths.dtype == offsets.dtype == np.int32
    assert cdfs.shape[0] == lengths.shape[0] == offsets.shape[0] == 5
    for t in range(5):
        _cdf_ok(cdfs[t], int(lengths[t]))


def test_gaussian_conditional_tables_one_per_scale():
    scales = np.exp(np.linspace(np.log(0.11), np.log(256), 64)).tolist()
    gc = GaussianConditional(scales)
    gc.update_scale_table(torch.tensor(scales), force=True)
    cdfs, lengths, offsets = quantized_tables(gc)
    assert cdfs.shape[0] == len(scales) == len(lengths) == len(offsets)
    assert (offsets <= 0).all()  # tables start at or below the zero symbol
    _cdf_ok(cdfs[-1], int(lengths[-1]))


def test_dynamic_buffer_names_are_the_state_dict_keys():
    model = ScaleHyperprior(8, 8)
    model.update(force=True)
    keys = model.state_dict().keys()
    for name in DYNAMIC_BUFFERS:
        assert any(k.endswith("." + name) for k in keys), name
    assert any(k.endswith("." + CDF_BUFFER) for k in keys)
    assert is_dynamic_buffer("entropy_bottleneck._offset")
    assert not is_dynamic_buffer("entropy_bottleneck.quantiles")


def test_pmf_to_quantized_cdf_keeps_every_symbol():
    pmf = [0.5, 0.25, 0.25 - 1e-9, 1e-9]
    cdf = np.asarray(pmf_to_quantized_cdf(pmf, 16))
    assert len(cdf) == len(pmf) + 1
    _cdf_ok(cdf, len(cdf))
