"""Layers shared by amgap's slim architectures (SSF and the B-frame motion VAE).

Kept apart from the architectures so that neither imports the other's module.
"""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import QReLU
from compressai.models.base import CompressionModel
from compressai.models.utils import conv, deconv
from compressai.ops import quantize_ste
from torch import nn

__all__ = ["SlimHyperprior", "analysis_stack", "synthesis_stack"]


def analysis_stack(cin: int, mid: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        conv(cin, mid, 5, 2), nn.ReLU(inplace=True), conv(mid, mid, 5, 2), nn.ReLU(inplace=True),
        conv(mid, mid, 5, 2), nn.ReLU(inplace=True), conv(mid, cout, 5, 2))


def synthesis_stack(cin: int, mid: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        deconv(cin, mid, 5, 2), nn.ReLU(inplace=True), deconv(mid, mid, 5, 2),
        nn.ReLU(inplace=True), deconv(mid, mid, 5, 2), nn.ReLU(inplace=True),
        deconv(mid, cout, 5, 2))


class _QReLUStack(nn.Module):
    """Transposed convolutions each followed by a QReLU (bounded, positive scales)."""

    def __init__(self, chans: list[int]):
        super().__init__()
        pairs = zip(chans[:-1], chans[1:], strict=True)
        self.layers = nn.ModuleList(deconv(a, b, 5, 2) for a, b in pairs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = QReLU.apply(layer(x), 8, 100)
        return x


class SlimHyperprior(CompressionModel):
    """Same attribute names and behaviour as the ``Hyperprior`` inside ``ScaleSpaceFlow``."""

    def __init__(self, planes: int, hyper: int, depth: int):
        super().__init__()
        enc: list[nn.Module] = []
        cin = planes
        for i in range(depth):
            enc.append(conv(cin, hyper, 5, 2))
            if i < depth - 1:
                enc.append(nn.ReLU(inplace=True))
            cin = hyper
        self.hyper_encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        for i in range(depth):
            dec.append(deconv(hyper, planes if i == depth - 1 else hyper, 5, 2))
            if i < depth - 1:
                dec.append(nn.ReLU(inplace=True))
        self.hyper_decoder_mean = nn.Sequential(*dec)
        self.hyper_decoder_scale = _QReLUStack([hyper] * depth + [planes])
        self.entropy_bottleneck = EntropyBottleneck(hyper)
        self.gaussian_conditional = GaussianConditional(None)

    def forward(self, y: torch.Tensor):
        z = self.hyper_encoder(y)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales = self.hyper_decoder_scale(z_hat)
        means = self.hyper_decoder_mean(z_hat)
        _, y_likelihoods = self.gaussian_conditional(y, scales, means)
        y_hat = quantize_ste(y - means) + means
        return y_hat, {"y": y_likelihoods, "z": z_likelihoods}

    # CompressAI's own string API, so that SlimScaleSpaceFlow.compress/decompress work
    # exactly like the parent's (benchmarks compare amgap's coding against them).
    def compress(self, y: torch.Tensor):
        z = self.hyper_encoder(y)
        z_string = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_string, z.size()[-2:])
        indexes = self.gaussian_conditional.build_indexes(self.hyper_decoder_scale(z_hat))
        means = self.hyper_decoder_mean(z_hat)
        y_string = self.gaussian_conditional.compress(y, indexes, means)
        y_hat = self.gaussian_conditional.quantize(y, "dequantize", means)
        return y_hat, {"strings": [y_string, z_string], "shape": z.size()[-2:]}

    def decompress(self, strings, shape):
        z_hat = self.entropy_bottleneck.decompress(strings[1], shape)
        indexes = self.gaussian_conditional.build_indexes(self.hyper_decoder_scale(z_hat))
        means = self.hyper_decoder_mean(z_hat)
        return self.gaussian_conditional.decompress(strings[0], indexes, z_hat.dtype, means)
