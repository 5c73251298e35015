"""A tiny hyperprior image codec, registered with amgap from outside amgap.

Importing this module registers the architecture ``tiny-hyperprior``; the entry point
``[project.entry-points."amgap.codecs"] tiny-hyperprior = "amgap_tiny_codec"`` makes
amgap import it, so ``--arch tiny-hyperprior`` works with no edit to amgap.
"""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.models import CompressionModel
from compressai.models.utils import conv, deconv
from torch import nn

from amgap.codecs import FrameType, register_codec
from amgap.codecs.parts import HyperpriorCoder


class TinyHyperprior(CompressionModel):
    """x -> y (stride 4) -> z (stride 16); the hyper-decoder predicts y's scales."""

    def __init__(self, N: int = 8, M: int = 12):
        super().__init__()
        self.g_a = nn.Sequential(conv(3, N, 5, 2), nn.ReLU(), conv(N, M, 5, 2))
        self.g_s = nn.Sequential(deconv(M, N, 5, 2), nn.ReLU(), deconv(N, 3, 5, 2))
        self.h_a = nn.Sequential(conv(M, N, 3, 2), nn.ReLU(), conv(N, N, 3, 2))
        self.h_s = nn.Sequential(deconv(N, N, 3, 2), nn.ReLU(), deconv(N, M, 3, 2))
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian_conditional = GaussianConditional(None)

    def forward(self, x: torch.Tensor) -> dict:
        y = self.g_a(x)
        z_hat, z_lk = self.entropy_bottleneck(self.h_a(y))
        y_hat, y_lk = self.gaussian_conditional(y, torch.exp(self.h_s(z_hat)))
        return {"x_hat": self.g_s(y_hat), "likelihoods": {"y": y_lk, "z": z_lk}}


class TinyCodec:
    """amgap's frame interface: one hyperprior latent coder from amgap's parts."""

    frame_types = (FrameType.I,)
    pad_multiple = 16

    def __init__(self, model: TinyHyperprior, name: str):
        self.model, self.name, self.probe = model.eval(), name, None
        self.latent = HyperpriorCoder.build(
            model.entropy_bottleneck, model.gaussian_conditional, model.h_a,
            lambda z_hat: (torch.exp(model.h_s(z_hat)), None), side_stride=16,
            info="residual")

    @torch.no_grad()
    def encode_frame(self, ftype, x, refs):
        y_hat, streams = self.latent.encode(self.model.g_a(x), self.probe)
        return self.model.g_s(y_hat), streams

    @torch.no_grad()
    def decode_frame(self, ftype, height, width, refs, read):
        return self.model.g_s(self.latent.decode(height, width, read))


@register_codec("tiny-hyperprior", adapter=lambda model, name, base: TinyCodec(model, name),
                frame_types=(FrameType.I,),
                config_from_state_dict=lambda sd: {"N": sd["g_a.0.weight"].shape[0],
                                                   "M": sd["g_a.2.weight"].shape[0]})
def build(config: dict) -> TinyHyperprior:
    """A tiny plug-in hyperprior image codec (docs/plugins.md)."""
    return TinyHyperprior(**config)
