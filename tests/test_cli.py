"""The command line: JSON reports, and one-line errors (never a traceback) on bad input."""

import json
import os
import subprocess
import sys

import pytest

from amgap.cli import main

MODEL = ["--model", "init:ssf-slim", "--quality", "2"]


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    d = tmp_path_factory.mktemp("enc")
    amg = d / "c.amg"
    rc = main(["encode", "carphone", "-n", "3", "-o", str(amg), "--quiet", *MODEL])
    assert rc == 0
    return amg


def test_encode_json(tmp_path, capsys):
    rc, out, err = run(capsys, "encode", "carphone", "--start", "10", "-n", "2", "-o",
                       str(tmp_path / "a.amg"), "--json", "--quiet", *MODEL)
    assert rc == 0
    rep = json.loads(out)
    for key in ("frames", "width", "height", "bytes", "bpp", "psnr_rgb", "psnr_y", "per_frame"):
        assert key in rep
    assert rep["frames"] == 2 and rep["bytes"] == os.path.getsize(tmp_path / "a.amg")
    assert [f["type"] for f in rep["per_frame"]] == ["I", "P"]
    assert set(rep["per_frame"][0]) >= {"index", "type", "bytes", "psnr_rgb"}


def test_decode_y4m_and_png(encoded, tmp_path, capsys):
    rc, out, _ = run(capsys, "decode", str(encoded), "-o", str(tmp_path / "d.y4m"), "--json",
                     "--quiet", "--reference", "carphone")
    assert rc == 0
    rep = json.loads(out)
    assert rep["verified"] is True and rep["frames"] == 3 and rep["psnr_rgb"] > 0
    assert (tmp_path / "d.y4m").read_bytes().startswith(b"YUV4MPEG2 W176 H144")
    rc, out, _ = run(capsys, "decode", str(encoded), "-o", str(tmp_path / "pngs"), "--quiet")
    assert rc == 0 and sorted(os.listdir(tmp_path / "pngs")) == [f"{i:05d}.png" for i in range(3)]


def test_info(encoded, capsys):
    rc, out, _ = run(capsys, "info", str(encoded), "--json")
    info = json.loads(out)
    assert rc == 0 and info["frames"] == 3 and info["per_frame"][1]["type"] == "P"


def _expect_error(capsys, code, pattern, *argv):
    rc, out, err = run(capsys, *argv)
    assert rc == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amgap: error:") and pattern in lines[0], err
    assert "Traceback" not in err and out == ""


def test_bad_inputs(tmp_path, encoded, capsys):
    out = str(tmp_path / "o.amg")
    _expect_error(capsys, 1, "no such file", "encode", str(tmp_path / "nope.mp4"), "-o", out)
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    _expect_error(capsys, 1, "junk.mp4", "encode", str(junk), "-o", out, *MODEL)
    _expect_error(capsys, 1, "checkpoint file not found", "encode", "carphone", "-o", out,
                  "--checkpoint", str(tmp_path / "missing.pth"))
    raw = tmp_path / "clip_32x24_25.yuv"
    raw.write_bytes(bytes(32 * 24 * 3 // 2 * 2 + 5))
    _expect_error(capsys, 1, "not a multiple", "encode", str(raw), "-o", out, *MODEL)
    _expect_error(capsys, 2, "directory", "encode", "carphone", "-o", str(tmp_path), *MODEL)
    _expect_error(capsys, 2, "invalid choice", "bogus")
    assert not os.path.exists(out)
    data = encoded.read_bytes()
    dec = str(tmp_path / "d.y4m")
    cases = {
        "magic": b"XXXXXXXX" + data[8:],
        "CRC": data[:-10] + bytes([data[-10] ^ 1]) + data[-9:],
        "truncated": data[: len(data) - 7],
    }
    for pattern, blob in cases.items():
        p = tmp_path / f"{pattern}.amg"
        p.write_bytes(blob)
        _expect_error(capsys, 1, pattern, "decode", str(p), "-o", dec, "--quiet")
    assert not os.path.exists(dec)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".amgap-")]


def test_model_mismatch_is_named(encoded, tmp_path, capsys):
    from amgap.bitstream import parse, read_file
    from amgap.bitstream.container import pack

    h, recs = read_file(encoded)
    h.quality = 3  # decoder will build another seed: different weights
    p = tmp_path / "other.amg"
    p.write_bytes(pack(h, recs))
    _expect_error(capsys, 1, "model mismatch", "decode", str(p), "-o", str(tmp_path / "x.y4m"))
    rc, out, err = run(capsys, "decode", str(p), "-o", str(tmp_path / "x.y4m"), "--force",
                       "--json", "--quiet")
    rep = json.loads(out)
    assert rc == 1 and rep["verified"] is False and rep["first_mismatch"] == 0
    assert parse(p.read_bytes())[0].quality == 3


def test_console_script_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "amgap", "decode", str(tmp_path / "x.amg"),
                        "-o", str(tmp_path / "y.y4m")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("amgap: error:")
