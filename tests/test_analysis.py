"""Gap analysis: Gibbs, ratios, a planted mismatch, and the CLI outputs."""

import json

import numpy as np
import pytest
import torch
from compressai.entropy_models import EntropyBottleneck

from amgap.analysis import stream_gap
from amgap.analysis.report import analyze_encoding
from amgap.coding import encode_video
from amgap.entropy import InfoKind, InfoStream, TableSet
from helpers import gauss_tables


def test_limit_by_hand():
    torch.manual_seed(0)
    eb = EntropyBottleneck(2)
    eb.update(force=True)
    tables = TableSet.from_entropy_bottleneck(eb)
    sym = np.array([0, 0, 1, 1, 0, 0, 0, 0])  # table 0: {0,0,1,1}: H=1 bit; table 1: H=0
    idx = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    g = stream_gap(InfoStream(InfoKind.RESIDUAL_SIDE, sym, idx, tables))
    assert g.limit_bits == pytest.approx(4.0)
    assert g.bits >= g.limit_bits
    assert list(g.tables.count) == [4, 4]


def test_gibbs_every_table_and_ratios(carphone_frames, slim_init):
    res = encode_video(carphone_frames[:3], slim_init, fps=30, num_frames=3)
    for streams in res.streams:
        for s in streams:
            g = stream_gap(s)
            assert np.all(g.tables.limit_bits <= g.tables.bits + 1e-6)
    rep = analyze_encoding(res)
    for f in rep["per_frame"]:
        assert sum(v["ratio"] for v in f["info"].values()) == pytest.approx(100.0)
    assert rep["frame_types"]["Video"]["frames"] == 3


def test_planted_mismatch_is_found_in_the_right_place():
    """Shift the data of one side channel: the gap must appear in that channel only."""
    tables = gauss_tables(8, half=8)
    rng = np.random.default_rng(0)
    n = 4000
    idx = np.repeat(np.arange(8), n)
    sym = np.round(rng.normal(0, 2.0, 8 * n)).astype(np.int64)
    sym[3 * n:4 * n] += 3  # channel 3 is shifted: its learned table is wrong
    g = stream_gap(InfoStream(InfoKind.MOTION_SIDE, sym, idx, tables))
    per = (g.tables.bits - g.tables.limit_bits) / g.tables.bits
    assert int(np.argmax(per)) == 3
    others = np.delete(per, 3)
    assert per[3] > 0.15 and others.max() < 0.02


def test_analyze_cli_outputs(tmp_path, capsys):
    from amgap.cli import main

    out = tmp_path / "an"
    rc = main(["analyze", "carphone", "--model", "init:ssf-slim", "-q", "1", "2", "--frames",
               "3", "--out", str(out), "--json", "--quiet"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert json.loads((out / "report.json").read_text()) == rep
    q1 = rep["videos"]["carphone"]["q1"]
    assert set(q1["frame_types"]) == {"I", "P", "Video"}
    video = q1["frame_types"]["Video"]  # default --reparam optimal: real savings reported
    assert video["reparam_bytes"] <= video["learned_bytes"] and video["saving"] >= 0
    for f in ("table1.md", "table1.csv", "fig1_carphone_q1.png", "fig2_all.png",
              "fig2_carphone.png"):
        assert (out / f).stat().st_size > 0
    md = (out / "table1.md").read_text()
    assert "| Method | Frame |" in md and "Video" in md and "All Saving" in md
    assert "All Mismatch" in md and " ± " in md and "Saving/Mismatch" in md
    assert video["mismatch_gap"] == pytest.approx(video["gap"] - video["bias"])
    assert video["closure"] == pytest.approx(video["saving"] / video["gap"])
    assert video["pad_share"] > 0 and video["gap_se"] is not None  # init model: gap 100 %
    assert "All Gap SE" in (out / "table1.csv").read_text()


# -- bias, mismatch gap, standard errors, padding --------------------------------------

def _draw(rng, tables, t: int, size) -> np.ndarray:
    """Symbols drawn from table ``t``'s learned pmf (escape = cheapest escaped value)."""
    q = tables.pmf(t)
    return rng.choice(q.size, size=size, p=q / q.sum()) + int(tables.offsets[t])


@pytest.mark.parametrize("sigma,half", [(1.5, 8), (20.0, 100), (150.0, 600)])
@pytest.mark.parametrize("n", [10, 100, 1000])
def test_bias_matches_monte_carlo(sigma, half, n):
    """Exact bias vs a seeded Monte Carlo of the real analysis path (stream_gap on drawn
    symbols), within 5 %, from n far below to n above the outcomes with mass."""
    tables_n, streams = 40, 25
    tables = gauss_tables(tables_n, sigma=sigma, half=half)
    rng = np.random.default_rng(n)
    idx = np.repeat(np.arange(tables_n), n)
    gaps, bias = [], None
    for _ in range(streams):
        sym = _draw(rng, tables, 0, idx.size)
        g = stream_gap(InfoStream(InfoKind.MOTION_SIDE, sym, idx, tables))
        gaps.append(g.tables.bits - g.tables.limit_bits)
        bias = g.tables.bias_bits
        assert g.bias_bound < 1e-3
    mc = np.concatenate(gaps)
    se = mc.std(ddof=1) / np.sqrt(mc.size)
    assert np.allclose(bias, bias[0])
    assert abs(bias[0] - mc.mean()) < 0.05 * mc.mean()
    assert abs(bias[0] - mc.mean()) < 4 * se + 1e-9


def test_expected_limit_exhaustive_small():
    """n below the number of outcomes: enumerate every sequence (no binomial identity)."""
    import itertools

    from amgap.analysis.bias import expected_limit_bits

    q = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    for n in (1, 2, 3, 4):
        want = 0.0
        for seq in itertools.product(range(q.size), repeat=n):
            c = np.bincount(seq, minlength=q.size)
            c = c[c > 0]
            want += np.prod(q[list(seq)]) * float((c * np.log2(n / c)).sum())
        got = expected_limit_bits([q], np.array([n]))
        assert got.bits[0] == pytest.approx(want, abs=1e-12)


def test_truncation_error_within_its_bound():
    """Large n: the truncated sum equals the full binomial sum up to the stated bound."""
    from scipy.stats import binom

    from amgap.analysis.bias import expected_limit_bits

    q = np.array([0.6, 0.3, 0.099, 0.001])
    n = 20000
    c = np.arange(1, n + 1)
    full = sum(float((binom.pmf(c, n, p) * c * np.log2(n / c)).sum()) for p in q)
    got = expected_limit_bits([q], np.array([n]))
    assert abs(got.bits[0] - full) <= got.bound[0] + 1e-7 * full


def _frames_from(rng, tables, sigma_true, frames=40, n=28, shift=0):
    """GapTotals of ``frames`` frames whose 16 side tables code ``n`` symbols each, drawn
    from a discretized Gaussian of scale ``sigma_true`` (shifted by ``shift``)."""
    from amgap.analysis.gap import GapTotals

    tot = GapTotals()
    idx = np.repeat(np.arange(16), n)
    for _ in range(frames):
        if sigma_true is None:
            sym = _draw(rng, tables, 0, idx.size)
        else:
            sym = np.round(rng.normal(shift, sigma_true, idx.size)).astype(np.int64)
        tot.add([stream_gap(InfoStream(InfoKind.MOTION_SIDE, sym, idx, tables))])
    return tot.to_json()


def test_symbols_from_learned_pmf_have_zero_mismatch():
    tables = gauss_tables(16, sigma=2.0, half=12)
    v = _frames_from(np.random.default_rng(1), tables, None)
    assert v["gap"] > 5 * v["gap_se"]  # the raw gap is clearly not zero ...
    assert abs(v["mismatch_gap"]) < 2 * v["mismatch_gap_se"]  # ... but it is all bias
    assert v["info"]["motion-side"]["mismatch_gap"] == pytest.approx(v["mismatch_gap"])


@pytest.mark.parametrize("sigma_true,shift", [(2.0, 1.0), (3.2, 0.0)])
def test_planted_mismatch_is_mismatch_not_bias(sigma_true, shift):
    """Shifted or rescaled data: the bias (a function of the learned table and the count
    only) stays that of matching data, and the excess shows up as mismatch."""
    tables = gauss_tables(16, sigma=2.0, half=12)
    ok = _frames_from(np.random.default_rng(2), tables, None)
    bad = _frames_from(np.random.default_rng(2), tables, sigma_true, shift=shift)
    assert bad["bias_bits"] == pytest.approx(ok["bias_bits"])
    assert bad["mismatch_gap"] > 5 * bad["mismatch_gap_se"]
    assert bad["mismatch_gap"] > 0.3 * bad["gap"]


def test_standard_error_agrees_with_bootstrap():
    """The delta-method standard error of a ratio over frames vs a seeded bootstrap."""
    from amgap.analysis.gap import FrameMoments

    rng = np.random.default_rng(3)
    L = rng.uniform(1e4, 3e4, 60)
    D = 0.2 * L + rng.normal(0, 800, 60)
    B = 0.1 * L + rng.normal(0, 200, 60)
    m = FrameMoments()
    for x in zip(L, D, B, strict=True):
        m.add(np.array(x))
    boot = rng.integers(0, 60, (4000, 60))
    for a, num in (((0, 1, 0), D), ((0, 0, 1), B), ((0, 1, -1), D - B)):
        ratios = 100 * num[boot].sum(1) / L[boot].sum(1)
        assert m.se(a) == pytest.approx(ratios.std(), rel=0.1)
    single = FrameMoments()
    single.add(np.array([1.0, 0.5, 0.1]))
    assert single.se((0, 1, 0)) is None


def test_padded_positions():
    from amgap.analysis.report import LatentGeometry

    geo = LatentGeometry(width=176, height=144, pad_multiple=64)  # padded to 192x192
    tables = gauss_tables(48)
    main = InfoStream(InfoKind.RESIDUAL_MAIN, np.zeros(2 * 144), np.zeros(2 * 144), tables)
    mask = geo.padded_mask(main)  # 12x12 positions, picture 9 rows x 11 columns
    assert mask.sum() == 2 * (144 - 9 * 11)
    assert mask.reshape(2, 12, 12)[0, 8, 10] == 0 and mask.reshape(2, 12, 12)[1, 9, 0] == 1
    side = InfoStream(InfoKind.RESIDUAL_SIDE, np.zeros(48 * 9), np.repeat(np.arange(48), 9),
                      tables)  # stride 64: 3x3, every position holds picture
    assert geo.padded_mask(side).sum() == 0
    odd = InfoStream(InfoKind.RESIDUAL_MAIN, np.zeros(7), np.zeros(7), tables)
    assert geo.padded_mask(odd) is None


def test_report_bias_and_padding(carphone_frames, slim_init):
    res = encode_video(carphone_frames[:3], slim_init, fps=30, num_frames=3)
    rep = analyze_encoding(res, pad_multiple=64)
    video = rep["frame_types"]["Video"]
    assert 0 < video["bias_bits"] < video["bits"]
    assert video["mismatch_gap"] == pytest.approx(video["gap"] - video["bias"])
    assert video["gap_se"] is not None and rep["frame_types"]["I"]["gap_se"] is None
    main = video["info"]["residual-main"]
    assert 0 < main["pad_share"] < 100 and video["info"]["residual-side"]["pad_share"] == 0
    assert "pad_share" not in analyze_encoding(res)["frame_types"]["Video"]


def test_calibration_separates_latents_at_the_scale_bound(carphone_frames):
    """The probe marks latents whose scale sits at the coder's bound; calibration reports
    the figure over the others and their share, consistent with the whole (on a trained
    model: an untrained one has every scale at the bound)."""
    from compressai.entropy_models import GaussianConditional

    from amgap.analysis.calibration import calibration
    from amgap.codecs.parts import ScaleIndexedPart
    from amgap.models import load_model

    gc = GaussianConditional(None)
    gc.update_scale_table(torch.exp(torch.linspace(np.log(0.11), np.log(64), 64)))
    part = ScaleIndexedPart(gc, InfoKind.RESIDUAL_MAIN)
    assert part.at_bound(torch.tensor([0.01, 0.11, 0.111, 0.2])).tolist() == \
        [True, True, True, False]
    cal = calibration(carphone_frames[:2], load_model(name="amgap-ssf", quality=1), gop_size=2)
    share, above = cal["share_at_scale_bound"], cal["above_scale_bound"]
    assert 0.0 < share < 1.0 and above > 0.0
    # the whole is the mix of both parts: the part at the bound sits below the whole
    # exactly when the part above sits above it
    at = (cal["mean_sq_normalized_residual"] - (1 - share) * above) / share if share else None
    assert at is None or at >= 0.0
