"""Scale-space flow (Agustsson et al. 2020) on CompressAI's ``ScaleSpaceFlow``.

* :func:`build_ssf2020` is CompressAI's full model (loads any ``ssf2020`` checkpoint);
* :class:`SlimScaleSpaceFlow` subclasses it with configurable widths and hyperprior
  depth, for training on CPUs; it keeps every method of the parent (``forward``,
  the Gaussian scale-space warp, ``aux_loss``) except that ``forward_prediction`` can
  take its flow in resolution-independent units (``SlimConfig.flow_ref``, below);
* :class:`SSFCodec` adapts either to amgap's frame interface: it produces the four
  information streams per frame and rebuilds frames from decoded symbols.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
from compressai.models.base import CompressionModel
from compressai.models.video.google import ScaleSpaceFlow
from torch import nn

from .base import EncodedFrame, FrameType, SymbolReader
from .layers import SlimHyperprior, analysis_stack, synthesis_stack
from .parts import compressai_hyperprior
from .registry import register_codec

__all__ = ["SlimConfig", "SlimScaleSpaceFlow", "SSFCodec", "build_ssf2020", "build_slim",
           "slim_config_from_state_dict"]


@dataclass(frozen=True)
class SlimConfig:
    """Widths of a slim SSF. ``hyper_depth`` stride-2 stages in the hyperprior."""

    mid: int = 64  # analysis/synthesis hidden channels
    latent: int = 64  # main latent channels (y)
    hyper: int = 48  # side latent channels (z)
    hyper_depth: int = 2
    num_levels: int = 5
    sigma0: float = 1.5
    scale_field_shift: float = 1.0
    # Units of the decoded flow. 0: CompressAI's, a displacement in grid_sample's [-1, 1]
    # coordinates of the frame being coded, so the same network output moves pixels W/2
    # at any width: a model trained on 128-px crops then predicts flows 5x too long on a
    # 640-px frame (CompressAI issue #307). N > 0: a displacement in [-1, 1] coordinates
    # of an N-pixel frame, i.e. fixed pixel units; training on N-px crops is unchanged.
    flow_ref: int = 0
    # Widths of the I-frame codec alone (0: ``mid`` / ``latent``). Its transform, not its
    # rate, caps the shipped models' PSNR (benchmarks/transform_ceiling.py), and the
    # I frame is the reference every P frame starts from.
    img_mid: int = 0
    img_latent: int = 0

    @property
    def img_widths(self) -> tuple[int, int]:
        return self.img_mid or self.mid, self.img_latent or self.latent

    @property
    def latent_stride(self) -> int:
        return 16

    @property
    def side_stride(self) -> int:
        return 16 * 2 ** self.hyper_depth


class SlimScaleSpaceFlow(ScaleSpaceFlow):
    """``ScaleSpaceFlow`` with narrower transforms and a configurable hyperprior."""

    def __init__(self, config: SlimConfig | None = None):
        # Skip the parent's constructor (it would allocate the 192-channel modules only
        # for us to replace them); every method of the parent is reused unchanged.
        CompressionModel.__init__(self)
        c = config or SlimConfig()
        self.config = c
        im, il = c.img_widths
        self.img_encoder = analysis_stack(3, im, il)
        self.img_decoder = synthesis_stack(il, im, 3)
        self.img_hyperprior = SlimHyperprior(il, c.hyper, c.hyper_depth)
        self.res_encoder = analysis_stack(3, c.mid, c.latent)
        self.res_decoder = synthesis_stack(2 * c.latent, c.mid, 3)
        self.res_hyperprior = SlimHyperprior(c.latent, c.hyper, c.hyper_depth)
        self.motion_encoder = analysis_stack(6, c.mid, c.latent)
        self.motion_decoder = synthesis_stack(c.latent, c.mid, 3)
        self.motion_hyperprior = SlimHyperprior(c.latent, c.hyper, c.hyper_depth)
        self.sigma0 = c.sigma0
        self.num_levels = c.num_levels
        self.scale_field_shift = c.scale_field_shift

    def config_dict(self) -> dict:
        return asdict(self.config)

    def forward_prediction(self, x_ref: torch.Tensor, motion_info: torch.Tensor
                           ) -> torch.Tensor:
        """The parent's warp, the flow first rescaled to this frame's size (``flow_ref``)."""
        ref = self.config.flow_ref
        h, w = x_ref.shape[-2:]
        if ref and (h, w) != (ref, ref):
            k = torch.tensor([ref / w, ref / h], dtype=motion_info.dtype,
                             device=motion_info.device).view(1, 2, 1, 1)
            flow, scale = motion_info.chunk(2, dim=1)
            motion_info = torch.cat((flow * k, scale), dim=1)
        return super().forward_prediction(x_ref, motion_info)

    def coding_conventions(self) -> bytes:
        """What changes decoded frames beyond the weights (hashed with them)."""
        return f"flow_ref={self.config.flow_ref}".encode() if self.config.flow_ref else b""




class SSFCodec:
    """amgap frame interface over a (full or slim) ``ScaleSpaceFlow``: I and P frames.

    Three hyperprior latent coders (image, motion, residual), each built from the
    factorized and scale-indexed parts; B frames are added by ``bflow.BFlowCodec``."""

    frame_types: tuple[FrameType, ...] = (FrameType.I, FrameType.P)

    def __init__(self, model: ScaleSpaceFlow, name: str = "ssf"):
        self.model = model.eval()
        self.name = name
        if isinstance(model, SlimScaleSpaceFlow):
            side_stride = model.config.side_stride
        else:  # CompressAI's full model: 4 stride-2 stages, then 3 in the hyperprior
            side_stride = 128
        self.pad_multiple = side_stride
        self.probe: list | None = None  # set to a list to collect normalized main latents
        self.img = compressai_hyperprior(model.img_hyperprior, side_stride, "residual")
        self.motion = compressai_hyperprior(model.motion_hyperprior, side_stride, "motion")
        self.res = compressai_hyperprior(model.res_hyperprior, side_stride, "residual")

    def _unsupported(self, ftype: FrameType) -> ValueError:
        return ValueError(f"{self.name} cannot code {ftype.name} frames")

    def _residual(self, x: torch.Tensor, x_pred: torch.Tensor, y_motion_hat: torch.Tensor
                  ) -> EncodedFrame:
        m = self.model
        y_res_hat, s_res = self.res.encode(m.res_encoder(x - x_pred), self.probe)
        x_res_hat = m.res_decoder(torch.cat((y_res_hat, y_motion_hat), dim=1))
        return x_pred + x_res_hat, s_res

    def _residual_decode(self, height: int, width: int, x_pred: torch.Tensor,
                         y_motion_hat: torch.Tensor, read: SymbolReader) -> torch.Tensor:
        y_res_hat = self.res.decode(height, width, read)
        return x_pred + self.model.res_decoder(torch.cat((y_res_hat, y_motion_hat), dim=1))

    @torch.no_grad()
    def encode_frame(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        m = self.model
        if ftype == FrameType.I:
            y_hat, streams = self.img.encode(m.img_encoder(x), self.probe)
            return m.img_decoder(y_hat), streams
        if ftype != FrameType.P:
            return self.encode_other(ftype, x, refs)
        y_motion = m.motion_encoder(torch.cat((x, refs[0]), dim=1))
        y_motion_hat, s_motion = self.motion.encode(y_motion, self.probe)
        x_pred = m.forward_prediction(refs[0], m.motion_decoder(y_motion_hat))
        x_hat, s_res = self._residual(x, x_pred, y_motion_hat)
        return x_hat, s_motion + s_res

    @torch.no_grad()
    def decode_frame(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        m = self.model
        if ftype == FrameType.I:
            return m.img_decoder(self.img.decode(height, width, read))
        if ftype != FrameType.P:
            return self.decode_other(ftype, height, width, refs, read)
        y_motion_hat = self.motion.decode(height, width, read)
        x_pred = m.forward_prediction(refs[0], m.motion_decoder(y_motion_hat))
        return self._residual_decode(height, width, x_pred, y_motion_hat, read)

    def encode_other(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        """Frame types beyond I and P (subclasses); refused here."""
        raise ValueError(f"{self.name} has no B-frame model: use a GOP without B frames "
                         "or a model with one (e.g. amgap-bflow)")

    def decode_other(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        raise ValueError(f"{self.name} has no B-frame model: use a GOP without B frames "
                         "or a model with one (e.g. amgap-bflow)")


def _ssf_adapter(model: nn.Module, name: str, base: nn.Module | None) -> SSFCodec:
    return SSFCodec(model, name=name)


def slim_config_from_state_dict(sd: Mapping) -> dict:
    """Widths of a slim SSF read from its weights (the motion VAE keeps the defaults)."""
    depth = sum(1 for k in sd if k.startswith("img_hyperprior.hyper_encoder.")
                and k.endswith(".weight"))
    out = {"mid": int(sd["res_encoder.0.weight"].shape[0]),
           "latent": int(sd["res_encoder.6.weight"].shape[0]),
           "hyper": int(sd["img_hyperprior.hyper_encoder.0.weight"].shape[0]),
           "hyper_depth": depth}
    img = {"img_mid": int(sd["img_encoder.0.weight"].shape[0]),
           "img_latent": int(sd["img_encoder.6.weight"].shape[0])}
    return out | {k: v for k, v in img.items() if v != out[k[4:]]}  # only when they differ


@register_codec("ssf-slim", adapter=_ssf_adapter, frame_types=(FrameType.I, FrameType.P),
                config_from_state_dict=slim_config_from_state_dict)
def build_slim(config: dict) -> nn.Module:
    """amgap's slim scale-space flow (CPU-trainable widths): I and P frames."""
    return SlimScaleSpaceFlow(SlimConfig(**config))


@register_codec("ssf2020", adapter=_ssf_adapter, frame_types=(FrameType.I, FrameType.P),
                config_from_state_dict=lambda sd: {})
def build_ssf2020(config: dict | None = None) -> nn.Module:
    """CompressAI's ScaleSpaceFlow (Agustsson et al. 2020): I and P frames."""
    return ScaleSpaceFlow(**(config or {}))
