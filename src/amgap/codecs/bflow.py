"""Bi-directional inter frames: two references, two scale-space flows and a blend mask.

In the spirit of LHBDC's hierarchical bi-directional codec: a motion VAE sees the
current frame and both decoded references and codes one latent from which the motion
decoder produces, for each reference, a flow and a scale field (the SSF warp of
CompressAI's ``ScaleSpaceFlow.forward_prediction``), plus a blending mask. The
prediction is ``m * warp(ref0) + (1 - m) * warp(ref1)``; the residual is coded by the
base SSF model's residual VAE (its decoder also sees the motion latent, exactly as for
P frames). The motion VAE has its own factorized side latent and scale-table main
latent, so a B frame exposes the same four information streams as a P frame.

Only the motion VAE is stored in a B checkpoint; the I/P model it extends (its
``base``) is loaded by name, which keeps the shipped zoo small.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from compressai.models.base import CompressionModel
from torch import nn

from .base import EncodedFrame, FrameType, SymbolReader
from .layers import SlimHyperprior, analysis_stack, synthesis_stack
from .parts import compressai_hyperprior
from .registry import register_codec
from .ssf import SSFCodec

__all__ = ["BiFlowConfig", "BiFlowMotion", "BFlowCodec", "predict_b", "forward_b"]


@dataclass(frozen=True)
class BiFlowConfig:
    mid: int = 48
    latent: int = 64  # must equal the base model's motion latent (residual decoder input)
    hyper: int = 32
    hyper_depth: int = 2
    base: str = "amgap-ssf"  # zoo name of the I/P model (same quality)


class BiFlowMotion(CompressionModel):
    """Motion VAE of B frames: (x, ref0, ref1) -> 2 flows, 2 scale fields, 1 mask."""

    def __init__(self, config: BiFlowConfig | None = None):
        super().__init__()
        c = config or BiFlowConfig()
        self.config = c
        self.motion_encoder = analysis_stack(9, c.mid, c.latent)
        self.motion_decoder = synthesis_stack(c.latent, c.mid, 7)
        self.motion_hyperprior = SlimHyperprior(c.latent, c.hyper, c.hyper_depth)

    def config_dict(self) -> dict:
        return asdict(self.config)


def predict_b(ssf, motion_info: torch.Tensor, ref0: torch.Tensor,
              ref1: torch.Tensor) -> torch.Tensor:
    """Warp both references with SSF's scale-space warp and blend them."""
    m0, m1, mask = motion_info[:, 0:3], motion_info[:, 3:6], motion_info[:, 6:7]
    w = torch.sigmoid(mask)
    return w * ssf.forward_prediction(ref0, m0) + (1 - w) * ssf.forward_prediction(ref1, m1)


def forward_b(ssf, bm: BiFlowMotion, x: torch.Tensor, ref0: torch.Tensor,
              ref1: torch.Tensor):
    """Training forward of a B frame (noisy quantization): (x_hat, likelihoods)."""
    y_m = bm.motion_encoder(torch.cat((x, ref0, ref1), dim=1))
    y_m_hat, lk_m = bm.motion_hyperprior(y_m)
    x_pred = predict_b(ssf, bm.motion_decoder(y_m_hat), ref0, ref1)
    y_r_hat, lk_r = ssf.res_hyperprior(ssf.res_encoder(x - x_pred))
    x_hat = x_pred + ssf.res_decoder(torch.cat((y_r_hat, y_m_hat), dim=1))
    return x_hat, {"motion": lk_m, "residual": lk_r}


class BFlowCodec(SSFCodec):
    """An SSF codec (I, P) plus B frames from a bi-directional motion VAE: the motion
    latent has its own hyperprior coder, the residual uses the base model's."""

    frame_types = (FrameType.I, FrameType.P, FrameType.B)

    def __init__(self, base: nn.Module, bmodel: BiFlowMotion, name: str = "bflow"):
        super().__init__(base, name=name)
        self.bmodel = bmodel.eval()
        stride = 16 * 2 ** bmodel.config.hyper_depth
        self.bmotion = compressai_hyperprior(bmodel.motion_hyperprior, stride, "motion")
        self.pad_multiple = max(self.pad_multiple, stride)

    def encode_other(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        if ftype != FrameType.B:
            raise self._unsupported(ftype)
        bm = self.bmodel
        y_m = bm.motion_encoder(torch.cat((x, refs[0], refs[1]), dim=1))
        y_m_hat, s_motion = self.bmotion.encode(y_m, self.probe)
        x_pred = predict_b(self.model, bm.motion_decoder(y_m_hat), refs[0], refs[1])
        x_hat, s_res = self._residual(x, x_pred, y_m_hat)
        return x_hat, s_motion + s_res

    def decode_other(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        if ftype != FrameType.B:
            raise self._unsupported(ftype)
        y_m_hat = self.bmotion.decode(height, width, read)
        x_pred = predict_b(self.model, self.bmodel.motion_decoder(y_m_hat), refs[0], refs[1])
        return self._residual_decode(height, width, x_pred, y_m_hat, read)


def _bflow_adapter(model: nn.Module, name: str, base: nn.Module | None) -> BFlowCodec:
    if base is None:
        raise ValueError(f"{name}: a B-frame motion model needs its I/P base model")
    return BFlowCodec(base, model, name=name)


@register_codec("bflow-slim", adapter=_bflow_adapter,
                frame_types=(FrameType.I, FrameType.P, FrameType.B),
                base_default="init:ssf-slim")
def build_bflow(config: dict) -> nn.Module:
    """B-frame motion VAE over an I/P SSF base (config 'base': zoo name, file or init:ARCH)."""
    return BiFlowMotion(BiFlowConfig(**config))
