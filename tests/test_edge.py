"""Edge inputs and determinism (one test per case of the hardening issue)."""

import hashlib
import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
import torch

from amgap.cli import main
from amgap.io import write_y4m
from helpers import raw_y4m

MODEL = ["--model", "init:ssf-slim", "--quality", "1"]


def _enc_dec(tmp_path, capsys, src, *extra, model=MODEL):
    amg = tmp_path / "x.amg"
    rc = main(["encode", str(src), "-o", str(amg), "--json", "--quiet", *model, *extra])
    out, err = capsys.readouterr()
    assert rc == 0, err
    enc = json.loads(out)
    rc = main(["decode", str(amg), "-o", str(tmp_path / "y.y4m"), "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    dec = json.loads(out)
    assert dec["verified"] is True
    return enc, dec


def test_one_frame_video(tmp_path, capsys):
    enc, dec = _enc_dec(tmp_path, capsys, "carphone", "-n", "1")
    assert enc["frames"] == dec["frames"] == 1 and enc["per_frame"][0]["type"] == "I"


@pytest.mark.parametrize("gop", ["ssf", "lhbdc", "aivc"])
def test_frame_count_not_multiple_of_gop(tmp_path, capsys, gop):
    enc, dec = _enc_dec(tmp_path, capsys, "carphone", "-n", "7", "--gop", gop, "--gop-size",
                        "4", model=["--model", "init:bflow-slim", "--quality", "1"])
    assert dec["frames"] == 7
    assert sorted(f["index"] for f in enc["per_frame"]) == list(range(7))


@pytest.mark.parametrize("size", [(16, 16), (33, 17), (64, 48)])
def test_tiny_and_odd_sizes(tmp_path, capsys, size, carphone_frames):
    w, h = size
    src = tmp_path / "small.y4m"
    write_y4m(src, [f[:, :h, :w] for f in carphone_frames[:2]], Fraction(30))
    enc, dec = _enc_dec(tmp_path, capsys, src)
    assert (dec["width"], dec["height"]) == (w, h)


def test_grayscale_and_10bit_y4m(tmp_path, capsys):
    rng = np.random.default_rng(0)
    mono = tmp_path / "mono.y4m"
    raw_y4m(mono, 32, 24, "mono", [(rng.integers(0, 256, (24, 32)),) for _ in range(2)])
    _enc_dec(tmp_path, capsys, mono)
    ten = tmp_path / "ten.y4m"
    raw_y4m(ten, 32, 24, "420p10", [(rng.integers(0, 1024, (24, 32)),
                                     rng.integers(0, 1024, (12, 16)),
                                     rng.integers(0, 1024, (12, 16))) for _ in range(2)],
            np.dtype("<u2"))
    _enc_dec(tmp_path, capsys, ten)


def test_empty_folder_and_directory_outputs(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["encode", str(tmp_path / "empty"), "-o", str(tmp_path / "a.amg"), *MODEL])
    err = capsys.readouterr().err
    assert rc == 1 and "no .png" in err
    rc = main(["encode", "carphone", "-n", "1", "-o", str(tmp_path), *MODEL])
    assert rc == 2 and "directory" in capsys.readouterr().err
    amg = tmp_path / "b.amg"
    assert main(["encode", "carphone", "-n", "1", "-o", str(amg), "--quiet", *MODEL]) == 0
    capsys.readouterr()
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("precious")
    rc = main(["decode", str(amg), "-o", str(user), "--quiet"])
    assert rc == 2 and "other files" in capsys.readouterr().err
    assert (user / "notes.txt").read_text() == "precious"
    rc = main(["decode", str(amg), "-o", str(tmp_path / "b.amg"), "--quiet"])
    assert rc == 2 and "supported outputs" in capsys.readouterr().err  # never overwrites input
    assert amg.read_bytes().startswith(b"\x8bAMG")


def _encode_hash(threads: int) -> str:
    code = ("import torch,hashlib,sys; torch.set_num_threads(int(sys.argv[1]));"
            "from amgap.io import open_video; from amgap.models import init_model;"
            "from amgap.coding import encode_video;"
            "f=list(open_video('carphone').frames(0,3));"
            "d=encode_video(f,init_model('ssf-slim',1),fps=30,num_frames=3,"
            "reparam='optimal').to_bytes(); print(hashlib.md5(d).hexdigest())")
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code, str(threads)],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    assert r.returncode == 0, r.stderr[-500:]
    return r.stdout.strip()


def test_determinism_across_processes_and_threads(carphone_frames):
    from amgap.coding import encode_video
    from amgap.models import init_model

    here = encode_video(carphone_frames[:3], init_model("ssf-slim", 1), fps=30, num_frames=3,
                        reparam="optimal").to_bytes()
    h1, h2 = _encode_hash(1), _encode_hash(2)
    assert h1 == h2 == hashlib.md5(here).hexdigest()
    assert torch.get_num_threads() >= 1
