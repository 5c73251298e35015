"""The Python API: docs/api.md's example runs as written; the API surface is typed."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_docs_api_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/api.md has no python example"
    exec(compile(blocks[-1], str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert "bytes" in out and "['I', 'P']" in out and "gap" in out


def test_import_amgap_is_the_api():
    import amgap
    import amgap.analysis  # noqa: F401 - subpackages must not shadow API functions
    import amgap.evaluation  # noqa: F401

    for name in ("load_model", "encode", "decode", "analyze", "evaluate", "register_codec",
                 "list_codecs"):
        assert callable(getattr(amgap, name)), name
    names = {a["name"] for a in amgap.list_codecs()["architectures"]}
    assert {"ssf-slim", "bflow-slim", "ssf2020", "bmshj2018-factorized",
            "bmshj2018-hyperprior", "mbt2018-mean"} <= names
    assert set(amgap.list_codecs()["refused"]) == {"mbt2018", "cheng2020-anchor",
                                                   "cheng2020-attn"}


def test_analysis_json_and_rows(tmp_path):
    import json

    import amgap

    a = amgap.analyze(["carphone"], "init:ssf-slim", qualities=[1], frames=2, out=tmp_path,
                      reparam="off")
    assert (tmp_path / "table1.md").is_file()
    data = json.loads(json.dumps(a.to_json()))
    assert {r["frame_type"] for r in data["rows"]} == {"I", "P", "Video"}
    row = next(r for r in a.rows if r.frame_type == "I" and r.scope == "carphone")
    assert row.info["motion-main"].ratio is None  # an I frame has no motion
    assert 0 < row.info["residual-main"].ratio <= 100
    # the honest-gap figures travel in the typed rows too, the same numbers as report.json
    video = next(r for r in a.rows if r.frame_type == "Video" and r.scope == "carphone")
    rep = a.report["videos"]["carphone"]["q1"]["frame_types"]["Video"]
    cell = video.info["residual-main"]
    assert cell.bias == rep["info"]["residual-main"]["bias"] and cell.bias > 0
    assert abs(cell.mismatch_gap - (cell.gap - cell.bias)) < 1e-9
    assert cell.gap_se is not None and cell.gap_se >= 0
    assert video.total.gap == video.gap and video.total.bias == rep["bias"]
    assert video.total.closure is None  # reparam off: nothing saved, no closure
