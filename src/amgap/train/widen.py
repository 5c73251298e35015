"""Function-preserving widening of a trained transform (Net2WiderNet, Chen et al. 2016).

Training a wider I-frame codec from scratch costs the steps its narrow parent already
took; on two CPU cores that is most of a day. Widening instead copies each hidden
channel of the parent into the new ones and splits the consumer layer's weights over
the copies, so the wide model starts out computing *exactly* the parent's function and
training continues from there with the extra capacity. The split is uneven (weights
``w * (1/n + e)`` with the ``e`` of one channel's copies summing to zero), so the copies
receive different gradients and drift apart: an even split would keep them identical
forever.

Works on the slim analysis/synthesis stacks (convolutions or transposed convolutions
separated by ReLUs, which commute with copying a channel).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

__all__ = ["widen_stack", "widen_ssf_image_codec"]


def _out_dim(layer: nn.Module) -> int:  # Conv2d: (out, in, k, k); ConvTranspose2d: (in, out, ...)
    return 1 if isinstance(layer, nn.ConvTranspose2d) else 0


def _copy_layer(layer: nn.Module, cin: int, cout: int) -> nn.Module:
    kw = dict(kernel_size=layer.kernel_size, stride=layer.stride, padding=layer.padding,
              bias=layer.bias is not None)
    if isinstance(layer, nn.ConvTranspose2d):
        return nn.ConvTranspose2d(cin, cout, output_padding=layer.output_padding, **kw)
    return nn.Conv2d(cin, cout, **kw)


def _mapping(old: int, new: int, gen: torch.Generator) -> torch.Tensor:
    """New channel -> parent channel: the parent's own first, then random parents."""
    extra = torch.randint(0, old, (new - old,), generator=gen)
    return torch.cat([torch.arange(old), extra])


def _split(mapping: torch.Tensor, spread: float, gen: torch.Generator) -> torch.Tensor:
    """Per new channel, its share of the parent channel's outgoing weights: shares of one
    parent's copies sum to 1 exactly (function preserved), unevenly (copies diverge)."""
    counts = torch.bincount(mapping, minlength=int(mapping.max()) + 1).double()
    share = 1.0 / counts[mapping]
    e = (torch.rand(len(mapping), generator=gen, dtype=torch.float64) - 0.5) * 2 * spread
    e = e * share
    mean_e = torch.zeros_like(counts).index_add_(0, mapping, e) / counts
    return share + e - mean_e[mapping]  # sums to 1 over every parent's copies


def widen_stack(stack: nn.Sequential, width: int, spread: float = 0.1,
                seed: int = 0) -> nn.Sequential:
    """A copy of ``stack`` with every hidden width set to ``width`` (input and output
    channels unchanged), computing the same function up to float rounding."""
    convs = [i for i, m in enumerate(stack) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    gen = torch.Generator().manual_seed(seed)
    layers = list(stack)
    prev_map: torch.Tensor | None = None
    prev_share: torch.Tensor | None = None
    for n, i in enumerate(convs):
        old = layers[i]
        od = _out_dim(old)
        w = old.weight.detach().double()
        b = old.bias.detach().double() if old.bias is not None else None
        if prev_map is not None:  # consume the widened input: split weights over copies
            idim = 1 - od
            w = w.index_select(idim, prev_map)
            shape = [1] * w.dim()
            shape[idim] = -1
            w = w * prev_share.view(shape)
        last = n == len(convs) - 1
        if not last:
            old_out = w.shape[od]
            if width < old_out:
                raise ValueError(f"cannot narrow a stack from {old_out} to {width} channels")
            prev_map = _mapping(old_out, width, gen)
            prev_share = _split(prev_map, spread, gen)
            w = w.index_select(od, prev_map)
            b = b[prev_map] if b is not None else None
        cin, cout = (w.shape[1], w.shape[0]) if od == 0 else (w.shape[0], w.shape[1])
        new = _copy_layer(old, cin, cout)
        with torch.no_grad():
            new.weight.copy_(w.to(old.weight.dtype))
            if b is not None:
                new.bias.copy_(b.to(old.bias.dtype))
        layers[i] = new
    return nn.Sequential(*layers)


def widen_ssf_image_codec(model: nn.Module, img_mid: int, spread: float = 0.1,
                          seed: int = 0) -> nn.Module:
    """Widen a slim SSF's I-frame analysis and synthesis to ``img_mid`` hidden channels
    (its latent, hyperprior and P-frame parts unchanged); the model's config records it."""
    model.img_encoder = widen_stack(model.img_encoder, img_mid, spread, seed)
    model.img_decoder = widen_stack(model.img_decoder, img_mid, spread, seed + 1)
    keep = 0 if img_mid == model.config.mid else img_mid
    model.config = dataclasses.replace(model.config, img_mid=keep)
    return model
