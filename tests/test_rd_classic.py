"""BD-rate (one implementation), classic-codec anchors and the rd_vs_classic benchmark."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from amgap.analysis.reference import (
    banner_bytes,
    image_points,
    read_planes,
    x264_points,
)
from amgap.evaluation import bd_rate as evaluate_bd_rate
from amgap.evaluation.bdrate import METHODS, bd_rate
from amgap.io import sample_path
from amgap.io.color import planes_to_rgb

ROOT = Path(__file__).resolve().parents[1]


def _curve(psnrs, log_rate):
    return [(math.exp(log_rate(d)), d) for d in psnrs]


def test_evaluate_uses_the_one_implementation():
    assert evaluate_bd_rate is bd_rate


def test_same_distortion_is_the_exact_mean_log_ratio():
    anchor = [(0.1, 30.0), (0.2, 33.0)]
    res = bd_rate(anchor, [(0.09, 30.0), (0.18, 33.0)])
    assert res.percent == pytest.approx(-10.0) and res.method == "exact"
    # a ratio that is not constant: geometric mean of 0.5 and 2 is 1
    assert bd_rate(anchor, [(0.05, 30.0), (0.4, 33.0)]).percent == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_constant_rate_factor_at_other_psnrs(method):
    """Test = 1.5 x anchor rate at every PSNR, sampled at different PSNRs: +50 %."""
    line = lambda d: -4.0 + 0.11 * d  # noqa: E731 (log-rate linear in PSNR)
    anchor = _curve([28.0, 31.0, 34.0, 37.0], line)
    test = _curve([29.0, 32.5, 35.0, 38.0, 40.0], lambda d: line(d) + math.log(1.5))
    res = bd_rate(anchor, test, method)
    assert res.percent == pytest.approx(50.0, abs=1e-9)
    assert res.overlap == pytest.approx((29.0, 37.0))  # only where both curves exist


def test_cubic_log_rate_recovered_exactly():
    cubic = lambda d: 1e-4 * (d - 30) ** 3 - 2e-3 * (d - 30) ** 2 + 0.12 * d - 5  # noqa: E731
    anchor = _curve([26.0, 29.0, 33.0, 36.0, 39.0], cubic)
    test = _curve([27.0, 30.0, 32.0, 35.0, 38.0], lambda d: cubic(d) - math.log(1.25))
    assert bd_rate(anchor, test, "cubic").percent == pytest.approx(-20.0, abs=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_different_slopes_by_hand(method):
    """log r_a = 0.1 d, log r_t = 0.12 d - 0.5 over the overlap [30, 35]: the mean
    difference is 0.02 * 32.5 - 0.5 = 0.15, so BD-rate = e^0.15 - 1."""
    anchor = _curve([25.0, 30.0, 35.0], lambda d: 0.1 * d)
    test = _curve([30.0, 35.0, 40.0], lambda d: 0.12 * d - 0.5)
    res = bd_rate(anchor, test, method)
    assert res.percent == pytest.approx(100 * math.expm1(0.15), rel=1e-9)
    assert res.overlap == pytest.approx((30.0, 35.0))
    assert "30.00, 35.00 dB" in res.describe()


def test_repeated_points_merge_and_non_monotone_curves_are_flagged():
    a = [(0.1, 30.0), (0.2, 33.0), (0.4, 36.0)]
    assert bd_rate(a, [(0.15, 31.0), (0.15, 31.0), (0.3, 35.0)]).note == ""
    bent = bd_rate(a, [(0.3, 31.0), (0.2, 33.0), (0.5, 35.0)])
    assert bent.percent is not None and bent.note.startswith("test not monotone")


def test_refusals_say_why():
    a = [(0.1, 30.0), (0.2, 33.0)]
    assert bd_rate(a, [(0.1, 34.0), (0.2, 36.0)]).note == "no overlap"
    assert bd_rate(a, [(0.1, 31.0)]).percent is None
    assert "same quality" in bd_rate(a, [(0.1, 31.0), (0.2, 31.0), (0.3, 32.0)]).note
    assert bd_rate(a, [(0.0, 31.0), (0.2, 32.0)]).percent is None
    with pytest.raises(ValueError):
        bd_rate(a, a, "linear")


@pytest.fixture(scope="module")
def tiny():
    """2 frames of carphone, 64x48 crop of its own 4:2:0 planes, and their RGB frames."""
    planes = [(y[:48, :64].copy(), u[:24, :32].copy(), v[:24, :32].copy())
              for y, u, v in read_planes(sample_path("carphone"), 2)]
    return [planes_to_rgb(*p) for p in planes], planes


def test_x264_anchor_structure_and_monotonicity(tiny):
    frames, planes = tiny
    pts = x264_points(frames, [24, 40], planes=planes)
    assert [(p.codec, p.setting, p.frames) for p in pts] == [("x264", 24, 2), ("x264", 40, 2)]
    for p in pts:
        assert p.bpp == pytest.approx(p.bits / (64 * 48 * 2))
        assert 0 < p.banner_bytes * 8 < p.bits
    assert pts[0].bits > pts[1].bits and pts[0].psnr_rgb > pts[1].psnr_rgb + 3


def test_x264_lossless_round_trip_is_exact(tiny):
    """CRF 0 is lossless: the decoded planes are the source planes, so the decode and
    colour path is amgap's own (RGB PSNR infinite, not merely high)."""
    frames, planes = tiny
    (p,) = x264_points(frames, [0], planes=planes)
    assert p.psnr_rgb == math.inf
    (q,) = x264_points(frames, [0])  # from RGB: amgap's own 4:2:0 conversion is lossy
    assert 40 < q.psnr_rgb < math.inf
    with pytest.raises(ValueError):
        x264_points([f[:, :47] for f in frames], [30])


@pytest.mark.parametrize("codec", ["jpeg", "webp"])
def test_image_anchor_monotone(tiny, codec):
    frames, _ = tiny
    lo, hi = image_points(frames[0], [20, 80], codec)
    assert (lo.codec, lo.setting, lo.frames) == (codec, 20, 1)
    assert hi.bits > lo.bits and hi.psnr_rgb > lo.psnr_rgb
    assert lo.bpp == pytest.approx(lo.bits / (64 * 48))


def test_banner_bytes_counts_only_the_banner_nal():
    sei = b"\x00\x00\x01\x06\x05\x10x264 - core 165 options" + b"\x00\x00\x01\x65" + bytes(9)
    assert banner_bytes(sei) == len(sei) - 13
    assert banner_bytes(bytes(20)) == 0


def _benchmark():
    spec = importlib.util.spec_from_file_location("rd_vs_classic",
                                                  ROOT / "benchmarks" / "rd_vs_classic.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_end_to_end_tiny(tmp_path, capsys):
    """2 frames, 2 qualities, 2 CRFs, 2 JPEG qualities: every block runs and the JSON,
    the table and the plot agree."""
    bench = _benchmark()
    args = bench.parse_args(["--clips", "carphone", "--frames", "2", "--models", "amgap-ssf",
                             "--qualities", "1,4", "--crfs", "30,40", "--anchors", "x264,jpeg",
                             "--image-qualities", "5,80", "--workers", "1", "--reparam", "off",
                             "--out", str(tmp_path)])
    threads = torch.get_num_threads()
    doc = bench.run(args)
    assert torch.is_grad_enabled() and torch.get_num_threads() == threads  # no leaked state
    names = [c["name"] for c in doc["curves"]]
    assert names == ["amgap-ssf/ssf", "amgap-ssf/I", "x264", "jpeg"]
    by = {c["name"]: c["points"] for c in doc["curves"]}
    for anchor in ("x264", "jpeg"):  # higher quality setting -> more bits, more PSNR
        pts = sorted(by[anchor], key=lambda p: p["bits"])
        assert np.all(np.diff([p["psnr_rgb"] for p in pts]) > 0)
    for ip, vp in zip(by["amgap-ssf/I"], by["amgap-ssf/ssf"], strict=True):
        assert ip["setting"] == vp["setting"]
        assert ip["frames"] == 1 and vp["frames"] == 2 and 0 < ip["bits"] < vp["bits"]
    assert [(r["curve"], r["anchor"]) for r in doc["bd_rate"]] == [
        ("amgap-ssf/ssf", "x264"), ("amgap-ssf/I", "jpeg")]
    for r in doc["bd_rate"]:  # the PSNR ranges overlap here: a figure and its interval
        lo, hi = r["overlap_db"]
        assert math.isfinite(r["bd_rate_percent"]) and lo < hi
    assert json.loads((tmp_path / "rd_vs_classic.json").read_text())["bd_rate"]
    assert (tmp_path / "rd_carphone.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "amgap-ssf/I" in out and "BD-rate" in out
    assert bench.main(["--anchors", "nope", "--out", str(tmp_path)]) == 2
