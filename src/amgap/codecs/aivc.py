"""AIVC (``aivc_net.AIVCNet``) as a registered amgap codec: I, P and B frames.

The adapter replaces ``aivc_net.code_frame`` / ``decode_frame``'s direct quantization
by the latent-coder parts, in the same order: MNet's hyperprior latent is the
motion-side/-main information, CNet's the residual-side/-main (AIVC codes the frame
*conditionally* on the prediction, so its "residual" rows are the frame-coding
autoencoder's latents; see ``docs/architectures.md``). Decoder and encoder run the same
synthesis on the same dequantized integers, so they agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..errors import ModelError
from .aivc_net import AIVCConfig, AIVCNet, ConditionalNet, KeyMismatch, aivc_key_map
from .base import EncodedFrame, FrameType, SymbolReader
from .parts import HyperpriorCoder
from .registry import register_codec

__all__ = ["AIVCCodec", "build_aivc", "aivc_config_from_state_dict", "aivc_convert_state_dict",
           "conditional_coder"]

SIDE_STRIDE = 64  # 4 stride-2 stages in g_a, 2 more in h_a


def conditional_coder(net: ConditionalNet, info: str) -> HyperpriorCoder:
    """One AIVC autoencoder's hyperprior latent as side + main parts."""
    def params(z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return net.hyper_decoder_scale(z_hat), net.hyper_decoder_mean(z_hat)

    return HyperpriorCoder.build(net.entropy_bottleneck, net.gaussian_conditional,
                                 net.hyper_encoder, params, SIDE_STRIDE, info)


class AIVCCodec:
    """amgap frame interface over an ``AIVCNet`` (MNet + CNet, one hyperprior each)."""

    frame_types: tuple[FrameType, ...] = (FrameType.I, FrameType.P, FrameType.B)
    pad_multiple = SIDE_STRIDE

    def __init__(self, model: AIVCNet, name: str = "aivc"):
        self.model = model.eval()
        self.name = name
        self.probe: list | None = None
        self.motion = conditional_coder(model.mnet, "motion")
        self.frame = conditional_coder(model.cnet, "residual")

    def _check(self, ftype: FrameType, refs: list[torch.Tensor]) -> None:
        want = {FrameType.I: 0, FrameType.P: 1, FrameType.B: 2}[FrameType(ftype)]
        if len(refs) != want:
            raise ValueError(f"{self.name}: a {FrameType(ftype).name} frame needs {want} "
                             f"reference(s), got {len(refs)}")

    @torch.no_grad()
    def encode_frame(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        self._check(ftype, refs)
        m, streams, motion = self.model, [], None
        if ftype != FrameType.I:
            y_m_hat, s_m = self.motion.encode(m.motion_analysis(ftype, x, refs), self.probe)
            motion = m.motion_synthesis(ftype, y_m_hat, refs)
            streams += s_m
        y_c_hat, s_c = self.frame.encode(m.frame_analysis(x, motion), self.probe)
        return m.frame_synthesis(y_c_hat, motion), streams + s_c

    @torch.no_grad()
    def decode_frame(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        self._check(ftype, refs)
        m, motion = self.model, None
        if ftype != FrameType.I:
            motion = m.motion_synthesis(ftype, self.motion.decode(height, width, read), refs)
        return m.frame_synthesis(self.frame.decode(height, width, read), motion)


def _adapter(model: nn.Module, name: str, base: nn.Module | None) -> AIVCCodec:
    return AIVCCodec(model, name=name)


_G_A_LAST = "mode_net.mode_net.g_a.layers.3.layers.1.weight"


def _eb_filters(sd: Mapping, prefix: str) -> tuple[int, ...]:
    """Hidden widths of the factorized model from its matrices (either spelling)."""
    dims = []
    for i in range(64):
        amgap, pub = f"{prefix}entropy_bottleneck.matrices.{i}", f"{prefix}pdf_z.matrix_h.{i}"
        if amgap in sd:
            dims.append(int(sd[amgap].shape[1]))  # [C, d_out, d_in]
        elif pub in sd:
            dims.append(int(sd[pub].shape[2]))  # [C, d_in, d_out]
        else:
            break
    return tuple(dims[:-1])


def aivc_config_from_state_dict(sd: Mapping) -> dict:
    """Widths of an AIVC net read from its weights (amgap's or the published layout)."""
    p = "mode_net.mode_net."
    w0 = sd[f"{p}g_a.layers.0.layers.1.weight"]
    return {"nb_ft_conv": int(w0.shape[0]), "k_size": int(w0.shape[-1]),
            "nb_ft_y": int(sd[_G_A_LAST].shape[0]),
            "nb_ft_z": int(sd[f"{p}h_a.layers.2.layers.1.weight"].shape[0]),
            "out_c_shortcut_y": int(sd[f"{p}g_a_ref.layers.3.layers.1.weight"].shape[0]),
            "eb_filters": _eb_filters(sd, p)}


def _published(sd: Mapping) -> bool:
    return any(".pdf_z." in k or ".gain_I." in k for k in sd)


def aivc_convert_state_dict(sd: Mapping, model: nn.Module) -> dict:
    """The authors' ``FullNet`` keys go through ``aivc_key_map``; amgap's pass as they are."""
    if not _published(sd):
        return dict(sd)
    try:
        return aivc_key_map(dict(sd), model)
    except KeyMismatch as exc:
        raise ModelError(f"released AIVC weights do not fit: {exc}") from exc


def _config(config: dict) -> AIVCConfig:
    c = dict(config)
    if "eb_filters" in c:
        c["eb_filters"] = tuple(c["eb_filters"])
    return AIVCConfig(**c)


@register_codec("aivc", adapter=_adapter,
                frame_types=(FrameType.I, FrameType.P, FrameType.B),
                config_from_state_dict=aivc_config_from_state_dict,
                convert_state_dict=aivc_convert_state_dict)
def build_aivc(config: dict) -> nn.Module:
    """AIVC (Ladune et al.): conditional MNet + CNet with coding modes; I, P and B frames."""
    return AIVCNet(_config(config))
