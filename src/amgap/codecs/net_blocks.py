"""Pieces shared by the AIVC and LHBDC networks (``aivc_net``, ``lhbdc_net``).

Every autoencoder of both architectures carries one hyperprior latent: a factorized
side latent ``z`` (CompressAI ``EntropyBottleneck``) and a main latent ``y`` coded with
a scale-indexed ``GaussianConditional``. The latent modules expose the attribute names
of the ``Hyperprior`` inside CompressAI's ``ScaleSpaceFlow`` (``hyper_encoder``,
``hyper_decoder_scale``, ``hyper_decoder_mean``, ``entropy_bottleneck``,
``gaussian_conditional``) as callables, while their *registered* submodules keep the
published names (``h_a``, ``h_s``), so released weights map key for key.

The functions here are the only place where the latents are quantized:

* :func:`latent_forward` — training (noisy likelihoods, straight-through ``y_hat``);
* :func:`latent_analysis` — encoder side: the integer symbols that go into the stream
  (``round(z - median)``, ``round(y - mu)``, exactly CompressAI's ``compress``);
* :func:`latent_synthesis` — decoder side: ``y_hat`` from those integers only.

An adapter to amgap's entropy stage therefore only has to move ``LatentSymbols``
in and out of :class:`~amgap.entropy.InfoStream` objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from compressai.ops import quantize_ste
from torch import nn

from .base import FrameType
from .gop import gop_plan

__all__ = ["LatentSymbols", "latent_forward", "latent_analysis", "latent_synthesis",
           "backwarp", "rd_loss", "count_parameters", "gop_forward"]


@dataclass
class LatentSymbols:
    """What one hyperprior latent puts in the stream (and its main-table indexes)."""

    z: torch.Tensor  # int32 side symbols [1, Cz, h, w]
    y: torch.Tensor  # int32 main symbols [1, C, H, W] (already centred on mu)
    indexes: torch.Tensor  # int32 scale-table index of every main symbol


def latent_forward(hp: nn.Module, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Training pass: ``(y_hat, {"y": likelihoods, "z": likelihoods})``."""
    z = hp.hyper_encoder(y)
    z_hat, z_likelihoods = hp.entropy_bottleneck(z)
    scales = hp.hyper_decoder_scale(z_hat)
    means = hp.hyper_decoder_mean(z_hat)
    _, y_likelihoods = hp.gaussian_conditional(y, scales, means)
    y_hat = quantize_ste(y - means) + means
    return y_hat, {"y": y_likelihoods, "z": z_likelihoods}


@torch.no_grad()
def latent_analysis(hp: nn.Module, y: torch.Tensor) -> LatentSymbols:
    """Encoder side: integer symbols of ``y`` and of its side latent."""
    eb, gc = hp.entropy_bottleneck, hp.gaussian_conditional
    medians = eb._get_medians().detach()
    z_sym = eb.quantize(hp.hyper_encoder(y), "symbols", medians)
    z_hat = eb.dequantize(z_sym, medians)
    means = hp.hyper_decoder_mean(z_hat)
    indexes = gc.build_indexes(hp.hyper_decoder_scale(z_hat))
    y_sym = gc.quantize(y, "symbols", means)
    return LatentSymbols(z_sym.to(torch.int32), y_sym.to(torch.int32), indexes.to(torch.int32))


@torch.no_grad()
def latent_synthesis(hp: nn.Module, symbols: LatentSymbols) -> torch.Tensor:
    """Decoder side: ``y_hat`` from the side and main symbols alone."""
    eb, gc = hp.entropy_bottleneck, hp.gaussian_conditional
    medians = eb._get_medians().detach()
    z_hat = eb.dequantize(symbols.z, medians)
    means = hp.hyper_decoder_mean(z_hat)
    return gc.dequantize(symbols.y, means)


def backwarp(x: torch.Tensor, flow: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Backward warp with a pixel-unit flow ``[B, 2, H, W]`` (x, y), border padding.

    ``align_corners=True`` is AIVC's convention (grid of pixel indices scaled by
    ``W - 1``); ``False`` is LHBDC's (SpyNet's grid of pixel centres).
    """
    _, _, h, w = flow.shape
    if align_corners:
        xs = torch.linspace(-1.0, 1.0, w, device=flow.device)
        ys = torch.linspace(-1.0, 1.0, h, device=flow.device)
        fx, fy = flow[:, 0] * (2.0 / max(w - 1, 1)), flow[:, 1] * (2.0 / max(h - 1, 1))
    else:
        xs = torch.linspace(-1.0 + 1.0 / w, 1.0 - 1.0 / w, w, device=flow.device)
        ys = torch.linspace(-1.0 + 1.0 / h, 1.0 - 1.0 / h, h, device=flow.device)
        fx, fy = flow[:, 0] / ((w - 1.0) / 2.0), flow[:, 1] / ((h - 1.0) / 2.0)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack((gx.unsqueeze(0) + fx, gy.unsqueeze(0) + fy), dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border",
                         align_corners=align_corners)


def rd_loss(x: torch.Tensor, x_hat: torch.Tensor, likelihoods: dict[str, dict],
            lmbda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """amgap's loss ``lambda * 255^2 * MSE + bpp`` over every information type."""
    n, _, h, w = x.shape
    bits = sum(torch.log(lk).sum() for info in likelihoods.values() for lk in info.values())
    bpp = -bits / (torch.log(torch.tensor(2.0)) * n * h * w)
    return lmbda * 255.0 ** 2 * F.mse_loss(x_hat, x) + bpp, bpp


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def gop_forward(net: nn.Module, frames: list[torch.Tensor], structure: str) -> dict:
    """Training pass over a clip coded as one GOP of ``structure`` (the whole clip).

    The clip's frames are coded in the GOP's order with the frame-type forwards
    (``forward_keyframe``, ``forward_p``, ``forward_b``); references are the detached
    reconstructions, as CompressAI's ``ScaleSpaceFlow.forward`` does. Returns what
    ``amgap.train``'s loss reads: ``x_hat`` and ``likelihoods`` in display order, and
    ``warp_mse`` (training mode) when the frame forwards append motion warm-up terms to
    the model's ``_warp`` list (AIVC, LHBDC): their mean over the clip.
    """
    warp = getattr(net, "_warp", None)
    if warp is not None:
        warp.clear()
    x_hat: list = [None] * len(frames)
    lks: list = [None] * len(frames)
    for step in gop_plan(structure, len(frames), len(frames)):
        x, refs = frames[step.display_index], [x_hat[r].detach() for r in step.refs]
        if step.ftype == FrameType.I:
            out = net.forward_keyframe(x)
        elif step.ftype == FrameType.P:
            out = net.forward_p(x, refs[0])
        else:
            out = net.forward_b(x, refs[0], refs[1])
        x_hat[step.display_index], lks[step.display_index] = out
    res = {"x_hat": x_hat, "likelihoods": lks}
    if net.training and warp:
        res["warp_mse"] = torch.stack(warp).mean()
    return res
