"""Latent-coder parts: entropy modules in, information streams out.

Every adapter is assembled from these three parts, so a new codec gets its side/main
streams, Table I rows and reparameterization without naming any attribute here:

* :class:`FactorizedPart` wraps one ``EntropyBottleneck``: symbols ``round(z - median_c)``,
  one table per channel;
* :class:`ScaleIndexedPart` wraps one ``GaussianConditional``: symbols ``round(y - mu)``
  (``mu = 0`` without means), the table chosen per element by ``build_indexes(scales)``;
* :class:`HyperpriorCoder` composes them with the hyper-transforms and fixes the decode
  order: side stream -> hyper-decoder -> main stream.

Quantization follows CompressAI's ``compress`` exactly; encoder and decoder dequantize
the same integers with the same ops, so their reconstructions agree bit for bit.
(CompressAI's ``latent_codecs`` package is the model of this split.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from torch import nn

from ..entropy import InfoKind, InfoStream, TableSet
from .base import SymbolReader

__all__ = ["FactorizedPart", "ScaleIndexedPart", "HyperpriorCoder", "side_kind", "main_kind",
           "ParamsFn"]

# z_hat -> (scales, means or None): how a hyper-decoder parameterizes the main latent
ParamsFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]


def side_kind(info: str) -> InfoKind:
    return InfoKind(f"{info}-side")


def main_kind(info: str) -> InfoKind:
    return InfoKind(f"{info}-main")


def _to_tensor(symbols: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.from_numpy(symbols.astype(np.int32)).reshape(shape)


class FactorizedPart:
    """One ``EntropyBottleneck`` coded as one stream of ``kind`` (a table per channel)."""

    def __init__(self, eb: EntropyBottleneck, kind: InfoKind):
        self.eb = eb
        self.kind = kind
        self.tables = TableSet.from_entropy_bottleneck(eb)

    @property
    def channels(self) -> int:
        return int(self.eb.channels)

    @staticmethod
    def table_index(shape: tuple[int, int, int]) -> np.ndarray:
        c, h, w = shape
        return np.repeat(np.arange(c, dtype=np.int32), h * w)

    def encode(self, z: torch.Tensor) -> tuple[torch.Tensor, InfoStream]:
        """``z [1,C,H,W]`` -> (``z_hat``, stream)."""
        medians = self.eb._get_medians().detach()
        z_sym = self.eb.quantize(z, "symbols", medians)
        z_hat = self.eb.dequantize(z_sym, medians)
        stream = InfoStream(self.kind, z_sym.cpu().numpy(),
                            self.table_index(tuple(z.shape[1:])), self.tables)
        return z_hat, stream

    def decode(self, shape: tuple[int, int, int], read: SymbolReader) -> torch.Tensor:
        """``z_hat [1,C,H,W]`` from the symbols of this part's stream."""
        z_sym = read(self.kind, self.table_index(shape), self.tables)
        return self.eb.dequantize(_to_tensor(z_sym, (1, *shape)),
                                  self.eb._get_medians().detach())


class ScaleIndexedPart:
    """One ``GaussianConditional`` coded as one stream of ``kind`` (a table per scale)."""

    def __init__(self, gc: GaussianConditional, kind: InfoKind):
        self.gc = gc
        self.kind = kind
        self.tables = TableSet.from_gaussian_conditional(gc)

    def encode(self, y: torch.Tensor, scales: torch.Tensor,
               means: torch.Tensor | None) -> tuple[torch.Tensor, InfoStream]:
        indexes = self.gc.build_indexes(scales)
        y_sym = self.gc.quantize(y, "symbols", means)
        y_hat = self.gc.dequantize(y_sym, means)
        stream = InfoStream(self.kind, y_sym.cpu().numpy(),
                            indexes.to(torch.int32).cpu().numpy(), self.tables)
        return y_hat, stream

    def decode(self, scales: torch.Tensor, means: torch.Tensor | None,
               read: SymbolReader) -> torch.Tensor:
        indexes = self.gc.build_indexes(scales)
        idx = indexes.to(torch.int32).cpu().numpy().reshape(-1)
        y_sym = read(self.kind, idx, self.tables)
        return self.gc.dequantize(_to_tensor(y_sym, tuple(indexes.shape)), means)

    def normalized(self, y: torch.Tensor, scales: torch.Tensor,
                   means: torch.Tensor | None) -> torch.Tensor:
        """``(y - mu) / sigma`` with the scale bound the coder applies (calibration)."""
        sigma = self.gc.lower_bound_scale(scales)
        return ((y - (means if means is not None else 0.0)) / sigma).detach()

    def at_bound(self, scales: torch.Tensor) -> torch.Tensor:
        """Where the predicted scale sits at the coder's lower bound (within 1 %): a
        latent the model has switched off, coded as 0 at almost no cost, whose
        ``((y - mu) / sigma)^2`` is near 0 however well the model fits."""
        return (scales <= 1.01 * float(self.gc.lower_bound_scale.bound)).detach()


@dataclass
class HyperpriorCoder:
    """Side (factorized) + main (scale-indexed) coding of one latent ``y``.

    ``hyper_encoder``: ``y -> z``; ``params``: ``z_hat -> (scales, means|None)``;
    ``side_stride``: pixels per side-latent element (to size ``z`` at the decoder).
    """

    hyper_encoder: Callable[[torch.Tensor], torch.Tensor]
    side: FactorizedPart
    params: ParamsFn
    main: ScaleIndexedPart
    side_stride: int
    info: str = "residual"

    @classmethod
    def build(cls, eb: EntropyBottleneck, gc: GaussianConditional,
              hyper_encoder: Callable[[torch.Tensor], torch.Tensor], params: ParamsFn,
              side_stride: int, info: str) -> HyperpriorCoder:
        return cls(hyper_encoder, FactorizedPart(eb, side_kind(info)), params,
                   ScaleIndexedPart(gc, main_kind(info)), side_stride, info)

    def z_shape(self, height: int, width: int) -> tuple[int, int, int]:
        s = self.side_stride
        return (self.side.channels, height // s, width // s)

    def encode(self, y: torch.Tensor, probe: list | None = None
               ) -> tuple[torch.Tensor, list[InfoStream]]:
        """``y [1,C,H,W]`` -> (``y_hat``, [side stream, main stream]).

        ``probe``, when given, receives ``(info, (y - mu) / sigma, at the scale bound)``
        (calibration)."""
        z_hat, side = self.side.encode(self.hyper_encoder(y))
        scales, means = self.params(z_hat)
        if probe is not None:
            probe.append((self.info, self.main.normalized(y, scales, means),
                          self.main.at_bound(scales)))
        y_hat, main = self.main.encode(y, scales, means)
        return y_hat, [side, main]

    def decode(self, height: int, width: int, read: SymbolReader) -> torch.Tensor:
        """``y_hat`` of a padded ``height x width`` frame: side, hyper-decoder, main."""
        z_hat = self.side.decode(self.z_shape(height, width), read)
        scales, means = self.params(z_hat)
        return self.main.decode(scales, means, read)


def compressai_hyperprior(hp: nn.Module, side_stride: int, info: str) -> HyperpriorCoder:
    """The ``Hyperprior`` of CompressAI's ``ScaleSpaceFlow`` (and amgap's slim ones)."""
    return HyperpriorCoder.build(
        hp.entropy_bottleneck, hp.gaussian_conditional, hp.hyper_encoder,
        lambda z_hat: (hp.hyper_decoder_scale(z_hat), hp.hyper_decoder_mean(z_hat)),
        side_stride, info)
