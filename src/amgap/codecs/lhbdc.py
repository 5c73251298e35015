"""LHBDC (``lhbdc_net.LHBDCNet``) as a registered amgap codec: I and B frames.

The adapter replaces ``lhbdc_net.code_frame`` / ``decode_frame``'s direct quantization
by the latent-coder parts, in the same order: ``mv_compressor``'s hyperprior latent
(the coded flow differences) is the motion-side/-main information,
``residual_compressor``'s (B) and ``intra``'s (I) the residual-side/-main; with a config
``base`` (an I-frame model by name, e.g. ``amgap-ssf``) that model's own codec codes the
I frames instead, as the published test codes them with CompressAI's mbt2018-mean. SpyNet's
flow prior is computed from the decoded references at both ends, so the decoder
rebuilds every frame bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from ..errors import ModelError
from .base import EncodedFrame, FrameCodec, FrameType, SymbolReader
from .lhbdc_net import KeyMismatch, LHBDCConfig, LHBDCNet, MeanScaleAE, lhbdc_key_map
from .parts import HyperpriorCoder, compressai_hyperprior
from .registry import register_codec

__all__ = ["LHBDCCodec", "build_lhbdc", "lhbdc_config_from_state_dict",
           "lhbdc_convert_state_dict"]

SIDE_STRIDE = 64  # 4 stride-2 stages in g_a, 2 more in h_a


def _coder(ae: MeanScaleAE, info: str) -> HyperpriorCoder:
    return compressai_hyperprior(ae, SIDE_STRIDE, info)


class LHBDCCodec:
    """amgap frame interface over an ``LHBDCNet``: ``intra`` for I frames, bi-directional
    motion + residual for B frames (two references: before, after)."""

    frame_types: tuple[FrameType, ...] = (FrameType.I, FrameType.B)
    pad_multiple = SIDE_STRIDE

    def __init__(self, model: LHBDCNet, name: str = "lhbdc",
                 intra_codec: FrameCodec | None = None):
        self.model = model.eval()
        self.name = name
        self.probe: list | None = None
        if (model.intra is None) != (intra_codec is not None):
            raise ValueError(f"{name}: I frames need either the net's own intra codec or "
                             "the frame codec of the I-frame model its config names")
        # I frames: the net's intra, or the codec of the model config ``base`` names
        self.intra = _coder(model.intra, "residual") if intra_codec is None else None
        self.intra_codec = intra_codec
        if intra_codec is not None:
            self.pad_multiple = math.lcm(SIDE_STRIDE, intra_codec.pad_multiple)
        self.motion = _coder(model.mv_compressor, "motion")
        self.residual = _coder(model.residual_compressor, "residual")

    def _check(self, ftype: FrameType, refs: list[torch.Tensor]) -> None:
        if ftype not in self.frame_types:
            raise ValueError(f"{self.name} codes I and B frames, not {FrameType(ftype).name}: "
                             "use --gop lhbdc or intra")
        want = 0 if ftype == FrameType.I else 2
        if len(refs) != want:
            raise ValueError(f"{self.name}: a {FrameType(ftype).name} frame needs {want} "
                             f"reference(s), got {len(refs)}")

    @torch.no_grad()
    def encode_frame(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        self._check(ftype, refs)
        m = self.model
        if ftype == FrameType.I and self.intra_codec is not None:
            self.intra_codec.probe = self.probe
            return self.intra_codec.encode_frame(ftype, x, refs)
        if ftype == FrameType.I:
            y_hat, streams = self.intra.encode(m.intra.g_a(x), self.probe)
            return m.intra.g_s(y_hat), streams
        y_m_hat, s_m = self.motion.encode(m.motion_analysis(x, refs), self.probe)
        motion = m.motion_synthesis(y_m_hat, refs)
        y_r_hat, s_r = self.residual.encode(m.residual_analysis(x, motion), self.probe)
        return m.residual_synthesis(y_r_hat, motion), s_m + s_r

    @torch.no_grad()
    def decode_frame(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        self._check(ftype, refs)
        m = self.model
        if ftype == FrameType.I and self.intra_codec is not None:
            return self.intra_codec.decode_frame(ftype, height, width, refs, read)
        if ftype == FrameType.I:
            return m.intra.g_s(self.intra.decode(height, width, read))
        motion = m.motion_synthesis(self.motion.decode(height, width, read), refs)
        return m.residual_synthesis(self.residual.decode(height, width, read), motion)


def _adapter(model: nn.Module, name: str, base: FrameCodec | None) -> LHBDCCodec:
    """``base``: the frame codec of the I-frame model the config names, if it names one."""
    return LHBDCCodec(model, name=name, intra_codec=base)


def _flow_levels(sd: Mapping) -> int:
    return sum(1 for k in sd if k.startswith("FlowNet.netBasic.")
               and k.endswith(".netBasic.0.weight"))


def lhbdc_config_from_state_dict(sd: Mapping) -> dict:
    """Widths of an LHBDC net from its weights (amgap's or the published layout; a
    published file without ``intra.`` keys gets intra widths equal to the B nets')."""
    g = "residual_compressor.g_a."
    n, m = int(sd[f"{g}0.weight"].shape[0]), int(sd[f"{g}6.weight"].shape[0])
    w0 = sd["FlowNet.netBasic.0.netBasic.0.weight"]
    widths = [int(sd[f"FlowNet.netBasic.0.netBasic.{i}.weight"].shape[0])
              for i in range(0, 64, 2) if f"FlowNet.netBasic.0.netBasic.{i}.weight" in sd]
    intra_n = int(sd["intra.g_a.0.weight"].shape[0]) if "intra.g_a.0.weight" in sd else n
    intra_m = int(sd["intra.g_a.6.weight"].shape[0]) if "intra.g_a.6.weight" in sd else m
    return {"N": n, "M": m, "intra_N": intra_n, "intra_M": intra_m,
            "mask_ch": int(sd["masknet.conv1.weight"].shape[0]),
            "flow_widths": tuple(widths[:-1]), "flow_kernel": int(w0.shape[-1]),
            "flow_levels": _flow_levels(sd),
            # not in the weights: the published pyramid (6 levels) stops at 32 pixels
            "flow_coarsest": 32 if _flow_levels(sd) >= 6 else 16}


def lhbdc_convert_state_dict(sd: Mapping, model: nn.Module) -> dict:
    """The authors' ``Model`` state dict (no ``intra.`` keys) goes through
    ``lhbdc_key_map`` (I frames keep the seeded ``intra``: see docs). Only foreign layouts
    come here (amgap's own files load as saved); a bare amgap state dict with its own
    ``intra.`` passes."""
    if any(k.startswith("intra.") for k in sd):
        return dict(sd)
    try:
        return lhbdc_key_map(dict(sd), model)
    except KeyMismatch as exc:
        raise ModelError(f"released LHBDC weights do not fit: {exc}") from exc


def _config(config: dict) -> LHBDCConfig:
    c = dict(config)
    if "flow_widths" in c:
        c["flow_widths"] = tuple(c["flow_widths"])
    return LHBDCConfig(**c)


@register_codec("lhbdc", adapter=_adapter, frame_types=(FrameType.I, FrameType.B),
                config_from_state_dict=lhbdc_config_from_state_dict,
                convert_state_dict=lhbdc_convert_state_dict)
def build_lhbdc(config: dict) -> nn.Module:
    """LHBDC (Yilmaz & Tekalp): bi-directional SpyNet motion, fusion mask, residual; I/B."""
    return LHBDCNet(_config(config))
