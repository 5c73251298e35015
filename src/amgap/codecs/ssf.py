"""Scale-space flow (Agustsson et al. 2020) on CompressAI's ``ScaleSpaceFlow``.

* :func:`build_ssf2020` is CompressAI's full model (loads any ``ssf2020`` checkpoint);
* :class:`SlimScaleSpaceFlow` subclasses it with configurable widths and hyperprior
  depth, for training on CPUs; it keeps every method of the parent (``forward``,
  ``forward_prediction``, the Gaussian scale-space warp, ``aux_loss``);
* :class:`SSFCodec` adapts either to amgap's frame interface: it produces the four
  information streams per frame and rebuilds frames from decoded symbols.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from compressai.entropy_models import EntropyBottleneck, GaussianConditional
from compressai.layers import QReLU
from compressai.models.base import CompressionModel
from compressai.models.utils import conv, deconv
from compressai.models.video.google import ScaleSpaceFlow
from compressai.ops import quantize_ste
from torch import nn

from .base import EncodedFrame, FrameType, SymbolReader
from .hyperprior import LatentTables, decode_latent, encode_latent

__all__ = ["SlimConfig", "SlimScaleSpaceFlow", "SlimHyperprior", "SSFCodec", "build_ssf2020"]


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

    @property
    def latent_stride(self) -> int:
        return 16

    @property
    def side_stride(self) -> int:
        return 16 * 2 ** self.hyper_depth


def _analysis(cin: int, mid: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        conv(cin, mid, 5, 2), nn.ReLU(inplace=True), conv(mid, mid, 5, 2), nn.ReLU(inplace=True),
        conv(mid, mid, 5, 2), nn.ReLU(inplace=True), conv(mid, cout, 5, 2))


def _synthesis(cin: int, mid: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        deconv(cin, mid, 5, 2), nn.ReLU(inplace=True), deconv(mid, mid, 5, 2),
        nn.ReLU(inplace=True), deconv(mid, mid, 5, 2), nn.ReLU(inplace=True),
        deconv(mid, cout, 5, 2))


class _QReLUStack(nn.Module):
    """Transposed convolutions each followed by a QReLU (bounded, positive scales)."""

    def __init__(self, chans: list[int]):
        super().__init__()
        pairs = zip(chans[:-1], chans[1:], strict=True)
        self.layers = nn.ModuleList(deconv(a, b, 5, 2) for a, b in pairs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = QReLU.apply(layer(x), 8, 100)
        return x


class SlimHyperprior(CompressionModel):
    """Same attribute names and behaviour as the ``Hyperprior`` inside ``ScaleSpaceFlow``."""

    def __init__(self, planes: int, hyper: int, depth: int):
        super().__init__()
        enc: list[nn.Module] = []
        cin = planes
        for i in range(depth):
            enc.append(conv(cin, hyper, 5, 2))
            if i < depth - 1:
                enc.append(nn.ReLU(inplace=True))
            cin = hyper
        self.hyper_encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        for i in range(depth):
            dec.append(deconv(hyper, planes if i == depth - 1 else hyper, 5, 2))
            if i < depth - 1:
                dec.append(nn.ReLU(inplace=True))
        self.hyper_decoder_mean = nn.Sequential(*dec)
        self.hyper_decoder_scale = _QReLUStack([hyper] * depth + [planes])
        self.entropy_bottleneck = EntropyBottleneck(hyper)
        self.gaussian_conditional = GaussianConditional(None)

    def forward(self, y: torch.Tensor):
        z = self.hyper_encoder(y)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales = self.hyper_decoder_scale(z_hat)
        means = self.hyper_decoder_mean(z_hat)
        _, y_likelihoods = self.gaussian_conditional(y, scales, means)
        y_hat = quantize_ste(y - means) + means
        return y_hat, {"y": y_likelihoods, "z": z_likelihoods}

    # CompressAI's own string API, so that SlimScaleSpaceFlow.compress/decompress work
    # exactly like the parent's (benchmarks compare amgap's coding against them).
    def compress(self, y: torch.Tensor):
        z = self.hyper_encoder(y)
        z_string = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_string, z.size()[-2:])
        indexes = self.gaussian_conditional.build_indexes(self.hyper_decoder_scale(z_hat))
        means = self.hyper_decoder_mean(z_hat)
        y_string = self.gaussian_conditional.compress(y, indexes, means)
        y_hat = self.gaussian_conditional.quantize(y, "dequantize", means)
        return y_hat, {"strings": [y_string, z_string], "shape": z.size()[-2:]}

    def decompress(self, strings, shape):
        z_hat = self.entropy_bottleneck.decompress(strings[1], shape)
        indexes = self.gaussian_conditional.build_indexes(self.hyper_decoder_scale(z_hat))
        means = self.hyper_decoder_mean(z_hat)
        return self.gaussian_conditional.decompress(strings[0], indexes, z_hat.dtype, means)


class SlimScaleSpaceFlow(ScaleSpaceFlow):
    """``ScaleSpaceFlow`` with narrower transforms and a configurable hyperprior."""

    def __init__(self, config: SlimConfig | None = None):
        # Skip the parent's constructor (it would allocate the 192-channel modules only
        # for us to replace them); every method of the parent is reused unchanged.
        CompressionModel.__init__(self)
        c = config or SlimConfig()
        self.config = c
        self.img_encoder = _analysis(3, c.mid, c.latent)
        self.img_decoder = _synthesis(c.latent, c.mid, 3)
        self.img_hyperprior = SlimHyperprior(c.latent, c.hyper, c.hyper_depth)
        self.res_encoder = _analysis(3, c.mid, c.latent)
        self.res_decoder = _synthesis(2 * c.latent, c.mid, 3)
        self.res_hyperprior = SlimHyperprior(c.latent, c.hyper, c.hyper_depth)
        self.motion_encoder = _analysis(6, c.mid, c.latent)
        self.motion_decoder = _synthesis(c.latent, c.mid, 3)
        self.motion_hyperprior = SlimHyperprior(c.latent, c.hyper, c.hyper_depth)
        self.sigma0 = c.sigma0
        self.num_levels = c.num_levels
        self.scale_field_shift = c.scale_field_shift

    def config_dict(self) -> dict:
        return asdict(self.config)


def build_ssf2020() -> ScaleSpaceFlow:
    return ScaleSpaceFlow()


class SSFCodec:
    """amgap frame interface over a (full or slim) ``ScaleSpaceFlow``: I and P frames,
    and B frames when a bi-directional motion VAE (``bmodel``) is attached."""

    def __init__(self, model: ScaleSpaceFlow, name: str = "ssf", bmodel: nn.Module | None = None):
        self.model = model.eval()
        self.name = name
        self.bmodel = bmodel.eval() if bmodel is not None else None
        self.frame_types = (FrameType.I, FrameType.P) + ((FrameType.B,) if bmodel else ())
        if isinstance(model, SlimScaleSpaceFlow):
            self.latent_stride = model.config.latent_stride
            self.side_stride = model.config.side_stride
        else:  # CompressAI's full model: 4 stride-2 stages, then 3 in the hyperprior
            self.latent_stride, self.side_stride = 16, 128
        self.pad_multiple = self.side_stride
        self.probe: list | None = None  # set to a list to collect normalized main latents
        self.tables = {
            "img": LatentTables(model.img_hyperprior),
            "motion": LatentTables(model.motion_hyperprior),
            "res": LatentTables(model.res_hyperprior),
        }
        self._side_channels = {
            k: getattr(model, f"{k}_hyperprior").entropy_bottleneck.channels
            for k in ("img", "motion", "res")
        }
        self._side_strides = dict.fromkeys(self._side_channels, self.side_stride)
        if bmodel is not None:
            self.tables["bmotion"] = LatentTables(bmodel.motion_hyperprior)
            self._side_channels["bmotion"] = bmodel.motion_hyperprior.entropy_bottleneck.channels
            self._side_strides["bmotion"] = 16 * 2 ** bmodel.config.hyper_depth
            self.pad_multiple = max(self.pad_multiple, self._side_strides["bmotion"])

    def _z_shape(self, key: str, height: int, width: int) -> tuple[int, int, int]:
        stride = self._side_strides[key]
        return (self._side_channels[key], height // stride, width // stride)

    @torch.no_grad()
    def encode_frame(self, ftype: FrameType, x: torch.Tensor,
                     refs: list[torch.Tensor]) -> EncodedFrame:
        m = self.model
        if ftype == FrameType.I:
            y_hat, streams = encode_latent(m.img_hyperprior, self.tables["img"],
                                           m.img_encoder(x), "residual", self.probe)
            return m.img_decoder(y_hat), streams
        if ftype == FrameType.B:
            return self._encode_b(x, refs)
        if ftype != FrameType.P:
            raise ValueError(f"{self.name} cannot code {ftype.name} frames")
        x_ref = refs[0]
        y_motion = m.motion_encoder(torch.cat((x, x_ref), dim=1))
        y_motion_hat, s_motion = encode_latent(m.motion_hyperprior, self.tables["motion"],
                                               y_motion, "motion", self.probe)
        x_pred = m.forward_prediction(x_ref, m.motion_decoder(y_motion_hat))
        y_res_hat, s_res = encode_latent(m.res_hyperprior, self.tables["res"],
                                         m.res_encoder(x - x_pred), "residual", self.probe)
        x_res_hat = m.res_decoder(torch.cat((y_res_hat, y_motion_hat), dim=1))
        return x_pred + x_res_hat, s_motion + s_res

    @torch.no_grad()
    def decode_frame(self, ftype: FrameType, height: int, width: int,
                     refs: list[torch.Tensor], read: SymbolReader) -> torch.Tensor:
        m = self.model
        if ftype == FrameType.I:
            y_hat = decode_latent(m.img_hyperprior, self.tables["img"],
                                  self._z_shape("img", height, width), "residual", read)
            return m.img_decoder(y_hat)
        if ftype == FrameType.B:
            return self._decode_b(height, width, refs, read)
        if ftype != FrameType.P:
            raise ValueError(f"{self.name} cannot code {ftype.name} frames")
        x_ref = refs[0]
        y_motion_hat = decode_latent(m.motion_hyperprior, self.tables["motion"],
                                     self._z_shape("motion", height, width), "motion", read)
        x_pred = m.forward_prediction(x_ref, m.motion_decoder(y_motion_hat))
        y_res_hat = decode_latent(m.res_hyperprior, self.tables["res"],
                                  self._z_shape("res", height, width), "residual", read)
        x_res_hat = m.res_decoder(torch.cat((y_res_hat, y_motion_hat), dim=1))
        return x_pred + x_res_hat

    def _need_b(self) -> nn.Module:
        if self.bmodel is None:
            raise ValueError(f"{self.name} has no B-frame model: use a GOP without B frames "
                             "or a model with one (e.g. amgap-bflow)")
        return self.bmodel

    def _encode_b(self, x: torch.Tensor, refs: list[torch.Tensor]) -> EncodedFrame:
        from .bflow import predict_b

        m, bm = self.model, self._need_b()
        y_m = bm.motion_encoder(torch.cat((x, refs[0], refs[1]), dim=1))
        y_m_hat, s_motion = encode_latent(bm.motion_hyperprior, self.tables["bmotion"], y_m,
                                          "motion", self.probe)
        x_pred = predict_b(m, bm.motion_decoder(y_m_hat), refs[0], refs[1])
        y_res_hat, s_res = encode_latent(m.res_hyperprior, self.tables["res"],
                                         m.res_encoder(x - x_pred), "residual", self.probe)
        x_res_hat = m.res_decoder(torch.cat((y_res_hat, y_m_hat), dim=1))
        return x_pred + x_res_hat, s_motion + s_res

    def _decode_b(self, height: int, width: int, refs: list[torch.Tensor],
                  read: SymbolReader) -> torch.Tensor:
        from .bflow import predict_b

        m, bm = self.model, self._need_b()
        y_m_hat = decode_latent(bm.motion_hyperprior, self.tables["bmotion"],
                                self._z_shape("bmotion", height, width), "motion", read)
        x_pred = predict_b(m, bm.motion_decoder(y_m_hat), refs[0], refs[1])
        y_res_hat = decode_latent(m.res_hyperprior, self.tables["res"],
                                  self._z_shape("res", height, width), "residual", read)
        x_res_hat = m.res_decoder(torch.cat((y_res_hat, y_m_hat), dim=1))
        return x_pred + x_res_hat
