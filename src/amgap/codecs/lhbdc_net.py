"""LHBDC (Yilmaz & Tekalp, 2022) as plain modules, with the published module names.

Written from the structure of makinyilmaz/LHBDC (``model/m.py``, ``model/layers.py``,
``model/flow.py``), not from its code; see ``docs/architectures.md``.

B frame (references ``before`` = ref0 and ``after`` = ref1):

1. ``FlowNet`` (a SpyNet pyramid) estimates four flows. Two are between the
   references only, halved (linear motion): ``f_ba = F(after, before) / 2`` and
   ``f_ab = F(before, after) / 2`` — the decoder computes them too, so they are a free
   *prediction* of the motion. Two involve the current frame: ``f_bc = F(x, before)``,
   ``f_ac = F(x, after)`` (encoder only).
2. ``mv_compressor`` (a mean-scale hyperprior autoencoder, 4 channels in and out)
   codes the two flow *differences* ``(f_bc - f_ba, f_ac - f_ab)``.
3. Both references are warped with the decoded flows; ``masknet`` (a small U-Net)
   predicts a per-pixel blend ``m``: ``x_pred = m * fw + (1 - m) * bw``.
4. ``residual_compressor`` (mean-scale hyperprior, 3 -> 3) codes ``x - x_pred``.

I frames use ``intra``, CompressAI's ``mbt2018-mean`` layout (the published code
calls ``compressai.zoo.mbt2018_mean`` for them).

Coding split: ``motion_analysis`` / ``residual_analysis`` run at the encoder only;
``motion_synthesis`` / ``residual_synthesis`` are the decoder given the dequantized
latents.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from compressai.layers import GDN
from compressai.models import MeanScaleHyperprior
from compressai.models.base import CompressionModel
from compressai.models.utils import conv, deconv
from torch import nn

from ..entropy.compressai_internals import is_dynamic_buffer
from .base import FrameType
from .net_blocks import (
    LatentSymbols,
    gop_forward,
    latent_analysis,
    latent_forward,
    latent_synthesis,
)
from .net_blocks import backwarp as _backwarp

__all__ = ["LHBDCConfig", "LHBDC_SMALL", "LHBDC_PUBLISHED", "LHBDCNet", "MeanScaleAE",
           "SpyNet", "Mask", "BMotion", "code_frame", "decode_frame", "lhbdc_key_map",
           "KeyMismatch"]


@dataclass(frozen=True)
class LHBDCConfig:
    N: int = 48  # hidden channels of both compressors (published: 128)
    M: int = 64  # main latent channels (published: 192)
    intra_N: int = 48
    intra_M: int = 64
    mask_ch: int = 8  # published: 32
    flow_widths: tuple[int, ...] = (16, 32, 16, 8)  # SpyNet Basic: 32, 64, 32, 16
    flow_kernel: int = 7
    flow_levels: int = 4  # published: 6
    flow_coarsest: int = 16  # stop the pyramid at this size (published: 32)
    # an I-frame model by name (zoo name, checkpoint file or init:ARCH) that codes the I
    # frames instead of ``intra``, as the published test codes them with a separately
    # trained CompressAI mbt2018-mean; its weights are neither trained nor stored here
    base: str = ""

    @property
    def pad_multiple(self) -> int:
        return 64  # 4 stride-2 stages, then 2 more in the hyperprior


LHBDC_SMALL = LHBDCConfig()
LHBDC_PUBLISHED = LHBDCConfig(N=128, M=192, intra_N=128, intra_M=192, mask_ch=32,
                              flow_widths=(32, 64, 32, 16), flow_levels=6, flow_coarsest=32)


class MeanScaleAE(MeanScaleHyperprior):
    """CompressAI ``MeanScaleHyperprior`` with ``cin``/``cout`` channels (published
    ``MVCompressor`` / ``ResidualCompressor``), plus the Hyperprior callables."""

    def __init__(self, N: int, M: int, cin: int, cout: int):
        super().__init__(N=N, M=M)
        self.g_a = nn.Sequential(conv(cin, N), GDN(N), conv(N, N), GDN(N), conv(N, N),
                                 GDN(N), conv(N, M))
        self.g_s = nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, N),
                                 GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
                                 deconv(N, cout))

    def hyper_encoder(self, y: torch.Tensor) -> torch.Tensor:
        return self.h_a(y)

    def hyper_decoder_scale(self, z_hat: torch.Tensor) -> torch.Tensor:
        return self.h_s(z_hat).chunk(2, 1)[0]  # CompressAI's order: scales, then means

    def hyper_decoder_mean(self, z_hat: torch.Tensor) -> torch.Tensor:
        return self.h_s(z_hat).chunk(2, 1)[1]


class _Basic(nn.Module):
    """One SpyNet level: (first, warped second, upsampled flow) -> flow update."""

    def __init__(self, widths: tuple[int, ...], k: int):
        super().__init__()
        chans = (8, *widths, 2)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
            layers.append(nn.Conv2d(a, b, k, padding=k // 2))
            if i < len(chans) - 2:
                layers.append(nn.ReLU(inplace=False))
        nn.init.zeros_(layers[-1].weight)  # start from "no update": zero flow at init
        nn.init.zeros_(layers[-1].bias)
        self.netBasic = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.netBasic(x)


class SpyNet(nn.Module):
    """SpyNet (the published ``FlowNet``): ``forward(first, second)`` is the flow that
    warps ``second`` onto ``first``. Inputs in [0, 1], RGB, sides divisible by
    ``2 ** (levels - 1)``."""

    _MEAN = (0.485, 0.456, 0.406)
    _STD = (0.229, 0.224, 0.225)

    def __init__(self, c: LHBDCConfig):
        super().__init__()
        self.coarsest = c.flow_coarsest
        self.netBasic = nn.ModuleList(_Basic(c.flow_widths, c.flow_kernel)
                                      for _ in range(c.flow_levels))

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.new_tensor(self._MEAN).view(1, 3, 1, 1)
        return (x - mean) / x.new_tensor(self._STD).view(1, 3, 1, 1)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        a, b = [self._normalize(first)], [self._normalize(second)]
        while len(a) < len(self.netBasic) and max(a[0].shape[2:]) > self.coarsest:
            a.insert(0, F.avg_pool2d(a[0], 2))
            b.insert(0, F.avg_pool2d(b[0], 2))
        n, _, h, w = a[0].shape
        flow = a[0].new_zeros(n, 2, h // 2, w // 2)
        for level, (fa, fb) in enumerate(zip(a, b, strict=True)):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            inp = torch.cat((fa, _backwarp(fb, up, False), up), dim=1)
            flow = self.netBasic[level](inp) + up
        return flow


class Mask(nn.Module):
    """The published fusion U-Net: two warped references -> blend weight in (0, 1)."""

    def __init__(self, ch: int):
        super().__init__()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv1 = conv(6, ch, 5, 1)
        self.conv2 = conv(ch, ch * 2, 5, 1)
        self.conv3 = conv(ch * 2, ch * 4, 3, 1)
        self.bottleneck = conv(ch * 4, ch * 4, 3, 1)
        self.deconv1 = conv(ch * 8, ch * 4, 3, 1)
        self.deconv2 = conv(ch * 4 + ch * 2, ch * 2, 5, 1)
        self.deconv3 = conv(ch * 2 + ch, ch, 5, 1)
        self.conv4 = conv(ch, 1, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1 = F.relu(self.conv1(x))
        c2 = F.relu(self.conv2(self.pool(c1)))
        c3 = F.relu(self.conv3(self.pool(c2)))
        x = F.relu(self.bottleneck(self.pool(c3)))
        for skip, layer in ((c3, self.deconv1), (c2, self.deconv2), (c1, self.deconv3)):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.relu(layer(torch.cat((x, skip), dim=1)))
        return torch.sigmoid(self.conv4(x))


@dataclass
class BMotion:
    """Decoder-side motion of a B frame."""

    flow_prior: torch.Tensor  # (f_ba, f_ab): from the references only
    flows: torch.Tensor  # decoded (f_bc, f_ac)
    mask: torch.Tensor
    prediction: torch.Tensor


class LHBDCNet(CompressionModel):
    """The whole LHBDC: ``intra`` for I frames, the published ``Model`` for B frames."""

    def __init__(self, config: LHBDCConfig | None = None):
        super().__init__()
        c = self.config = config or LHBDC_SMALL
        self._warp: list[torch.Tensor] = []  # warm-up terms of the current training pass
        self.FlowNet = SpyNet(c)
        self.mv_compressor = MeanScaleAE(c.N, c.M, 4, 4)
        self.residual_compressor = MeanScaleAE(c.N, c.M, 3, 3)
        self.masknet = Mask(c.mask_ch)
        self.intra = None if c.base else MeanScaleAE(c.intra_N, c.intra_M, 3, 3)
        self._external: tuple[nn.Module, ...] = ()  # the I-frame model ``base`` names

    def attach_intra(self, model: nn.Module) -> None:
        """Give the net the I-frame model its config names (``base``). Held outside the
        module tree, so it is neither trained, moved nor saved with LHBDC's weights."""
        if self.intra is not None:
            raise ValueError("this LHBDC has its own intra codec (config base is empty)")
        p = next(self.parameters())
        self._external = (model.eval().requires_grad_(False).to(p.device),)

    def _apply(self, fn, *args, **kwargs):
        """``.to()``/``.cuda()`` move the attached I-frame model with the net: it is
        outside the module tree (neither trained nor saved) but runs where the net runs."""
        super()._apply(fn, *args, **kwargs)
        for m in self._external:
            m._apply(fn, *args, **kwargs)
        return self

    def _intra_model(self) -> nn.Module:
        if not self._external:
            raise ValueError(f"this LHBDC codes I frames with {self.config.base!r}: "
                             "load it through amgap (load_checkpoint / load_zoo)")
        return self._external[0]

    def over_intra_model(self, spec: str) -> LHBDCNet:
        """A copy whose I frames the model ``spec`` names will code (config ``base``):
        every B-frame weight kept, the intra codec dropped (e.g. to train on from a net
        that has one of its own)."""
        weights = {k: v for k, v in self.state_dict().items() if not k.startswith("intra.")}
        net = LHBDCNet(replace(self.config, base=spec))
        net.load_state_dict(weights)
        return net

    def own_intra(self) -> MeanScaleAE:
        if self.intra is None:
            raise ValueError(f"this LHBDC's I frames are coded by {self.config.base!r}, "
                             "not by an intra codec of its own")
        return self.intra

    def config_dict(self) -> dict:
        return asdict(self.config)

    def flow_prior(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        """Decoder-computable motion prediction (linear motion between references)."""
        f_ba = self.FlowNet(after, before) / 2.0
        f_ab = self.FlowNet(before, after) / 2.0
        return torch.cat((f_ba, f_ab), dim=1)

    # ---- analysis side (encoder only) ----
    def motion_analysis(self, x: torch.Tensor, refs: list[torch.Tensor]) -> torch.Tensor:
        return self._motion_analysis(x, refs)[0]

    def _motion_analysis(self, x: torch.Tensor, refs: list[torch.Tensor]
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """(motion latent, the estimated flows (f_bc, f_ac) it codes the difference of)."""
        before, after = _refs(refs)
        flows = torch.cat((self.FlowNet(x, before), self.FlowNet(x, after)), dim=1)
        return self.mv_compressor.g_a(flows - self.flow_prior(before, after)), flows

    def residual_analysis(self, x: torch.Tensor, motion: BMotion | None) -> torch.Tensor:
        if motion is None:
            return self.own_intra().g_a(x)
        return self.residual_compressor.g_a(x - motion.prediction)

    # ---- synthesis side (the decoder, given dequantized latents) ----
    def motion_synthesis(self, y_m_hat: torch.Tensor, refs: list[torch.Tensor]) -> BMotion:
        before, after = _refs(refs)
        prior = self.flow_prior(before, after)
        flows = self.mv_compressor.g_s(y_m_hat) + prior
        fw = _backwarp(before, flows[:, 0:2], False)
        bw = _backwarp(after, flows[:, 2:4], False)
        mask = self.masknet(torch.cat((fw, bw), dim=1))
        return BMotion(prior, flows, mask, mask * fw + (1.0 - mask) * bw)

    def residual_synthesis(self, y_r_hat: torch.Tensor, motion: BMotion | None) -> torch.Tensor:
        if motion is None:
            return self.own_intra().g_s(y_r_hat)
        return motion.prediction + self.residual_compressor.g_s(y_r_hat)

    # ---- training forwards: (x_hat, {info: {"y": lk, "z": lk}}) ----
    def forward(self, frames: list[torch.Tensor]) -> dict:
        """A clip coded as one ``lhbdc`` GOP (what ``amgap train`` calls). In training
        mode it also returns ``warp_mse``, the motion warm-up term ``amgap train`` adds
        with ``warp_weight``: the mean of the MSE of each reference warped onto its B
        frame by the *estimated* flows (trains SpyNet) and the MSE of the prediction from
        the *decoded* motion (makes the flow-difference latent carry the flows, as
        AIVC's prediction term does; the rate term alone let it collapse)."""
        return gop_forward(self, frames, "lhbdc")

    def motion_loss(self, frames: list[torch.Tensor]) -> torch.Tensor:
        """Photometric objective of the flow estimator alone (``amgap train`` with
        ``objective="motion"``): MSE of each reference of a (before, x, after) clip
        warped onto ``x`` by its estimated flow, and of ``before`` warped onto ``after``
        (twice the distance: the pair the decoder-side prior ``flow_prior`` estimates).
        The published model starts from a SpyNet pretrained on optical flow; amgap may
        not download one, so this stage teaches SpyNet to predict before the codec
        trains on its flows (from scratch, the rate term lets them collapse)."""
        before, x, after = frames[0], frames[1], frames[2]
        pairs = ((x, before), (x, after), (after, before))
        return torch.stack([_warp_error(second, self.FlowNet(first, second), first)
                            for first, second in pairs]).mean()

    def forward_keyframe(self, x: torch.Tensor):
        if self.intra is None:  # the frozen external I-frame model's real decoded frame
            with torch.no_grad():
                return self._intra_model().forward_keyframe(x)
        y_hat, lk = latent_forward(self.intra, self.intra.g_a(x))
        return self.intra.g_s(y_hat), {"residual": lk}

    def forward_b(self, x: torch.Tensor, ref0: torch.Tensor, ref1: torch.Tensor):
        refs = [ref0, ref1]
        y_m, flows = self._motion_analysis(x, refs)
        y_m_hat, lk_m = latent_forward(self.mv_compressor, y_m)
        motion = self.motion_synthesis(y_m_hat, refs)
        if self.training:  # warm-up: SpyNet's own warps, and the decoded prediction
            self._warp.append(0.5 * (_warp_error(ref0, flows[:, 0:2], x)
                                     + _warp_error(ref1, flows[:, 2:4], x)))
            self._warp.append(F.mse_loss(motion.prediction, x))
        y_r_hat, lk_r = latent_forward(self.residual_compressor,
                                       self.residual_analysis(x, motion))
        return self.residual_synthesis(y_r_hat, motion), {"motion": lk_m, "residual": lk_r}


def _warp_error(ref: torch.Tensor, flow: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE of ``ref`` warped onto ``target`` by ``flow`` (SpyNet's photometric loss)."""
    return F.mse_loss(_backwarp(ref, flow, False), target)


def _refs(refs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    if len(refs) != 2:
        raise ValueError(f"an LHBDC B frame needs two references, got {len(refs)}")
    return refs[0], refs[1]


def _check_type(ftype: FrameType) -> None:
    if ftype not in (FrameType.I, FrameType.B):
        raise ValueError(f"LHBDC codes I and B frames, not {ftype.name}")


@torch.no_grad()
def code_frame(net: LHBDCNet, ftype: FrameType, x: torch.Tensor,
               refs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, LatentSymbols]]:
    """Encoder with real quantization: (decoded frame, symbols per information type)."""
    _check_type(ftype)
    symbols: dict[str, LatentSymbols] = {}
    motion = None
    res = net.own_intra() if ftype == FrameType.I else None
    if ftype == FrameType.B:
        mv, res = net.mv_compressor, net.residual_compressor
        symbols["motion"] = latent_analysis(mv, net.motion_analysis(x, refs))
        motion = net.motion_synthesis(latent_synthesis(mv, symbols["motion"]), refs)
    symbols["residual"] = latent_analysis(res, net.residual_analysis(x, motion))
    return net.residual_synthesis(latent_synthesis(res, symbols["residual"]), motion), symbols


@torch.no_grad()
def decode_frame(net: LHBDCNet, ftype: FrameType, symbols: dict[str, LatentSymbols],
                 refs: list[torch.Tensor]) -> torch.Tensor:
    """Decoder: the frame from its symbols and the decoded references only."""
    _check_type(ftype)
    if ftype == FrameType.I:
        intra = net.own_intra()
        return intra.g_s(latent_synthesis(intra, symbols["residual"]))
    motion = net.motion_synthesis(latent_synthesis(net.mv_compressor, symbols["motion"]), refs)
    y_r_hat = latent_synthesis(net.residual_compressor, symbols["residual"])
    return net.residual_synthesis(y_r_hat, motion)


# ---- released weights -> this module ----------------------------------------------
class KeyMismatch(ValueError):
    """A released state dict that this module cannot represent (names the first key)."""


# EntropyBottleneck parameter names of older CompressAI versions -> today's
_LEGACY_EB = (("._matrices.", ".matrices."), ("._biases.", ".biases."),
              ("._factors.", ".factors."))


def _modern_eb_key(key: str) -> str:
    """CompressAI < 1.2 spellings of EntropyBottleneck parameters -> 1.2 ones."""
    for old, new in _LEGACY_EB:
        key = key.replace(old, new)
    for stem, new in (("._matrix", ".matrices."), ("._bias", ".biases."),
                      ("._factor", ".factors.")):
        head, sep, tail = key.rpartition(stem)
        if sep and tail.isdigit():
            key = f"{head}{new}{tail}"
    return key


def lhbdc_key_map(src: dict[str, torch.Tensor], target: LHBDCNet,
                  intra: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Released ``compression_<lambda>.pth`` ``["state_dict"]`` (and, optionally, a
    CompressAI ``mbt2018-mean`` state dict for I frames) -> a state dict for ``target``.

    Names are the published ones, so the map is the identity up to CompressAI's
    EntropyBottleneck renames; the entropy-coder buffers (``_quantized_cdf``, ``scale_table`` …) are
    dropped and rebuilt by ``update()``. Refuses (``KeyMismatch``) the first key that
    is unknown, or whose shape differs (wrong preset), and the first parameter the
    released weights lack.
    """
    out = {k: v.clone() for k, v in target.state_dict().items()}
    sources = [("", src)] + ([("intra.", intra)] if intra is not None else [])
    provided: set[str] = set()
    for prefix, sd in sources:
        for key, value in sd.items():
            new = prefix + _modern_eb_key(key.removeprefix("module."))
            if is_dynamic_buffer(new):
                continue
            if new not in out:
                raise KeyMismatch(f"no amgap counterpart for released key: {key}")
            if out[new].shape != value.shape:
                raise KeyMismatch(f"{key}: shape {tuple(value.shape)} "
                                  f"vs amgap {tuple(out[new].shape)}")
            out[new] = value.clone()
            provided.add(new)
    for name, _ in target.named_parameters():
        if name in provided or (intra is None and name.startswith("intra.")):
            continue
        raise KeyMismatch(f"released weights lack amgap key: {name}")
    return out
