"""CompressAI's image models (``compressai.models.google``) as intra-only amgap codecs.

Built from CompressAI's own classes, with ``N``/``M`` read from the state dict exactly
as their ``from_state_dict`` does. Each frame is an I frame (``--gop intra``); the
image is the "residual" information of the paper's vocabulary:

* ``bmshj2018-hyperprior`` / ``mbt2018-mean``: side (EntropyBottleneck on ``z``) and main
  (GaussianConditional on ``y``; scales only, or scales and means) -> residual-side and
  residual-main, through the same :class:`HyperpriorCoder` as SSF's latents;
* ``bmshj2018-factorized`` (and ``-relu``): one EntropyBottleneck directly on ``y``. Its
  one stream carries *all* the image's bits and is the main latent of the model, so it
  is labelled **residual-main** (Ratio 100 %); its tables are factorized, so
  reparameterization treats them like side tables (mixture fits per channel) because it
  dispatches on the table family, not on the label.

Autoregressive context models (``mbt2018``, ``cheng2020-anchor``, ``cheng2020-attn``)
are refused: their main symbols can only be decoded one at a time (each table depends
on already-decoded neighbours through the masked context model), while amgap's
decoder reads a whole stream with tables known up front.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from compressai.models.google import (
    FactorizedPrior,
    FactorizedPriorReLU,
    MeanScaleHyperprior,
    ScaleHyperprior,
)
from torch import nn

from ..entropy import InfoKind
from .base import EncodedFrame, FrameType, SymbolReader
from .parts import FactorizedPart, HyperpriorCoder
from .registry import refuse_codec, register_codec

__all__ = ["ImageCodec", "nm_from_state_dict"]

_SEQUENTIAL = ("its main latent has an autoregressive context model: symbols must be "
               "decoded one at a time (amgap decodes whole streams with tables known up "
               "front); use bmshj2018-hyperprior or mbt2018-mean")


def nm_from_state_dict(sd: Mapping) -> dict:
    """``N`` and ``M`` as CompressAI's ``from_state_dict`` reads them."""
    try:
        return {"N": int(sd["g_a.0.weight"].shape[0]), "M": int(sd["g_a.6.weight"].shape[0])}
    except KeyError as exc:
        raise ValueError(f"missing key {exc.args[0]} (not a CompressAI image model)") from exc


class ImageCodec:
    """I frames of a CompressAI image model: ``x -> g_a -> latent coder -> g_s``."""

    frame_types = (FrameType.I,)

    def __init__(self, model: nn.Module, name: str):
        self.model = model.eval()
        self.name = name
        self.probe: list | None = None
        if isinstance(model, FactorizedPrior):  # y alone, one table per channel
            self.flat = FactorizedPart(model.entropy_bottleneck, InfoKind.RESIDUAL_MAIN)
            self.hyper = None
            self.pad_multiple = 16
        else:
            self.flat = None
            self.hyper = HyperpriorCoder.build(
                model.entropy_bottleneck, model.gaussian_conditional, self._hyper_encoder,
                self._params, 64, "residual")
            self.pad_multiple = 64

    def _hyper_encoder(self, y: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, MeanScaleHyperprior):
            return self.model.h_a(y)
        return self.model.h_a(torch.abs(y))  # ScaleHyperprior codes |y|

    def _params(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(self.model, MeanScaleHyperprior):
            scales, means = self.model.h_s(z_hat).chunk(2, 1)
            return scales, means
        return self.model.h_s(z_hat), None

    def _check(self, ftype: FrameType) -> None:
        if ftype != FrameType.I:
            raise ValueError(f"{self.name} is an image codec: it codes I frames only "
                             "(use --gop intra)")

    @torch.no_grad()
    def encode_frame(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        self._check(ftype)
        y = self.model.g_a(x)
        if self.hyper is not None:
            y_hat, streams = self.hyper.encode(y, self.probe)
        else:
            y_hat, stream = self.flat.encode(y)
            streams = [stream]
        return self.model.g_s(y_hat), streams

    @torch.no_grad()
    def decode_frame(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        self._check(ftype)
        if self.hyper is not None:
            y_hat = self.hyper.decode(height, width, read)
        else:
            y_hat = self.flat.decode((self.flat.channels, height // 16, width // 16), read)
        return self.model.g_s(y_hat)


def _adapter(model: nn.Module, name: str, base: nn.Module | None) -> ImageCodec:
    return ImageCodec(model, name)


def _register(name: str, cls: type, doc: str) -> None:
    def build(config: dict) -> nn.Module:
        return cls(**{"N": 128, "M": 192, **config})

    register_codec(name, build, adapter=_adapter, frame_types=(FrameType.I,),
                   config_from_state_dict=nm_from_state_dict, description=doc,
                   origin="compressai")


_register("bmshj2018-factorized", FactorizedPrior,
          "CompressAI FactorizedPrior (Balle 2018): one factorized latent -> residual-main")
_register("bmshj2018-factorized-relu", FactorizedPriorReLU,
          "CompressAI FactorizedPriorReLU: as bmshj2018-factorized, ReLU transforms")
_register("bmshj2018-hyperprior", ScaleHyperprior,
          "CompressAI ScaleHyperprior (Balle 2018): residual-side + residual-main (scales)")
_register("mbt2018-mean", MeanScaleHyperprior,
          "CompressAI MeanScaleHyperprior (Minnen 2018): side + main (means and scales)")
for _name in ("mbt2018", "cheng2020-anchor", "cheng2020-attn"):
    refuse_codec(_name, _SEQUENTIAL)
