"""Loading models: registry lookups, configs read back from weights, one-line errors."""

from __future__ import annotations

import pytest
import torch

from amgap.errors import ModelError
from amgap.models import init_model, load_checkpoint, load_model, make_codec


def test_slim_widths_read_from_a_raw_state_dict(tmp_path):
    ref = init_model("ssf-slim", 5, {"mid": 16, "latent": 24, "hyper": 8, "hyper_depth": 3})
    torch.save(ref.model.state_dict(), tmp_path / "raw.pth")
    got = load_checkpoint(tmp_path / "raw.pth", arch="ssf-slim")
    assert got.config == {"mid": 16, "latent": 24, "hyper": 8, "hyper_depth": 3}
    assert got.weights_hash == ref.weights_hash
    assert make_codec(got).pad_multiple == 16 * 2 ** 3


def test_slim_with_a_wider_i_frame_codec_roundtrips(tmp_path):
    """img_mid/img_latent widen the I-frame codec alone; read back from the weights, and
    I and P frames still decode exactly."""
    from amgap.bitstream import parse
    from amgap.coding import decode_video, encode_video

    cfg = {"mid": 16, "latent": 16, "hyper": 8, "hyper_depth": 2, "img_mid": 24,
           "img_latent": 32}
    ref = init_model("ssf-slim", 2, cfg)
    assert ref.model.img_encoder[0].out_channels == 24
    assert ref.model.res_encoder[0].out_channels == 16
    torch.save(ref.model.state_dict(), tmp_path / "raw.pth")
    got = load_checkpoint(tmp_path / "raw.pth", arch="ssf-slim")
    assert got.config == cfg and got.weights_hash == ref.weights_hash
    frames = [torch.rand(3, 64, 64) for _ in range(3)]
    res = encode_video(frames, got, fps=25, num_frames=3)
    assert [s.ftype.name for s in res.stats] == ["I", "P", "P"]
    assert decode_video(*parse(res.to_bytes()), got).verified


def test_model_errors_are_one_line(tmp_path):
    torch.save({"state_dict": {"g_a.0.weight": torch.zeros(4, 3, 5, 5)}, "epoch": 1},
               tmp_path / "bad.pth")
    cases = [lambda: load_checkpoint(tmp_path / "bad.pth", arch="mbt2018-mean"),
             lambda: load_checkpoint(tmp_path / "bad.pth", arch="no-such-arch"),
             lambda: load_checkpoint(tmp_path / "missing.pth", arch="mbt2018-mean"),
             lambda: load_model(arch="mbt2018-mean"),
             lambda: load_model(name="init:cheng2020-attn")]
    for case in cases:
        with pytest.raises(ModelError) as err:
            case()
        assert "\n" not in str(err.value)
    with pytest.raises(ModelError, match="g_a.6.weight"):
        load_checkpoint(tmp_path / "bad.pth", arch="mbt2018-mean")


def test_amgap_checkpoint_refuses_another_arch(tmp_path):
    from amgap.models import save_checkpoint

    m = init_model("bmshj2018-hyperprior", 0, {"N": 16, "M": 24})
    save_checkpoint(tmp_path / "a.pth", m.model, m.arch, m.config)
    with pytest.raises(ModelError, match="holds architecture 'bmshj2018-hyperprior'"):
        load_checkpoint(tmp_path / "a.pth", arch="mbt2018-mean")
    assert load_checkpoint(tmp_path / "a.pth").weights_hash == m.weights_hash
