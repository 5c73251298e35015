"""AIVC and LHBDC networks (codecs/aivc_net.py, codecs/lhbdc_net.py): training forwards,
the analysis/synthesis split used for coding, and the released-weights key maps."""

import pytest
import torch
import torch.nn.functional as F

from amgap.codecs import aivc_net, lhbdc_net
from amgap.codecs.aivc_net import AIVC_PUBLISHED, AIVCConfig, AIVCNet
from amgap.codecs.base import FrameType
from amgap.codecs.lhbdc_net import LHBDC_PUBLISHED, LHBDCConfig, LHBDCNet, MeanScaleAE, SpyNet
from amgap.codecs.net_blocks import rd_loss

TINY_AIVC = AIVCConfig(nb_ft_conv=16, nb_ft_y=16, nb_ft_z=8, out_c_shortcut_y=8)
TINY_LHBDC = LHBDCConfig(N=16, M=16, intra_N=16, intra_M=16, mask_ch=4,
                         flow_widths=(8, 8), flow_levels=3)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small convolutions run ~10x faster on one thread on the shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _clip(n: int = 2, size: int = 64) -> list[torch.Tensor]:
    """Three frames of a smooth pattern moving right: before, current, after."""
    g = torch.Generator().manual_seed(3)
    base = F.avg_pool2d(torch.rand(n, 3, size + 16, size + 16, generator=g), 5, 1, 2)
    return [base[:, :, 8:8 + size, 8 + s:8 + s + size].contiguous() for s in (0, 2, 4)]


def _nets():
    torch.manual_seed(0)
    return AIVCNet(TINY_AIVC), LHBDCNet(TINY_LHBDC)


def _check_likelihoods(lk: dict, n: int, y_ch: int, z_ch: int, size: int) -> None:
    for info in lk.values():
        assert info["y"].shape == (n, y_ch, size // 16, size // 16)
        assert info["z"].shape == (n, z_ch, size // 64, size // 64)
        assert all(((v > 0) & (v <= 1)).all() for v in info.values())


def test_training_forward_shapes_every_frame_type():
    aivc, lhbdc = _nets()
    before, x, after = _clip()
    c = TINY_AIVC
    for out, infos in ((aivc.forward_keyframe(x), {"residual"}),
                       (aivc.forward_p(x, before), {"motion", "residual"}),
                       (aivc.forward_b(x, before, after), {"motion", "residual"})):
        assert out[0].shape == x.shape and set(out[1]) == infos
        _check_likelihoods(out[1], 2, c.nb_ft_y, c.nb_ft_z, 64)
    k = TINY_LHBDC
    for out, infos in ((lhbdc.forward_keyframe(x), {"residual"}),
                       (lhbdc.forward_b(x, before, after), {"motion", "residual"})):
        assert out[0].shape == x.shape and set(out[1]) == infos
        _check_likelihoods(out[1], 2, k.M, k.N, 64)


def _rd(net, frames, lmbda: float = 0.01) -> torch.Tensor:
    before, x, after = frames
    torch.manual_seed(7)  # the same quantization noise on every evaluation
    outs = [net.forward_keyframe(x), net.forward_b(x, before, after)]
    if isinstance(net, AIVCNet):
        outs.append(net.forward_p(x, before))
    return sum(rd_loss(x, x_hat, lk, lmbda)[0] for x_hat, lk in outs)


@pytest.mark.parametrize("which", ["aivc", "lhbdc"])
def test_gradient_steps_reduce_rd_loss(which):
    net = _nets()[0 if which == "aivc" else 1]
    frames = _clip()
    params = [p for n, p in net.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(params, lr=1e-3)
    start = _rd(net, frames).item()
    for _ in range(5):
        opt.zero_grad()
        _rd(net, frames).backward()
        opt.step()
    end = _rd(net, frames).item()
    assert end < 0.95 * start, (start, end)


def _coding_cases():
    aivc, lhbdc = _nets()
    return [(aivc_net, aivc, FrameType.I), (aivc_net, aivc, FrameType.P),
            (aivc_net, aivc, FrameType.B), (lhbdc_net, lhbdc, FrameType.I),
            (lhbdc_net, lhbdc, FrameType.B)]


def test_decoder_side_rebuilds_the_encoder_frame_from_symbols_only():
    before, x, after = _clip(n=1)
    refs_of = {FrameType.I: [], FrameType.P: [before], FrameType.B: [before, after]}
    for module, net, ftype in _coding_cases():
        net.update(force=True)
        net.eval()
        refs = refs_of[ftype]
        x_enc, symbols = module.code_frame(net, ftype, x, refs)
        expected = {"residual"} if ftype == FrameType.I else {"motion", "residual"}
        assert set(symbols) == expected
        for s in symbols.values():
            assert s.y.dtype == torch.int32 and s.indexes.shape == s.y.shape
            assert int(s.indexes.min()) >= 0
        frozen = {k: (s.z.clone(), s.y.clone()) for k, s in symbols.items()}
        x_dec = module.decode_frame(net, ftype, symbols, [r.clone() for r in refs])
        again = module.decode_frame(net, ftype, symbols, refs)
        assert torch.equal(x_dec, x_enc), (module.__name__, ftype)
        assert torch.equal(again, x_dec)
        assert all(torch.equal(frozen[k][1], s.y) for k, s in symbols.items())
        # the symbols matter: other main symbols give another frame
        symbols["residual"].y += 3
        assert not torch.equal(module.decode_frame(net, ftype, symbols, refs), x_dec)


def test_lhbdc_refuses_p_frames_and_missing_references():
    _, lhbdc = _nets()
    before, x, _ = _clip(n=1)
    with pytest.raises(ValueError, match="I and B"):
        lhbdc_net.code_frame(lhbdc, FrameType.P, x, [before])
    with pytest.raises(ValueError, match="two references"):
        lhbdc.motion_analysis(x, [before])


# ---- released-weights key maps ---------------------------------------------------------
def _balle_cdf(x: torch.Tensor, mats, biases, factors) -> torch.Tensor:
    """The published BallePdfEstim.cdf, written from its definition ([C, d_in, d_out])."""
    v = x  # [C, E, 1]
    for i, m in enumerate(mats):
        v = torch.einsum("ced,cdr->cer", v, F.softplus(m)) + biases[i].unsqueeze(1)
        if i < len(mats) - 1:
            v = v + torch.tanh(factors[i]).unsqueeze(1) * torch.tanh(v)
    return torch.sigmoid(v)


def _released_aivc(cfg: AIVCConfig) -> dict:
    """A synthetic state dict in the published FullNet layout (names per the AIVC source)."""
    g = torch.Generator().manual_seed(1)
    ref = AIVCNet(cfg)
    sd = {}
    for key, value in ref.state_dict().items():
        if "entropy_bottleneck" in key or "gaussian_conditional" in key or "_reparam" in key:
            continue
        sd[key] = torch.randn(value.shape, generator=g) * 0.05 + (1.0 if "gamma" in key
                                                                   or "beta" in key else 0.0)
    for net in ("mode_net.mode_net.", "codec_net.codec_net."):
        c = cfg.nb_ft_z
        shapes = [(c, 1, 3), (c, 3, 3), (c, 3, 3), (c, 3, 1)]
        for i, shp in enumerate(shapes):
            sd[f"{net}pdf_z.matrix_h.{i}"] = torch.randn(shp, generator=g)
            sd[f"{net}pdf_z.bias_b.{i}"] = torch.randn(shp[0], shp[2], generator=g)
            if i < 3:
                sd[f"{net}pdf_z.bias_a.{i}"] = torch.randn(shp[0], shp[2], generator=g)
        for rate in (0, 1):
            for side in ("enc", "dec"):
                sd[f"{net}gain_I.{side}_gain_list.{rate}"] = (
                    torch.rand(cfg.nb_ft_y, 1, 1, generator=g) + 0.5)
    return sd


def test_aivc_key_map_places_every_published_tensor():
    cfg = TINY_AIVC
    src = _released_aivc(cfg)
    assert "codec_net.codec_net.g_a.layers.0.layers.1.weight" in src  # published spelling
    assert "mode_net.mode_net.h_s.layers.2.layers.0.weight" in src
    net = AIVCNet(cfg)
    net.load_state_dict(aivc_net.aivc_key_map(src, net))
    cn, pre = net.cnet, "codec_net.codec_net."
    # factorized side model: same CDF as the published estimator on the same tensors
    x = torch.linspace(-6, 6, 25).view(1, 1, -1).expand(cfg.nb_ft_z, 1, -1).permute(0, 2, 1)
    mats = [src[f"{pre}pdf_z.matrix_h.{i}"] for i in range(4)]
    biases = [src[f"{pre}pdf_z.bias_b.{i}"] for i in range(4)]
    factors = [src[f"{pre}pdf_z.bias_a.{i}"] for i in range(3)]
    want = _balle_cdf(x.contiguous(), mats, biases, factors).squeeze(-1)
    got = torch.sigmoid(cn.entropy_bottleneck._logits_cumulative(
        x.squeeze(-1).unsqueeze(1), stop_gradient=True)).squeeze(1)
    assert torch.allclose(got, want, atol=1e-6)
    # rate-0 gains folded exactly: y = g_a(x) * |enc gain|
    inp = torch.rand(1, 6, 64, 64)
    plain = AIVCNet(cfg)
    plain_sd = {k: v for k, v in src.items() if k in plain.state_dict()}
    plain.load_state_dict(plain_sd, strict=False)
    gain = src[f"{pre}gain_I.enc_gain_list.0"].abs().view(1, -1, 1, 1)
    assert torch.allclose(cn.g_a(inp), plain.cnet.g_a(inp) * gain, atol=1e-5)


@pytest.mark.parametrize("extra, match", [
    ("codec_net.codec_net.g_a.layers.2.trunk.0.weight", "no amgap counterpart"),
    ("mode_net.mode_net.gain_P.enc_gain_list.0", "per-frame-type gains"),
])
def test_aivc_key_map_refuses_the_first_unknown_key(extra, match):
    src = _released_aivc(TINY_AIVC)
    src[extra] = torch.zeros(1)
    with pytest.raises(aivc_net.KeyMismatch, match=match) as err:
        aivc_net.aivc_key_map(src, AIVCNet(TINY_AIVC))
    assert extra in str(err.value)


def test_aivc_key_map_refuses_another_width_and_missing_keys():
    src = _released_aivc(TINY_AIVC)
    wider = AIVCConfig(nb_ft_conv=24, nb_ft_y=16, nb_ft_z=8, out_c_shortcut_y=8)
    with pytest.raises(aivc_net.KeyMismatch, match="shape"):
        aivc_net.aivc_key_map(src, AIVCNet(wider))
    del src["mode_net.mode_net.g_s.layers.3.layers.0.bias"]
    with pytest.raises(aivc_net.KeyMismatch, match="lack amgap key: mode_net.mode_net.g_s"):
        aivc_net.aivc_key_map(src, AIVCNet(TINY_AIVC))


def test_lhbdc_published_layout_and_key_map():
    # shapes the published source defines (model/layers.py, model/flow.py)
    spy = SpyNet(LHBDC_PUBLISHED).state_dict()
    assert spy["netBasic.5.netBasic.0.weight"].shape == (32, 8, 7, 7)
    assert spy["netBasic.5.netBasic.8.weight"].shape == (2, 16, 7, 7)
    mv = MeanScaleAE(128, 192, 4, 4).state_dict()
    assert mv["g_a.0.weight"].shape == (128, 4, 5, 5)
    assert mv["h_s.4.weight"].shape == (384, 288, 3, 3)
    assert lhbdc_net.Mask(32).state_dict()["deconv1.weight"].shape == (128, 256, 3, 3)
    # a released-style state dict: old CompressAI EB names, coder buffers, no intra part
    torch.manual_seed(5)
    released = LHBDCNet(TINY_LHBDC)
    src = {}
    for k, v in released.state_dict().items():
        if k.startswith("intra."):
            continue
        k = k.replace("entropy_bottleneck.matrices.", "entropy_bottleneck._matrix")
        src["module." + k.replace("entropy_bottleneck.biases.", "entropy_bottleneck._biases.")] = v
    target = LHBDCNet(TINY_LHBDC)
    target.load_state_dict(lhbdc_net.lhbdc_key_map(src, target))
    before, x, after = _clip(n=1)
    for net in (released, target):
        net.eval()
    assert torch.equal(released.forward_b(x, before, after)[0],
                       target.forward_b(x, before, after)[0])
    src["module.masknet.conv9.weight"] = torch.zeros(1)
    with pytest.raises(lhbdc_net.KeyMismatch, match="masknet.conv9"):
        lhbdc_net.lhbdc_key_map(src, target)
    del src["module.masknet.conv9.weight"]
    with pytest.raises(lhbdc_net.KeyMismatch, match="shape"):
        lhbdc_net.lhbdc_key_map(src, LHBDCNet(LHBDCConfig(N=16, M=16, mask_ch=8,
                                                          flow_widths=(8, 8), flow_levels=3)))


def test_published_presets_build():
    for net in (AIVCNet(AIVC_PUBLISHED), LHBDCNet(LHBDC_PUBLISHED)):
        assert net.config.pad_multiple == 64


def test_lhbdc_motion_warmup_term_trains_the_flow_network():
    """In training mode the clip forward returns the warm-up MSE (estimated flows' warps
    and the decoded prediction); its gradient reaches SpyNet and the motion decoder."""
    from amgap.train.loop import TrainConfig, warp_factor

    _, lhbdc = _nets()
    lhbdc.train()
    out = lhbdc(_clip())
    assert out["warp_mse"].ndim == 0 and out["warp_mse"] > 0
    out["warp_mse"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in lhbdc.FlowNet.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0  # the decoded prediction
               for p in lhbdc.mv_compressor.g_s.parameters())
    lhbdc.eval()
    with torch.no_grad():
        assert "warp_mse" not in lhbdc(_clip())
    cfg = TrainConfig(out="x", warp_weight=0.5, warp_steps=100)
    assert [warp_factor(cfg, s) for s in (0, 50, 100, 200)] == [0.5, 0.25, 0.0, 0.0]


def test_aivc_prediction_warmup_term_trains_the_motion_network():
    """AIVC's warm-up term is the MSE of the P/B frames' predictions from the decoded
    motion latent; its gradient reaches MNet's decoder (which outputs the flows) and
    leaves the frame codec's decoder alone."""
    aivc, _ = _nets()
    aivc.train()
    out = aivc(_clip())
    assert out["warp_mse"].ndim == 0 and out["warp_mse"] > 0
    out["warp_mse"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in aivc.mnet.g_s.parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in aivc.cnet.g_s.parameters())
    aivc.eval()
    with torch.no_grad():
        assert "warp_mse" not in aivc(_clip())


def test_aivc_zero_flows_predict_copies_of_the_references():
    """After ``zero_flow_outputs`` a P frame's prediction is its reference and a B frame's
    the ``beta``-weighted mix of both, whatever the motion latent; alpha and beta (the
    other output channels) are left as they were."""
    aivc, _ = _nets()
    aivc.eval()
    prev, x, nxt = _clip(1)
    with torch.no_grad():
        y = aivc.motion_analysis(FrameType.P, x, [prev])
        before = aivc.motion_synthesis(FrameType.B, y, [prev, nxt])
        aivc_net.zero_flow_outputs(aivc)
        p = aivc.motion_synthesis(FrameType.P, y, [prev])
        b = aivc.motion_synthesis(FrameType.B, y, [prev, nxt])
    assert torch.allclose(p.prediction, prev, atol=1e-5)
    assert torch.allclose(b.prediction, b.beta * prev + (1 - b.beta) * nxt, atol=1e-5)
    assert torch.equal(b.alpha, before.alpha) and torch.equal(b.beta, before.beta)
    assert not torch.allclose(before.prediction, b.prediction, atol=1e-3)


def test_lhbdc_attached_intra_model_moves_with_the_net():
    """The named I-frame model sits outside LHBDC's module tree (not trained, not saved)
    but must follow ``.to()`` (a GPU run crashed on it): here a dtype move stands in for
    the device move a CPU machine cannot make."""
    from dataclasses import replace

    from amgap.codecs.registry import get_codec

    net = LHBDCNet(replace(TINY_LHBDC, base="amgap-ssf"))
    intra = get_codec("ssf-slim").build({"mid": 16, "latent": 16, "hyper": 16,
                                         "hyper_depth": 2})
    net.attach_intra(intra)
    net.double()
    assert all(p.dtype == torch.float64 for p in net._intra_model().parameters())
    assert not any(p.requires_grad for p in net._intra_model().parameters())
    assert not any(k.startswith("intra") for k in net.state_dict())
