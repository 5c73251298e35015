"""AIVC and LHBDC as registered codecs (codecs/aivc.py, codecs/lhbdc.py): verified
round trips on every GOP they support, reparameterization never changes the frames,
checkpoints (amgap's and the authors' layouts), the CLI and a few training steps."""

import json
from fractions import Fraction

import pytest
import torch

from amgap.bitstream import parse
from amgap.codecs import FrameType, get_codec
from amgap.codecs.aivc_net import AIVCNet
from amgap.codecs.lhbdc_net import LHBDCNet
from amgap.coding import decode_video, encode_video
from amgap.errors import ModelError
from amgap.io import write_y4m
from amgap.models import init_model, load_checkpoint, save_checkpoint, weights_hash

GOPS = [("aivc", "aivc"), ("aivc", "ssf"), ("aivc", "intra"), ("lhbdc", "lhbdc"),
        ("lhbdc", "intra")]
STREAMS = {"I": 2, "P": 4, "B": 4}  # side + main per hyperprior latent


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clip():
    """Four 64x64 frames of a smooth texture moving down-right."""
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 80, 88, generator=g), 3, 1, 1)[0]
    return [torch.roll(base, (i, 2 * i), (1, 2))[:, :64, :64].contiguous() for i in range(4)]


def _excite(loaded):
    """A seeded init codes all-zero symbols (its latents are tiny); scale the last layer
    of every analysis and hyper-analysis transform so that every stream carries
    non-zero symbols and the round trips test something."""
    net = loaded.model
    if loaded.arch == "aivc":
        layers = [w for n in (net.mnet, net.cnet)
                  for w in (n.g_a.layers[3].layers[1], n.h_a.layers[2].layers[1])]
    else:
        nets = (net.mv_compressor, net.residual_compressor, net.intra)
        layers = [w for n in nets if n is not None for w in (n.g_a[6], n.h_a[4])]
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(30.0)
    loaded.weights_hash = weights_hash(net)
    return loaded


@pytest.fixture(scope="module")
def models():
    return {a: _excite(init_model(a, 1)) for a in ("aivc", "lhbdc")}


def _roundtrip(frames, loaded, gop, reparam="off"):
    res = encode_video(frames, loaded, fps=30, num_frames=len(frames), gop=gop,
                       keep_recon=True, reparam=reparam)
    data = res.to_bytes()
    dec = decode_video(*parse(data), loaded)
    return res, data, dec


@pytest.mark.parametrize(("arch", "gop"), GOPS)
def test_roundtrip_verified_every_gop_and_reparam(clip, models, arch, gop):
    frames = None
    for mode in ("off", "paper", "optimal", "thorough"):
        res, data, dec = _roundtrip(clip, models[arch], gop, mode)
        assert dec.verified and len(dec.frames) == len(clip)
        assert all(torch.equal(dec.frames[i], res.recon[i]) for i in range(len(clip)))
        for rec in res.records:
            assert len(rec.streams) == STREAMS[FrameType(rec.frame_type).name]
        nonzero = [bool((st.symbols != 0).any()) for fs in res.streams for st in fs]
        assert sum(nonzero) >= len(nonzero) - 1  # (a B frame's motion side may be all 0)
        if frames is None:
            frames, off_bytes = dec.frames, data
        else:  # tables change, symbols and frames do not
            assert all(torch.equal(a, b) for a, b in zip(frames, dec.frames, strict=True))
            assert data != off_bytes or mode == "off"
    types = {FrameType(r.frame_type).name for r in res.records}
    want = {"aivc": {"I", "P", "B"}, "ssf": {"I", "P"}, "intra": {"I"}, "lhbdc": {"I", "B"}}
    assert types == want[gop]


def test_deterministic_bytes_and_distinct_models(clip, models):
    a = _roundtrip(clip[:3], models["aivc"], "aivc")[1]
    assert a == _roundtrip(clip[:3], _excite(init_model("aivc", 1)), "aivc")[1]
    assert a != _roundtrip(clip[:3], _excite(init_model("aivc", 2)), "aivc")[1]


def test_unsupported_gops_refused_in_one_line(clip, models):
    with pytest.raises(ValueError, match="I and B frames, no P frames"):
        encode_video(clip[:3], models["lhbdc"], fps=30, num_frames=3, gop="ssf")
    with pytest.raises(ValueError, match="needs 2 reference"):
        from amgap.models import make_codec
        make_codec(models["aivc"]).encode_frame(FrameType.B, clip[0][None], [clip[1][None]])


def test_registry_entries_and_default_gop(models):
    from amgap.coding import default_gop
    from amgap.models import make_codec

    assert get_codec("aivc").frame_types == (FrameType.I, FrameType.P, FrameType.B)
    assert get_codec("lhbdc").frame_types == (FrameType.I, FrameType.B)
    assert default_gop(make_codec(models["lhbdc"])) == "lhbdc"
    assert default_gop(make_codec(models["aivc"])) == "ssf"


@pytest.mark.parametrize("arch", ["aivc", "lhbdc"])
def test_raw_state_dict_checkpoint_reads_config(tmp_path, clip, models, arch):
    """A raw state dict of a non-default width loads by --arch alone (config read back)."""
    cfg = {"aivc": {"nb_ft_conv": 16, "nb_ft_y": 24, "nb_ft_z": 8, "out_c_shortcut_y": 8},
           "lhbdc": {"N": 16, "M": 24, "intra_N": 16, "intra_M": 24, "mask_ch": 4,
                     "flow_widths": (8, 8), "flow_levels": 3}}[arch]
    torch.manual_seed(5)
    net = get_codec(arch).build(cfg)
    net.update(force=True)
    torch.save(net.state_dict(), tmp_path / "raw.pth")
    loaded = load_checkpoint(tmp_path / "raw.pth", arch=arch)
    for k, v in cfg.items():
        assert loaded.config[k] == v
    res, _, dec = _roundtrip(clip[:3], loaded, arch)
    assert dec.verified
    save_checkpoint(tmp_path / "a.pth", loaded.model, arch, loaded.model.config_dict())
    assert load_checkpoint(tmp_path / "a.pth").weights_hash == loaded.weights_hash


def _published_aivc(net: AIVCNet) -> dict:
    """The authors' FullNet layout of ``net``: BallePdfEstim names and shapes."""
    names = {"matrices": "matrix_h", "biases": "bias_b", "factors": "bias_a"}
    out = {}
    for k, v in net.state_dict().items():
        if ".entropy_bottleneck." not in k:
            if ".gaussian_conditional." not in k:
                out[k] = v
            continue
        head, _, tail = k.partition(".entropy_bottleneck.")
        kind, _, idx = tail.partition(".")
        if kind in names:
            t = v.transpose(1, 2) if kind == "matrices" else v.squeeze(-1)
            out[f"{head}.pdf_z.{names[kind]}.{idx}"] = t.contiguous()
    return out


def test_published_aivc_layout_loads_and_mismatch_is_named(tmp_path, clip, models):
    net = models["aivc"].model
    pub = _published_aivc(net)
    torch.save(pub, tmp_path / "aivc_pub.pth")
    loaded = load_checkpoint(tmp_path / "aivc_pub.pth", arch="aivc")
    sd = loaded.model.state_dict()
    for k, v in net.state_dict().items():
        if not k.endswith(("quantiles", "_quantized_cdf", "_offset", "_cdf_length")):
            assert torch.equal(sd[k], v), k
    assert _roundtrip(clip[:3], loaded, "aivc")[2].verified
    pub["mode_net.mode_net.attention.weight"] = torch.zeros(1)
    torch.save(pub, tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="mode_net.mode_net.attention.weight"):
        load_checkpoint(tmp_path / "bad.pth", arch="aivc")


def test_published_lhbdc_layout_loads_and_mismatch_is_named(tmp_path, models):
    net: LHBDCNet = models["lhbdc"].model
    pub = {k.replace("entropy_bottleneck.matrices.", "entropy_bottleneck._matrix"): v
           for k, v in net.state_dict().items() if not k.startswith("intra.")}
    torch.save({"state_dict": pub}, tmp_path / "compression_0.0483.pth")
    loaded = load_checkpoint(tmp_path / "compression_0.0483.pth", arch="lhbdc")
    sd = loaded.model.state_dict()
    assert torch.equal(sd["mv_compressor.entropy_bottleneck.matrices.0"],
                       net.state_dict()["mv_compressor.entropy_bottleneck.matrices.0"])
    pub["FlowNet.extra.weight"] = torch.zeros(1)
    torch.save({"state_dict": pub}, tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="FlowNet.extra.weight"):
        load_checkpoint(tmp_path / "bad.pth", arch="lhbdc")


def test_cli_archs_and_analyze_rows(tmp_path, clip, capsys):
    from amgap.cli import main

    assert main(["archs"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("aivc ") and "I/P/B" in line for line in out.splitlines())
    assert any(line.startswith("lhbdc ") and "I/B" in line for line in out.splitlines())
    video = tmp_path / "moving.y4m"
    write_y4m(video, clip, Fraction(25))
    for arch, want in (("aivc", {"I", "P", "B"}), ("lhbdc", {"I", "B"})):
        rc = main(["analyze", str(video), "--model", f"init:{arch}", "--gop", arch,
                   "--quality", "1", "--frames", "4", "--out", str(tmp_path / arch)])
        assert rc == 0
        report = json.loads((tmp_path / arch / "report.json").read_text())
        assert set(report["dataset"]["q1"]["frame_types"]) == want | {"Video"}


@pytest.mark.parametrize(("arch", "width"), [
    ("aivc", {"nb_ft_conv": 8, "nb_ft_y": 8, "nb_ft_z": 8, "out_c_shortcut_y": 8}),
    ("lhbdc", {"N": 8, "M": 8, "intra_N": 8, "intra_M": 8, "mask_ch": 2})])
def test_train_two_steps_and_code_the_result(tmp_path, clip, arch, width):
    """``amgap train --arch aivc|lhbdc``: clips coded as one GOP of the architecture's
    structure (net.forward -> net_blocks.gop_forward); the checkpoint codes verified."""
    from amgap.train import TrainConfig, train

    video = tmp_path / "moving.y4m"
    write_y4m(video, [torch.nn.functional.pad(f, (0, 32, 0, 32), mode="reflect")
                      for f in clip], Fraction(25))
    cfg = TrainConfig(out=str(tmp_path / "run"), arch=arch, config=width, steps=2, batch=1,
                      crop=64, frames=3, videos=[str(video)], log_every=1, threads=1)
    final = train(cfg, progress=False)
    log = [json.loads(line) for line in open(tmp_path / "run" / "log.jsonl")]
    assert [r["step"] for r in log] == [1, 2] and all(r["bpp"] > 0 for r in log)
    loaded = load_checkpoint(final)
    assert loaded.arch == arch and loaded.config["nb_ft_y" if arch == "aivc" else "M"] == 8
    assert _roundtrip(clip[:3], loaded, arch)[2].verified


def test_lhbdc_over_a_named_iframe_model(tmp_path, clip):
    """Config ``base``: the named model's own codec codes LHBDC's I frames (as the
    published test codes them with mbt2018-mean); its weights are neither LHBDC's nor in
    its checkpoint, but in its identity; every reparam mode decodes the same frames."""
    from amgap.models import load_base, make_codec

    loaded = _excite(init_model("lhbdc", 1, {"base": "init:ssf-slim"}))
    net: LHBDCNet = loaded.model
    assert net.intra is None and not any(k.startswith("intra.") for k in net.state_dict())
    assert make_codec(loaded).intra_codec is not None
    frames = None
    for mode in ("off", "paper", "optimal"):
        res, _, dec = _roundtrip(clip, loaded, "lhbdc", mode)
        assert dec.verified
        frames = frames or dec.frames
        assert all(torch.equal(a, b) for a, b in zip(frames, dec.frames, strict=True))
    # the I frame is exactly the base model's own I frame
    alone = encode_video(clip[:1], load_base("init:ssf-slim", 1), fps=30, num_frames=1,
                         gop="intra", keep_recon=True)
    assert torch.equal(alone.recon[0], res.recon[0])
    assert [s.symbols.tolist() for s in alone.streams[0]] == \
        [s.symbols.tolist() for s in res.streams[0]]
    # a checkpoint names its base; the identity covers the base's weights
    save_checkpoint(tmp_path / "l.pth", net, "lhbdc", net.config_dict())
    again = load_checkpoint(tmp_path / "l.pth", quality=1)
    assert again.config["base"] == "init:ssf-slim"
    assert again.weights_hash not in (weights_hash(net),
                                      load_checkpoint(tmp_path / "l.pth", quality=2).weights_hash)
    assert _roundtrip(clip[:3], again, "lhbdc")[2].verified
    with pytest.raises(ValueError, match="coded by 'init:ssf-slim'"):
        net.own_intra()
    # amgap's own file loads the tables it holds (not tables rebuilt by update(), which
    # follow the loading CPU's float rounding): weights moved after update() still load
    # with the saved tables
    with torch.no_grad():
        net.mv_compressor.entropy_bottleneck.quantiles.add_(0.37)
    save_checkpoint(tmp_path / "t.pth", net, "lhbdc", net.config_dict())
    stored = {k: v for k, v in net.state_dict().items() if k.endswith("_quantized_cdf")}
    got = load_checkpoint(tmp_path / "t.pth", quality=1).model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in stored.items())


def test_lhbdc_trains_on_from_its_own_intra_to_a_named_one(tmp_path, clip):
    """``--init`` an LHBDC with its own intra, config ``base`` set: training keeps every
    B-frame weight, drops ``intra``, and codes I frames with the frozen named model."""
    from amgap.train import TrainConfig, train

    width = {"N": 8, "M": 8, "intra_N": 8, "intra_M": 8, "mask_ch": 2}
    torch.manual_seed(3)
    own = get_codec("lhbdc").build(width)
    own.update(force=True)
    save_checkpoint(tmp_path / "own.pth", own, "lhbdc", own.config_dict())
    video = tmp_path / "moving.y4m"
    write_y4m(video, [torch.nn.functional.pad(f, (0, 32, 0, 32), mode="reflect")
                      for f in clip], Fraction(25))
    cfg = TrainConfig(out=str(tmp_path / "run"), arch="lhbdc",
                      config={**width, "base": "init:ssf-slim"}, steps=1, batch=1, crop=64,
                      frames=3, videos=[str(video)], log_every=1, threads=1,
                      init=str(tmp_path / "own.pth"), quality=1)
    loaded = load_checkpoint(train(cfg, progress=False), quality=1)
    assert loaded.config["base"] == "init:ssf-slim" and loaded.model.intra is None
    want = {k for k in own.state_dict() if not k.startswith("intra.")}
    assert set(loaded.model.state_dict()) == want
    assert _roundtrip(clip[:3], loaded, "lhbdc")[2].verified
