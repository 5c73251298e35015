"""Issue 15 at the command line: outputs as asked, metrics in --json, per-frame bytes,
--start on decode, --fps checks, list arguments, and no traceback on a closed pipe."""

import contextlib
import io
import json
import os
import subprocess
import sys

import pytest

from amgap.cli import main
from amgap.cli_parser import build_parser
from amgap.errors import UsageError

MODEL = ["--model", "init:ssf-slim", "--quality", "2"]


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    """carphone frames 10..12 encoded, and the encoder's JSON report."""
    amg = tmp_path_factory.mktemp("enc15") / "c.amg"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["encode", "carphone", "--start", "10", "-n", "3", "-o", str(amg), "--json",
                   "--quiet", *MODEL])
    assert rc == 0
    return amg, json.loads(buf.getvalue())


def test_encode_json_has_every_metric(encoded):
    _, rep = encoded
    assert rep["ms_ssim_scales"] == 4  # 176x144: the 5th scale needs > 160 px a side
    assert 0 < rep["ms_ssim"] <= 1 and rep["psnr_yuv"] > 0
    f = rep["per_frame"][0]
    assert {"psnr_yuv", "ms_ssim"} <= set(f) and 0 < f["ms_ssim"] <= 1


def test_decode_json_bytes_start_and_metrics(encoded, tmp_path, capsys):
    amg, enc = encoded
    rc, out, err = run(capsys, "decode", str(amg), "-o", str(tmp_path / "d.y4m"), "--json",
                       "--quiet", "--reference", "carphone", "--start", "10")
    assert rc == 0, err
    dec = json.loads(out)
    assert [f["bytes"] for f in dec["per_frame"]] == [f["bytes"] for f in enc["per_frame"]]
    assert all(f["bytes"] > 0 for f in dec["per_frame"])
    for key in ("psnr_rgb", "psnr_y", "psnr_yuv", "ms_ssim"):
        assert dec[key] == pytest.approx(enc[key], abs=1e-6), key
    assert dec["ms_ssim_scales"] == 4
    # without --start the reference frames 0..2 are compared: a different (wrong) figure
    rc, out, _ = run(capsys, "decode", str(amg), "-o", str(tmp_path / "e.y4m"), "--json",
                     "--quiet", "--reference", "carphone")
    assert rc == 0 and abs(json.loads(out)["psnr_rgb"] - enc["psnr_rgb"]) > 0.01


def test_decode_reference_too_short_is_refused_first(encoded, tmp_path, capsys):
    amg, _ = encoded
    rc, out, err = run(capsys, "decode", str(amg), "-o", str(tmp_path / "d.y4m"), "--quiet",
                       "--reference", "carphone", "--start", "118")
    assert rc == 2 and "frames" in err and err.count("\n") == 1
    assert not (tmp_path / "d.y4m").exists()


def test_decode_to_stdout(encoded, capsysbinary):
    amg, _ = encoded
    rc = main(["decode", str(amg), "-o", "-", "--quiet"])
    data = capsysbinary.readouterr().out
    assert rc == 0 and data.startswith(b"YUV4MPEG2 W176 H144") and data.count(b"FRAME\n") == 3


def test_decode_writes_what_was_asked(encoded, tmp_path, capsys):
    amg, _ = encoded
    rc, _, err = run(capsys, "decode", str(amg), "-o", str(tmp_path / "d.mp4"), "--quiet")
    assert rc == 2 and "supported outputs" in err and ".y4m" in err
    assert os.listdir(tmp_path) == []
    rc, _, err = run(capsys, "decode", str(amg), "-o", str(tmp_path / "d.yuv"), "--quiet")
    assert rc == 0 and (tmp_path / "d.yuv").stat().st_size == 3 * 176 * 144 * 3 // 2
    rc, out, err = run(capsys, "decode", str(amg), "-o", "-", "--json", "--quiet")
    assert rc == 2 and out == "" and "--json" in err
    rc, _, err = run(capsys, "decode", str(amg), "-o", str(tmp_path / "no" / "d.y4m"))
    assert rc == 2 and "no such folder" in err


@pytest.mark.parametrize("fps", ["0", "-5", "0/1"])
def test_fps_must_be_positive(fps, tmp_path, capsys):
    rc, out, err = run(capsys, "encode", "carphone", "-n", "1", "--fps", fps, "-o",
                       str(tmp_path / "a.amg"), *MODEL)
    assert rc == 2 and "frame rate must be positive" in err and err.count("\n") == 1
    assert not (tmp_path / "a.amg").exists()


def test_list_arguments_take_both_forms():
    p = build_parser()
    for form in (["1,2"], ["1", "2"], ["1,", "2"]):
        a = p.parse_args(["analyze", "carphone", "--out", "x", "--quality", *form])
        assert a.quality == [1, 2]
    a = p.parse_args(["evaluate", "carphone", "--out", "x", "--quality", "1,2", "3",
                      "--gop", "ssf", "aivc", "--reparam", "off,optimal"])
    assert (a.quality, a.gop, a.reparam) == ([1, 2, 3], ["ssf", "aivc"], ["off", "optimal"])
    a = p.parse_args(["evaluate", "carphone", "--out", "x", "--gop", "ssf,aivc"])
    assert a.gop == ["ssf", "aivc"] and a.reparam == ["off", "paper", "optimal"]
    with pytest.raises(UsageError, match="invalid choice: 'nope'"):
        p.parse_args(["evaluate", "carphone", "--out", "x", "--gop", "ssf,nope"])
    with pytest.raises(UsageError, match="invalid int value: 'x'"):
        p.parse_args(["analyze", "carphone", "--out", "x", "--quality", "1,x"])


def test_closed_pipe_is_quiet():
    """``amgap zoo | head -0``: stdout closed before amgap writes (exit 141, no traceback)."""
    p = subprocess.Popen([sys.executable, "-m", "amgap", "zoo", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141
    assert err == "", err


def test_encode_checks_output_folder_first(tmp_path, capsys):
    rc, out, err = run(capsys, "encode", "carphone", "-n", "1", "-o",
                       str(tmp_path / "missing" / "a.amg"), "--quiet", *MODEL)
    assert rc == 2 and "no such folder" in err and "internal" not in err and out == ""
