"""Issue 15 (second half): silent wrong results and late failures a new user hits."""

import json
from fractions import Fraction

import pytest

from amgap.cli import main
from amgap.io import write_y4m


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, carphone_frames):
    """Two 64x64 clips with the same file name in different folders, and one more."""
    d = tmp_path_factory.mktemp("tiny")
    for sub, (y, x) in {"A": (0, 0), "B": (64, 96)}.items():
        (d / sub).mkdir()
        write_y4m(d / sub / "clip.y4m", [f[:, y:y + 64, x:x + 64] for f in carphone_frames[:3]],
                  Fraction(25))
    return d


def _analyze(inputs, out, *extra):
    return main(["analyze", *map(str, inputs), "--model", "init:ssf-slim", "-q", "1",
                 "--frames", "2", "--reparam", "off", "--out", str(out), "--quiet", *extra])


# 1. analyze never merges inputs that share a name
def test_analyze_same_name_inputs_are_two_rows(tiny, tmp_path, capsys):
    from amgap.analysis.run import video_labels

    assert video_labels(["x/A/frames", "y/B/frames", "carphone"]) == \
        ["A/frames", "B/frames", "carphone"]
    assert video_labels(["a/clip.y4m", "a/clip.y4m"]) == ["clip", "clip#2"]
    out = tmp_path / "an"
    assert _analyze([tiny / "A" / "clip.y4m", tiny / "B" / "clip.y4m"], out, "--json") == 0
    rep = json.loads(capsys.readouterr().out)
    assert sorted(rep["videos"]) == ["A/clip", "B/clip"]
    a, b = (rep["videos"][k]["q1"] for k in ("A/clip", "B/clip"))
    assert a["frames"] == b["frames"] == 2 and a["psnr_rgb"] != b["psnr_rgb"]
    assert (out / "fig2_A_clip.png").exists() and (out / "fig2_B_clip.png").exists()


# 2. analyze --out: fresh folder moved into place; a user's files are never touched
def test_analyze_out_replaces_own_outputs_and_refuses_foreign(tiny, tmp_path, capsys):
    out = tmp_path / "an"
    assert _analyze([tiny / "A" / "clip.y4m", tiny / "B" / "clip.y4m"], out) == 0
    assert (out / "fig1_B_clip_q1.png").exists()
    assert _analyze([tiny / "A" / "clip.y4m"], out) == 0  # rerun: stale B outputs go
    assert not (out / "fig1_B_clip_q1.png").exists() and (out / "fig1_clip_q1.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".amgap-")]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert _analyze([tiny / "A" / "clip.y4m"], mine) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and len(err.strip().splitlines()) == 1
    assert (mine / "notes.txt").read_text() == "keep me" and len(list(mine.iterdir())) == 1


# 3. a B-frame GOP with a model without B frames: picked or refused before any job
def test_b_gop_picks_or_refuses_before_work(tiny, tmp_path, capsys):
    from amgap.api import model_for_gops
    from amgap.errors import UsageError

    assert model_for_gops(None, ["ssf", "aivc"]) == "amgap-bflow"
    assert model_for_gops(None, ["ssf"]) is None
    with pytest.raises(UsageError, match="--model amgap-bflow"):
        model_for_gops("amgap-ssf", ["ssf", "aivc"])
    clip = str(tiny / "A" / "clip.y4m")
    out = tmp_path / "ev"
    rc = main(["evaluate", clip, "--model", "amgap-ssf", "--gop", "ssf,aivc", "-q", "1",
               "--reparam", "off", "--frames", "3", "--out", str(out), "--quiet",
               "--engine", "serial"])
    assert rc == 2 and not out.exists()
    assert "--model amgap-bflow" in capsys.readouterr().err
    assert _analyze([clip], tmp_path / "an", "--gop", "lhbdc") == 2
    assert not (tmp_path / "an").exists()
    rc = main(["encode", clip, "-o", str(tmp_path / "x.amg"), "--gop", "aivc", "--frames", "3",
               "--reparam", "off", "-q", "1", "--json", "--quiet"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["model"] == "amgap-bflow" and "B" in {f["type"] for f in rep["per_frame"]}


# 4. train validates everything before any work
@pytest.mark.parametrize("argv, words", [
    (["--arch", "nope"], "unknown architecture 'nope'"),
    (["--arch", "ssf2020", "--width-config", "mid=8"], "ssf2020"),
    (["--arch", "bflow-slim", "--clip-frames", "2"], "--clip-frames 3"),
    (["--steps", "0"], "--steps"),
])
def test_train_refuses_before_work(tmp_path, capsys, argv, words):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Error:" not in err
    assert not run.exists()


def test_train_config_defaults_fit_the_arch():
    from amgap.train import TrainConfig
    from amgap.train.loop import check_config

    cfg = check_config(TrainConfig(out="x", arch="bflow-slim", frames=None))
    assert cfg.frames == 3
    assert check_config(TrainConfig(out="x", arch="ssf2020", config=None)).config == {}
    assert check_config(TrainConfig(out="x", frames=None)).frames == 2


def test_train_names_opencv_doc_when_a_default_source_is_missing(tmp_path, monkeypatch,
                                                                 capsys):
    import amgap.io.samples as samples

    monkeypatch.setattr(samples, "_OPENCV_DIR", tmp_path / "nothing")
    assert main(["train", "--out", str(tmp_path / "run"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "opencv-doc" in err and "--videos" in err and len(err.strip().splitlines()) == 1


def test_fps_negative_is_usage(tmp_path, capsys):
    assert main(["encode", "carphone", "-o", str(tmp_path / "x.amg"), "--fps", "-5"]) == 2
    assert "--fps" in capsys.readouterr().err


# 6. every metric in analyze and evaluate; --metric picks the RD axis and BD-rate
def test_analyze_reports_every_metric(tiny, tmp_path, capsys):
    assert _analyze([tiny / "A" / "clip.y4m"], tmp_path / "an", "--json") == 0
    rep = json.loads(capsys.readouterr().out)
    q1 = rep["videos"]["clip"]["q1"]
    for k in ("psnr_rgb", "psnr_y", "psnr_yuv", "ms_ssim"):
        assert isinstance(q1[k], float) and isinstance(rep["dataset"]["q1"][k], float)
        assert all(isinstance(f[k], float) for f in q1["per_frame"])
    assert q1["ms_ssim_scales"] >= 1 and 0 < q1["ms_ssim"] <= 1


def test_evaluate_metric_and_result_files(tiny, tmp_path, capsys):
    from amgap.evaluation.report import quality_axis

    out = tmp_path / "ev"
    argv = ["evaluate", str(tiny / "A" / "clip.y4m"), "--model", "init:ssf-slim", "-q", "1,2",
            "--reparam", "off,paper", "--frames", "2", "--out", str(out), "--quiet",
            "--engine", "serial", "--json"]
    assert main([*argv, "--metric", "ms-ssim"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["metric"] == "ms-ssim"
    res = json.loads((out / "results" / "ssf-paper.json").read_text())["results"]
    for k in ("psnr-rgb", "psnr-y", "psnr-yuv", "ms-ssim-rgb"):
        assert len(res[k]) == 2
    assert quality_axis("ms-ssim", {"ms_ssim_rgb": 0.99}) == pytest.approx(20.0)
    # 7. per-sequence and per-frame results, bitrate at the clip's fps (25)
    seqs = json.loads((out / "per_sequence.json").read_text())
    assert len(seqs) == 4 and {s["reparam"] for s in seqs} == {"off", "paper"}
    s = seqs[0]
    assert s["kbps"] == pytest.approx(s["bytes"] * 8 * 25 / s["frames"] / 1000)
    assert s["fps"] == 25 and s["video"].endswith("clip.y4m")
    frames = json.loads((out / "per_frame.json").read_text())
    assert len(frames) == 8
    f = frames[0]
    for k in ("index", "type", "bytes", "bpp", "kbps", "psnr_rgb", "psnr_y", "psnr_yuv",
              "ms_ssim"):
        assert f[k] is not None
    assert f["kbps"] == pytest.approx(f["bytes"] * 8 * 25 / 1000)
    assert (out / "per_frame.csv").read_text().startswith("video,")
    assert main([*argv[:-1], "--metric", "nope"]) == 2
