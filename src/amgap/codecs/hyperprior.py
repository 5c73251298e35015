"""Coding of one hyperprior latent (factorized side + scale-table main) as two streams.

Works on any module that exposes CompressAI's names ``hyper_encoder``,
``hyper_decoder_scale``, ``hyper_decoder_mean``, ``entropy_bottleneck`` and
``gaussian_conditional`` (the ``Hyperprior`` inside CompressAI's ``ScaleSpaceFlow``
and amgap's slim variants). Quantization follows CompressAI's ``compress`` exactly:
side symbols ``round(z - median_c)``, main symbols ``round(y - mu)`` with the table
chosen by ``build_indexes(scales)``; encoder and decoder dequantize the same integers
with the same ops, so their reconstructions agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..entropy import InfoKind, InfoStream, TableSet
from .base import SymbolReader

__all__ = ["LatentTables", "encode_latent", "decode_latent", "side_kind", "main_kind"]


def side_kind(info: str) -> InfoKind:
    return InfoKind(f"{info}-side")


def main_kind(info: str) -> InfoKind:
    return InfoKind(f"{info}-main")


class LatentTables:
    """The two learned :class:`TableSet` objects of a hyperprior module, built once."""

    def __init__(self, hp: nn.Module):
        self.side = TableSet.from_entropy_bottleneck(hp.entropy_bottleneck)
        self.main = TableSet.from_gaussian_conditional(hp.gaussian_conditional)


def _side_indexes(shape: tuple[int, ...]) -> np.ndarray:
    c, h, w = shape
    return np.repeat(np.arange(c, dtype=np.int32), h * w)


def _main_from_side(hp: nn.Module, z_hat: torch.Tensor):
    scales = hp.hyper_decoder_scale(z_hat)
    means = hp.hyper_decoder_mean(z_hat)
    indexes = hp.gaussian_conditional.build_indexes(scales)
    return means, indexes


def encode_latent(hp: nn.Module, tables: LatentTables, y: torch.Tensor, info: str,
                  probe: list | None = None) -> tuple[torch.Tensor, list[InfoStream]]:
    """``y [1,C,H,W]`` -> (``y_hat``, [side stream, main stream]).

    ``probe``, when given, receives ``(info, (y - mu) / sigma)`` for calibration figures.
    """
    eb, gc = hp.entropy_bottleneck, hp.gaussian_conditional
    z = hp.hyper_encoder(y)
    medians = eb._get_medians().detach()
    z_sym = eb.quantize(z, "symbols", medians)
    z_hat = eb.dequantize(z_sym, medians)
    means, indexes = _main_from_side(hp, z_hat)
    if probe is not None:
        sigma = gc.lower_bound_scale(hp.hyper_decoder_scale(z_hat))
        probe.append((info, ((y - means) / sigma).detach()))
    y_sym = gc.quantize(y, "symbols", means)
    y_hat = gc.dequantize(y_sym, means)
    side = InfoStream(side_kind(info), z_sym.cpu().numpy(), _side_indexes(tuple(z.shape[1:])),
                      tables.side)
    main = InfoStream(main_kind(info), y_sym.cpu().numpy(),
                      indexes.to(torch.int32).cpu().numpy(), tables.main)
    return y_hat, [side, main]


def decode_latent(hp: nn.Module, tables: LatentTables, z_shape: tuple[int, int, int],
                  info: str, read: SymbolReader) -> torch.Tensor:
    """Rebuild ``y_hat`` from symbols: side first, then the hyper-decoder, then main."""
    eb, gc = hp.entropy_bottleneck, hp.gaussian_conditional
    z_sym = read(side_kind(info), _side_indexes(z_shape), tables.side)
    z_sym_t = torch.from_numpy(z_sym.astype(np.int32)).reshape(1, *z_shape)
    medians = eb._get_medians().detach()
    z_hat = eb.dequantize(z_sym_t, medians)
    means, indexes = _main_from_side(hp, z_hat)
    idx = indexes.to(torch.int32).cpu().numpy().reshape(-1)
    y_sym = read(main_kind(info), idx, tables.main)
    y_sym_t = torch.from_numpy(y_sym.astype(np.int32)).reshape(indexes.shape)
    return gc.dequantize(y_sym_t, means)
