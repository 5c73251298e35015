"""AIVC (Ladune et al., 2022) as plain modules: MNet (``mode_net``) and CNet (``codec_net``).

Written from the structure of Orange-OpenSource/AIVC (``models/full_system.py``,
``models/mode_net.py``, ``models/codec_net.py``, ``models/base_ae/*``), not from its
code; see ``docs/architectures.md`` for what is followed and what is simplified.

* **MNet** (motion): a conditional autoencoder whose analysis transform ``g_a`` sees
  (prev, x, next) (9 channels) and whose synthesis ``g_s`` also receives a latent
  ``g_a_ref(prev, next)`` computed at the decoder from the references alone (B frames
  only). It outputs 6 maps: coding mode ``alpha``, bi-prediction weight ``beta`` and
  two optical flows ``v_prev``, ``v_next``.
* **Motion compensation**: ``x_tilde = beta * warp(prev, v_prev) + (1 - beta) *
  warp(next, v_next)`` (``beta = 1`` on P frames).
* **CNet** (frame): conditional coding, no subtraction. ``g_a`` sees
  ``(alpha * x_tilde, alpha * x)``; ``g_s`` decodes ``(y_hat, g_a_ref(alpha * x_tilde))``.
  The frame is ``CNet output + (1 - alpha) * x_tilde`` (skip mode where alpha = 0).
  I frames use the same CNet with ``alpha = 1``, a zero prediction and a zero
  conditioning latent, as the published code does.

Each ``ConditionalNet`` owns one hyperprior latent (``h_a``, ``h_s``,
``entropy_bottleneck``, ``gaussian_conditional``): MNet's is the motion-side/-main
information of Table I, CNet's the residual-side/-main.

Coding split (so that an adapter stays thin): ``motion_analysis`` and
``frame_analysis`` run at the encoder only; ``motion_synthesis`` and
``frame_synthesis`` are the whole decoder given the dequantized latents
(``net_blocks.latent_synthesis``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import GDN
from compressai.models.base import CompressionModel
from torch import nn

from .base import FrameType
from .net_blocks import (
    LatentSymbols,
    gop_forward,
    latent_analysis,
    latent_forward,
    latent_synthesis,
)
from .net_blocks import backwarp as _backwarp

__all__ = ["AIVCConfig", "AIVC_SMALL", "AIVC_PUBLISHED", "AIVCNet", "ConditionalNet",
           "MotionOut", "code_frame", "decode_frame", "aivc_key_map", "KeyMismatch",
           "zero_flow_outputs"]

# The published code's bounds on the log-variance of the main latent (sigma > 1e-4).
LOG_VAR_MIN, LOG_VAR_MAX = -18.4207, 10.0


@dataclass(frozen=True)
class AIVCConfig:
    """Widths of both conditional autoencoders (the published code shares them)."""

    nb_ft_conv: int = 48  # hidden channels of every transform
    nb_ft_y: int = 64  # main latent channels
    nb_ft_z: int = 32  # side latent channels
    out_c_shortcut_y: int = 32  # channels of the decoder-side conditioning latent
    k_size: int = 5
    eb_filters: tuple[int, ...] = (3, 3, 3)  # the published BallePdfEstim: K = 4, r = 3

    @property
    def pad_multiple(self) -> int:
        return 64  # 4 stride-2 stages, then 2 more in the hyperprior


AIVC_SMALL = AIVCConfig()
# Defaults of the published building blocks (BaseEncoder nb_ft=64 / out_c=256,
# BaseEncoderHP out_c=64). The released models pickle their own values; see docs.
AIVC_PUBLISHED = AIVCConfig(nb_ft_conv=64, nb_ft_y=256, nb_ft_z=64, out_c_shortcut_y=256)


class CustomConvLayer(nn.Module):
    """Replicate-padded convolution + optional non-linearity (published layout)."""

    def __init__(self, k: int, cin: int, cout: int, stride: int, nl: str, bias: bool = True):
        super().__init__()
        self.layers = nn.Sequential(nn.ReplicationPad2d(k // 2),
                                    nn.Conv2d(cin, cout, k, stride=stride, bias=bias))
        _add_nl(self.layers, nl, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class UpscalingLayer(nn.Module):
    """Stride-2 transposed convolution + optional non-linearity (published layout)."""

    def __init__(self, k: int, cin: int, cout: int, nl: str):
        super().__init__()
        self.layers = nn.Sequential(nn.ConvTranspose2d(
            cin, cout, k, stride=2, padding=(1 + k) // 2 - 1, output_padding=1))
        _add_nl(self.layers, nl, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _add_nl(seq: nn.Sequential, nl: str, ch: int) -> None:
    if nl == "gdn":
        seq.add_module("non_linearity", GDN(ch))
    elif nl == "gdn_inverse":
        seq.add_module("non_linearity", GDN(ch, inverse=True))
    elif nl == "leaky_relu":
        seq.add_module("non_linearity", nn.LeakyReLU())


class _Stack(nn.Module):
    """``layers`` as a ModuleList, the published ``Base*`` containers' attribute name."""

    def __init__(self, layers: list[nn.Module]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def _encoder(k: int, cin: int, nb: int, cout: int) -> _Stack:
    return _Stack([CustomConvLayer(k, cin, nb, 2, "gdn"), CustomConvLayer(k, nb, nb, 2, "gdn"),
                   CustomConvLayer(k, nb, nb, 2, "gdn"),
                   CustomConvLayer(k, nb, cout, 2, "no", bias=False)])


def _decoder(k: int, cin: int, nb: int, cout: int) -> _Stack:
    return _Stack([UpscalingLayer(k, cin, nb, "gdn_inverse"),
                   UpscalingLayer(k, nb, nb, "gdn_inverse"),
                   UpscalingLayer(k, nb, nb, "gdn_inverse"), UpscalingLayer(k, nb, cout, "no")])


class ConditionalNet(nn.Module):
    """One conditional autoencoder with its hyperprior latent (published names)."""

    def __init__(self, c: AIVCConfig, in_c: int, out_c: int, in_c_shortcut: int):
        super().__init__()
        k, nb = c.k_size, c.nb_ft_conv
        self.nb_ft_y = c.nb_ft_y
        self.out_c_shortcut_y = c.out_c_shortcut_y
        self.g_a = _encoder(k, in_c, nb, c.nb_ft_y)
        self.g_s = _decoder(k, c.nb_ft_y + c.out_c_shortcut_y, nb, out_c)
        self.g_a_ref = _encoder(k, in_c_shortcut, nb, c.out_c_shortcut_y)
        self.h_a = _Stack([CustomConvLayer(k, c.nb_ft_y, nb, 2, "leaky_relu"),
                           CustomConvLayer(k, nb, nb, 2, "leaky_relu"),
                           CustomConvLayer(k, nb, c.nb_ft_z, 1, "no", bias=False)])
        self.h_s = _Stack([CustomConvLayer(k, c.nb_ft_z, nb, 1, "leaky_relu"),
                           UpscalingLayer(k, nb, nb, "leaky_relu"),
                           UpscalingLayer(k, nb, 2 * c.nb_ft_y, "no")])
        self.entropy_bottleneck = EntropyBottleneck(c.nb_ft_z, filters=c.eb_filters)
        self.gaussian_conditional = GaussianConditional(None)

    # CompressAI Hyperprior interface (callables; the registered modules stay h_a/h_s).
    def hyper_encoder(self, y: torch.Tensor) -> torch.Tensor:
        return self.h_a(y)

    def hyper_decoder_mean(self, z_hat: torch.Tensor) -> torch.Tensor:
        return self.h_s(z_hat)[:, : self.nb_ft_y]

    def hyper_decoder_scale(self, z_hat: torch.Tensor) -> torch.Tensor:
        """sigma = exp(0.5 * clamp(log-variance)): the published parameterization."""
        log_var = self.h_s(z_hat)[:, self.nb_ft_y:]
        return torch.exp(0.5 * torch.clamp(log_var, LOG_VAR_MIN, LOG_VAR_MAX))

    def shortcut(self, cond: torch.Tensor | None, y_hat: torch.Tensor) -> torch.Tensor:
        """Decoder-side conditioning latent; zeros where the frame type has none."""
        if cond is None:
            n, _, h, w = y_hat.shape
            return y_hat.new_zeros(n, self.out_c_shortcut_y, h, w)
        return self.g_a_ref(cond)

    def synthesis(self, y_hat: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
        return self.g_s(torch.cat((y_hat, shortcut), dim=1))


class ModeNet(nn.Module):
    """Container kept for the published key prefix ``mode_net.mode_net.``."""

    def __init__(self, c: AIVCConfig):
        super().__init__()
        self.mode_net = ConditionalNet(c, in_c=9, out_c=6, in_c_shortcut=6)


class CodecNet(nn.Module):
    """Container kept for the published key prefix ``codec_net.codec_net.``."""

    def __init__(self, c: AIVCConfig):
        super().__init__()
        self.codec_net = ConditionalNet(c, in_c=6, out_c=3, in_c_shortcut=3)


@dataclass
class MotionOut:
    """What MNet's decoder side yields (all decoder-computable)."""

    alpha: torch.Tensor  # [N,1,H,W] 1 = code with CNet, 0 = skip (copy the prediction)
    beta: torch.Tensor  # [N,1,H,W] weight of the warp from prev
    v_prev: torch.Tensor
    v_next: torch.Tensor
    prediction: torch.Tensor  # x_tilde


class AIVCNet(CompressionModel):
    """The whole AIVC: I, P and B frames with the same two networks."""

    def __init__(self, config: AIVCConfig | None = None):
        super().__init__()
        self.config = config or AIVC_SMALL
        self._warp: list[torch.Tensor] = []  # warm-up terms of the current training pass
        self.mode_net = ModeNet(self.config)
        self.codec_net = CodecNet(self.config)

    @property
    def mnet(self) -> ConditionalNet:
        return self.mode_net.mode_net

    @property
    def cnet(self) -> ConditionalNet:
        return self.codec_net.codec_net

    def config_dict(self) -> dict:
        return asdict(self.config)

    # ---- analysis side (encoder only) ----
    def motion_analysis(self, ftype: FrameType, x: torch.Tensor,
                        refs: list[torch.Tensor]) -> torch.Tensor:
        prev, nxt = _two_refs(ftype, refs)
        return self.mnet.g_a(torch.cat((prev, x, nxt), dim=1))

    def frame_analysis(self, x: torch.Tensor, motion: MotionOut | None) -> torch.Tensor:
        if motion is None:  # I frame: alpha = 1, zero prediction
            return self.cnet.g_a(torch.cat((torch.zeros_like(x), x), dim=1))
        a = motion.alpha
        return self.cnet.g_a(torch.cat((a * motion.prediction, a * x), dim=1))

    # ---- synthesis side (the decoder, given dequantized latents) ----
    def motion_synthesis(self, ftype: FrameType, y_m_hat: torch.Tensor,
                         refs: list[torch.Tensor]) -> MotionOut:
        prev, nxt = _two_refs(ftype, refs)
        cond = torch.cat((prev, nxt), dim=1) if ftype == FrameType.B else None
        out = self.mnet.synthesis(y_m_hat, self.mnet.shortcut(cond, y_m_hat))
        alpha = torch.clamp(out[:, 0:1] + 0.5, 0.0, 1.0)
        beta = torch.clamp(out[:, 1:2] + 0.5, 0.0, 1.0)
        if ftype != FrameType.B:
            beta = torch.ones_like(beta)
        v_prev, v_next = out[:, 2:4], out[:, 4:6]
        pred = beta * _backwarp(prev, v_prev, True)
        if ftype == FrameType.B:
            pred = pred + (1 - beta) * _backwarp(nxt, v_next, True)
        return MotionOut(alpha, beta, v_prev, v_next, pred)

    def frame_synthesis(self, y_c_hat: torch.Tensor, motion: MotionOut | None) -> torch.Tensor:
        if motion is None:
            return self.cnet.synthesis(y_c_hat, self.cnet.shortcut(None, y_c_hat))
        a, pred = motion.alpha, motion.prediction
        coded = self.cnet.synthesis(y_c_hat, self.cnet.shortcut(a * pred, y_c_hat))
        return coded + (1 - a) * pred

    # ---- training forwards: (x_hat, {info: {"y": lk, "z": lk}}) ----
    def forward(self, frames: list[torch.Tensor]) -> dict:
        """A clip coded as one ``aivc`` GOP (what ``amgap train`` calls). In training
        mode it also returns ``warp_mse``: the MSE of each P/B frame's motion-compensated
        prediction (from the *decoded* motion latent), the warm-up term ``amgap train``
        adds with ``warp_weight``. MNet has no flow estimator: from scratch the rate term
        alone teaches it to code every pixel (``alpha`` = 1) rather than to predict."""
        return gop_forward(self, frames, "aivc")

    def forward_keyframe(self, x: torch.Tensor):
        y_hat, lk = latent_forward(self.cnet, self.frame_analysis(x, None))
        return self.frame_synthesis(y_hat, None), {"residual": lk}

    def forward_p(self, x: torch.Tensor, ref: torch.Tensor):
        return self._forward_inter(FrameType.P, x, [ref])

    def forward_b(self, x: torch.Tensor, ref0: torch.Tensor, ref1: torch.Tensor):
        return self._forward_inter(FrameType.B, x, [ref0, ref1])

    def _forward_inter(self, ftype: FrameType, x: torch.Tensor, refs: list[torch.Tensor]):
        y_m_hat, lk_m = latent_forward(self.mnet, self.motion_analysis(ftype, x, refs))
        motion = self.motion_synthesis(ftype, y_m_hat, refs)
        if self.training:
            self._warp.append(F.mse_loss(motion.prediction, x))
        y_c_hat, lk_c = latent_forward(self.cnet, self.frame_analysis(x, motion))
        return self.frame_synthesis(y_c_hat, motion), {"motion": lk_m, "residual": lk_c}


def zero_flow_outputs(net: AIVCNet) -> None:
    """Restart MNet's two flows at zero (its last layer's flow channels): predictions
    become plain copies of the references (their ``beta``-weighted mean on B frames), a
    prediction no worse than a copy from the first step. Trained from scratch without a
    flow estimator, the shipped instances' flows predicted worse than a copy (and
    ``alpha`` ~ 1 sent every pixel through the frame codec); warping's gradient is local,
    so training on from those flows does not find the copy by itself."""
    last = net.mnet.g_s.layers[-1].layers[0]  # ConvTranspose2d, out channels alpha, beta, flows
    with torch.no_grad():
        last.weight[:, 2:6].zero_()
        last.bias[2:6].zero_()


def _two_refs(ftype: FrameType, refs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(prev, next). A P frame's next reference is a zero frame, as in the published
    GOP driver (and beta is forced to 1, so it is never warped)."""
    if ftype == FrameType.B:
        if len(refs) != 2:
            raise ValueError("a B frame needs two references")
        return refs[0], refs[1]
    if ftype != FrameType.P or len(refs) != 1:
        raise ValueError(f"{ftype.name} frame with {len(refs)} reference(s)")
    return refs[0], torch.zeros_like(refs[0])


@torch.no_grad()
def code_frame(net: AIVCNet, ftype: FrameType, x: torch.Tensor,
               refs: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, LatentSymbols]]:
    """Encoder with real quantization: (decoded frame, symbols per information type)."""
    symbols: dict[str, LatentSymbols] = {}
    motion = None
    if ftype != FrameType.I:
        symbols["motion"] = latent_analysis(net.mnet, net.motion_analysis(ftype, x, refs))
        motion = net.motion_synthesis(ftype, latent_synthesis(net.mnet, symbols["motion"]), refs)
    symbols["residual"] = latent_analysis(net.cnet, net.frame_analysis(x, motion))
    return net.frame_synthesis(latent_synthesis(net.cnet, symbols["residual"]), motion), symbols


@torch.no_grad()
def decode_frame(net: AIVCNet, ftype: FrameType, symbols: dict[str, LatentSymbols],
                 refs: list[torch.Tensor]) -> torch.Tensor:
    """Decoder: the frame from its symbols and the decoded references only."""
    motion = None
    if ftype != FrameType.I:
        motion = net.motion_synthesis(ftype, latent_synthesis(net.mnet, symbols["motion"]), refs)
    return net.frame_synthesis(latent_synthesis(net.cnet, symbols["residual"]), motion)


# ---- released weights -> this module ----------------------------------------------
_EB = {"matrix_h": "matrices", "bias_b": "biases", "bias_a": "factors"}
_PREFIXES = ("mode_net.mode_net.", "codec_net.codec_net.")


class KeyMismatch(ValueError):
    """A released state dict that this module cannot represent (names the first key)."""


def _eb_tensor(kind: str, t: torch.Tensor) -> torch.Tensor:
    """BallePdfEstim stores [C, d_in, d_out] matrices and [C, d] biases/factors."""
    return t.transpose(1, 2).contiguous() if kind == "matrix_h" else t.unsqueeze(-1)


def _map_key(key: str) -> str | None:
    """Published key -> amgap key; None for entries that are folded or dropped."""
    prefix = next((p for p in _PREFIXES if key.startswith(p)), None)
    if prefix is None:
        raise KeyMismatch(f"unexpected key (not under MNet/CNet): {key}")
    sub = key[len(prefix):]
    head = sub.split(".")[0]
    if head in ("g_a", "g_s", "g_a_ref", "h_a", "h_s"):
        return key
    if head == "pdf_z":
        _, kind, idx = sub.split(".")
        return f"{prefix}entropy_bottleneck.{_EB[kind]}.{idx}"
    if head == "gain_I":
        return None  # folded (rate index 0) or another rate's vector (unused)
    raise KeyMismatch(f"no amgap counterpart for released key: {key}")


def _fold_gains(src: dict, out: dict, prefix: str, nb_ft_y: int) -> None:
    """Fold rate-0 gain vectors into g_a's last conv and g_s's first deconv (exact)."""
    enc = src.get(f"{prefix}gain_I.enc_gain_list.0")
    dec = src.get(f"{prefix}gain_I.dec_gain_list.0")
    if enc is not None:
        g = enc.abs().reshape(-1)
        w = f"{prefix}g_a.layers.3.layers.1."
        out[w + "weight"] = out[w + "weight"] * g.view(-1, 1, 1, 1)
        if w + "bias" in out:
            out[w + "bias"] = out[w + "bias"] * g
    if dec is not None:
        g = dec.abs().reshape(-1)
        w = f"{prefix}g_s.layers.0.layers.0.weight"
        scaled = out[w].clone()
        scaled[:nb_ft_y] = scaled[:nb_ft_y] * g.view(-1, 1, 1, 1)
        out[w] = scaled


def aivc_key_map(src: dict[str, torch.Tensor], target: AIVCNet) -> dict[str, torch.Tensor]:
    """State dict of a released AIVC ``FullNet`` -> a state dict for ``target``.

    Refuses (``KeyMismatch``) the first key it cannot place: attention blocks,
    per-frame-type gains (``gain_P``/``gain_B``), z-shortcut transforms, or a shape
    that differs from ``target``'s config. ``quantiles`` of the entropy bottlenecks do
    not exist in AIVC (its factorized model has no tail bounds); they keep
    ``target``'s values and must be refitted (aux loss) before building tables.
    """
    out = {k: v.clone() for k, v in target.state_dict().items()}
    provided: set[str] = set()
    for key, value in src.items():
        if ".gain_P." in key or ".gain_B." in key:
            raise KeyMismatch(f"per-frame-type gains cannot be folded into one net: {key}")
        new = _map_key(key)
        if new is None:
            continue
        kind = key.split(".")[-2]
        tensor = _eb_tensor(kind, value) if ".pdf_z." in key else value
        if new not in out:
            raise KeyMismatch(f"no amgap counterpart for released key: {key}")
        if out[new].shape != tensor.shape:
            raise KeyMismatch(f"{key}: shape {tuple(tensor.shape)} "
                              f"vs amgap {tuple(out[new].shape)}")
        out[new] = tensor.clone()
        provided.add(new)
    for name, _ in target.named_parameters():
        if name not in provided and not name.endswith("quantiles"):
            raise KeyMismatch(f"released weights lack amgap key: {name}")
    for prefix in _PREFIXES:
        _fold_gains(src, out, prefix, target.config.nb_ft_y)
    return out
