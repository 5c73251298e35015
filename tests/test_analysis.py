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
