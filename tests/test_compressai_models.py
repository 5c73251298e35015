"""CompressAI's models through amgap, from checkpoints made here the way users have them.

Each model is built from CompressAI's own class (seeded, small N/M), trained a few
steps on 64x64 crops and saved in CompressAI ``examples/train.py``'s layout; amgap loads
it with ``--checkpoint --arch``, encodes, decodes verified, analyzes, and checks that
``--reparam optimal`` decodes to the same frames as ``off``.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from compressai.models.google import (
    FactorizedPrior,
    FactorizedPriorReLU,
    MeanScaleHyperprior,
    ScaleHyperprior,
)
from compressai.models.video.google import ScaleSpaceFlow

from amgap.cli import main
from amgap.io import open_video, write_png_folder

IMAGE_MODELS = {"bmshj2018-factorized": FactorizedPrior,
                "bmshj2018-hyperprior": ScaleHyperprior,
                "mbt2018-mean": MeanScaleHyperprior}
EXTRA = {"bmshj2018-factorized-relu": FactorizedPriorReLU}  # round trip only (same coder)


@pytest.fixture(scope="module")
def crops(carphone_frames):
    """Three 64x64 frames (a PNG folder) and the training crops."""
    return [f[:, 40:104, 56:120].contiguous() for f in carphone_frames[:3]]


@pytest.fixture(scope="module")
def clip_dir(crops, tmp_path_factory):
    d = tmp_path_factory.mktemp("clip") / "frames"
    write_png_folder(d, crops)
    return d


def _train_steps(net, batches, steps: int) -> None:
    """A few rate-distortion steps as CompressAI's examples/train.py takes them."""
    main_p = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux_p = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt, aux_opt = torch.optim.Adam(main_p, 1e-3), torch.optim.Adam(aux_p, 1e-2)
    net.train()
    for i in range(steps):
        x = batches[i % len(batches)]
        out = net(x)
        lk = out["likelihoods"]
        parts = lk.values() if isinstance(x, torch.Tensor) else \
            [v for d in lk for p in d.values() for v in p.values()]
        n_pix = (x.numel() if isinstance(x, torch.Tensor) else sum(f.numel() for f in x)) / 3
        bpp = sum(torch.log(v).sum() for v in parts) / (-math.log(2) * n_pix)
        x_hat = out["x_hat"]
        mse = torch.mean((x_hat - x) ** 2) if isinstance(x, torch.Tensor) else \
            sum(torch.mean((a - b) ** 2) for a, b in zip(x_hat, x, strict=True))
        opt.zero_grad()
        aux_opt.zero_grad()
        (0.01 * 255 ** 2 * mse + bpp).backward()
        aux = net.aux_loss()
        (sum(aux) if isinstance(aux, list) else aux).backward()
        opt.step()
        aux_opt.step()
    net.eval()


def _train_py_checkpoint(path, net) -> None:
    torch.save({"epoch": 3, "state_dict": net.state_dict(), "loss": 1.0,
                "optimizer": {}, "aux_optimizer": {}, "lr_scheduler": {}}, path)


@pytest.fixture(scope="module")
def checkpoints(crops, tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    batch = torch.stack(crops)
    out = {}
    for arch, cls in {**IMAGE_MODELS, **EXTRA}.items():
        torch.manual_seed(0)
        net = cls(N=32, M=48)
        _train_steps(net, [batch], 4)
        net.update(force=True)
        out[arch] = d / f"{arch}.pth.tar"
        _train_py_checkpoint(out[arch], net)
    torch.manual_seed(0)
    ssf = ScaleSpaceFlow()
    padded = [torch.nn.functional.pad(c[None], (0, 64, 0, 64), mode="replicate")
              for c in crops[:2]]  # ScaleSpaceFlow's forward needs multiples of 128
    _train_steps(ssf, [padded], 1)
    ssf.update(force=True)
    out["ssf2020"] = d / "ssf2020.pth.tar"
    _train_py_checkpoint(out["ssf2020"], ssf)
    return out


def _run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([*argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("arch", [*IMAGE_MODELS, *EXTRA, "ssf2020"])
def test_roundtrip_and_reparam(arch, checkpoints, clip_dir, tmp_path, capsys):
    ck = str(checkpoints[arch])
    frames = {}
    for mode in ("off", "optimal"):
        amg = str(tmp_path / f"{mode}.amg")
        rc, out, err = _run(capsys, "encode", str(clip_dir), "--checkpoint", ck, "--arch", arch,
                            "-o", amg, "--reparam", mode, "--json", "--quiet")
        assert rc == 0, err
        enc = json.loads(out)
        assert enc["arch"] == arch
        assert enc["gop"] == ("ssf" if arch == "ssf2020" else "intra")
        dec_dir = tmp_path / f"dec_{mode}"
        # no --arch at decode: the header records it
        rc, out, err = _run(capsys, "decode", amg, "--checkpoint", ck, "-o", str(dec_dir),
                            "--json", "--quiet")
        assert rc == 0, err
        assert json.loads(out)["verified"] is True
        frames[mode] = list(open_video(dec_dir).frames())
    assert len(frames["off"]) == 3
    assert all(torch.equal(a, b) for a, b in zip(frames["off"], frames["optimal"], strict=True))


@pytest.mark.parametrize("arch", [*IMAGE_MODELS, "ssf2020"])
def test_analyze_writes_table1(arch, checkpoints, clip_dir, tmp_path, capsys):
    out_dir = tmp_path / "an"
    rc, out, err = _run(capsys, "analyze", str(clip_dir), "--checkpoint",
                        str(checkpoints[arch]), "--arch", arch, "--frames", "3", "-q", "1",
                        "--out", str(out_dir), "--quiet", "--json")
    assert rc == 0, err
    report = json.loads(out)
    video = report["dataset"]["q1"]["frame_types"]["Video"]
    assert video["info"]["residual-main"]["bits"] > 0
    if arch == "bmshj2018-factorized":  # one stream: the whole image is residual-main
        assert video["info"]["residual-side"]["bits"] == 0
        assert video["info"]["residual-main"]["ratio"] == pytest.approx(100.0)
    else:
        assert video["info"]["residual-side"]["bits"] > 0
    table = (out_dir / "table1.md").read_text()
    assert "| " + f"{arch}.pth.tar q1 | I |" in table


def test_checkpoint_layouts_load_the_same_weights(checkpoints, tmp_path):
    from amgap.models import load_checkpoint, save_checkpoint

    ck = checkpoints["mbt2018-mean"]
    ref = load_checkpoint(ck, arch="mbt2018-mean")
    assert ref.config == {"N": 32, "M": 48}
    sd = torch.load(ck, weights_only=False)["state_dict"]
    torch.save(sd, tmp_path / "raw.pth")
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "ddp.pth")
    torch.save({k: v for k, v in sd.items() if not k.split(".")[-1].startswith(
        ("_quantized_cdf", "_offset", "_cdf_length"))}, tmp_path / "nocdf.pth")
    save_checkpoint(tmp_path / "amgap.pth", ref.model, "mbt2018-mean", ref.config)
    for name in ("raw.pth", "ddp.pth", "nocdf.pth"):
        assert load_checkpoint(tmp_path / name, arch="mbt2018-mean").weights_hash == \
            ref.weights_hash, name
    mine = load_checkpoint(tmp_path / "amgap.pth")  # arch inside: none needed
    assert (mine.arch, mine.weights_hash) == ("mbt2018-mean", ref.weights_hash)


def test_bad_arch_and_mismatch_are_one_line(checkpoints, clip_dir, tmp_path, capsys):
    ck = str(checkpoints["bmshj2018-hyperprior"])
    rc, _, err = _run(capsys, "encode", str(clip_dir), "--checkpoint", ck, "--arch",
                      "mbt2018-mean", "-o", str(tmp_path / "x.amg"), "--quiet")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "h_s." in err and "shape" in err and "mbt2018-mean" in err
    for arch in ("mbt2018", "cheng2020-anchor", "cheng2020-attn"):
        rc, _, err = _run(capsys, "encode", str(clip_dir), "--checkpoint", ck, "--arch", arch,
                          "-o", str(tmp_path / "x.amg"), "--quiet")
        assert rc == 1 and len(err.strip().splitlines()) == 1
        assert "one at a time" in err
    rc, _, err = _run(capsys, "train", "--out", str(tmp_path / "t"), "--arch", "mbt2018-mean")
    assert rc == 2 and "examples/train.py" in err
    rc, _, err = _run(capsys, "encode", str(clip_dir), "--checkpoint", ck, "--arch",
                      "bmshj2018-hyperprior", "--gop", "ssf", "-o", str(tmp_path / "x.amg"),
                      "--quiet")
    assert rc == 2 and "--gop intra" in err


def test_decode_refuses_other_architecture(checkpoints, clip_dir, tmp_path, capsys):
    amg = str(tmp_path / "x.amg")
    assert _run(capsys, "encode", str(clip_dir), "--checkpoint",
                str(checkpoints["bmshj2018-factorized"]), "--arch", "bmshj2018-factorized",
                "-o", amg, "--quiet", "--frames", "1")[0] == 0
    rc, _, err = _run(capsys, "decode", amg, "--checkpoint",
                      str(checkpoints["bmshj2018-hyperprior"]), "-o", str(tmp_path / "d"),
                      "--quiet")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "bmshj2018-factorized" in err


def test_image_folder_of_mixed_sizes(checkpoints, crops, tmp_path, capsys):
    """Every image one I frame; differing sizes: one 1-frame video per image."""
    from PIL import Image

    folder = tmp_path / "kodak"
    folder.mkdir()
    for name, img in (("a", crops[0]), ("b", torch.cat([crops[1], crops[2]], dim=1))):
        arr = (img.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
        Image.fromarray(arr).save(folder / f"{name}.png")
    rc, out, err = _run(capsys, "analyze", str(folder), "--checkpoint",
                        str(checkpoints["bmshj2018-hyperprior"]), "--arch",
                        "bmshj2018-hyperprior", "-q", "1", "--out", str(tmp_path / "an"),
                        "--quiet", "--json")
    assert rc == 0, err
    videos = json.loads(out)["videos"]
    assert sorted(videos) == ["a", "b"]
    assert (videos["b"]["q1"]["width"], videos["b"]["q1"]["height"]) == (64, 128)
    assert videos["a"]["q1"]["frames"] == 1


def test_evaluate_takes_checkpoint_and_arch(checkpoints, clip_dir, tmp_path, capsys):
    rc, out, err = _run(capsys, "evaluate", str(clip_dir), "--checkpoint",
                        str(checkpoints["mbt2018-mean"]), "--arch", "mbt2018-mean", "-q", "1",
                        "--reparam", "off,optimal", "--frames", "2", "--engine", "serial",
                        "--out", str(tmp_path / "ev"), "--quiet", "--json")
    assert rc == 0, err
    assert json.loads(out)["jobs"] == 2
    assert (tmp_path / "ev" / "results" / "intra-off.json").is_file()
